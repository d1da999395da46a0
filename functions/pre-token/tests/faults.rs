//! Fault matrix, trigger row (SECURITY.md, "Faults on every path"): the
//! store (DynamoDB, one strongly consistent `BatchGetItem`) fails in each way
//! the fault proxy can; the sign-in goes on with the event passed back
//! unstamped (the check then falls back to `iat`), within the trigger budget.

use std::time::{Duration, Instant};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use signout::model::{EpochMs, Source, Sub};
use signout::trigger::TRIGGER_BUDGET;
use testkit::faults::{Dependency, Kind, SDK_TIMEOUT_MS};
use testkit::{Fault, FaultProxy, Faulty, Fixture};

/// The budget, with room for a loaded machine; Cognito gives up at 5 s.
const BOUND: Duration = TRIGGER_BUDGET.saturating_add(Duration::from_millis(500));

/// A V2 and a V1 event of a sign-in of `sub` on `client`.
fn events(sub: &str, client: &str) -> [Value; 2] {
    [
        json!({
            "version": "2", "triggerSource": "TokenGeneration_Authentication",
            "callerContext": {"clientId": client},
            "request": {"userAttributes": {"sub": sub}},
            "response": {"claimsAndScopeOverrideDetails": null}
        }),
        json!({
            "version": "1", "triggerSource": "TokenGeneration_RefreshTokens",
            "callerContext": {"clientId": client},
            "request": {"userAttributes": {"sub": sub}},
            "response": {"claimsOverrideDetails": null}
        }),
    ]
}

async fn passes_through_unstamped(dep: Dependency, kind: Kind) {
    // GIVEN a user with a recorded cutoff, whose sign-ins are stamped while the store answers
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let app = f.app_through(
        Faulty::Store,
        &proxy.endpoint,
        &[("SDK_OPERATION_TIMEOUT_MS", SDK_TIMEOUT_MS)],
    );
    let sub = testkit::sub_of(&f.sign_in(&f.username).await.access);
    app.store()
        .raise_user_cutoff(&Sub(sub.clone()), EpochMs::now(), Source::SelfService)
        .await
        .unwrap();
    for event in events(&sub, &f.client_id) {
        let out = pre_token::handle(
            &app.trigger(),
            LambdaEvent::new(event.clone(), Context::default()),
        )
        .await
        .unwrap();
        assert_ne!(out, event, "stamped while the store answers");
    }

    // WHEN the store fails THEN each version's event comes back unchanged, in time
    proxy.set(kind.fault(dep));
    for event in events(&sub, &f.client_id) {
        let started = Instant::now();
        let out = pre_token::handle(
            &app.trigger(),
            LambdaEvent::new(event.clone(), Context::default()),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: the sign-in must go on: {e}"));
        let took = started.elapsed();
        assert_eq!(out, event, "{kind:?}: passed through unstamped");
        assert!(
            took < BOUND,
            "{kind:?}: within the trigger budget ({took:?})"
        );
    }
    assert!(
        proxy
            .seen()
            .iter()
            .any(|t| t == "DynamoDB_20120810.BatchGetItem"),
        "the read met the fault"
    );

    // AND stamps again once the store is back
    proxy.set(Fault::Pass);
    let event = events(&sub, &f.client_id)[0].clone();
    let out = pre_token::handle(
        &app.trigger(),
        LambdaEvent::new(event.clone(), Context::default()),
    )
    .await
    .unwrap();
    assert_ne!(out, event, "stamped once the store is back");
}

testkit::fault_row! { passes_through_unstamped, DynamoDb;
    throttled: trigger__dynamodb__throttled__passes_through_unstamped,
    over_limit: trigger__dynamodb__over_limit__passes_through_unstamped,
    error_500: trigger__dynamodb__error_500__passes_through_unstamped,
    error_503: trigger__dynamodb__error_503__passes_through_unstamped,
    slow: trigger__dynamodb__slow__passes_through_unstamped,
    reset: trigger__dynamodb__reset__passes_through_unstamped,
    truncated: trigger__dynamodb__truncated__passes_through_unstamped,
}
