use lambda_http::Error;
use signout::app::App;
use signout::logging::{cold_start_failed, init_tracing};
use signout::logout::{Logout, LogoutSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    // The state key comes from Secrets Manager (LOGOUT_STATE_KEY_ARN) in AWS,
    // or from LOGOUT_STATE_KEY locally.
    let sdk = signout::aws::sdk_config(std::time::Duration::from_secs(3)).await;
    let settings = match signout::secrets::resolve(&sdk, "LOGOUT_STATE_KEY").await {
        Ok(key) => LogoutSettings::from_lookup(|name| match name {
            "LOGOUT_STATE_KEY" => key.clone(),
            _ => std::env::var(name).ok(),
        })
        .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    // Both read before either fails, so one cold start reports every problem.
    let app = App::from_env().await;
    let (app, settings) = match (app, settings) {
        (Ok(app), Ok(settings)) => (app, settings),
        (app, settings) => {
            let problems = [app.err(), settings.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n");
            cold_start_failed(problems);
        }
    };
    let flow = Logout::new(settings);
    let (app, flow) = (&app, &flow);
    signout::gateway::run(move |request| async move { logout::handle(app, flow, request).await })
        .await
}
