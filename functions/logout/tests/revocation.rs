//! What a sign-out revokes: the session named by an `id_token_hint` (expired
//! hints too, forged or foreign ones never), every session with
//! `LOGOUT_SCOPE=global`, and the refresh-token cookie at Cognito.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

#[tokio::test]
async fn an_id_token_hint_revokes_its_session_and_leaves_the_others() {
    // GIVEN one user with two sessions, and no refresh-token cookie
    let h = harness(&[]).await;
    let a = h.f.sign_in(&h.f.username).await;
    let b = h.f.sign_in(&h.f.username).await;
    assert_ne!(
        claim(&a.access, "origin_jti"),
        claim(&b.access, "origin_jti")
    );

    // WHEN session a signs out with its ID token as hint (the hint names the client)
    let before = now_s();
    let out = send(
        &h,
        &logout(
            Format::V1,
            &[
                ("id_token_hint", a.id.as_str()),
                ("post_logout_redirect_uri", TARGET),
            ],
            &[],
        ),
    )
    .await;

    // THEN session a is rejected by the shared check, session b is not
    assert_cognito_hop(&out, &h.f.client_id);
    assert_eq!(
        verdict(&h, &a.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    assert_eq!(verdict(&h, &a.id).await, Verdict::Revoked(Revoked::Session));
    assert_eq!(verdict(&h, &b.access).await, Verdict::Active);
    assert!(h.f.cognito_accepts(&b.access).await);

    // AND it stays listed as long as its refresh token (not revoked here) could
    // mint tokens, and those tokens live
    let until = listed_until(&h, &a.access).await.expect("session listed");
    let refresh = h.app.config.refresh_token_lifetime.as_secs();
    let day = h.app.config.max_token_lifetime.as_secs();
    assert!(
        (before + refresh + day..=now_s() + refresh + day).contains(&until),
        "{until}"
    );
    assert_eq!(listed_until(&h, &b.access).await, None);
}

#[tokio::test]
async fn an_expired_hint_still_signs_its_session_out() {
    // GIVEN a session whose ID token expired an hour ago
    let h = harness(&[]).await;
    let t = h.f.sign_in(&h.f.username).await;
    let now = now_s();
    let expired = h.f.remint(
        &t.id,
        json!({"iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600}),
    );
    assert!(
        h.app.verifier.verify(&expired, Expect::ID).await.is_err(),
        "expired for ordinary use"
    );

    // WHEN it is the hint of a sign-out
    let out = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", expired.as_str()), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;

    // THEN the sign-out proceeds and its session is revoked
    assert_cognito_hop(&out, &h.f.client_id);
    assert_eq!(
        verdict(&h, &t.access).await,
        Verdict::Revoked(Revoked::Session)
    );
}

#[tokio::test]
async fn a_forged_or_foreign_hint_revokes_nothing_and_is_refused() {
    // GIVEN a signed-in user (public client) and a session on the confidential client
    let h = harness(&[]).await;
    let t = h.f.sign_in(&h.f.username).await;
    let other = h.f.sign_in_with(&h.f.username, &h.f.secret_client_id).await;
    let b = h.f.sign_in(&h.f.username).await;
    let parts: Vec<&str> = t.id.split('.').collect();
    let b_parts: Vec<&str> = b.id.split('.').collect();
    let sig = parts[2];
    let flipped_sig = format!(
        "{}{}",
        &sig[..sig.len() - 6],
        if sig.ends_with("AAAAAA") {
            "BBBBBB"
        } else {
            "AAAAAA"
        }
    );
    let alg_none = format!("eyJhbGciOiJub25lIiwia2lkIjoiZHVtbXkifQ.{}.", parts[1]);
    let foreign_iss = h.f.remint(
        &t.id,
        json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}),
    );
    let foreign_aud = h.f.remint(&t.id, json!({"aud": "unknownclient123"}));
    let year = 365 * 86_400;
    let year_old = h.f.remint(
        &t.id,
        json!({"iat": now_s() - year - 86_400, "auth_time": now_s() - year - 86_400, "exp": now_s() - year}),
    );
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "signature altered",
            format!("{}.{}.{flipped_sig}", parts[0], parts[1]),
            None,
        ),
        (
            "another token's payload",
            format!("{}.{}.{}", parts[0], b_parts[1], sig),
            None,
        ),
        ("alg none", alg_none, None),
        ("foreign issuer", foreign_iss, None),
        ("foreign audience", foreign_aud, None),
        ("a year-old hint", year_old, None),
        ("access token", t.access.clone(), None),
        ("not a JWT", "not-a-jwt".into(), None),
        (
            "hint of another client than client_id",
            other.id.clone(),
            Some(h.f.client_id.as_str()),
        ),
    ];

    // WHEN each is the hint of a sign-out, with the refresh-token cookie along
    for (case, hint, client) in &cases {
        for format in FORMATS {
            let mut q = vec![
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", TARGET),
            ];
            if let Some(c) = client {
                q.push(("client_id", c));
            }
            let a = send(&h, &logout(format, &q, &[refresh_cookie(&t)])).await;

            // THEN it is refused with the fixed page
            assert_refused(&a, &format!("{case}, {format:?}"));
        }
    }

    // AND nothing was revoked: not the session, not the user, not the refresh token
    assert_eq!(verdict(&h, &t.access).await, Verdict::Active);
    assert_eq!(verdict(&h, &b.access).await, Verdict::Active);
    assert_eq!(listed_until(&h, &t.access).await, None);
    assert!(h.f.refresh(t.refresh.as_deref().unwrap()).await.is_ok());
}

#[tokio::test]
async fn global_scope_signs_every_session_of_the_user_out() {
    // GIVEN LOGOUT_SCOPE=global and a user with two sessions
    let h = harness(&[("LOGOUT_SCOPE", "global")]).await;
    let a = h.f.sign_in(&h.f.username).await;
    let b = h.f.sign_in(&h.f.username).await;

    // WHEN session a signs out
    let out = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", a.id.as_str()), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;

    // THEN both sessions' tokens are rejected by the shared check
    assert_cognito_hop(&out, &h.f.client_id);
    assert_eq!(
        verdict(&h, &a.access).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
    assert_eq!(
        verdict(&h, &b.access).await,
        Verdict::Revoked(Revoked::SignedOut)
    );

    // AND a sign-in after it is accepted
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = h.f.sign_in(&h.f.username).await;
    assert_eq!(verdict(&h, &c.access).await, Verdict::Active);
}

#[tokio::test]
async fn the_refresh_token_cookie_is_revoked_at_cognito() {
    // GIVEN LOGOUT_REFRESH_COOKIE=refresh_token and two sessions whose refresh tokens work
    let h = harness(&[]).await;
    let a = h.f.sign_in(&h.f.username).await;
    let b = h.f.sign_in(&h.f.username).await;
    let refresh_a = a.refresh.clone().unwrap();
    let refresh_b = b.refresh.clone().unwrap();
    assert!(h.f.refresh(&refresh_a).await.is_ok());

    // WHEN session a signs out with its hint and its refresh-token cookie
    let before = now_s();
    let out = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", a.id.as_str()), ("logout_uri", TARGET)],
            &[refresh_cookie(&a)],
        ),
    )
    .await;

    // THEN Cognito refuses that refresh token; the session stays listed as
    // long as a refresh token could mint, since nothing ties the cookie to
    // the hint (hints.rs: a_refresh_cookie_that_cannot_be_tied_to_the_hint_never_shortens_its_listing)
    assert_cognito_hop(&out, &h.f.client_id);
    assert!(h.f.refresh(&refresh_a).await.is_err());
    let until = listed_until(&h, &a.access).await.expect("session listed");
    let refresh = h.app.config.refresh_token_lifetime.as_secs();
    let day = h.app.config.max_token_lifetime.as_secs();
    assert!(
        (before + refresh + day..=now_s() + refresh + day).contains(&until),
        "{until}"
    );

    // AND a Cognito-style sign-out (no hint) revokes the cookie's refresh token too
    assert!(h.f.refresh(&refresh_b).await.is_ok());
    let client = h.f.client_id.as_str();
    let out = send(
        &h,
        &logout(
            Format::V1,
            &[("client_id", client), ("logout_uri", TARGET)],
            &[refresh_cookie(&b)],
        ),
    )
    .await;
    assert_cognito_hop(&out, client);
    assert!(h.f.refresh(&refresh_b).await.is_err());
}
