//! The sign-out API through its handler, against the emulator.

mod common;

use base64::Engine;
use common::{Call, CallExt, Format};
use serde_json::{Value, json};
use signout::{Revoked, Verdict};
use testkit::Fixture;
use testkit::verdict;

#[tokio::test]
async fn global_sign_out_revokes_both_tokens_everywhere_in_both_payload_formats() {
    for format in [Format::V2, Format::V1] {
        // GIVEN a signed-in user
        let f = Fixture::new().await;
        let app = f.app(&[]).await;
        let t = f.sign_in(&f.username).await;
        assert_eq!(verdict(&app, &t.access).await, Verdict::Active);

        // WHEN they call POST /signout with their access token (no body: global)
        let r = Call::new(format, "POST", "/signout")
            .bearer(&t.access)
            .send(&app)
            .await;

        // THEN both steps are reported complete
        assert_eq!(r.status, 200, "{format:?}: {}", r.text);
        assert_eq!(
            r.json,
            json!({"result": "complete", "steps": [
                {"step": "record_cutoff", "ok": true, "error": null, "retryable": false},
                {"step": "cognito_global_sign_out", "ok": true, "error": null, "retryable": false}
            ]})
        );
        assert_eq!(r.headers["cache-control"], "no-store");
        // AND the old access and ID tokens are rejected by the shared check
        assert_eq!(
            verdict(&app, &t.access).await,
            Verdict::Revoked(Revoked::SignedOut)
        );
        assert_eq!(
            verdict(&app, &t.id).await,
            Verdict::Revoked(Revoked::SignedOut)
        );
        // AND Cognito refuses the refresh token and the access token
        assert!(f.refresh(t.refresh.as_deref().unwrap()).await.is_err());
        assert!(!f.cognito_accepts(&t.access).await);
        // AND a fresh sign-in (a second later, unstamped tokens) works
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let fresh = f.sign_in(&f.username).await;
        assert_eq!(verdict(&app, &fresh.access).await, Verdict::Active);
        // AND calling it again with the signed-out token is refused as revoked
        // (it cannot sign the user out again: tests/revoked_bearer.rs)
        let again = Call::new(format, "POST", "/signout")
            .bearer(&t.access)
            .send(&app)
            .await;
        assert_eq!(
            (again.status, again.json["error"].as_str()),
            (401, Some("invalid_token")),
            "{}",
            again.text
        );
        assert_eq!(verdict(&app, &fresh.access).await, Verdict::Active);
    }
}

#[tokio::test]
async fn session_sign_out_revokes_that_session_only() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let one = f.sign_in(&f.username).await;
    let two = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&one.access)
        .json(json!({"scope": "session", "refresh_token": one.refresh}))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["steps"][0]["step"], "record_session");
    assert_eq!(r.json["steps"][1]["step"], "cognito_revoke_token");
    assert_eq!(
        verdict(&app, &one.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    assert_eq!(
        verdict(&app, &one.id).await,
        Verdict::Revoked(Revoked::Session)
    );
    assert_eq!(verdict(&app, &two.access).await, Verdict::Active);
    assert!(f.refresh(one.refresh.as_deref().unwrap()).await.is_err());
    assert!(f.refresh(two.refresh.as_deref().unwrap()).await.is_ok());
    assert!(f.cognito_accepts(&two.access).await);
}

#[tokio::test]
async fn revoking_an_access_token_rejects_its_session_downstream_though_cognito_still_accepts_it() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let other = f.sign_in(&f.username).await;
    let r = Call::new(Format::V1, "POST", "/revoke")
        .form(&format!(
            "token={}&token_type_hint=access_token&client_id={}",
            t.access, f.client_id
        ))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        verdict(&app, &t.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    assert!(
        f.cognito_accepts(&t.access).await,
        "Cognito itself cannot revoke access tokens"
    );
    assert_eq!(verdict(&app, &other.access).await, Verdict::Active);
    // Tokens the session mints later (same origin_jti) stay revoked
    let refreshed = f.refresh(t.refresh.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        verdict(&app, &refreshed.access).await,
        Verdict::Revoked(Revoked::Session)
    );
}

#[tokio::test]
async fn revoking_refresh_tokens_follows_rfc_7009() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    // A public client names itself with client_id
    let t = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&format!(
            "token={}&token_type_hint=refresh_token&client_id={}",
            t.refresh.as_deref().unwrap(),
            f.client_id
        ))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(f.refresh(t.refresh.as_deref().unwrap()).await.is_err());
    // A confidential client: the caller sends no secret, the proxy adds it
    let c = f.sign_in_with(&f.username, &f.secret_client_id).await;
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&format!(
            "token={}&client_id={}",
            c.refresh.as_deref().unwrap(),
            f.secret_client_id
        ))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Unknown and garbage tokens answer 200, as the RFC says
    for token in ["no-such-token", "a.b.c"] {
        let r = Call::new(Format::V2, "POST", "/revoke")
            .form(&format!("token={token}&client_id={}", f.client_id))
            .send(&app)
            .await;
        assert_eq!(r.status, 200, "{token}: {}", r.text);
    }
    // invalid_client: unknown client, wrong Basic secret
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form("token=x&client_id=nosuchclient")
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:wrong", f.secret_client_id));
    let r = Call::new(Format::V2, "POST", "/revoke")
        .header("authorization", &format!("Basic {basic}"))
        .form("token=x")
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Another client's access token is refused
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&format!(
            "token={}&client_id={}",
            t.access, f.secret_client_id
        ))
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // An unknown hint is ignored (RFC 7009 2.1): the token decides (tests/revoke.rs)
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&format!(
            "token=x&token_type_hint=saml&client_id={}",
            f.client_id
        ))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["session_tokens_listed"], false, "{}", r.text);
    // invalid_request
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&format!("client_id={}", f.client_id))
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn introspection_needs_authentication_and_reflects_revocation() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let body = format!("token={}", t.access);
    let r = Call::new(Format::V2, "POST", "/introspect")
        .form(&body)
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let r = Call::new(Format::V2, "POST", "/introspect")
        .iam()
        .form(&body)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["active"], true);
    assert_eq!(r.json["sub"], testkit::sub_of(&t.access).as_str());
    assert_eq!(r.json["client_id"], f.client_id.as_str());
    assert_eq!(r.json["token_type"], "access_token");
    // With a confidential client's credentials too
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", f.secret_client_id, f.secret_client_secret));
    let r = Call::new(Format::V1, "POST", "/introspect")
        .header("authorization", &format!("Basic {basic}"))
        .form(&body)
        .send(&app)
        .await;
    assert_eq!(r.json["active"], true, "{}", r.text);

    Call::new(Format::V2, "POST", "/signout")
        .bearer(&t.access)
        .send(&app)
        .await;
    let r = Call::new(Format::V2, "POST", "/introspect")
        .iam()
        .form(&body)
        .send(&app)
        .await;
    assert_eq!(r.json, json!({"active": false}));
    let r = Call::new(Format::V2, "POST", "/introspect")
        .iam()
        .form("token=garbage")
        .send(&app)
        .await;
    assert_eq!(r.json, json!({"active": false}));
}

#[tokio::test]
async fn session_route_shows_claims_while_active_and_401_after_sign_out() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "GET", "/session")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["active"], true);
    assert_eq!(r.json["claims"]["username"], f.username.as_str());
    Call::new(Format::V2, "POST", "/signout")
        .bearer(&t.access)
        .send(&app)
        .await;
    let r = Call::new(Format::V2, "GET", "/session")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert!(!r.text.contains(&t.access[..20]), "never echo a token");
}

#[tokio::test]
async fn admin_sign_out_by_username_and_alias_with_a_block_the_trigger_enforces() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let sub = testkit::sub_of(&t.access);

    // Without IAM the function refuses by itself
    let path = format!("/admin/users/{}/signout", f.username);
    let r = Call::new(Format::V2, "POST", &path).send(&app).await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (403, Some("access_denied"))
    );
    let r = Call::new(Format::V1, "POST", &path).send(&app).await;
    assert_eq!(r.status, 403);

    // By alias (email), with a 60 s block
    let alias_path = format!("/admin/users/{}/signout", f.email.replace('@', "%40"));
    let r = Call::new(Format::V1, "POST", &alias_path)
        .iam()
        .json(json!({"block_for_seconds": 60}))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let steps: Vec<&str> = r.json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "record_cutoff",
            "record_block",
            "cognito_admin_global_sign_out"
        ]
    );
    // Blocked users are denied outright while the block lasts (the cutoff is recorded too)
    assert_eq!(
        verdict(&app, &t.access).await,
        Verdict::Revoked(Revoked::Blocked)
    );
    assert!(!f.cognito_accepts(&t.access).await);

    // The trigger now refuses to mint for this user
    let event = json!({
        "version": "2", "triggerSource": "TokenGeneration_Authentication",
        "callerContext": {"clientId": f.client_id},
        "request": {"userAttributes": {"sub": sub}}, "response": {}
    });
    let refused = pre_token::handle(
        &app.trigger(),
        lambda_runtime::LambdaEvent::new(event, Default::default()),
    )
    .await;
    assert!(refused.unwrap_err().to_string().contains("blocked"));

    // By username; an unknown user is 404
    let r = Call::new(Format::V2, "POST", &path).iam().send(&app).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = Call::new(Format::V2, "POST", "/admin/users/nobody/signout")
        .iam()
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (404, Some("not_found"))
    );
    let r = Call::new(Format::V2, "POST", &path)
        .iam()
        .json(json!({"block_for_seconds": -1}))
        .send(&app)
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn client_and_pool_cutoffs_reject_every_older_token_of_their_scope() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let public = f.sign_in(&f.username).await;
    let conf = f.sign_in_with(&f.username, &f.secret_client_id).await;
    let r = Call::new(
        Format::V2,
        "POST",
        &format!("/admin/clients/{}/signout", f.client_id),
    )
    .iam()
    .send(&app)
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["steps"][0]["step"], "record_client_cutoff");
    assert_eq!(
        verdict(&app, &public.access).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
    assert_eq!(verdict(&app, &conf.access).await, Verdict::Active);
    let r = Call::new(Format::V2, "POST", "/admin/clients/unknownclient/signout")
        .iam()
        .send(&app)
        .await;
    assert_eq!(r.status, 404);
    let r = Call::new(Format::V1, "POST", "/admin/signout-all")
        .iam()
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        verdict(&app, &conf.access).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn stage_prefixes_are_accepted() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "GET", "/prod/session")
        .stage("prod")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = Call::new(Format::V1, "GET", "/session")
        .stage("prod")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = Call::new(Format::V2, "GET", "/other/session")
        .stage("prod")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn fuzz_finding_hostile_forwarding_headers_no_longer_panic() {
    // GIVEN the event the fuzzer found: `X-Forwarded-Proto: h~tps` made
    // lambda_http 1.3 panic while building the request URI (and, with
    // panic = abort, kill the process)
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fuzz-crash-x-forwarded-proto.json"
    ))
    .unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    // WHEN it goes through the same path as in Lambda THEN it is answered (403: no IAM identity)
    let r = common::send_event(&app, &event).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // AND other hostile host/query/path values are answered too
    for (k, v) in [("host", "a b"), ("host", "x/y"), ("x-forwarded-proto", "")] {
        let mut e = Call::new(Format::V2, "GET", "/session").event();
        e["headers"][k] = json!(v);
        e["rawQueryString"] = json!("a=b c&%zz");
        assert_eq!(common::send_event(&app, &e).await.status, 401, "{k}: {v}");
    }
}
