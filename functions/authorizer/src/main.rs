use authorizer::{Authorizer, AuthorizerSettings};
use lambda_runtime::{Error, run, service_fn};
use signout::logging::{cold_start_failed, init_tracing};
use signout::{check::Checker, config::ConfigError, metrics, store::Store, tokens::Verifier};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    metrics::init("authorizer");
    let ((config, sdk), settings) = ConfigError::both(
        signout::app::cold_start().await,
        AuthorizerSettings::from_env(),
    )
    .unwrap_or_else(|e| cold_start_failed(e));
    let verifier = Verifier::from_config(&config).into();
    let checker = Checker::from_config(Store::from_sdk(&sdk, &config), &config).into();
    let authorizer = Authorizer::new(verifier, checker, &config, settings);
    run(service_fn(|e| {
        metrics::measured(e, |e| authorizer.handle(e))
    }))
    .await
}
