//! The fault matrix: every fault no emulator produces, injected between the
//! functions and DynamoDB by a loopback proxy, against the authorizer, the
//! trigger and the sign-out API.

mod common;

use std::time::{Duration, Instant};

use common::{Call, Format};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use testkit::{Fault, FaultProxy, Faulty, Fixture};

const FAULTS: [Fault; 7] = [
    Fault::Error(400, "ThrottlingException"),
    Fault::Error(400, "ProvisionedThroughputExceededException"),
    Fault::Error(500, "InternalServerError"),
    Fault::Error(503, "ServiceUnavailable"),
    Fault::Delay(Duration::from_millis(1_500)),
    Fault::Reset,
    Fault::Truncate,
];

#[tokio::test]
async fn every_store_fault_makes_the_authorizer_fail_closed_or_open_only_when_configured() {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let t = f.sign_in(&f.username).await;
    let closed = authorizer::Authorizer::from_lookup(
        std::sync::Arc::new(f.app_through(Faulty::Store, &proxy.endpoint, &[])),
        Fixture::lookup(f.env()),
    )
    .unwrap();
    let open = authorizer::Authorizer::from_lookup(
        std::sync::Arc::new(f.app_through(
            Faulty::Store,
            &proxy.endpoint,
            &[("AUTHORIZER_FAIL_OPEN", "true")],
        )),
        Fixture::lookup(f.env()),
    )
    .unwrap();
    let event = || {
        let ev = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {}", t.access),
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/session"});
        LambdaEvent::new(ev, Context::default())
    };
    assert!(
        closed.handle(event()).await.is_ok(),
        "allowed while the store answers"
    );
    let mut tried = 0;
    for fault in FAULTS {
        proxy.set(fault.clone());
        let started = Instant::now();
        let denied = closed.handle(event()).await.unwrap_err().to_string();
        assert_eq!(denied, "Unauthorized", "{fault:?}: fail closed");
        let allowed = open.handle(event()).await;
        assert!(allowed.is_ok(), "{fault:?}: fail open when configured");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{fault:?}: no hang ({:?})",
            started.elapsed()
        );
        tried += 1;
    }
    proxy.set(Fault::Pass);
    assert!(
        closed.handle(event()).await.is_ok(),
        "recovers when the store is back"
    );
    println!("authorizer: {tried} faults tried, each denied (closed) and allowed (open)");
}

#[tokio::test]
async fn every_store_fault_lets_sign_in_through_unstamped_within_the_trigger_budget() {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let app = f.app_through(Faulty::Store, &proxy.endpoint, &[]);
    let event = json!({
        "version": "2", "triggerSource": "TokenGeneration_Authentication",
        "callerContext": {"clientId": f.client_id},
        "request": {"userAttributes": {"sub": "someone"}},
        "response": {"claimsAndScopeOverrideDetails": null}
    });
    for fault in FAULTS {
        proxy.set(fault.clone());
        let started = Instant::now();
        let out = pre_token::handler(&app, LambdaEvent::new(event.clone(), Context::default()))
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: sign-in must go on: {e}"));
        assert_eq!(out, event, "{fault:?}: passed through unstamped");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{fault:?}: inside Cognito's limit ({:?})",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn every_store_fault_fails_the_sign_out_before_cognito_is_told_and_a_retry_completes() {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let app = f.app_through(Faulty::Store, &proxy.endpoint, &[]);
    for fault in FAULTS {
        // A second after the last sign-out: an unstamped token of the cutoff's
        // own second counts as signed out, and a signed-out token signs nobody out
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let t = f.sign_in(&f.username).await;
        proxy.set(fault.clone());
        let r = Call::new(Format::V2, "POST", "/signout")
            .bearer(&t.access)
            .send(&app)
            .await;
        assert_eq!(r.status, 503, "{fault:?}: {}", r.text);
        assert_eq!(r.json["result"], "failed", "{fault:?}");
        assert_eq!(
            r.json["steps"].as_array().unwrap().len(),
            1,
            "{fault:?}: Cognito not told"
        );
        // The revocation check reads the same store, first
        assert_eq!(r.json["steps"][0]["step"], "check_revocation");
        assert_eq!(r.json["steps"][0]["retryable"], true, "{fault:?}");
        assert!(
            f.cognito_accepts(&t.access).await,
            "{fault:?}: nothing half-done at Cognito"
        );
        proxy.set(Fault::Pass);
        let r = Call::new(Format::V2, "POST", "/signout")
            .bearer(&t.access)
            .send(&app)
            .await;
        assert_eq!(
            (r.status, r.json["result"].as_str()),
            (200, Some("complete")),
            "{fault:?}: {}",
            r.text
        );
    }
}
