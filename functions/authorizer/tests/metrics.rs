//! The authorizer's CloudWatch metrics (issue 16): the real binary, served
//! events by a stand-in Lambda runtime API, prints EMF documents that meet
//! the specification (checked by `tools/check_emf.py`, a third-party checker)
//! and count exactly the decisions it made.

use std::time::Duration;

use serde_json::Value;
use signout::config::DEFAULT_STAMP_CLAIM;
use signout::model::{EpochMs, Source, Sub};
use testkit::authorizer_events::rest_token;
use testkit::runtime_api::{Answered, Served, serve, unreachable};
use testkit::{Fixture, emf};

const LIMIT: Duration = Duration::from_secs(60);

fn run(env: &[(String, String)], events: &[Value]) -> Served {
    let events: Vec<String> = events.iter().map(Value::to_string).collect();
    serve(
        env!("CARGO_BIN_EXE_authorizer").as_ref(),
        env,
        &events,
        LIMIT,
    )
}

/// One byte of the signature changed (mid-signature, so it is a real change).
fn tampered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = token.rfind('.').unwrap() + 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn authorizer_metrics_are_valid_emf_and_count_each_decision() {
    let f = Fixture::new().await;
    let user = testkit::unique("metrics-");
    f.create_user(&user).await;
    let active = f.sign_in(&user).await.access;
    let gone_user = testkit::unique("metrics-gone-");
    f.create_user(&gone_user).await;
    let gone = f.sign_in(&gone_user).await.access;
    let app = f.app(&[]).await;
    app.checker
        .sign_out_user(&Sub(testkit::sub_of(&gone)), EpochMs::now(), Source::Admin)
        .await
        .unwrap();
    let payload = testkit::signout_claims(&active);
    assert!(
        payload.get(DEFAULT_STAMP_CLAIM).is_none(),
        "the fixture has no trigger, so its tokens are unstamped"
    );

    // WHEN the authorizer decides 3 allows, 2 tampered, 1 signed out, 1 without a token
    let mut events = vec![rest_token(&active); 3];
    events.extend(vec![rest_token(&tampered(&active)); 2]);
    events.push(rest_token(&gone));
    events.push(serde_json::json!({"type": "TOKEN", "authorizationToken": "", "methodArn": testkit::authorizer_events::METHOD_ARN}));
    let served = run(&f.function_env(&[]), &events);
    let allowed = served
        .answers
        .iter()
        .filter(|a| matches!(a, Answered::Response(b) if b.contains("\"Allow\"")))
        .count();
    assert_eq!(allowed, 3, "{:?}", served.answers);

    // THEN every document meets the EMF specification
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    let count = |metric: &str, dims: &[(&str, &str)]| emf::total(&docs, metric, dims);
    // AND the counts are the decisions made
    let decision =
        |outcome, reason| count("Decisions", &[("Outcome", outcome), ("Reason", reason)]);
    assert_eq!(decision("allowed", "active"), 3.0);
    assert_eq!(decision("unauthorized", "bad_signature"), 2.0);
    assert_eq!(decision("unauthorized", "signed_out"), 1.0);
    assert_eq!(decision("unauthorized", "token_missing"), 1.0);
    assert_eq!(count("UnstampedTokens", &[]), 4.0, "every verified token");
    assert_eq!(count("JwksFetches", &[("Result", "ok")]), 1.0);
    assert_eq!(count("ColdStarts", &[]), 1.0);
    assert_eq!(count("StoreErrors", &[]), 0.0);
    assert_eq!(count("FailOpenAllows", &[]), 0.0);
    // AND each document names the invocation it belongs to, in the namespace and function given
    for d in &docs {
        let id = d["requestId"].as_str().unwrap_or_default();
        assert!(
            (0..events.len()).any(|i| Served::request_id(i) == id),
            "{d}"
        );
        assert_eq!(d["Function"], "authorizer", "{d}");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "CognitoSignout"
        );
    }
}

#[tokio::test]
async fn authorizer_counts_store_errors_and_fail_open_allows_with_the_function_dimension_alone() {
    let f = Fixture::new().await;
    let user = testkit::unique("metrics-open-");
    f.create_user(&user).await;
    let token = f.sign_in(&user).await.access;
    // GIVEN a table nobody answers for (a closed port) and fail-open configured
    let env = f.function_env(&[
        ("AUTHORIZER_FAIL_OPEN", "true"),
        ("SDK_OPERATION_TIMEOUT_MS", "500"),
        ("METRICS_NAMESPACE", "SignoutTest"),
    ]);
    let env = unreachable(env, "AWS_ENDPOINT_URL_DYNAMODB");
    let served = run(&env, &vec![rest_token(&token); 2]);
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    // THEN each allow without a check is counted under the set [Function] the alarms name
    assert_eq!(emf::total(&docs, "FailOpenAllows", &[]), 2.0);
    assert_eq!(emf::total(&docs, "StoreErrors", &[]), 2.0);
    assert_eq!(
        emf::total(
            &docs,
            "Decisions",
            &[("Outcome", "allowed"), ("Reason", "fail_open")]
        ),
        2.0
    );
    assert!(
        docs.iter()
            .all(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SignoutTest")
    );
}
