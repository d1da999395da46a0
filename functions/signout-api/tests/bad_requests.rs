//! The corpus of bad requests: each gets its documented status and error
//! code, echoes no input, and signs nobody out. Also the corpus of bad
//! cold starts (settings every function refuses) and of requests while the
//! signing keys cannot be fetched.

mod common;

use base64::Engine;
use common::{Call, CallExt, Format};
use serde_json::{Value, json};
use signout::{Config, Verdict};
use testkit::verdict;
use testkit::{Fault, FaultProxy, Fixture};

#[tokio::test]
async fn a_corpus_of_bad_requests_gets_the_documented_statuses() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let tok = t.access.as_str();
    let huge = "x".repeat(20_000);
    let v2 = |m: &'static str, p: &'static str| Call::new(Format::V2, m, p);
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "GET on /signout",
            v2("GET", "/signout").bearer(tok),
            405,
            "invalid_request",
        ),
        (
            "PUT on /revoke",
            v2("PUT", "/revoke"),
            405,
            "invalid_request",
        ),
        (
            "DELETE on /session",
            v2("DELETE", "/session").bearer(tok),
            405,
            "invalid_request",
        ),
        (
            "POST on /session",
            v2("POST", "/session").bearer(tok),
            405,
            "invalid_request",
        ),
        (
            "GET on admin",
            v2("GET", "/admin/signout-all").iam(),
            405,
            "invalid_request",
        ),
        ("unknown route", v2("POST", "/signin"), 404, "not_found"),
        ("root", v2("GET", "/"), 404, "not_found"),
        (
            "deeper route",
            v2("POST", "/signout/extra"),
            404,
            "not_found",
        ),
        (
            "admin without user",
            v2("POST", "/admin/users//signout").iam(),
            404,
            "not_found",
        ),
        (
            "no authorization",
            v2("POST", "/signout"),
            401,
            "invalid_request",
        ),
        (
            "basic instead of bearer",
            v2("POST", "/signout").header("authorization", "Basic eDp5"),
            401,
            "invalid_request",
        ),
        (
            "empty bearer",
            v2("POST", "/signout").header("authorization", "Bearer "),
            401,
            "invalid_request",
        ),
        (
            "doubled authorization",
            v2("POST", "/signout").bearer(tok).bearer(tok),
            400,
            "invalid_request",
        ),
        (
            "garbage token",
            v2("POST", "/signout").bearer("garbage"),
            401,
            "invalid_token",
        ),
        (
            "id token for signout",
            v2("POST", "/signout").bearer(&t.id),
            401,
            "invalid_token",
        ),
        (
            "text/plain body",
            v2("POST", "/signout")
                .bearer(tok)
                .header("content-type", "text/plain")
                .raw_body("{}"),
            415,
            "invalid_request",
        ),
        (
            "no content type",
            v2("POST", "/signout")
                .bearer(tok)
                .raw_body(r#"{"scope":"global"}"#),
            415,
            "invalid_request",
        ),
        (
            "huge body",
            v2("POST", "/signout")
                .bearer(tok)
                .json(json!({"scope": huge})),
            413,
            "invalid_request",
        ),
        (
            "not json",
            v2("POST", "/signout")
                .bearer(tok)
                .header("content-type", "application/json")
                .raw_body("{scope"),
            400,
            "invalid_request",
        ),
        (
            "json array",
            v2("POST", "/signout").bearer(tok).json(json!(["global"])),
            400,
            "invalid_request",
        ),
        (
            "scope number",
            v2("POST", "/signout").bearer(tok).json(json!({"scope": 1})),
            400,
            "invalid_request",
        ),
        (
            "scope unknown",
            v2("POST", "/signout")
                .bearer(tok)
                .json(json!({"scope": "everything"})),
            400,
            "invalid_request",
        ),
        (
            "unknown field",
            v2("POST", "/signout")
                .bearer(tok)
                .json(json!({"scope": "global", "x": 1})),
            400,
            "invalid_request",
        ),
        (
            "refresh with global",
            v2("POST", "/signout")
                .bearer(tok)
                .json(json!({"refresh_token": "r"})),
            400,
            "invalid_request",
        ),
        (
            "refresh not string",
            v2("POST", "/signout")
                .bearer(tok)
                .json(json!({"scope": "session", "refresh_token": 5})),
            400,
            "invalid_request",
        ),
        (
            "revoke json body",
            v2("POST", "/revoke").json(json!({"token": "x"})),
            415,
            "invalid_request",
        ),
        (
            "revoke doubled token",
            v2("POST", "/revoke").form("token=a&token=b&client_id=c"),
            400,
            "invalid_request",
        ),
        (
            "revoke client secret sent",
            v2("POST", "/revoke").form("token=a&client_secret=s&client_id=c"),
            400,
            "invalid_request",
        ),
        (
            "revoke no client",
            v2("POST", "/revoke").form("token=a"),
            401,
            "invalid_client",
        ),
        (
            "revoke huge",
            v2("POST", "/revoke").form(&format!("token={huge}")),
            413,
            "invalid_request",
        ),
        (
            "introspect no auth",
            v2("POST", "/introspect").form("token=a"),
            401,
            "invalid_client",
        ),
        (
            "introspect no token",
            v2("POST", "/introspect").iam().form("x=1"),
            400,
            "invalid_request",
        ),
        (
            "admin no iam",
            v2("POST", "/admin/signout-all"),
            403,
            "access_denied",
        ),
        (
            "admin body fields",
            v2("POST", "/admin/signout-all")
                .iam()
                .json(json!({"all": true})),
            400,
            "invalid_request",
        ),
        (
            "block as string",
            Call::new(Format::V2, "POST", "/admin/users/x/signout")
                .iam()
                .json(json!({"block_for_seconds": "60"})),
            400,
            "invalid_request",
        ),
        (
            "block too long",
            Call::new(Format::V2, "POST", "/admin/users/x/signout")
                .iam()
                .json(json!({"block_for_seconds": 99999999999u64})),
            400,
            "invalid_request",
        ),
        (
            "v1 unknown route",
            Call::new(Format::V1, "POST", "/nope"),
            404,
            "not_found",
        ),
        (
            "v1 wrong method",
            Call::new(Format::V1, "PATCH", "/signout").bearer(tok),
            405,
            "invalid_request",
        ),
    ];
    assert!(cases.len() >= 30);
    let mut cases: Vec<(String, Call, u16, &str)> = cases
        .into_iter()
        .map(|(what, call, status, error)| (what.to_owned(), call, status, error))
        .collect();
    // /revoke: every hint with every token type that must be refused. A token
    // without origin_jti cannot be revoked by session (unsupported_token_type);
    // another client's access, ID or refresh token is not this client's to
    // revoke (unauthorized_client). The hint changes neither.
    let other = f.sign_in_with(&f.username, &f.secret_client_id).await;
    let sessionless = f.remint(&t.access, json!({"origin_jti": null}));
    let sessionless_id = f.remint(&t.id, json!({"origin_jti": null}));
    let refused: [(&str, &str, &str); 5] = [
        (
            "sessionless access token",
            &sessionless,
            "unsupported_token_type",
        ),
        (
            "sessionless ID token",
            &sessionless_id,
            "unsupported_token_type",
        ),
        (
            "another client's access token",
            &other.access,
            "unauthorized_client",
        ),
        (
            "another client's ID token",
            &other.id,
            "unauthorized_client",
        ),
        (
            "another client's refresh token",
            other.refresh.as_deref().unwrap(),
            "unauthorized_client",
        ),
    ];
    for (kind, token, error) in refused {
        for hint in ["", "access_token", "id_token", "refresh_token", "saml"] {
            cases.push((
                format!("revoke {kind}, hint {hint:?}"),
                v2("POST", "/revoke").form(&format!(
                    "token={token}&token_type_hint={hint}&client_id={}",
                    f.client_id
                )),
                400,
                error,
            ));
        }
    }
    // A year-old access token: 401 at /signout (expired), whatever else it says
    let now = signout::EpochMs::now().secs();
    let year_old = f.remint(
        &t.access,
        json!({"iat": now - 366 * 86_400, "auth_time": now - 366 * 86_400, "exp": now - 365 * 86_400}),
    );
    cases.push((
        "year-old bearer at /signout".into(),
        v2("POST", "/signout").bearer(&year_old),
        401,
        "invalid_token",
    ));
    cases.push((
        "year-old bearer at /session".into(),
        v2("GET", "/session").bearer(&year_old),
        401,
        "invalid_token",
    ));
    // A revoked bearer at /signout: refused with the revocation code, never a
    // new sign-out of its user (the token's session was revoked through /revoke)
    let revoked = f.sign_in(&f.username).await;
    let r = v2("POST", "/revoke")
        .form(&format!(
            "token={}&client_id={}",
            revoked.access, f.client_id
        ))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for body in [
        json!({}),
        json!({"scope": "global"}),
        json!({"scope": "session"}),
    ] {
        cases.push((
            format!("revoked bearer at /signout, body {body}"),
            v2("POST", "/signout").bearer(&revoked.access).json(body),
            401,
            "invalid_token",
        ));
    }
    for (what, call, status, error) in &cases {
        let r = call.send(&app).await;
        assert_eq!(r.status, *status, "{what}: {}", r.text);
        assert_eq!(r.json["error"], *error, "{what}: {}", r.text);
        assert!(r.json["error_description"].is_string(), "{what}");
        assert!(!r.text.contains(&tok[..40]), "{what}: a token was echoed");
        assert!(!r.text.contains("xxxxxxxxxx"), "{what}: input was echoed");
    }
    // Invalid UTF-8 in a base64-encoded body
    let mut ev = v2("POST", "/signout")
        .bearer(tok)
        .header("content-type", "application/json")
        .event();
    ev["body"] = json!(base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0xfd]));
    ev["isBase64Encoded"] = json!(true);
    let r = common::send_event(&app, &ev).await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("invalid_request")),
        "{}",
        r.text
    );
    // The 405 names what is allowed
    let r = v2("GET", "/signout").send(&app).await;
    assert_eq!(r.headers["allow"], "POST");
    // Nothing above signed the user out
    assert_eq!(verdict(&app, tok).await, Verdict::Active);
    let _ = Value::Null;
}

#[tokio::test]
async fn with_the_jwks_down_at_cold_start_every_route_answers_503_never_a_verdict() {
    // GIVEN a cold start whose JWKS endpoint resets every connection
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    proxy.set(Fault::Reset);
    let jwks = format!("{}/{}/.well-known/jwks.json", proxy.endpoint, f.pool_id);
    let app = f.app(&[("JWKS_URL", jwks.as_str())]).await;
    let t = f.sign_in(&f.username).await;
    let v2 = |m: &'static str, p: &'static str| Call::new(Format::V2, m, p);
    let mut cases: Vec<(String, Call)> = vec![
        ("signout".into(), v2("POST", "/signout").bearer(&t.access)),
        (
            "signout, session".into(),
            v2("POST", "/signout")
                .bearer(&t.access)
                .json(json!({"scope": "session", "refresh_token": t.refresh})),
        ),
        ("session".into(), v2("GET", "/session").bearer(&t.id)),
        (
            "introspect".into(),
            v2("POST", "/introspect")
                .iam()
                .form(&format!("token={}", t.access)),
        ),
    ];
    for hint in ["", "access_token", "id_token", "refresh_token", "saml"] {
        for (kind, token) in [("access", &t.access), ("ID", &t.id)] {
            cases.push((
                format!("revoke {kind} token, hint {hint:?}"),
                v2("POST", "/revoke").form(&format!(
                    "token={token}&token_type_hint={hint}&client_id={}",
                    f.client_id
                )),
            ));
        }
    }
    // WHEN each is sent (all inside the retry interval after the first fetch)
    for (what, call) in &cases {
        let r = call.send(&app).await;
        // THEN each is "try again", never a 200 that did nothing or a 401 that blames the token
        assert_eq!(r.status, 503, "{what}: {}", r.text);
        assert_eq!(r.json["error"], "temporarily_unavailable", "{what}");
        assert_eq!(r.headers["retry-after"], "1", "{what}");
        assert!(
            !r.text.contains(&t.access[..40]),
            "{what}: a token was echoed"
        );
    }
    // AND Cognito was not told anything
    assert!(f.cognito_accepts(&t.access).await);
    assert!(f.refresh(t.refresh.as_deref().unwrap()).await.is_ok());
}

#[test]
fn every_forbidden_signout_claim_stops_the_cold_start_with_one_line() {
    // One name per class a user, a client or Cognito can write
    let base = [
        ("AWS_REGION", "us-east-1"),
        ("USER_POOL_ID", "us-east-1_AbC123"),
        ("SIGNOUT_TABLE", "revocations"),
        ("APP_CLIENT_IDS", "abc123"),
    ];
    for name in [
        "custom:signout_epoch",
        "dev:custom:stamp",
        "cognito:groups",
        "email",
        "phone_number",
        "address",
        "name",
        "iat",
        "auth_time",
        "origin_jti",
        "token_use",
        "client_id",
        "scope",
        "username",
        "event_id",
        "nonce",
        "at_hash",
        "identities",
    ] {
        let env: Vec<(&str, &str)> = base
            .iter()
            .copied()
            .chain([("SIGNOUT_CLAIM", name)])
            .collect();
        let err = Config::from_lookup(|k| {
            env.iter()
                .find(|(ek, _)| *ek == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect_err(name);
        assert_eq!(err.problems.len(), 1, "{name}: {err}");
        assert_eq!(err.problems[0].variable, "SIGNOUT_CLAIM", "{name}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}
