use lambda_runtime::{Error, run, service_fn};
use signout::app::App;
use signout::logging::{cold_start_failed, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::from_env()
        .await
        .unwrap_or_else(|e| cold_start_failed(e));
    let authorizer = authorizer::Authorizer::from_env(app).unwrap_or_else(|e| cold_start_failed(e));
    run(service_fn(|event| authorizer.handle(event))).await
}
