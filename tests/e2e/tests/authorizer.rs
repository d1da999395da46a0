//! Invariant 6 for the authorizer: every event shape (REST TOKEN and
//! REQUEST, HTTP API, AppSync) and response mode, good, forged and revoked
//! tokens, the store failing (fail closed and fail open); then its log is
//! searched for every secret it was given (see the crate's documentation).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e_tests::*;
use serde_json::{Value, json};
use signout::app::App;
use signout::model::{ClientId, EpochMs};
use testkit::apigw::{Call, Format};

use testkit::authorizer_events::{METHOD_ARN, appsync, rest_token};

#[test]
fn authorizer_logs_no_token_cookie_secret_or_authorization_header_even_at_trace() {
    no_secrets_in_logs(
        "authorizer",
        &[
            "denied: revoked",
            "denied: token refused",
            "revocation store unreadable: denying (fail closed)",
            "allowed without a revocation check (fail open)",
        ],
        40,
        drive,
    );
}

/// An authorizer answer that lets nothing through (401, 403 or AppSync's refusal).
fn denied(out: &Result<Value, String>) -> bool {
    match out {
        Err(_) => true,
        Ok(v) => {
            v["isAuthorized"] == false || v["policyDocument"]["Statement"][0]["Effect"] == "Deny"
        }
    }
}

/// A cookie the authorizer sees and must never log.
fn cookie(kind: &str, token: &str) -> String {
    format!("app_session={kind}-cookie-{}", &token[token.len() - 12..])
}

fn rest_request(token: &str) -> Value {
    testkit::authorizer_events::rest_request(token, Some(&cookie("rest-request", token)))
}

fn http_v2(token: &str) -> Value {
    testkit::authorizer_events::http_v2(token, Some(&cookie("http-v2", token)))
}

async fn drive(ctx: &Ctx) {
    cold_start(ctx, false).await;
    let f = &ctx.f;
    let build = |app: &Arc<App>, extra: &[(&str, &str)]| {
        authorizer::Authorizer::from_lookup(app.clone(), ctx.lookup(extra)).unwrap()
    };
    let simple = build(&ctx.app, &[]);
    let iam = build(&ctx.app, &[("AUTHORIZER_RESPONSE_MODE", "iam")]);
    let any = build(&ctx.app, &[("AUTHORIZER_TOKEN_USE", "any")]);
    let groups = build(
        &ctx.app,
        &[
            ("REQUIRED_GROUPS", "admins"),
            ("AUTHORIZER_RESPONSE_MODE", "iam"),
        ],
    );
    let shapes: [fn(&str) -> Value; 4] = [rest_token, rest_request, http_v2, appsync];

    // (a cutoff an earlier sign-out left cuts every earlier token off: unstamped
    // tokens of the cutoff's own second count as earlier)
    next_second().await;
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    let now = EpochMs::now().secs();
    let expired = ctx.remint(&t.access, json!({"iat": now - 7200, "exp": now - 3600}));
    // Stamped as the trigger would: the cutoff current at mint time
    let current = ctx
        .app
        .store()
        .load(
            signout::store::Lookup {
                sub: Some(&signout::Sub(testkit::sub_of(&t.access))),
                session: None,
                client: Some(&ClientId(f.client_id.clone())),
            },
            signout::store::Consistency::Strong,
        )
        .await
        .unwrap()
        .cutoff()
        .unwrap_or_default();
    let stamped = ctx.remint(
        &t.access,
        json!({"signout_epoch": current.0, "jti": "stamped-jti"}),
    );
    let header = |h: Value| {
        let s = with_header(&t.access, h);
        ctx.secrets().token(&s);
        s
    };
    let forged = [
        header(json!({"alg": "HS256", "kid": "dummy", "typ": "JWT"})),
        header(json!({"alg": "none", "typ": "JWT"})),
        header(json!({"alg": "RS256", "kid": "attacker-kid-1"})),
        header(json!({"alg": "RS256", "kid": "attacker-kid-2"})),
        header(json!({"alg": "RS256"})),
        tampered(&t.access),
        expired.clone(),
        format!("{}.{}", t.access, t.id),
    ];
    for forged in &forged {
        ctx.secrets().token(forged);
    }

    // Allowed, in every shape and mode
    for shape in shapes {
        for a in [&simple, &iam, &any] {
            for token in [&t.access, &stamped] {
                let out = ctx.authorize(a, shape(token)).await;
                assert!(!denied(&out), "{out:?}");
            }
        }
        // 403: a valid token without the required group
        let out = ctx.authorize(&groups, shape(&t.access)).await;
        assert!(denied(&out), "{out:?}");
        // Denied: an ID token where access is required, forged and broken tokens
        ctx.authorize(&simple, shape(&t.id)).await.ok();
        for token in &forged {
            let out = ctx.authorize(&iam, shape(token)).await;
            assert!(denied(&out), "{out:?}");
        }
    }
    // No token, a doubled header, an unknown shape
    ctx.authorize(
        &simple,
        json!({"type": "TOKEN", "authorizationToken": "", "methodArn": METHOD_ARN}),
    )
    .await
    .ok();
    let mut doubled = rest_request(&t.access);
    doubled["multiValueHeaders"]["Authorization"] =
        json!([format!("Bearer {}", t.access), format!("Bearer {}", t.id)]);
    assert!(denied(&ctx.authorize(&simple, doubled).await));
    assert!(
        ctx.authorize(
            &simple,
            json!({"authorization": format!("Bearer {}", t.access)})
        )
        .await
        .is_err()
    );

    // Revoked: after a global sign-out through the API
    let r = ctx
        .api(
            &ctx.app,
            Call::new(Format::V2, "POST", "/signout").bearer(&t.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for shape in shapes {
        let out = ctx.authorize(&iam, shape(&t.access)).await;
        assert!(denied(&out), "{out:?}");
        ctx.authorize(&simple, shape(&stamped)).await.ok();
    }

    // Every sample event
    let fresh_user = ctx.user().await;
    for (name, text) in testkit::sample_events("authorizer") {
        let t = ctx.sign_in(&fresh_user).await;
        let event: Value =
            serde_json::from_str(&f.fill(&text, Some(&t), &testkit::sub_of(&t.access))).unwrap();
        let out = ctx.authorize(&simple, event).await;
        if name.contains("garbage") || name.contains("no-token") {
            assert!(denied(&out), "{name}: {out:?}");
        }
    }

    // The store and Cognito failing, fail closed and fail open
    let closed = authorizer::Authorizer::from_lookup(ctx.faulty.clone(), ctx.lookup(&[])).unwrap();
    let open =
        authorizer::Authorizer::from_lookup(ctx.faulty_open.clone(), ctx.lookup(&[])).unwrap();
    let user = ctx.user().await;
    in_every_fault(ctx, &user, async |t, c| {
        for token in [&t.access, &c.access] {
            ctx.authorize(&closed, rest_request(token)).await.ok();
            ctx.authorize(&open, http_v2(token)).await.ok();
        }
    })
    .await;
}

/// A token with `header` in place of its own, signature kept: refused before
/// any key is used (alg confusion, `alg: none`, unknown `kid`s).
fn with_header(token: &str, header: Value) -> String {
    let mut parts = token.splitn(3, '.');
    let (_, payload, sig) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
    format!(
        "{}.{payload}.{sig}",
        URL_SAFE_NO_PAD.encode(header.to_string())
    )
}

/// Sleeps into the next wall-clock second.
async fn next_second() {
    let now = EpochMs::now().0;
    tokio::time::sleep(Duration::from_millis(1_000 - now % 1_000 + 5)).await;
}
