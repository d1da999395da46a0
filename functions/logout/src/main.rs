use lambda_http::Error;
use signout::app::{App, cold_start};
use signout::config::ConfigError;
use signout::logging::{cold_start_failed, init_tracing};
use signout::logout::{Logout, LogoutSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    signout::metrics::init("logout");
    let loaded = cold_start().await;
    let settings = LogoutSettings::load(loaded.as_ref().ok().map(|(_, sdk)| sdk)).await;
    let app = match loaded {
        Ok((config, sdk)) => App::from_config(config, &sdk).await,
        Err(problems) => Err(problems),
    };
    let (app, settings) = ConfigError::both(app, settings).unwrap_or_else(|e| cold_start_failed(e));
    let (app, flow) = (&app, &Logout::new(settings));
    signout::gateway::run(move |request| async move { logout::handle(app, flow, request).await })
        .await
}
