//! Invariant 6 for the logout function: both routes, both payload formats,
//! hints, cookies, state cookies replayed and forged, hostile targets, the
//! store and Cognito failing; then its log is searched for every secret it
//! was given (see the crate's documentation).

use e2e_tests::*;
use serde_json::{Value, json};
use signout::logout::{Logout, STATE_COOKIE};
use signout::model::EpochMs;
use testkit::apigw::{Call, Format};

#[test]
fn logout_logs_no_token_cookie_secret_or_authorization_header_even_at_trace() {
    no_secrets_in_logs(
        "logout",
        &[
            "\"message\":\"logout\"",
            "logout refused",
            "logout callback refused",
            "logout step failed",
        ],
        40,
        drive,
    );
}

/// A browser's request to the logout function as API Gateway delivers it
/// (REST events without `X-Forwarded-Proto`, as this test always sent them).
fn logout_event(format: Format, path: &str, query: &[(&str, &str)], cookies: &[String]) -> Value {
    let call = Call::browser(format, "GET", path)
        .query(query)
        .cookies(cookies);
    match format {
        Format::V2 => call,
        Format::V1 => call.without_header("X-Forwarded-Proto"),
    }
    .event()
}

/// One request to the logout function, as a browser in `format` sends it.
async fn hop(
    ctx: &Ctx,
    flow: &Logout,
    format: Format,
    path: &str,
    query: &[(&str, &str)],
    cookies: &[String],
) -> LogoutAnswer {
    let event = logout_event(format, path, query, cookies);
    ctx.logout(&ctx.app, flow, &event).await
}

async fn drive(ctx: &Ctx) {
    cold_start(ctx, true).await;
    let f = &ctx.f;
    let flow = ctx.flow();
    let app = &*ctx.app;
    for format in [Format::V2, Format::V1] {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let cookies = vec![
            format!("refresh_token={}", t.refresh.as_deref().unwrap()),
            format!("app_session=app-session-value-{}", testkit::unique("s")),
            format!("__Host-session=host-session-value-{}", testkit::unique("h")),
        ];
        // OIDC RP-initiated, with a hint, state and every cookie
        let a = hop(
            ctx,
            &flow,
            format,
            "/logout",
            &[
                ("client_id", f.client_id.as_str()),
                ("post_logout_redirect_uri", TARGET),
                ("id_token_hint", t.id.as_str()),
                ("state", "opaque-app-state"),
            ],
            &cookies,
        )
        .await;
        assert_eq!(a.status, 302, "{}", a.body);
        let state = a.state.expect("a state cookie");
        let back = vec![format!("{STATE_COOKIE}={state}")];
        let a = hop(ctx, &flow, format, "/logout/callback", &[], &back).await;
        assert_eq!(a.status, 302, "{}", a.body);
        // Replayed, tampered and doubled state cookies
        let a = hop(ctx, &flow, format, "/logout/callback", &[], &back).await;
        assert_eq!(a.status, 400);
        let forged_state = format!("{STATE_COOKIE}={}x", &state[..state.len() - 1]);
        ctx.secrets().value(&forged_state);
        let a = hop(
            ctx,
            &flow,
            format,
            "/logout/callback",
            &[],
            std::slice::from_ref(&forged_state),
        )
        .await;
        assert_eq!(a.status, 400);
        hop(
            ctx,
            &flow,
            format,
            "/logout/callback",
            &[],
            &[back[0].clone(), forged_state.clone()],
        )
        .await;
        hop(ctx, &flow, format, "/logout/callback", &[], &[]).await;

        // Cognito style, with cookies; a federated user's hint (through the IdP's logout)
        let t2 = ctx.sign_in(&user).await;
        let a = hop(
            ctx,
            &flow,
            format,
            "/logout",
            &[("client_id", f.client_id.as_str()), ("logout_uri", TARGET)],
            &[format!("refresh_token={}", t2.refresh.as_deref().unwrap())],
        )
        .await;
        assert_eq!(a.status, 302, "{}", a.body);
        let t3 = ctx.sign_in(&user).await;
        let identities = json!([{"userId": "00u1example", "providerName": "Okta", "providerType": "OIDC", "issuer": null, "primary": "true", "dateCreated": "1700000000000"}]);
        let federated = ctx.remint(&t3.id, json!({"identities": identities}));
        let a = hop(
            ctx,
            &flow,
            format,
            "/logout",
            &[
                ("id_token_hint", federated.as_str()),
                ("logout_uri", TARGET),
            ],
            &[],
        )
        .await;
        assert_eq!(a.status, 302, "{}", a.body);
        let state = a.state.expect("a state cookie");
        hop(
            ctx,
            &flow,
            format,
            "/logout/callback",
            &[],
            &[format!("{STATE_COOKIE}={state}")],
        )
        .await;

        // Refused: hostile targets, forged hints, another client's hint, repeats
        let t4 = ctx.sign_in(&user).await;
        let forged = tampered(&t4.id);
        ctx.secrets().token(&forged);
        let hostile: Vec<Vec<(&str, &str)>> = vec![
            vec![
                ("client_id", f.client_id.as_str()),
                ("logout_uri", "https://evil.example.net/"),
                ("id_token_hint", t4.id.as_str()),
            ],
            vec![("id_token_hint", forged.as_str()), ("logout_uri", TARGET)],
            vec![
                ("client_id", f.secret_client_id.as_str()),
                ("id_token_hint", t4.id.as_str()),
            ],
            vec![("id_token_hint", t4.access.as_str())],
            vec![
                ("id_token_hint", t4.id.as_str()),
                ("id_token_hint", t4.id.as_str()),
            ],
            vec![("logout_uri", TARGET)],
        ];
        for q in hostile {
            let a = hop(ctx, &flow, format, "/logout", &q, &cookies[1..]).await;
            assert_eq!(a.status, 400, "{q:?}: {}", a.body);
        }
        // An expired hint still signs its session out
        let now = EpochMs::now().secs();
        let t5 = ctx.sign_in(&user).await;
        let expired = ctx.remint(&t5.id, json!({"iat": now - 7200, "exp": now - 3600}));
        let a = hop(
            ctx,
            &flow,
            format,
            "/logout",
            &[("id_token_hint", expired.as_str()), ("logout_uri", TARGET)],
            &cookies,
        )
        .await;
        assert_eq!(a.status, 302, "{}", a.body);
    }

    // Every sample event
    for (name, text) in testkit::sample_events("logout") {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let mut filled = f
            .fill(&text, Some(&t), &testkit::sub_of(&t.access))
            .replace(
                "app_session=abc",
                &format!("app_session=sample-cookie-{}", testkit::unique("v")),
            );
        if filled.contains("PLACEHOLDER") {
            let query = [("client_id", f.client_id.as_str()), ("logout_uri", TARGET)];
            let a = hop(ctx, &flow, Format::V2, "/logout", &query, &[]).await;
            filled = filled.replace("PLACEHOLDER", &a.state.expect("a state cookie"));
        }
        let event: Value = serde_json::from_str(&filled).unwrap();
        let a = ctx.logout(app, &flow, &event).await;
        assert!(a.status == 302 || a.status == 400, "{name}: {}", a.status);
    }

    // The refresh cookie's revocation and the hint's record failing
    let user = ctx.user().await;
    in_every_fault(ctx, &user, async |t, _| {
        let cookies = [format!("refresh_token={}", t.refresh.as_deref().unwrap())];
        ctx.logout(
            &ctx.faulty,
            &flow,
            &logout_event(
                Format::V2,
                "/logout",
                &[("id_token_hint", t.id.as_str()), ("logout_uri", TARGET)],
                &cookies,
            ),
        )
        .await;
    })
    .await;
}
