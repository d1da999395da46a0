//! Sign-outs written through the checker are seen at once by this process,
//! however long its revocation cache lives: each write forgets what it
//! concerns (user, session, block, client, pool).

use std::sync::Arc;

use signout::Verdict::Active;
use signout::app::App;
use signout::check::{Revoked, Verdict};
use signout::model::{EpochMs, Source};
use signout::tokens::{Claims, Expect};
use testkit::Fixture;

use super::app;

/// A five-minute cache (the most allowed): nothing in these tests lets it expire.
const LONG_CACHE: &[(&str, &str)] = &[("REVOCATION_CACHE_MS", "300000")];

/// A signed-in user's verified access token, checked once so its state is cached.
async fn cached(f: &Fixture, app: &Arc<App>) -> Claims {
    let tokens = f.sign_in(&f.username).await;
    let claims = app
        .verifier
        .verify(&tokens.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;
    assert_eq!(app.checker.check(&claims).await.unwrap(), Active);
    claims
}

#[tokio::test]
async fn a_write_straight_to_the_store_stays_unseen_while_cached() {
    // The control: the cache really holds state, so the tests below prove forgetting.
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    app.store()
        .raise_user_cutoff(&claims.sub, EpochMs::now(), Source::Admin)
        .await
        .unwrap();
    assert_eq!(app.checker.check(&claims).await.unwrap(), Active);
}

#[tokio::test]
async fn a_user_sign_out_through_the_checker_is_seen_at_once() {
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    app.checker
        .sign_out_user(&claims.sub, EpochMs::now(), Source::SelfService)
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn a_session_revocation_through_the_checker_is_seen_at_once() {
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    let session = claims.origin_jti.clone().unwrap();
    app.checker
        .revoke_session(&claims.sub, &session, claims.exp, Source::SelfService)
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::Session)
    );
}

#[tokio::test]
async fn a_block_through_the_checker_is_seen_at_once() {
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    app.checker
        .block_user(&claims.sub, EpochMs::now().plus_secs(600), Source::Admin)
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::Blocked)
    );
}

#[tokio::test]
async fn a_client_cutoff_through_the_checker_is_seen_at_once() {
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    app.checker
        .sign_out_client(&claims.client_id, EpochMs::now(), Source::IncidentResponse)
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn a_pool_cutoff_through_the_checker_is_seen_at_once() {
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    app.checker
        .sign_out_pool(EpochMs::now(), Source::IncidentResponse)
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
}
