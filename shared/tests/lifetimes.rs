//! Lifetimes that are promises (issue 12): no item's TTL ends while a token it
//! covers can still be presented, including tokens minted after the fact from
//! refresh tokens Cognito did not revoke.
//!
//! The clock is injected: facts are recorded at real time `T`, then the
//! emulator's table is swept as DynamoDB's TTL process would sweep it at a
//! later instant ([`testkit::expire_items`]), and tokens that could exist at
//! that instant are judged with it as `now`. Cognito keeps `auth_time` across
//! refreshes (moto resets it, so the tokens are built here, not refreshed).

use std::sync::Arc;

use signout::app::App;
use signout::check::{Revoked, Verdict, judge};
use signout::model::{ClientId, EpochMs, OriginJti, Source, Sub, TokenUse};
use signout::store::Consistency;
use signout::tokens::Claims;
use testkit::{Fixture, expire_items};

/// A token of `session`, first signed in at `auth_time`, minted at `iat` by a
/// refresh (or the sign-in itself), living the longest configured lifetime.
fn token(app: &App, session: &str, auth_time: u64, iat: u64) -> Claims {
    Claims {
        sub: Sub::from("lifetime-user"),
        token_use: TokenUse::Access,
        client_id: ClientId::from("lifetime-client"),
        iat,
        exp: iat + app.config.max_token_lifetime.as_secs(),
        auth_time: Some(auth_time),
        jti: Some(format!("jti-{iat}")),
        origin_jti: Some(OriginJti::from(session)),
        username: None,
        scope: None,
        groups: vec![],
        // Stamped by a trigger that saw the cutoff (a refresh after the sign-out).
        stamp: None,
        identity_providers: vec![],
    }
}

/// The verdict at `now_s` after the TTL process ran at `now_s`.
async fn verdict_after_expiry(f: &Fixture, app: &App, claims: &Claims, now_s: u64) -> Verdict {
    expire_items(&f.ddb, &f.table, now_s).await;
    let state = app
        .store()
        .load(signout::check::lookup(claims), Consistency::Strong)
        .await
        .unwrap();
    judge(claims, &state, EpochMs::from_secs(now_s))
}

/// The last token a refresh token issued just before `cutoff` can mint: at
/// the end of the refresh lifetime, presented at the end of its own life
/// (leeway included).
fn last_refresh_minted(app: &App, cutoff: EpochMs) -> (Claims, u64) {
    let auth_time = cutoff.secs() - 1;
    let iat = auth_time + app.config.refresh_token_lifetime.as_secs();
    let claims = token(app, "old-session", auth_time, iat);
    let presented = claims.exp + app.config.leeway.as_secs();
    (claims, presented)
}

async fn setup() -> (Fixture, Arc<App>) {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    (f, app)
}

#[tokio::test]
async fn a_pool_cutoff_refuses_refresh_minted_tokens_until_the_last_refresh_token_is_dead() {
    let (f, app) = setup().await;
    let cutoff = EpochMs::now();
    app.store()
        .raise_pool_cutoff(cutoff, Source::IncidentResponse)
        .await
        .unwrap();
    let (claims, presented) = last_refresh_minted(&app, cutoff);
    assert_eq!(
        verdict_after_expiry(&f, &app, &claims, presented).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn a_client_cutoff_refuses_refresh_minted_tokens_until_the_last_refresh_token_is_dead() {
    let (f, app) = setup().await;
    let cutoff = EpochMs::now();
    app.store()
        .raise_client_cutoff(
            &ClientId::from("lifetime-client"),
            cutoff,
            Source::IncidentResponse,
        )
        .await
        .unwrap();
    let (claims, presented) = last_refresh_minted(&app, cutoff);
    assert_eq!(
        verdict_after_expiry(&f, &app, &claims, presented).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn a_user_cutoff_whose_cognito_step_failed_outlives_the_users_refresh_tokens() {
    // A global or admin sign-out whose Cognito call failed, or LOGOUT_SCOPE=global:
    // only the cutoff stands between a stolen refresh token and new tokens.
    let (f, app) = setup().await;
    let cutoff = EpochMs::now();
    app.store()
        .raise_user_cutoff(&Sub::from("lifetime-user"), cutoff, Source::Admin)
        .await
        .unwrap();
    let (claims, presented) = last_refresh_minted(&app, cutoff);
    assert_eq!(
        verdict_after_expiry(&f, &app, &claims, presented).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn a_revoked_session_whose_refresh_token_lives_on_stays_listed_until_its_last_token_dies() {
    let (f, app) = setup().await;
    let now = EpochMs::now().secs();
    let auth_time = now - 60;
    let current = token(&app, "revoked-session", auth_time, now - 10);
    let covers = app
        .store()
        .lifetimes()
        .session_covers_until(now, current.exp, false);
    app.store()
        .revoke_session(
            &current.sub,
            &OriginJti::from("revoked-session"),
            covers,
            Source::Revoke,
        )
        .await
        .unwrap();
    // The session's refresh token mints once more at the end of its life.
    let last = token(
        &app,
        "revoked-session",
        auth_time,
        auth_time + app.config.refresh_token_lifetime.as_secs(),
    );
    let presented = last.exp + app.config.leeway.as_secs();
    assert_eq!(
        verdict_after_expiry(&f, &app, &last, presented).await,
        Verdict::Revoked(Revoked::Session)
    );
}

#[tokio::test]
async fn every_item_expires_once_nothing_it_covers_can_be_presented() {
    let (f, app) = setup().await;
    let store = app.store();
    let at = EpochMs::now();
    let sub = Sub::from("bounded-user");
    store
        .raise_user_cutoff(&sub, at, Source::Admin)
        .await
        .unwrap();
    store
        .block_user(&sub, at.plus_secs(600), Source::Admin)
        .await
        .unwrap();
    let covers = store
        .lifetimes()
        .session_covers_until(at.secs(), at.secs() + 60, true);
    store
        .revoke_session(&sub, &OriginJti::from("s"), covers, Source::Revoke)
        .await
        .unwrap();
    let l = store.lifetimes();
    let horizon = [
        l.cutoff_expiry(at),
        l.block_expiry(at.plus_secs(600)),
        l.session_expiry(covers),
    ];
    // Nothing is gone a second before its expiry, everything a second after.
    let min = *horizon.iter().min().unwrap();
    assert_eq!(expire_items(&f.ddb, &f.table, min).await, 0);
    let max = *horizon.iter().max().unwrap();
    assert_eq!(expire_items(&f.ddb, &f.table, max + 1).await, 3);
    // The longest is the cutoff: refresh lifetime + token lifetime + slack.
    assert!(
        l.cutoff_expiry(at)
            <= at.secs()
                + 1
                + app.config.refresh_token_lifetime.as_secs()
                + app.config.max_token_lifetime.as_secs()
                + signout::store::TTL_SLACK_SECS
                + app.config.leeway.as_secs()
    );
}
