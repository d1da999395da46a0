//! What an `id_token_hint` may and may not do: a hint that cannot be
//! verified because our keys are down, a hint too old to name a session that
//! can still exist, and a hint already signed out.

mod common;

use common::*;
use testkit::{Fault, FaultProxy};

/// Unavailable: the fixed 503 page, `Retry-After`, no redirect and no cookie.
fn assert_unavailable(a: &Answer, case: &str) {
    assert_eq!(a.status, 503, "{case}: {}", a.text);
    assert_page(a, 503, page::UNAVAILABLE);
    assert_eq!(a.header("retry-after"), Some("1"), "{case}");
    assert!(a.set_cookies().is_empty(), "{case}: {:?}", a.set_cookies());
}

// ---------------------------------------------------------------- keys down

#[tokio::test]
async fn jwks_down_at_cold_start_never_blames_the_hint() {
    // GIVEN a cold start whose JWKS endpoint fails
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let jwks = format!("{}/{}/.well-known/jwks.json", proxy.endpoint, f.pool_id);
    proxy.set(Fault::Error(500, "InternalError"));
    let h = harness_on(f, &[("JWKS_URL", jwks.as_str())]).await;
    let t = h.f.sign_in(&h.f.username).await;
    let client = h.f.client_id.clone();

    // WHEN browsers come with valid hints, again and again (the later ones
    // inside the window in which the verifier does not fetch again)
    for round in 0..3 {
        for format in FORMATS {
            let case = format!("round {round}, {format:?}");
            // THEN with client_id the browser is still signed out (cookies,
            // Cognito's hop), never refused as if the link were bad
            let a = send(
                &h,
                &logout(
                    format,
                    &[
                        ("client_id", client.as_str()),
                        ("id_token_hint", t.id.as_str()),
                        ("logout_uri", TARGET),
                    ],
                    &[],
                ),
            )
            .await;
            assert_cognito_hop(&a, &client);
            // AND without client_id (no allow-list to check the target
            // against) it gets "try again", not "this link is not valid"
            let a = send(
                &h,
                &logout(
                    format,
                    &[
                        ("id_token_hint", t.id.as_str()),
                        ("post_logout_redirect_uri", TARGET),
                    ],
                    &[],
                ),
            )
            .await;
            assert_unavailable(&a, &case);
        }
    }
    // AND the hinted session was not named (the hint could not be verified)
    assert_eq!(listed_until(&h, &t.access).await, None);

    // WHEN the keys can be fetched again THEN the hint names its session
    proxy.set(Fault::Pass);
    tokio::time::sleep(signout::tokens::JWKS_RETRY_INTERVAL + Duration::from_millis(100)).await;
    let a = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", t.id.as_str()), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;
    assert_cognito_hop(&a, &client);
    assert!(listed_until(&h, &t.access).await.is_some());
}

// ---------------------------------------------------------------- old hints

/// `token`'s ID token re-signed as minted `age` seconds ago (and expired a
/// day after that, or an hour ago when younger).
fn hint_aged(h: &H, id: &str, age: u64) -> String {
    let now = now_s();
    let iat = now - age;
    let exp = (iat + 86_400).min(now - 3600);
    h.f.remint(id, json!({"iat": iat, "auth_time": iat, "exp": exp}))
}

/// The user's cutoff (ms), if one is recorded.
async fn user_cutoff(h: &H, token: &str) -> Option<u64> {
    let sub = Sub(claim(token, "sub").as_str().unwrap().to_owned());
    h.app
        .store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap()
        .user_not_before
        .map(|c| c.0)
}

#[tokio::test]
async fn a_year_old_hint_is_refused_and_signs_nobody_out() {
    for scope in ["global", "session"] {
        // GIVEN LOGOUT_SCOPE and a user with a current session, whose ID token
        // from a year ago leaked
        let h = harness(&[("LOGOUT_SCOPE", scope)]).await;
        let current = h.f.sign_in(&h.f.username).await;
        let leaked = hint_aged(&h, &current.id, 366 * 86_400);

        // WHEN anyone sends a browser to /logout with it, in both formats
        for format in FORMATS {
            let a = send(
                &h,
                &logout(
                    format,
                    &[("id_token_hint", leaked.as_str()), ("logout_uri", TARGET)],
                    &[],
                ),
            )
            .await;
            // THEN it gets the fixed error page, no redirect, no cookie
            assert_refused(&a, &format!("{scope}, {format:?}"));
        }
        // AND nobody was signed out
        assert_eq!(user_cutoff(&h, &current.access).await, None, "{scope}");
        assert_eq!(listed_until(&h, &current.access).await, None, "{scope}");
        assert_eq!(verdict(&h, &current.access).await, Verdict::Active);
    }
}

/// `GET /logout` with `hint` and an allowed target.
async fn with_hint(h: &H, format: Format, hint: &str) -> Answer {
    send(
        h,
        &logout(
            format,
            &[("id_token_hint", hint), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await
}

#[tokio::test]
async fn the_hint_age_bound_is_measured_from_iat_and_defaults_to_the_refresh_token_lifetime() {
    // GIVEN refresh tokens that live a day and no explicit bound
    let h = harness(&[("REFRESH_TOKEN_LIFETIME_SECONDS", "86400")]).await;
    let t = h.f.sign_in(&h.f.username).await;
    // THEN an expired hint minted just over a day ago is refused, and nothing recorded
    let old = hint_aged(&h, &t.id, 86_400 + 120);
    assert_refused(
        &with_hint(&h, Format::V2, &old).await,
        "a day and two minutes",
    );
    assert_eq!(listed_until(&h, &t.access).await, None);
    // AND one minted within the day is accepted and names its session
    let recent = hint_aged(&h, &t.id, 86_400 - 600);
    assert_cognito_hop(&with_hint(&h, Format::V2, &recent).await, &h.f.client_id);
    assert!(listed_until(&h, &t.access).await.is_some());

    // GIVEN an explicit bound of an hour
    let h = harness(&[("LOGOUT_HINT_MAX_AGE_SECONDS", "3600")]).await;
    let t = h.f.sign_in(&h.f.username).await;
    let now = now_s();
    let expired_at = |iat: u64| {
        h.f.remint(
            &t.id,
            json!({"iat": iat, "auth_time": iat, "exp": now - 60}),
        )
    };
    // THEN expired hints are judged by iat: 61 minutes is too old, 50 is not
    let old = expired_at(now - 3660);
    assert_refused(&with_hint(&h, Format::V1, &old).await, "61 minutes");
    assert_eq!(listed_until(&h, &t.access).await, None);
    let recent = expired_at(now - 3000);
    assert_cognito_hop(&with_hint(&h, Format::V1, &recent).await, &h.f.client_id);
    assert!(listed_until(&h, &t.access).await.is_some());
    // AND a hint that has not expired is a valid token, whatever its age
    let u = h.f.sign_in(&h.f.username).await;
    let unexpired = h.f.remint(
        &u.id,
        json!({"iat": now - 7200, "auth_time": now - 7200, "exp": now + 3600}),
    );
    assert_cognito_hop(&with_hint(&h, Format::V2, &unexpired).await, &h.f.client_id);
    assert!(listed_until(&h, &u.access).await.is_some());
}

#[tokio::test]
async fn a_hint_already_signed_out_cannot_sign_its_user_out_again() {
    // GIVEN LOGOUT_SCOPE=global and a user who signed out with hint a
    let h = harness(&[("LOGOUT_SCOPE", "global")]).await;
    let a = h.f.sign_in(&h.f.username).await;
    let q = [("id_token_hint", a.id.as_str()), ("logout_uri", TARGET)];
    assert_cognito_hop(
        &send(&h, &logout(Format::V2, &q, &[])).await,
        &h.f.client_id,
    );
    let cutoff = user_cutoff(&h, &a.access).await.expect("a cutoff");
    // AND who signed in again later
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let b = h.f.sign_in(&h.f.username).await;
    assert_eq!(verdict(&h, &b.access).await, Verdict::Active);

    // WHEN hint a is replayed (a leaked copy)
    let out = send(&h, &logout(Format::V1, &q, &[])).await;

    // THEN the browser still goes through the sign-out hops, but nothing more
    // is recorded: the cutoff did not move and the new session works
    assert_cognito_hop(&out, &h.f.client_id);
    assert_eq!(user_cutoff(&h, &a.access).await, Some(cutoff));
    assert_eq!(verdict(&h, &b.access).await, Verdict::Active);
}

// ---------------------------------------------------------------- refresh cookie

#[tokio::test]
async fn a_refresh_cookie_that_cannot_be_tied_to_the_hint_never_shortens_its_listing() {
    // GIVEN two sessions, and a browser holding session b's refresh token
    // while its hint names session a
    let h = harness(&[]).await;
    let a = h.f.sign_in(&h.f.username).await;
    let b = h.f.sign_in(&h.f.username).await;

    // WHEN it signs out
    let before = now_s();
    let out = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", a.id.as_str()), ("logout_uri", TARGET)],
            &[refresh_cookie(&b)],
        ),
    )
    .await;
    assert_cognito_hop(&out, &h.f.client_id);

    // THEN Cognito revoked b's refresh token, but a's still mints tokens...
    assert!(h.f.refresh(b.refresh.as_deref().unwrap()).await.is_err());
    let minted = h.f.refresh(a.refresh.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        verdict(&h, &minted.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    // ... so session a stays listed as long as that refresh token could mint,
    // and those tokens live (not only as long as a's current tokens live)
    let until = listed_until(&h, &a.access).await.expect("session listed");
    let refresh = h.app.config.refresh_token_lifetime.as_secs();
    let day = h.app.config.max_token_lifetime.as_secs();
    assert!(until >= before + refresh + day, "listed only until {until}");
}
