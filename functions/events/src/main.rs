use lambda_runtime::{Error, run, service_fn};
use signout::logging::{cold_start_failed, init_tracing};
use signout::metrics::measured;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    signout::metrics::init("events");
    let announcer = signout::app::announcer()
        .await
        .unwrap_or_else(|e| cold_start_failed(e));
    let announcer = &announcer;
    run(service_fn(move |event| {
        measured(event, |e| events::handle(announcer, e))
    }))
    .await
}
