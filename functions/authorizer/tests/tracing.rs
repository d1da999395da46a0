//! The authorizer's X-Ray subsegments (issue 16): the real binary, served
//! sampled invocations by a stand-in Lambda runtime API, sends the JWKS fetch
//! and the store read to a stand-in X-Ray daemon as subsegments of each
//! invocation's segment, valid against AWS's segment document schema
//! (`tools/check_xray.py`).

use std::time::Duration;

use serde_json::Value;
use testkit::Fixture;
use testkit::authorizer_events::rest_token;
use testkit::runtime_api::{Answered, Served, serve, serve_traced, unreachable};
use testkit::xray::{self, Daemon};

const LIMIT: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_authorizer");

fn with_daemon(env: Vec<(String, String)>, daemon: &Daemon) -> Vec<(String, String)> {
    let mut env = env;
    env.push(daemon.env());
    env
}

fn named<'a>(subsegments: &'a [Value], name: &str) -> Vec<&'a Value> {
    subsegments.iter().filter(|s| s["name"] == name).collect()
}

#[tokio::test]
async fn a_sampled_decision_sends_the_jwks_fetch_and_the_store_read_under_its_segment() {
    let f = Fixture::new().await;
    let user = testkit::unique("xray-");
    f.create_user(&user).await;
    let token = f.sign_in(&user).await.access;
    let daemon = Daemon::new();
    let served = serve_traced(
        BIN.as_ref(),
        &with_daemon(f.function_env(&[]), &daemon),
        &[rest_token(&token).to_string()],
        LIMIT,
        true,
    );
    assert!(matches!(&served.answers[0], Answered::Response(b) if b.contains("\"Allow\"")));

    let datagrams = daemon.received();
    xray::assert_valid(&datagrams);
    let subsegments = xray::subsegments(&datagrams);
    for s in &subsegments {
        assert_eq!(s["trace_id"], Served::trace_id(0), "{s}");
        assert_eq!(s["parent_id"], Served::segment_id(0), "{s}");
    }
    let jwks = named(&subsegments, "JWKS");
    assert_eq!(jwks.len(), 1, "{subsegments:?}");
    assert_eq!(jwks[0]["namespace"], "remote");
    assert_eq!(jwks[0]["http"]["request"]["method"], "GET");
    assert_eq!(jwks[0]["http"]["response"]["status"], 200);
    let store = named(&subsegments, "DynamoDB");
    assert_eq!(store.len(), 1, "{subsegments:?}");
    assert_eq!(store[0]["namespace"], "aws");
    assert_eq!(store[0]["aws"]["operation"], "BatchGetItem");
    assert_eq!(store[0]["http"]["response"]["status"], 200);
    assert!(store[0].get("fault").is_none(), "{}", store[0]);
}

#[tokio::test]
async fn an_unreachable_store_is_a_fault_subsegment() {
    let f = Fixture::new().await;
    let user = testkit::unique("xray-down-");
    f.create_user(&user).await;
    let token = f.sign_in(&user).await.access;
    let daemon = Daemon::new();
    let env = unreachable(
        f.function_env(&[("SDK_OPERATION_TIMEOUT_MS", "500")]),
        "AWS_ENDPOINT_URL_DYNAMODB",
    );
    let served = serve_traced(
        BIN.as_ref(),
        &with_daemon(env, &daemon),
        &[rest_token(&token).to_string()],
        LIMIT,
        true,
    );
    assert!(!matches!(&served.answers[0], Answered::Response(b) if b.contains("\"Allow\"")));

    let datagrams = daemon.received();
    xray::assert_valid(&datagrams);
    let store = xray::subsegments(&datagrams)
        .into_iter()
        .filter(|s| s["name"] == "DynamoDB")
        .collect::<Vec<_>>();
    assert!(!store.is_empty());
    for attempt in &store {
        assert_eq!(attempt["fault"], true, "{attempt}");
        assert!(attempt["http"].get("response").is_none(), "{attempt}");
    }
}

#[tokio::test]
async fn an_invocation_xray_did_not_sample_sends_nothing() {
    let f = Fixture::new().await;
    let user = testkit::unique("xray-unsampled-");
    f.create_user(&user).await;
    let token = f.sign_in(&user).await.access;
    let daemon = Daemon::new();
    let served = serve(
        BIN.as_ref(),
        &with_daemon(f.function_env(&[]), &daemon),
        &[rest_token(&token).to_string()],
        LIMIT,
    );
    assert!(matches!(&served.answers[0], Answered::Response(b) if b.contains("\"Allow\"")));
    assert_eq!(daemon.received(), Vec::<String>::new());
}
