use lambda_runtime::{Error, run, service_fn};
use signout::app::{App, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::from_env().await.map_err(|problems| {
        eprintln!("{problems}");
        Error::from(problems)
    })?;
    let authorizer = authorizer::Authorizer::from_env(app).map_err(|problem| {
        eprintln!("{problem}");
        Error::from(problem)
    })?;
    run(service_fn(|event| authorizer.handle(event))).await
}
