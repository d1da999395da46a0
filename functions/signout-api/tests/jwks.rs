//! A key set that could not be fetched is our failure, not the token's: with
//! the JWKS behind a fault proxy, every route answers 503 with `Retry-After`
//! for as long as the keys cannot be fetched (never a 200 that did nothing,
//! never a 401 that blames the token), and works once they can.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Call, CallExt, Format};
use signout::app::App;
use signout::store::{Consistency, Lookup};
use signout::tokens::{JWKS_REFETCH_INTERVAL, JWKS_RETRY_INTERVAL};
use signout::{OriginJti, Sub};
use testkit::{Fault, FaultProxy, Fixture, Tokens};

/// The faults a JWKS fetch can meet; the client's timeout is 2 s.
fn faults() -> Vec<Fault> {
    vec![
        Fault::Error(500, "InternalError"),
        Fault::Error(503, "ServiceUnavailable"),
        Fault::Error(404, "NotFound"),
        Fault::Reset,
        Fault::Truncate,
        Fault::Delay(Duration::from_millis(2_500)),
    ]
}

/// A cold start whose JWKS URL goes through `proxy`.
async fn cold_start(f: &Fixture, proxy: &FaultProxy) -> std::sync::Arc<App> {
    let jwks = format!("{}/{}/.well-known/jwks.json", proxy.endpoint, f.pool_id);
    f.app(&[("JWKS_URL", jwks.as_str())]).await
}

fn assert_unavailable(r: &common::Answer, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.text);
    assert_eq!(r.json["error"], "temporarily_unavailable", "{what}");
    assert_eq!(r.headers["retry-after"], "1", "{what}");
}

async fn session_listed(app: &App, t: &Tokens) -> bool {
    let claims = testkit::signout_claims(&t.access);
    let sub = Sub(claims["sub"].as_str().unwrap().to_owned());
    let jti = OriginJti(claims["origin_jti"].as_str().unwrap().to_owned());
    app.store()
        .load(Lookup::session(&sub, &jti), Consistency::Strong)
        .await
        .unwrap()
        .session_revoked_until
        .is_some()
}

#[tokio::test]
async fn jwks_down_at_cold_start_answers_503_on_every_route_until_the_keys_can_be_fetched() {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    for fault in faults() {
        // GIVEN a cold start whose first JWKS fetch meets `fault`
        let app = cold_start(&f, &proxy).await;
        let t = f.sign_in(&f.username).await;
        proxy.set(fault.clone());

        // WHEN the same requests come twice (the second inside the window in
        // which the verifier does not fetch again)
        for round in ["first", "second"] {
            let what = format!("{fault:?}, {round} request");
            let revoke = Call::new(Format::V2, "POST", "/revoke")
                .form(&format!(
                    "token={}&token_type_hint=access_token&client_id={}",
                    t.access, f.client_id
                ))
                .send(&app)
                .await;
            // THEN /revoke says "try again", not 200 with nothing recorded
            assert_unavailable(&revoke, &format!("/revoke, {what}"));
            // AND /signout says "try again", not 401 (which reads as "already signed out")
            let signout = Call::new(Format::V1, "POST", "/signout")
                .bearer(&t.access)
                .send(&app)
                .await;
            assert_unavailable(&signout, &format!("/signout, {what}"));
            let introspect = Call::new(Format::V2, "POST", "/introspect")
                .iam()
                .form(&format!("token={}", t.id))
                .send(&app)
                .await;
            assert_unavailable(&introspect, &format!("/introspect, {what}"));
            let session = Call::new(Format::V2, "GET", "/session")
                .bearer(&t.access)
                .send(&app)
                .await;
            assert_unavailable(&session, &format!("/session, {what}"));
        }
        // AND nothing was recorded or told to Cognito
        assert!(!session_listed(&app, &t).await, "{fault:?}");
        assert!(f.cognito_accepts(&t.access).await, "{fault:?}");
        assert!(
            app.verifier.jwks_fetches() <= 2,
            "{fault:?}: fetches are rate limited ({})",
            app.verifier.jwks_fetches()
        );

        // WHEN the keys can be fetched again (after the retry interval)
        proxy.set(Fault::Pass);
        tokio::time::sleep(JWKS_RETRY_INTERVAL + Duration::from_millis(100)).await;
        // THEN the same revocation goes through and is recorded
        let revoke = Call::new(Format::V2, "POST", "/revoke")
            .form(&format!(
                "token={}&token_type_hint=access_token&client_id={}",
                t.access, f.client_id
            ))
            .send(&app)
            .await;
        assert_eq!(revoke.status, 200, "{fault:?}: {}", revoke.text);
        assert!(session_listed(&app, &t).await, "{fault:?}");
    }
}

#[tokio::test]
async fn a_jwks_failure_after_a_good_fetch_keeps_the_known_keys_and_fails_only_new_kids_softly() {
    // GIVEN keys fetched once, then the JWKS endpoint failing
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let app = cold_start(&f, &proxy).await;
    let t = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "GET", "/session")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    proxy.set(Fault::Error(500, "InternalError"));
    // (inside JWKS_REFETCH_INTERVAL of a good fetch an unknown kid is refused
    // without fetching: the set is fresh and lacks it)
    tokio::time::sleep(JWKS_REFETCH_INTERVAL + Duration::from_millis(100)).await;

    // WHEN a token names a kid the cache does not know (a rotated key), so the
    // verifier fetches again and the fetch fails
    let parts: Vec<&str> = t.access.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"rotated-key"}"#);
    let rotated = format!("{header}.{}.{}", parts[1], parts[2]);
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&rotated)
        .send(&app)
        .await;
    // THEN the refetch failed: 503, not kid_unknown; and again inside the window
    assert_unavailable(&r, "rotated kid, JWKS failing");
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&rotated)
        .send(&app)
        .await;
    assert_unavailable(&r, "rotated kid again, JWKS failing");

    // AND tokens signed with the known key keep working without a fetch
    let r = Call::new(Format::V2, "GET", "/session")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // AND once the JWKS answers, an unknown kid is the token's fault again (401)
    proxy.set(Fault::Pass);
    tokio::time::sleep(JWKS_RETRY_INTERVAL + Duration::from_millis(100)).await;
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&rotated)
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (401, Some("invalid_token")),
        "{}",
        r.text
    );
    assert!(r.text.contains("kid_unknown"), "{}", r.text);
}
