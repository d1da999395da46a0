use lambda_runtime::{Error, run, service_fn};
use signout::app::{App, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::from_env().await.map_err(|problems| {
        eprintln!("{problems}");
        Error::from(problems)
    })?;
    run(service_fn(|event| pre_token::handler(&app, event))).await
}
