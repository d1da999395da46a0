use lambda_http::{Error, run, service_fn};
use signout::app::{App, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::from_env().await.map_err(|problems| {
        eprintln!("{problems}");
        Error::from(problems)
    })?;
    run(service_fn(|request| {
        let app = app.clone();
        async move { Ok::<_, Error>(signout_api::handle(&app, request).await) }
    }))
    .await
}
