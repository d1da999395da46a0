//! The shared crate against the local emulator (moto + RevokeToken) over HTTP.
//! Each test has its own table, user pool, clients and user.
//! One binary, one module per topic.

mod concurrent_writes;
mod outages_and_secrets;
mod sign_outs;
mod verification;
mod write_through;

use std::sync::Arc;

use signout::app::App;
use signout::model::Sub;
use testkit::Fixture;

async fn app(f: &Fixture, extra: &[(&str, &str)]) -> Arc<App> {
    f.app(extra).await
}

fn sub_of(token: &str) -> Sub {
    let claims = signout::tokens::peek_claims(token).unwrap();
    Sub(claims["sub"].as_str().unwrap().to_owned())
}
