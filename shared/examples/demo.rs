//! A walkthrough of the shared crate against the local emulator: sign in,
//! check, sign out, check again, revoke one session of two.
//!
//! Run with `make run` (installs the emulator into .venv first).

use std::collections::HashMap;
use std::time::Duration;

use signout::app::App;
use signout::model::{ClientId, EpochMs, Source};
use signout::tokens::Expect;
use signout::{Config, Verdict};
use testkit::Fixture;

fn step(n: u32, what: &str) {
    println!("\n== {n}. {what}");
}

fn short(token: &str) -> String {
    // Never print whole tokens, even locally: the shape is enough to follow along.
    format!("{}… ({} bytes)", &token[..12.min(token.len())], token.len())
}

#[tokio::main]
async fn main() {
    step(
        1,
        "start the local emulator (moto + RevokeToken) and seed a pool, clients, a user and a table",
    );
    let emu = testkit::emulator();
    let f = Fixture::on(&emu.endpoint).await;
    println!("emulator   {}", emu.endpoint);
    println!("user pool  {}", f.pool_id);
    println!("client     {}", f.client_id);
    println!("user       {} / {}", f.username, f.password);
    println!("table      {}", f.table);

    let config = Config::from_lookup(Fixture::lookup(f.env())).expect("valid configuration");
    let sdk = f
        .sdk
        .to_builder()
        .timeout_config(signout::aws::timeouts(config.sdk_operation_timeout))
        .build();
    let app = App::build(config, &sdk, HashMap::new());

    step(
        2,
        "sign in (InitiateAuth USER_PASSWORD_AUTH) and verify the access token against the pool's JWKS",
    );
    let t = f.sign_in(&f.username).await;
    println!("access token {}", short(&t.access));
    let claims = testkit::claims_as(&app, &t.access, Expect::ACCESS).await;
    println!(
        "verified: sub={} client_id={} origin_jti={:?}",
        claims.sub,
        claims.client_id,
        claims.origin_jti.as_ref().map(|o| o.as_str())
    );
    println!("check → {:?}", app.checker.check(&claims).await.unwrap());

    step(
        3,
        "global sign-out: record the cutoff in DynamoDB, then GlobalSignOut at Cognito",
    );
    let cutoff = EpochMs::now();
    app.store()
        .raise_user_cutoff(&claims.sub, cutoff, Source::SelfService)
        .await
        .unwrap();
    app.cognito.global_sign_out(&t.access).await.unwrap();
    println!("cutoff recorded: not_before={} ms", cutoff.0);
    let verdict = app.checker.check(&claims).await.unwrap();
    println!("same token, check → {verdict:?}");
    assert_eq!(verdict, Verdict::Revoked(signout::Revoked::SignedOut));
    println!(
        "Cognito GetUser with it accepted? {}",
        f.cognito_accepts(&t.access).await
    );

    step(
        4,
        "sign in again (a second later): the new session is accepted",
    );
    tokio::time::sleep(Duration::from_millis(1_000 - cutoff.0 % 1000 + 5)).await;
    let fresh = f.sign_in(&f.username).await;
    let fresh_claims = testkit::claims_as(&app, &fresh.access, Expect::ACCESS).await;
    println!(
        "new token, check → {:?}",
        app.checker.check(&fresh_claims).await.unwrap()
    );

    step(
        5,
        "two sessions; revoke one (RevokeToken + session record): the other keeps working",
    );
    let other = f.sign_in(&f.username).await;
    let other_claims = testkit::claims_as(&app, &other.access, Expect::ACCESS).await;
    app.cognito
        .revoke_refresh_token(
            fresh.refresh.as_deref().unwrap(),
            &ClientId(f.client_id.clone()),
        )
        .await
        .unwrap();
    app.store()
        .revoke_session(
            &fresh_claims.sub,
            fresh_claims.origin_jti.as_ref().unwrap(),
            fresh_claims.exp,
            Source::Revoke,
        )
        .await
        .unwrap();
    println!(
        "revoked session, check → {:?}",
        app.checker.check(&fresh_claims).await.unwrap()
    );
    println!(
        "other session,   check → {:?}",
        app.checker.check(&other_claims).await.unwrap()
    );

    println!("\nDone. The emulator stops with this process.");
}
