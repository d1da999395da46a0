use lambda_http::Error;
use signout::app::{App, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::from_env().await.map_err(|problems| {
        eprintln!("{problems}");
        Error::from(problems)
    })?;
    let app = &app;
    signout::gateway::run(move |request| async move { signout_api::handle(app, request).await })
        .await
}
