//! The trigger's CloudWatch metrics (issue 16): the real binary, served
//! sample events by a stand-in Lambda runtime API, prints EMF documents that
//! meet the specification (`tools/check_emf.py`) and count each outcome.

use std::time::Duration;

use signout::model::{EpochMs, Source, Sub};
use testkit::runtime_api::{Answered, Served, serve, unreachable};
use testkit::{Fixture, emf, sample_events};

fn sample(f: &Fixture, name: &str, sub: &str) -> String {
    let (_, text) = sample_events("pre-token")
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("events/pre-token/{name}"));
    f.fill(&text, None, sub)
}

fn run(env: &[(String, String)], events: &[String]) -> Served {
    let bin = env!("CARGO_BIN_EXE_pre-token");
    serve(bin.as_ref(), env, events, Duration::from_secs(60))
}

#[tokio::test]
async fn trigger_metrics_are_valid_emf_and_count_stamps_blocks_and_pass_throughs() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let (active, blocked) = (
        "aaaaaaaa-0000-0000-0000-000000000001",
        "bbbbbbbb-0000-0000-0000-000000000002",
    );
    app.checker
        .block_user(
            &Sub::from(blocked),
            EpochMs::now().plus_secs(600),
            Source::Admin,
        )
        .await
        .unwrap();
    // WHEN two sign-ins are stamped, one is refused, one event is passed through
    let events = [
        sample(&f, "v2-authentication.json", active),
        sample(&f, "v3-refresh-tokens.json", active),
        sample(&f, "v2-authentication.json", blocked),
        sample(&f, "loose-unknown-source.json", active),
    ];
    let served = run(&f.function_env(&[]), &events);
    assert!(
        matches!(served.answers[2], Answered::Error(_)),
        "{:?}",
        served.answers
    );

    // THEN the documents meet the specification and count exactly that
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    let outcome = |o| emf::total(&docs, "TriggerOutcomes", &[("Outcome", o)]);
    assert_eq!(outcome("stamped"), 2.0);
    assert_eq!(outcome("blocked"), 1.0);
    assert_eq!(outcome("passed_through"), 1.0);
    assert_eq!(outcome("unstamped"), 0.0);
    // AND every event's latency is recorded, in milliseconds
    assert_eq!(emf::total(&docs, "TriggerLatency", &[]), 4.0);
    let units: Vec<&serde_json::Value> = docs
        .iter()
        .flat_map(|d| {
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
        })
        .filter(|m| m["Name"] == "TriggerLatency")
        .map(|m| &m["Unit"])
        .collect();
    assert!(
        !units.is_empty() && units.iter().all(|u| *u == "Milliseconds"),
        "{units:?}"
    );
    assert_eq!(emf::total(&docs, "StoreErrors", &[]), 0.0);
}

#[tokio::test]
async fn trigger_counts_an_unreadable_store_as_unstamped_and_a_store_error() {
    let f = Fixture::new().await;
    // GIVEN a table nobody answers for (a closed port)
    let env = unreachable(
        f.function_env(&[("SDK_OPERATION_TIMEOUT_MS", "500")]),
        "AWS_ENDPOINT_URL_DYNAMODB",
    );
    let sub = "cccccccc-0000-0000-0000-000000000003";
    let served = run(&env, &[sample(&f, "v2-authentication.json", sub)]);
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    assert_eq!(
        emf::total(&docs, "TriggerOutcomes", &[("Outcome", "unstamped")]),
        1.0
    );
    assert_eq!(emf::total(&docs, "StoreErrors", &[]), 1.0);
}
