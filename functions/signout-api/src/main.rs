use lambda_http::Error;
use signout::app::App;
use signout::logging::{cold_start_failed, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    signout::metrics::init("signout-api");
    let app = App::from_env()
        .await
        .unwrap_or_else(|e| cold_start_failed(e));
    let app = &app;
    signout::gateway::run(move |request| async move { signout_api::handle(app, request).await })
        .await
}
