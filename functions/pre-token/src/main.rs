use lambda_runtime::{Error, run, service_fn};
use signout::logging::{cold_start_failed, init_tracing};
use signout::metrics::measured;
use signout::store::Store;
use signout::trigger::Trigger;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    signout::metrics::init("pre-token");
    let (config, sdk) = signout::app::cold_start()
        .await
        .unwrap_or_else(|e| cold_start_failed(e));
    let trigger = Trigger::from_config(Store::from_sdk(&sdk, &config), &config);
    run(service_fn(|event| {
        measured(event, |e| pre_token::handle(&trigger, e))
    }))
    .await
}
