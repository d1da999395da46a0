//! The whole chain through the handler: GET /logout, Cognito's /logout, the
//! callback (and the IdP's logout), to the target with `state` intact; the
//! signed state cookie that carries it between hops.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

#[tokio::test]
async fn the_full_chain_for_a_cognito_user_ends_at_the_target_with_state_intact_v2() {
    full_chain_for_a_cognito_user(Format::V2).await;
}

#[tokio::test]
async fn the_full_chain_for_a_cognito_user_ends_at_the_target_with_state_intact_v1() {
    full_chain_for_a_cognito_user(Format::V1).await;
}

async fn full_chain_for_a_cognito_user(format: Format) {
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
    assert_cognito_hop_for(&first, client, &format!("{format:?}"));
    let location = first.location().unwrap();
    assert!(
        !location.contains(&tokens.id) && !location.contains(tokens.refresh.as_deref().unwrap())
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
        client_state: Some("s1".into()),
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
            assert_callback_refused(&a, &format!("{case}, {format:?}"));
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
        assert_callback_refused(
            &send(&h, &callback(format, &valid)).await,
            &format!("replayed, {format:?}"),
        );
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
