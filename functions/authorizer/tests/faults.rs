//! Fault matrix, authorizer rows (SECURITY.md, "Faults on every path"): the
//! store (DynamoDB, its one `BatchGetItem` per decision) fails in each way
//! the fault proxy can; every shape denies, and allows only with
//! `AUTHORIZER_FAIL_OPEN=true`. The JWKS is fetched directly, before the fault.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authorizer::Authorizer;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use testkit::faults::{Dependency, Kind, SDK_TIMEOUT_MS};
use testkit::{Fault, FaultProxy, Faulty, Fixture};

const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/session";
const ROUTE_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/session";
/// A decision may take the SDK timeout (retries included) and no more, with
/// room for a loaded machine: far inside the authorizer's 5 s Lambda timeout.
const DECISION_BOUND: Duration = Duration::from_millis(3_000);

/// The three shapes' events carrying `token`.
fn events(token: &str) -> [(&'static str, Value); 3] {
    [
        (
            "REST TOKEN",
            json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": METHOD_ARN}),
        ),
        (
            "HTTP API 2.0",
            json!({"version": "2.0", "type": "REQUEST", "routeArn": ROUTE_ARN,
                "headers": {"authorization": format!("Bearer {token}")}}),
        ),
        (
            "AppSync",
            json!({"authorizationToken": format!("Bearer {token}"),
                "requestContext": {"apiId": "api", "accountId": "123456789012"}}),
        ),
    ]
}

/// What a shape answered: allowed or not, how long it took.
async fn decide(a: &Authorizer, event: &Value) -> (bool, Duration) {
    let started = Instant::now();
    let out = a
        .handle(LambdaEvent::new(event.clone(), Context::default()))
        .await;
    let allowed = match out {
        Err(e) => {
            assert_eq!(e.to_string(), "Unauthorized");
            false
        }
        Ok(v) if v.get("isAuthorized").is_some() => v["isAuthorized"] == true,
        Ok(v) => v["policyDocument"]["Statement"][0]["Effect"] == "Allow",
    };
    (allowed, started.elapsed())
}

struct Cell {
    proxy: FaultProxy,
    authorizer: Authorizer,
    token: String,
}

/// A fixture, its store behind a fault proxy, and a valid token the
/// authorizer allows while the store answers (which also fetches the JWKS).
async fn cell(extra: &[(&str, &str)]) -> Cell {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let mut settings = vec![("SDK_OPERATION_TIMEOUT_MS", SDK_TIMEOUT_MS)];
    settings.extend_from_slice(extra);
    let app = f.app_through(Faulty::Store, &proxy.endpoint, &settings);
    let authorizer = Authorizer::from_lookup(Arc::new(app), Fixture::lookup(f.env())).unwrap();
    let token = f.sign_in(&f.username).await.access;
    for (shape, event) in events(&token) {
        assert!(
            decide(&authorizer, &event).await.0,
            "{shape}: allowed while the store answers"
        );
    }
    Cell {
        proxy,
        authorizer,
        token,
    }
}

/// Every shape denies while the store fails, in time; allows again once it is back.
async fn denies(dep: Dependency, kind: Kind) {
    let c = cell(&[]).await;
    let reads = c.proxy.seen().len();
    c.proxy.set(kind.fault(dep));
    for (shape, event) in events(&c.token) {
        let (allowed, took) = decide(&c.authorizer, &event).await;
        assert!(!allowed, "{shape}, {kind:?}: fail closed");
        assert!(took < DECISION_BOUND, "{shape}, {kind:?}: took {took:?}");
    }
    let seen = c.proxy.seen();
    assert!(
        seen[reads..]
            .iter()
            .all(|t| t == "DynamoDB_20120810.BatchGetItem"),
        "only the decision's read: {seen:?}"
    );
    assert!(seen.len() > reads, "the fault was met");
    c.proxy.set(Fault::Pass);
    for (shape, event) in events(&c.token) {
        assert!(
            decide(&c.authorizer, &event).await.0,
            "{shape}: allowed once the store is back"
        );
    }
}

/// With `AUTHORIZER_FAIL_OPEN=true`, every shape allows while the store fails.
async fn allows_with_fail_open(dep: Dependency, kind: Kind) {
    let c = cell(&[("AUTHORIZER_FAIL_OPEN", "true")]).await;
    c.proxy.set(kind.fault(dep));
    for (shape, event) in events(&c.token) {
        let (allowed, took) = decide(&c.authorizer, &event).await;
        assert!(allowed, "{shape}, {kind:?}: fail open when configured");
        assert!(took < DECISION_BOUND, "{shape}, {kind:?}: took {took:?}");
    }
}

testkit::fault_row! { denies, DynamoDb;
    throttled: authorizer__dynamodb__throttled__denies,
    over_limit: authorizer__dynamodb__over_limit__denies,
    error_500: authorizer__dynamodb__error_500__denies,
    error_503: authorizer__dynamodb__error_503__denies,
    slow: authorizer__dynamodb__slow__denies,
    reset: authorizer__dynamodb__reset__denies,
    truncated: authorizer__dynamodb__truncated__denies,
}

testkit::fault_row! { allows_with_fail_open, DynamoDb;
    throttled: authorizer_fail_open__dynamodb__throttled__allows,
    over_limit: authorizer_fail_open__dynamodb__over_limit__allows,
    error_500: authorizer_fail_open__dynamodb__error_500__allows,
    error_503: authorizer_fail_open__dynamodb__error_503__allows,
    slow: authorizer_fail_open__dynamodb__slow__allows,
    reset: authorizer_fail_open__dynamodb__reset__allows,
    truncated: authorizer_fail_open__dynamodb__truncated__allows,
}
