//! The trigger through its handler, against the emulator's DynamoDB.

use std::time::{Duration, Instant};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use signout::model::{ClientId, EpochMs, Source, Sub};
use signout::tokens::Expect;
use signout::{Revoked, Verdict};
use testkit::{Fixture, sample_events};

fn event(v: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(v, Context::default())
}

/// What Cognito expects back for a sample, given the stamp.
fn expected_response(name: &str, input: &Value, stamp: u64) -> Value {
    let claim = || json!({"claimsToAddOrOverride": {"signout_epoch": stamp}});
    if name.starts_with("v1-") || name == "loose-version-0.json" {
        json!({"claimsOverrideDetails": {"claimsToAddOrOverride": {"signout_epoch": stamp.to_string()}}})
    } else if name == "v3-client-credentials.json" {
        json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration": claim()}})
    } else if name == "loose-unknown-source.json" {
        input["response"].clone()
    } else {
        json!({"claimsAndScopeOverrideDetails": {"idTokenGeneration": claim(), "accessTokenGeneration": claim()}})
    }
}

#[tokio::test]
async fn every_sample_event_gets_exactly_the_response_cognito_expects() {
    // GIVEN a user with a recorded cutoff and every sample event
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let sub = "11111111-2222-3333-4444-555555555555";
    let cutoff = EpochMs::now();
    app.store()
        .raise_user_cutoff(&Sub::from(sub), cutoff, Source::Admin)
        .await
        .unwrap();
    let samples = sample_events("pre-token");
    assert!(
        samples.len() >= 21,
        "every version and source has a sample ({})",
        samples.len()
    );

    for (name, text) in samples {
        let input: Value = serde_json::from_str(&f.fill(&text, None, sub)).unwrap();
        // WHEN the trigger handles it
        let out = pre_token::handle(&app.trigger(), event(input.clone()))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // THEN the response holds exactly our claim, merged as the version requires,
        let stamp = if name == "v3-client-credentials.json" {
            0
        } else {
            cutoff.0
        };
        assert_eq!(
            out["response"],
            expected_response(&name, &input, stamp),
            "{name}"
        );
        // AND nothing else of the event changed
        let (mut a, mut b) = (out.clone(), input.clone());
        a.as_object_mut().unwrap().remove("response");
        b.as_object_mut().unwrap().remove("response");
        assert_eq!(a, b, "{name}: only response may change");
    }
}

#[tokio::test]
async fn a_user_with_no_record_gets_zero_and_after_a_sign_out_the_cutoff() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let e = json!({
        "version": "2", "triggerSource": "TokenGeneration_Authentication",
        "callerContext": {"clientId": f.client_id},
        "request": {"userAttributes": {"sub": "fresh-user"}},
        "response": {"claimsAndScopeOverrideDetails": null}
    });
    let out = pre_token::handle(&app.trigger(), event(e.clone()))
        .await
        .unwrap();
    let path = "/response/claimsAndScopeOverrideDetails/accessTokenGeneration/claimsToAddOrOverride/signout_epoch";
    assert_eq!(out.pointer(path), Some(&json!(0)));

    let cutoff = EpochMs::now();
    app.store()
        .raise_user_cutoff(&Sub::from("fresh-user"), cutoff, Source::SelfService)
        .await
        .unwrap();
    let out = pre_token::handle(&app.trigger(), event(e.clone()))
        .await
        .unwrap();
    assert_eq!(out.pointer(path), Some(&json!(cutoff.0)));

    // A later client cutoff is stamped too (the trigger stamps the latest applicable cutoff)
    let later = EpochMs(cutoff.0 + 5);
    app.store()
        .raise_client_cutoff(
            &ClientId(f.client_id.clone()),
            later,
            Source::IncidentResponse,
        )
        .await
        .unwrap();
    let out = pre_token::handle(&app.trigger(), event(e)).await.unwrap();
    assert_eq!(out.pointer(path), Some(&json!(later.0)));
}

#[tokio::test]
async fn a_blocked_user_is_refused_until_the_block_ends() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let e = json!({
        "version": "1", "triggerSource": "TokenGeneration_HostedAuth",
        "callerContext": {"clientId": f.client_id},
        "request": {"userAttributes": {"sub": "blocked-user"}},
        "response": {"claimsOverrideDetails": null}
    });
    let until = EpochMs(EpochMs::now().0 + 3_000);
    app.store()
        .block_user(&Sub::from("blocked-user"), until, Source::Admin)
        .await
        .unwrap();
    let err = pre_token::handle(&app.trigger(), event(e.clone()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("blocked"), "{err}");
    tokio::time::sleep(Duration::from_millis(
        until.0.saturating_sub(EpochMs::now().0) + 50,
    ))
    .await;
    assert!(pre_token::handle(&app.trigger(), event(e)).await.is_ok());
}

#[tokio::test]
async fn with_the_store_unreachable_the_trigger_answers_in_time_and_stamps_nothing() {
    let emu = testkit::start_emulator();
    let f = Fixture::on(&emu.endpoint).await;
    let app = f.app(&[("SDK_OPERATION_TIMEOUT_MS", "1000")]).await;
    emu.kill();
    let e = json!({
        "version": "2", "triggerSource": "TokenGeneration_RefreshTokens",
        "callerContext": {"clientId": f.client_id},
        "request": {"userAttributes": {"sub": "someone"}},
        "response": {"claimsAndScopeOverrideDetails": null}
    });
    let started = Instant::now();
    let out = pre_token::handle(&app.trigger(), event(e.clone()))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out, e, "passed through unstamped");
    assert!(
        took < Duration::from_secs(5),
        "inside Cognito's 5 s limit: {took:?}"
    );
}

#[tokio::test]
async fn stamps_make_the_shared_check_exact_within_one_second() {
    // GIVEN a token minted (and stamped) before a global sign-out
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let mut claims = testkit::claims_as(&app, &t.access, Expect::ACCESS).await;
    let trigger_event = json!({
        "version": "2", "triggerSource": "TokenGeneration_Authentication",
        "callerContext": {"clientId": f.client_id},
        "request": {"userAttributes": {"sub": claims.sub.as_str()}},
        "response": {}
    });
    let stamp_now = || async {
        let out = pre_token::handle(&app.trigger(), event(trigger_event.clone()))
            .await
            .unwrap();
        EpochMs(
            out.pointer("/response/claimsAndScopeOverrideDetails/accessTokenGeneration/claimsToAddOrOverride/signout_epoch")
                .and_then(Value::as_u64)
                .unwrap(),
        )
    };
    let before_stamp = stamp_now().await;

    // WHEN the user signs out, and a new token is minted in the same second
    let cutoff = EpochMs::now();
    app.store()
        .raise_user_cutoff(&claims.sub, cutoff, Source::SelfService)
        .await
        .unwrap();
    let after_stamp = stamp_now().await;

    // THEN with the same iat second, the earlier stamp is revoked and the later accepted
    claims.iat = cutoff.secs();
    claims.auth_time = None;
    claims.stamp = Some(before_stamp);
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
    claims.stamp = Some(after_stamp);
    assert_eq!(app.checker.check(&claims).await.unwrap(), Verdict::Active);
}
