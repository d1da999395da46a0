//! Invariant 6 for the sign-out API: every route, good and bad requests,
//! both payload formats, Cognito and DynamoDB failing; then its log is
//! searched for every secret it was given (see the crate's documentation).

use e2e_tests::*;
use std::time::Duration;

use serde_json::{Value, json};
use signout::app::App;
use testkit::Fault;
use testkit::apigw::{Answer, Call, Format};

#[test]
fn signout_api_logs_no_token_cookie_secret_or_authorization_header_even_at_trace() {
    no_secrets_in_logs(
        "signout-api",
        &[
            "\"message\":\"sign-out\"",
            "step failed",
            "revoke: token not valid",
            "admin: pool cutoff",
        ],
        40,
        drive,
    );
}

/// A call that must succeed (200), through the handler.
async fn api_ok(ctx: &Ctx, app: &App, call: Call) -> Answer {
    let r = ctx.api(app, call).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

async fn drive(ctx: &Ctx) {
    cold_start(ctx, false).await;
    let f = &ctx.f;
    let app = &*ctx.app;
    for format in [Format::V2, Format::V1] {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let c = ctx.sign_in_confidential(&user).await;
        let good = ctx.basic(&f.secret_client_secret);
        let wrong = ctx.basic("not-the-secret-at-all");

        // Good requests
        api_ok(
            ctx,
            app,
            Call::new(format, "GET", "/session").bearer(&t.access),
        )
        .await;
        ctx.api(app, Call::new(format, "GET", "/session").bearer(&t.id))
            .await;
        for body in [&t.access, &t.id] {
            let r = ctx
                .api(
                    app,
                    Call::new(format, "POST", "/introspect")
                        .iam()
                        .form(&format!("token={body}")),
                )
                .await;
            assert_eq!(r.json["active"], true, "{}", r.text);
        }
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/introspect")
                    .header("authorization", &good)
                    .form(&format!("token={}", c.access)),
            )
            .await;
        assert_eq!(r.json["active"], true, "{}", r.text);
        // RevokeToken at Cognito: the body carries the refresh token (and our client secret)
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&token_type_hint=refresh_token&client_id={}",
                t.refresh.as_deref().unwrap(),
                f.client_id
            )),
        )
        .await;
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/revoke")
                .header("authorization", &good)
                .form(&format!("token={}", c.refresh.as_deref().unwrap())),
        )
        .await;
        let c2 = ctx.sign_in_confidential(&user).await;
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}",
                c2.refresh.as_deref().unwrap(),
                f.secret_client_id
            )),
        )
        .await;
        // Access and ID tokens: their sessions recorded
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/revoke")
                .header("authorization", &good)
                .form(&format!("token={}&token_type_hint=access_token", c.access)),
        )
        .await;
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&token_type_hint=id_token&client_id={}",
                t.id, f.client_id
            )),
        )
        .await;
        // Session sign-out with the refresh token in the JSON body
        let s = ctx.sign_in(&user).await;
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/signout")
                .bearer(&s.access)
                .json(json!({"scope": "session", "refresh_token": s.refresh})),
        )
        .await;
        // Global sign-out: GlobalSignOut's body carries the access token
        let g = ctx.sign_in(&user).await;
        let r = api_ok(
            ctx,
            app,
            Call::new(format, "POST", "/signout").bearer(&g.access),
        )
        .await;
        assert_eq!(r.json["result"], "complete", "{}", r.text);
        let r = ctx
            .api(app, Call::new(format, "GET", "/session").bearer(&g.access))
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/introspect")
                    .header("authorization", &good)
                    .form(&format!("token={}", g.access)),
            )
            .await;
        assert_eq!(r.json, json!({"active": false}));

        // Bad requests, each carrying a credential
        let huge = format!("{}{}", g.access, "x".repeat(20_000));
        let bad: Vec<Call> = vec![
            Call::new(format, "GET", "/signout").bearer(&g.access),
            Call::new(format, "POST", "/nowhere").bearer(&g.access),
            Call::new(format, "POST", "/signout").header("authorization", &good),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .bearer(&g.id),
            Call::new(format, "POST", "/signout").bearer(&g.id),
            Call::new(format, "POST", "/signout").bearer("not-a-token-at-all"),
            Call::new(format, "POST", "/signout").header("authorization", &g.access),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .header("content-type", "text/plain")
                .raw_body(&format!(
                    "{{\"refresh_token\":\"{}\"}}",
                    g.refresh.as_deref().unwrap()
                )),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .json(json!({"refresh_token": g.refresh})),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .json(json!({"scope": "session", "refresh_token": 5, "token": g.id})),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .json(json!({"scope": huge})),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}&client_secret={}",
                g.refresh.as_deref().unwrap(),
                f.secret_client_id,
                f.secret_client_secret
            )),
            Call::new(format, "POST", "/revoke")
                .header("authorization", &wrong)
                .form(&format!("token={}", g.refresh.as_deref().unwrap())),
            Call::new(format, "POST", "/revoke")
                .header("authorization", &good)
                .form(&format!("token={}&client_id={}", g.access, f.client_id)),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}",
                g.access, f.secret_client_id
            )),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&token_type_hint=saml&client_id={}",
                g.access, f.client_id
            )),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&token={}&client_id={}",
                g.access, g.id, f.client_id
            )),
            Call::new(format, "POST", "/revoke")
                .form(&format!("token={}&client_id=nosuchclient", g.access)),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}",
                tampered(&g.access),
                f.client_id
            )),
            Call::new(format, "POST", "/revoke")
                .json(json!({"token": g.access, "client_id": f.client_id})),
            Call::new(format, "POST", "/introspect").form(&format!("token={}", g.access)),
            Call::new(format, "POST", "/introspect")
                .header("authorization", &wrong)
                .form(&format!("token={}", g.access)),
            Call::new(format, "POST", "/introspect")
                .iam()
                .form(&format!("token={}", tampered(&g.id))),
            Call::new(format, "POST", "/admin/signout-all").bearer(&g.access),
            Call::new(format, "POST", "/admin/signout-all")
                .iam()
                .json(json!({"token": g.access})),
            Call::new(format, "PATCH", "/session").bearer(&g.access),
        ];
        for (i, call) in bad.into_iter().enumerate() {
            // (RFC 7009: an invalid token to /revoke is still 200)
            let r = ctx.api(app, call).await;
            assert!(
                (200..500).contains(&r.status),
                "bad request #{i}: {}",
                r.text
            );
        }

        // Admin and incident-response routes
        let victim = ctx.user().await;
        let v = ctx.sign_in(&victim).await;
        let path = format!("/admin/users/{victim}/signout");
        api_ok(
            ctx,
            app,
            Call::new(format, "POST", &path)
                .iam()
                .json(json!({"block_for_seconds": 600})),
        )
        .await;
        let r = ctx
            .api(app, Call::new(format, "POST", &path).bearer(&v.access))
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
        let alias = format!("/admin/users/{}%40example.com/signout", victim);
        api_ok(ctx, app, Call::new(format, "POST", &alias).iam()).await;
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/admin/users/nobody-here/signout").iam(),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(
                    format,
                    "POST",
                    &format!("/admin/clients/{}/signout", "unknownclient"),
                )
                .iam(),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.text);
    }

    // Stage prefix, and an incident cutoff for the confidential client
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    api_ok(
        ctx,
        app,
        Call::new(Format::V2, "GET", "/prod/session")
            .stage("prod")
            .bearer(&t.access),
    )
    .await;
    api_ok(
        ctx,
        app,
        Call::new(
            Format::V1,
            "POST",
            &format!("/admin/clients/{}/signout", f.secret_client_id),
        )
        .iam(),
    )
    .await;

    // Every sample event, filled with live tokens
    for (name, text) in testkit::sample_events("signout-api") {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let filled = f
            .fill(&text, Some(&t), &testkit::sub_of(&t.access))
            .replace(&f.username, &user);
        let event: Value = serde_json::from_str(&filled).unwrap();
        let r = ctx.api_event(app, &event).await;
        assert!(r.status < 500, "{name}: {}", r.text);
    }

    failures(ctx).await;
    // (last: a pool cutoff ends every session of this fixture)
    let r = ctx
        .api(
            &ctx.app,
            Call::new(Format::V2, "POST", "/admin/signout-all").iam(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Every route that calls AWS again, with Cognito then DynamoDB answering faults.
async fn failures(ctx: &Ctx) {
    let f = &ctx.f;
    let faulty = &*ctx.faulty;
    let good = ctx.basic(&f.secret_client_secret);
    let user = ctx.user().await;
    let admin_path = format!("/admin/users/{user}/signout");

    in_every_fault(ctx, &user, async |t, c| {
        // Sign-out API: every route that calls AWS
        let calls = vec![
            Call::new(Format::V2, "POST", "/signout").bearer(&t.access),
            Call::new(Format::V1, "POST", "/signout")
                .bearer(&t.access)
                .json(json!({"scope": "session", "refresh_token": t.refresh})),
            Call::new(Format::V2, "POST", "/revoke")
                .header("authorization", &good)
                .form(&format!("token={}", c.refresh.as_deref().unwrap())),
            Call::new(Format::V1, "POST", "/revoke").form(&format!(
                "token={}&token_type_hint=access_token&client_id={}",
                t.access, f.client_id
            )),
            Call::new(Format::V2, "POST", "/introspect")
                .header("authorization", &good)
                .form(&format!("token={}", c.access)),
            Call::new(Format::V1, "GET", "/session").bearer(&t.id),
            Call::new(Format::V2, "POST", &admin_path).iam(),
        ];
        for call in calls {
            ctx.api(faulty, call).await;
        }
    })
    .await;
    // A slow Cognito: the SDK's operation timeout ends the call
    let t = ctx.sign_in(&user).await;
    ctx.idp_proxy
        .set(Fault::Delay(Duration::from_millis(1_500)));
    let r = ctx
        .api(
            faulty,
            Call::new(Format::V2, "POST", "/signout").bearer(&t.access),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    ctx.idp_proxy.set(Fault::Pass);
}
