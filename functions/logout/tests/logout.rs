//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

// ---------------------------------------------------------------- the chain

#[tokio::test]
async fn the_full_chain_for_a_cognito_user_ends_at_the_target_with_state_intact() {
    for format in FORMATS {
        // GIVEN a signed-in user whose browser holds the refresh-token and app cookies
        let h = harness(&[]).await;
        let tokens = h.f.sign_in(&h.f.username).await;
        let cookies = [refresh_cookie(&tokens), "app_session=abc".into()];

        // WHEN the app sends the browser to GET /logout, OIDC style (v1 lets the hint name the client)
        let client = h.f.client_id.as_str();
        let mut query = vec![
            ("post_logout_redirect_uri", TARGET),
            ("id_token_hint", tokens.id.as_str()),
            ("state", TRICKY_STATE),
            ("ui_locales", "fr-CA fr"),
            ("logout_hint", "alice"),
        ];
        if format == Format::V2 {
            query.push(("client_id", client));
        }
        let first = send(&h, &logout(format, &query, &cookies)).await;

        // THEN it is sent through Cognito's /logout with every app cookie expired, and no token in the URL
        assert_cognito_hop(&first, client);
        let location = first.location().unwrap();
        assert!(
            !location.contains(&tokens.id)
                && !location.contains(tokens.refresh.as_deref().unwrap())
        );
        assert!(
            !location.contains("af0ifjsldkj"),
            "state waits in the signed cookie"
        );
        let state = first.state_cookie();

        // AND the session is revoked in the store and the refresh token at Cognito
        assert_eq!(
            verdict(&h, &tokens.access).await,
            Verdict::Revoked(Revoked::Session)
        );
        assert!(
            h.f.refresh(tokens.refresh.as_deref().unwrap())
                .await
                .is_err()
        );

        // WHEN Cognito returns the browser to our callback with the state cookie
        let path = cognito_returns_to(location);
        assert_eq!(path, "/logout/callback");
        let last = send(&h, &callback(format, &state)).await;

        // THEN it lands on the target with state intact, and the state cookie is cleared
        assert_eq!(last.status, 302, "{format:?}");
        let end = last.location().unwrap();
        assert!(end.starts_with(&format!("{TARGET}?state=")), "{end}");
        assert_eq!(query_param(end, "state").as_deref(), Some(TRICKY_STATE));
        assert_eq!(last.set_cookies(), [STATE_CLEARED]);

        // AND the same state cookie replayed is refused
        let again = send(&h, &callback(format, &state)).await;
        assert_callback_refused(&again, "replayed");
    }
}

#[tokio::test]
async fn the_full_chain_for_a_federated_user_passes_through_the_idp_logout() {
    // GIVEN a user federated through Okta (the identities claim of the ID token names it)
    let h = harness(&[]).await;
    let tokens = h.f.sign_in(&h.f.username).await;
    let identities = json!([{
        "userId": "00u1example", "providerName": "Okta", "providerType": "OIDC",
        "issuer": null, "primary": "true", "dateCreated": "1700000000000"
    }]);
    let hint = h.f.remint(&tokens.id, json!({"identities": identities}));
    let client = h.f.client_id.as_str();

    // WHEN the browser signs out, with a target that has its own query
    let first = send(
        &h,
        &logout(
            Format::V2,
            &[
                ("client_id", client),
                ("post_logout_redirect_uri", TARGET_WITH_QUERY),
                ("id_token_hint", hint.as_str()),
                ("state", TRICKY_STATE),
            ],
            &[],
        ),
    )
    .await;

    // THEN first through Cognito
    assert_cognito_hop(&first, client);
    assert_eq!(
        verdict(&h, &tokens.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    cognito_returns_to(first.location().unwrap());

    // THEN from the callback through Okta's end_session_endpoint, without any token
    let second = send(&h, &callback(Format::V2, &first.state_cookie())).await;
    assert_eq!(second.status, 302);
    let idp = second.location().unwrap();
    assert!(idp.starts_with(&format!("{OKTA_LOGOUT}?")), "{idp}");
    assert_eq!(
        query_param(idp, "client_id").as_deref(),
        Some("0oa1example")
    );
    let back = query_param(idp, "post_logout_redirect_uri").unwrap();
    assert_eq!(back, TARGET_WITH_QUERY);
    assert_eq!(query_param(idp, "id_token_hint"), None);
    assert!(!idp.contains(&hint) && !idp.contains(&tokens.id));
    assert_eq!(second.set_cookies(), [STATE_CLEARED]);

    // WHEN Okta sends the browser back as OIDC RP-Initiated Logout says (state echoed)
    let mut end = Url::parse(&back).unwrap();
    end.query_pairs_mut()
        .append_pair("state", &query_param(idp, "state").unwrap());

    // THEN the app gets its own state, intact, at its own target
    assert_eq!(query_param(end.as_str(), "from").as_deref(), Some("logout"));
    assert_eq!(
        query_param(end.as_str(), "state").as_deref(),
        Some(TRICKY_STATE)
    );

    // AND a provider with no configured logout goes straight to the target
    let tokens = h.f.sign_in(&h.f.username).await;
    let google = h.f.remint(
        &tokens.id,
        json!({"identities": [{"userId": "1", "providerName": "Google", "providerType": "Google"}]}),
    );
    let first = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", google.as_str()), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;
    assert_cognito_hop(&first, client);
    let last = send(&h, &callback(Format::V2, &first.state_cookie())).await;
    assert_eq!(last.location(), Some(TARGET));
}

#[tokio::test]
async fn tampered_expired_foreign_and_replayed_state_cookies_are_refused() {
    // GIVEN a valid state cookie from a real first hop
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    let query = [
        ("client_id", client),
        ("logout_uri", TARGET),
        ("state", "s1"),
    ];
    let first = send(&h, &logout(Format::V2, &query, &[])).await;
    assert_cognito_hop(&first, client);
    let valid = first.state_cookie();
    let (payload, tag) = valid.split_once('.').unwrap();
    let flip = |s: &str, at: usize| {
        let mut b = s.as_bytes().to_vec();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let flow = FlowState {
        client: client.to_owned(),
        target: Some(TARGET.into()),
        state: Some("s1".into()),
        idp: None,
    };
    let other_key = Logout::new(
        LogoutSettings::from_lookup(Fixture::lookup(vec![
            ("COGNITO_DOMAIN".into(), DOMAIN.into()),
            ("LOGOUT_CALLBACK_URL".into(), CALLBACK.into()),
            (
                "LOGOUT_STATE_KEY".into(),
                "another key of at least thirty-two bytes".into(),
            ),
        ]))
        .unwrap(),
    );
    let cases = [
        ("payload tampered", format!("{}.{tag}", flip(payload, 10))),
        ("tag tampered", format!("{payload}.{}", flip(tag, 5))),
        ("tag removed", payload.to_owned()),
        ("signed with another key", other_key.seal_at(&flow, now_s())),
        ("expired", h.flow.seal_at(&flow, now_s() - 301)),
        ("garbage", "garbage".into()),
    ];

    // WHEN each is presented to the callback THEN each is refused, and the valid one is not burnt
    for (case, value) in &cases {
        for format in FORMATS {
            let a = send(&h, &callback(format, value)).await;
            assert_callback_refused(&a, case);
        }
    }
    // AND a callback without the cookie is refused without touching cookies
    let bare = send(&h, &event(Format::V2, "GET", "/logout/callback", &[], &[])).await;
    assert_refused(&bare, "no state cookie");
    // AND two state cookies are ambiguous
    let two = event(
        Format::V2,
        "GET",
        "/logout/callback",
        &[],
        &[
            format!("{STATE_COOKIE}={valid}"),
            format!("{STATE_COOKIE}={valid}"),
        ],
    );
    assert_callback_refused(&send(&h, &two).await, "two state cookies");

    // WHEN the valid one is presented THEN it works once, and its replay is refused
    let ok = send(&h, &callback(Format::V1, &valid)).await;
    assert_eq!(ok.location(), Some(format!("{TARGET}?state=s1").as_str()));
    for format in FORMATS {
        assert_callback_refused(&send(&h, &callback(format, &valid)).await, "replayed");
    }
}

#[tokio::test]
async fn without_a_target_the_flow_ends_on_our_signed_out_page() {
    // GIVEN an OIDC sign-out without post_logout_redirect_uri (allowed by the spec)
    let h = harness(&[]).await;
    let tokens = h.f.sign_in(&h.f.username).await;
    let first = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", tokens.id.as_str()), ("state", "ignored")],
            &[],
        ),
    )
    .await;

    // THEN the session is revoked and the browser still goes through Cognito
    assert_cognito_hop(&first, &h.f.client_id);
    assert_eq!(
        verdict(&h, &tokens.access).await,
        Verdict::Revoked(Revoked::Session)
    );

    // AND the callback shows our fixed signed-out page
    let last = send(&h, &callback(Format::V2, &first.state_cookie())).await;
    assert_page(&last, 200, page::SIGNED_OUT);
    assert_eq!(last.set_cookies(), [STATE_CLEARED]);
}

// ---------------------------------------------------------------- revocation

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
            assert_refused(&a, case);
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

// ---------------------------------------------------------------- cookies

#[tokio::test]
async fn app_cookies_are_expired_attribute_by_attribute() {
    // GIVEN four configured cookies: __Host-, __Secure- with a domain, SameSite=None, and a plain one
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();

    // WHEN a Cognito-style sign-out arrives (no hint, no cookie sent)
    let out = send(
        &h,
        &logout(
            Format::V2,
            &[("client_id", client), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;

    // THEN each is expired with the attributes it was set with
    assert_cognito_hop(&out, client);
    let set = out.set_cookies();
    assert_eq!(&set[..4], EXPIRED);
    let expected = [
        (
            "__Host-session",
            None,
            "/",
            true,
            true,
            Some(cookie::SameSite::Lax),
        ),
        (
            "__Secure-prefs",
            Some("example.com"),
            "/app",
            true,
            false,
            Some(cookie::SameSite::Strict),
        ),
        (
            "refresh_token",
            Some("api.example.com"),
            "/logout",
            true,
            true,
            Some(cookie::SameSite::None),
        ),
        ("app_session", None, "/", false, false, None),
    ];
    for (raw, (name, domain, path, secure, http_only, same_site)) in set.iter().zip(expected) {
        let c = Cookie::parse(raw.as_str()).unwrap();
        assert_eq!(c.name(), name);
        assert_eq!(c.value(), "", "{name}");
        assert_eq!(c.domain(), domain, "{name}");
        assert_eq!(c.path(), Some(path), "{name}");
        assert_eq!(c.secure().unwrap_or(false), secure, "{name}");
        assert_eq!(c.http_only().unwrap_or(false), http_only, "{name}");
        assert_eq!(c.same_site(), same_site, "{name}");
        assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO), "{name}");
        let expires = c.expires_datetime().expect("Expires");
        assert!(expires < cookie::time::OffsetDateTime::now_utc(), "{name}");
    }

    // AND the state cookie is __Host- (Secure, Path=/, no Domain), HttpOnly, Lax, five minutes
    let state = Cookie::parse(set[4].as_str()).unwrap();
    assert_eq!(state.name(), STATE_COOKIE);
    assert!(!state.value().is_empty());
    assert_eq!(
        (
            state.secure(),
            state.http_only(),
            state.same_site(),
            state.path(),
            state.domain()
        ),
        (
            Some(true),
            Some(true),
            Some(cookie::SameSite::Lax),
            Some("/"),
            None
        )
    );
    assert_eq!(state.max_age(), Some(cookie::time::Duration::seconds(300)));
    assert!(!set[4].contains("Domain="));
}

// ---------------------------------------------------------------- hostile input

/// Targets that must never be redirected to (the client allows exactly
/// `TARGET` and `TARGET_WITH_QUERY`).
const HOSTILE_TARGETS: &[&str] = &[
    // elsewhere, outright
    "https://evil.example.net/",
    "https://evil.example.net/signed-out",
    "//evil.example.net",
    "//evil.example.net/signed-out",
    "///evil.example.net/",
    "/\\evil.example.net",
    "\\\\evil.example.net",
    "https:\\\\evil.example.net",
    "https:/\\evil.example.net/",
    "https://evil.example.net/https://app.example.com/signed-out",
    // userinfo tricks
    "https://app.example.com@evil.example.net/",
    "https://app.example.com:443@evil.example.net/signed-out",
    "https://app.example.com\\@evil.example.net/",
    "https://app.example.com%2F@evil.example.net/",
    "https://evil.example.net#@app.example.com/signed-out",
    "https://evil.example.net?@app.example.com/signed-out",
    // look-alike hosts and suffixes
    "https://app.example.com.evil.example.net/signed-out",
    "https://app.example.com.evil.example.net/",
    "https://evilapp.example.com/signed-out",
    "https://app-example.com/signed-out",
    "https://app.example.co/signed-out",
    "https://app.example.com./signed-out",
    "https://app%2Eexample.com/signed-out",
    // IDN look-alikes (Cyrillic а, е) and punycode
    "https://аpp.example.com/signed-out",
    "https://app.exаmple.com/signed-out",
    "https://app.еxample.com/signed-out",
    "https://xn--pp-7kc.example.com/signed-out",
    // ports
    "https://app.example.com:443/signed-out",
    "https://app.example.com:8443/signed-out",
    "https://app.example.com:/signed-out",
    // schemes
    "http://app.example.com/signed-out",
    "HTTPS://app.example.com/signed-out",
    "ftp://app.example.com/signed-out",
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "javascript://app.example.com/signed-out%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    // case
    "https://APP.EXAMPLE.COM/signed-out",
    "https://app.example.com/Signed-Out",
    // path, query and fragment variants of an allowed URL
    "https://app.example.com",
    "https://app.example.com/",
    "https://app.example.com/signed-out/",
    "https://app.example.com/signed-outx",
    "https://app.example.com/signed-ou",
    "https://app.example.com/signed-out/../../evil",
    "https://app.example.com/signed-out;evil",
    "https://app.example.com/signed-out?",
    "https://app.example.com/signed-out?next=https://evil.example.net",
    "https://app.example.com/signed-out#",
    "https://app.example.com/signed-out#@evil.example.net",
    "https://app.example.com/bye",
    "https://app.example.com/bye?from=logout&next=https://evil.example.net",
    "https://app.example.com/bye?from=evil",
    "https://app.example.com/bye?FROM=logout",
    // encodings
    "https%3A%2F%2Fapp.example.com%2Fsigned-out",
    "https://app.example.com/signed%2Dout",
    "https://app.example.com%2Fsigned-out",
    "https://app.example.com/signed-out%0d%0aLocation:%20https://evil.example.net",
    "https://app.example.com/signed-out\r\nLocation: https://evil.example.net",
    "https://app.example.com/signed-out\nSet-Cookie: pwned=1",
    // whitespace, invisible and null characters
    " https://app.example.com/signed-out",
    "https://app.example.com/signed-out ",
    "\thttps://app.example.com/signed-out",
    "https://app.example.com/signed-out\t",
    "https://app.example.com/signed-out\u{0}",
    "https://app.example.com/signed-out\u{0}.evil.example.net",
    "https://app.example.com/signed-out\u{200b}",
    "https://app.example.com/signed-out\u{2028}",
    "\u{feff}https://app.example.com/signed-out",
    "",
    // IP literals and another client's target
    "https://127.0.0.1/signed-out",
    "https://[::1]/signed-out",
    OTHER_CLIENT_TARGET,
];

#[tokio::test]
async fn hostile_targets_are_refused_without_redirect_or_cookie() {
    // GIVEN a client whose allow-list is TARGET and TARGET_WITH_QUERY
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    assert!(HOSTILE_TARGETS.len() >= 40);
    for format in FORMATS {
        for allowed in [TARGET, TARGET_WITH_QUERY] {
            let ok = send(
                &h,
                &logout(
                    format,
                    &[("client_id", client), ("logout_uri", allowed)],
                    &[],
                ),
            )
            .await;
            assert_eq!(ok.status, 302, "control: {allowed} is allowed");
        }
    }

    // WHEN each hostile target arrives under either name, in either payload format
    for &target in HOSTILE_TARGETS {
        for name in ["logout_uri", "post_logout_redirect_uri"] {
            for format in FORMATS {
                let a = send(
                    &h,
                    &logout(
                        format,
                        &[("client_id", client), (name, target), ("state", "s")],
                        &["app_session=abc".into()],
                    ),
                )
                .await;
                // THEN 400, no Location, and no cookie touched
                assert_refused(&a, &format!("{format:?} {name}={target:?}"));
            }
        }
    }

    // AND ambiguous or misattributed requests are refused the same way
    let upper = client.to_uppercase();
    let spaced = format!("{client} ");
    let ambiguous: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "target repeated, second hostile",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("logout_uri", "https://evil.example.net/"),
            ],
        ),
        (
            "target repeated, same value",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("logout_uri", TARGET),
            ],
        ),
        (
            "client repeated",
            vec![
                ("client_id", client),
                ("client_id", client),
                ("logout_uri", TARGET),
            ],
        ),
        (
            "state repeated",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("state", "a"),
                ("state", "b"),
            ],
        ),
        (
            "both target names",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("post_logout_redirect_uri", TARGET),
            ],
        ),
        (
            "unknown client",
            vec![("client_id", "unknownclient123"), ("logout_uri", TARGET)],
        ),
        (
            "client in another case",
            vec![("client_id", upper.as_str()), ("logout_uri", TARGET)],
        ),
        (
            "client with a trailing space",
            vec![("client_id", spaced.as_str()), ("logout_uri", TARGET)],
        ),
        ("no client", vec![("logout_uri", TARGET)]),
        ("nothing at all", vec![]),
        (
            "another client's target",
            vec![
                ("client_id", h.f.secret_client_id.as_str()),
                ("logout_uri", TARGET),
            ],
        ),
    ];
    for (case, query) in &ambiguous {
        for format in FORMATS {
            assert_refused(&send(&h, &logout(format, query, &[])).await, case);
        }
    }
    // AND a repeat is caught in the raw query even when API Gateway's own map would hide it
    let raw = format!(
        "client_id={client}&logout_uri=https%3A%2F%2Fapp.example.com%2Fsigned-out&logout_uri=https%3A%2F%2Fevil.example.net%2F"
    );
    let mut e = v2_raw("GET", "/logout", &raw, &[], "$default");
    e["queryStringParameters"] = json!({"client_id": client, "logout_uri": TARGET});
    assert_refused(&send(&h, &e).await, "raw repeat");
    // AND a double-encoded allowed target is decoded once, so it does not match
    let raw =
        format!("client_id={client}&logout_uri=https%253A%252F%252Fapp.example.com%252Fsigned-out");
    assert_refused(
        &send(&h, &v2_raw("GET", "/logout", &raw, &[], "$default")).await,
        "double encoded",
    );
}

const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><svg onload=alert(1)>",
    "'><img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "<iframe src=javascript:alert(1)>",
    "javascript:alert(1)",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "<!--<script>alert(1)//-->",
    "\u{0}<script>alert(1)</script>",
    "\r\nSet-Cookie: pwned=1\r\nX-Injected: 1",
];

#[tokio::test]
async fn the_error_page_reflects_nothing_of_the_input() {
    // GIVEN hostile markup in every place a request carries input
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    for &payload in XSS {
        let target_with = format!("{TARGET}?x={payload}");
        let requests = [
            logout(
                Format::V2,
                &[("client_id", client), ("logout_uri", payload)],
                &[],
            ),
            logout(
                Format::V1,
                &[
                    ("client_id", client),
                    ("post_logout_redirect_uri", target_with.as_str()),
                ],
                &[],
            ),
            logout(
                Format::V2,
                &[("client_id", payload), ("logout_uri", TARGET)],
                &[],
            ),
            logout(
                Format::V1,
                &[
                    ("client_id", client),
                    ("logout_uri", payload),
                    ("state", payload),
                ],
                &[],
            ),
            logout(
                Format::V2,
                &[("id_token_hint", payload), ("logout_uri", TARGET)],
                &[],
            ),
            logout(
                Format::V1,
                &[
                    (payload, payload),
                    ("client_id", client),
                    ("logout_uri", payload),
                ],
                &[],
            ),
        ];
        for (i, req) in requests.iter().enumerate() {
            // WHEN it is sent THEN the answer is the fixed page, and no header carries any of it
            let a = send(&h, req).await;
            assert_refused(&a, &format!("request {i} with {payload:?}"));
            assert_reflects_nothing(&a, payload);
        }
        // AND parameters we ignore are ignored safely: a valid sign-out, nothing of them echoed
        let ignored = logout(
            Format::V2,
            &[
                (payload, payload),
                ("client_id", client),
                ("logout_uri", TARGET),
                ("ui_locales", payload),
                ("logout_hint", payload),
            ],
            &[],
        );
        let a = send(&h, &ignored).await;
        assert_cognito_hop(&a, client);
        assert_reflects_nothing(&a, payload);
        // AND the callback, with the payload as its state cookie (header-safe payloads only)
        if !payload.contains(['\r', '\n', '\u{0}']) {
            let a = send(&h, &callback(Format::V2, payload)).await;
            assert_eq!(a.body, page::INVALID);
            assert_reflects_nothing(&a, payload);
        }
    }
}

fn assert_reflects_nothing(a: &Answer, payload: &str) {
    assert!(!a.body.contains(payload));
    for marker in ["alert", "onerror", "onload", "pwned", "X-Injected", "49"] {
        assert!(!a.body.contains(marker), "{marker} in body");
    }
    for (name, value) in &a.headers {
        let v = value.to_str().unwrap();
        assert!(!v.contains(payload), "{name}: {v}");
        for marker in ["alert", "script", "onerror", "pwned", "7*7"] {
            assert!(!v.contains(marker), "{name}: {v}");
        }
        assert!(name.as_str() != "x-injected");
    }
}

// ---------------------------------------------------------------- failures

#[tokio::test]
async fn the_browser_still_gets_its_redirects_when_the_store_and_cognito_are_down() {
    // GIVEN a deployment on a private emulator, the JWKS already fetched
    let emu = testkit::start_emulator();
    let h = harness_on(Fixture::on(&emu.endpoint).await, &[]).await;
    let t = h.f.sign_in(&h.f.username).await;
    h.app.verifier.verify(&t.id, Expect::ID_HINT).await.unwrap();

    // WHEN the store and Cognito become unreachable and the user signs out
    emu.kill();
    let started = Instant::now();
    let first = send(
        &h,
        &logout(
            Format::V2,
            &[
                ("id_token_hint", t.id.as_str()),
                ("logout_uri", TARGET),
                ("state", "kept"),
            ],
            &[refresh_cookie(&t)],
        ),
    )
    .await;

    // THEN the browser is still sent on, with its cookies expired, and reaches the target
    assert_cognito_hop(&first, &h.f.client_id);
    let last = send(&h, &callback(Format::V2, &first.state_cookie())).await;
    assert_eq!(
        last.location(),
        Some(format!("{TARGET}?state=kept").as_str())
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------- routing

#[tokio::test]
async fn routes_methods_and_stages() {
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    let q = [("client_id", client), ("logout_uri", TARGET)];

    // GIVEN an unknown path THEN 404 page
    assert_page(
        &send(&h, &event(Format::V2, "GET", "/nope", &q, &[])).await,
        404,
        page::NOT_FOUND,
    );
    // GIVEN another method THEN 405 page with Allow: GET, and nothing done
    for format in FORMATS {
        let a = send(&h, &event(format, "POST", "/logout", &q, &[])).await;
        assert_page(&a, 405, page::METHOD_NOT_ALLOWED);
        assert_eq!(a.header("allow"), Some("GET"));
        assert!(a.set_cookies().is_empty());
    }
    // GIVEN an HTTP API stage in the raw path THEN it is routed
    let raw = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish();
    let a = send(&h, &v2_raw("GET", "/live/logout", &raw, &[], "live")).await;
    assert_cognito_hop(&a, client);
    let a = send(
        &h,
        &v2_raw(
            "GET",
            "/live/logout/callback",
            "",
            &[format!("{STATE_COOKIE}={}", a.state_cookie())],
            "live",
        ),
    )
    .await;
    assert_eq!(a.location(), Some(TARGET));
}

// ---------------------------------------------------------------- samples

#[tokio::test]
async fn every_sample_event_gets_its_documented_status() {
    // GIVEN the function configured as events/README.md assumes
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    let samples = testkit::sample_events("logout");
    assert!(!samples.is_empty());
    for (name, text) in samples {
        // GIVEN a fresh session, and for callbacks a state cookie from a real first hop
        let tokens = h.f.sign_in(&h.f.username).await;
        let sub = testkit::sub_of(&tokens.access);
        let mut filled = h.f.fill(&text, Some(&tokens), &sub);
        if filled.contains("PLACEHOLDER") {
            let q = [
                ("client_id", client),
                ("logout_uri", TARGET),
                ("state", "sample"),
            ];
            let first = send(&h, &logout(Format::V2, &q, &[])).await;
            filled = filled.replace("PLACEHOLDER", &first.state_cookie());
        }
        let event: Value = serde_json::from_str(&filled).unwrap();

        // WHEN it goes through the handler
        let a = send(&h, &event).await;

        // THEN its documented status
        if name.contains("hostile") {
            assert_refused(&a, &name);
        } else if name.contains("callback") {
            assert_eq!(
                a.location(),
                Some(format!("{TARGET}?state=sample").as_str()),
                "{name}"
            );
        } else {
            assert_cognito_hop(&a, client);
        }
        if name.contains("oidc") {
            assert_eq!(
                verdict(&h, &tokens.access).await,
                Verdict::Revoked(Revoked::Session),
                "{name}"
            );
            assert!(
                h.f.refresh(tokens.refresh.as_deref().unwrap())
                    .await
                    .is_err(),
                "{name}"
            );
        }
    }
}
