//! Invariant 6 for the Pre Token Generation trigger: every sample event
//! (V1_0, V2_0, V3_0), blocked users, the store failing; then its log is
//! searched for every secret it was given (see the crate's documentation).

use e2e_tests::*;
use serde_json::{Value, json};
use testkit::apigw::{Call, Format};

#[test]
fn pre_token_logs_no_token_cookie_secret_or_authorization_header_even_at_trace() {
    no_secrets_in_logs("pre-token", &["token stamped", "user blocked"], 40, drive);
}

async fn drive(ctx: &Ctx) {
    cold_start(ctx, false).await;
    let f = &ctx.f;
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    let sub = testkit::sub_of(&t.access);
    let samples = testkit::sample_events("pre-token");
    assert!(samples.len() >= 21);
    for (name, text) in &samples {
        let event: Value = serde_json::from_str(&f.fill(text, Some(&t), &sub)).unwrap();
        let out = ctx.trigger(&ctx.app, event).await;
        assert!(out.is_ok(), "{name}: {out:?}");
    }
    // A blocked user is refused
    let victims = blocked_users(ctx).await;
    assert!(!victims.is_empty());
    for victim in victims {
        let text = sample(&samples, "v2-authentication.json");
        let event: Value = serde_json::from_str(&f.fill(&text, None, &victim)).unwrap();
        let out = ctx.trigger(&ctx.app, event).await;
        assert!(out.is_err_and(|e| e.contains("blocked")));
    }

    // The store unreadable (the trigger stamps nothing and lets the sign-in proceed)
    let user = ctx.user().await;
    let sub = testkit::sub_of(&ctx.sign_in(&user).await.access);
    in_every_fault(ctx, &user, async |_, _| {
        let text = sample(
            &testkit::sample_events("pre-token"),
            "v3-refresh-tokens.json",
        );
        let event: Value = serde_json::from_str(&f.fill(&text, None, &sub)).unwrap();
        ctx.trigger(&ctx.faulty, event).await.ok();
    })
    .await;
}

fn sample(samples: &[(String, String)], name: &str) -> String {
    samples
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| panic!("events/pre-token/{name}"))
}

/// Subs of users the sign-out API's admin route blocked, one per payload format.
async fn blocked_users(ctx: &Ctx) -> Vec<String> {
    let mut subs = Vec::new();
    for format in [Format::V2, Format::V1] {
        let victim = ctx.user().await;
        let v = ctx.sign_in(&victim).await;
        let path = format!("/admin/users/{victim}/signout");
        let r = ctx
            .api(
                &ctx.app,
                Call::new(format, "POST", &path)
                    .iam()
                    .json(json!({"block_for_seconds": 600})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        subs.push(testkit::sub_of(&v.access));
    }
    subs
}
