//! Sign-outs written through the checker are seen at once by this process,
//! however long its revocation cache lives: each write forgets what it
//! concerns (user, session, block, client, pool).

use std::future::Future;
use std::sync::Arc;

use signout::Verdict::Active;
use signout::app::App;
use signout::check::{Revoked, Verdict};
use signout::model::{EpochMs, Source};
use signout::store::StoreError;
use signout::tokens::{Claims, Expect};
use testkit::Fixture;

use super::app;

/// A five-minute cache (the most allowed): nothing in these tests lets it expire.
const LONG_CACHE: &[(&str, &str)] = &[("REVOCATION_CACHE_MS", "300000")];

/// A signed-in user's verified access token, checked once so its state is cached.
async fn cached(f: &Fixture, app: &Arc<App>) -> Claims {
    let tokens = f.sign_in(&f.username).await;
    let claims = testkit::claims_as(app, &tokens.access, Expect::ACCESS).await;
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

/// Signs a user in, caches their state, writes `sign_out` through the
/// checker, and returns the verdict read right after.
async fn verdict_after<F, Fut>(sign_out: F) -> Verdict
where
    F: FnOnce(Arc<App>, Claims) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let f = Fixture::new().await;
    let app = app(&f, LONG_CACHE).await;
    let claims = cached(&f, &app).await;
    sign_out(app.clone(), claims.clone()).await.unwrap();
    app.checker.check(&claims).await.unwrap()
}

#[tokio::test]
async fn a_user_sign_out_through_the_checker_is_seen_at_once() {
    let v = verdict_after(|app, c| async move {
        let at = EpochMs::now();
        app.checker
            .sign_out_user(&c.sub, at, Source::SelfService)
            .await
    })
    .await;
    assert_eq!(v, Verdict::Revoked(Revoked::SignedOut));
}

#[tokio::test]
async fn a_session_revocation_through_the_checker_is_seen_at_once() {
    let v = verdict_after(|app, c| async move {
        let session = c.origin_jti.clone().unwrap();
        let checker = &app.checker;
        checker
            .revoke_session(&c.sub, &session, c.exp, Source::SelfService)
            .await
    })
    .await;
    assert_eq!(v, Verdict::Revoked(Revoked::Session));
}

#[tokio::test]
async fn a_block_through_the_checker_is_seen_at_once() {
    let v = verdict_after(|app, c| async move {
        let until = EpochMs::now().plus_secs(600);
        app.checker.block_user(&c.sub, until, Source::Admin).await
    })
    .await;
    assert_eq!(v, Verdict::Revoked(Revoked::Blocked));
}

#[tokio::test]
async fn a_client_cutoff_through_the_checker_is_seen_at_once() {
    let v = verdict_after(|app, c| async move {
        let at = EpochMs::now();
        let source = Source::IncidentResponse;
        app.checker.sign_out_client(&c.client_id, at, source).await
    })
    .await;
    assert_eq!(v, Verdict::Revoked(Revoked::SignedOut));
}

#[tokio::test]
async fn a_pool_cutoff_through_the_checker_is_seen_at_once() {
    let v = verdict_after(|app, _| async move {
        let at = EpochMs::now();
        app.checker
            .sign_out_pool(at, Source::IncidentResponse)
            .await
    })
    .await;
    assert_eq!(v, Verdict::Revoked(Revoked::SignedOut));
}
