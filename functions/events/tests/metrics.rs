//! The events function's CloudWatch metrics: the real binary, served the
//! sample stream events by a stand-in Lambda runtime API, prints EMF
//! documents that meet the specification (`tools/check_emf.py`) and count
//! what was announced and which deliveries failed.

use std::time::Duration;

use testkit::runtime_api::{Served, serve};
use testkit::{Fixture, emf, free_port, sample_events};

fn samples() -> Vec<String> {
    let mut all = sample_events("events");
    all.sort();
    all.into_iter().map(|(_, text)| text).collect()
}

/// `EventsAnnounced` over every kind of fact.
fn announced_in_all(docs: &[serde_json::Value]) -> f64 {
    [
        "user_cutoff",
        "session_revoked",
        "user_blocked",
        "client_cutoff",
        "pool_cutoff",
    ]
    .iter()
    .map(|fact| emf::total(docs, "EventsAnnounced", &[("Fact", fact)]))
    .sum()
}

fn run(env: &[(String, String)], events: &[String]) -> Served {
    serve(
        env!("CARGO_BIN_EXE_events").as_ref(),
        env,
        events,
        Duration::from_secs(60),
    )
}

#[tokio::test]
async fn every_announced_fact_is_counted_by_kind() {
    let f = Fixture::new().await;
    // insert-user-cutoff, modify-session-revoked, remove-ttl-expiry
    let served = run(&f.function_env(&[]), &samples());
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    let announced = |fact| emf::total(&docs, "EventsAnnounced", &[("Fact", fact)]);
    assert_eq!(announced("user_cutoff"), 1.0);
    assert_eq!(announced("session_revoked"), 1.0);
    assert_eq!(
        announced_in_all(&docs),
        2.0,
        "a TTL expiry is not announced"
    );
    assert_eq!(
        emf::total(
            &docs,
            "EventDeliveryFailures",
            &[("Code", "receiver_unreachable")]
        ),
        0.0
    );
}

#[tokio::test]
async fn a_failed_delivery_is_counted_by_its_code() {
    // GIVEN a relying party registered where nothing listens
    let f = Fixture::new().await;
    let key_id = testkit::events::signing_key(&f.sdk).await;
    let nowhere = format!("http://127.0.0.1:{}/bcl", free_port());
    let registration =
        serde_json::json!({f.client_id.clone(): {"backchannel_logout_uri": nowhere}}).to_string();
    let env = f.function_env(&[
        ("EVENTS_ISSUER", "https://signout.example.com"),
        ("EVENTS_SIGNING_KEYS", &key_id),
        ("BACKCHANNEL_LOGOUT", &registration),
    ]);
    // WHEN a user's cutoff is to be announced
    let served = run(&env, &samples()[..1]);
    // THEN the failure is counted, and nothing as announced
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    assert_eq!(
        emf::total(
            &docs,
            "EventDeliveryFailures",
            &[("Code", "receiver_unreachable")]
        ),
        1.0
    );
    assert_eq!(announced_in_all(&docs), 0.0);
}
