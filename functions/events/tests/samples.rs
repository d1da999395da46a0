//! The events function's adapter on the sample stream events (`events/events/`),
//! through its handler, with no receiver configured: each record is read, and
//! the answer is the partial batch response Lambda expects.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Context, LambdaEvent};
use signout::events::{Announcer, EventsSettings};
use testkit::{Fixture, sample_events};

async fn announcer(region: &str) -> Announcer {
    let f = Fixture::new().await;
    let config =
        signout::Config::from_lookup(Fixture::lookup(f.env_with(&[("AWS_REGION", region)])))
            .expect("the fixture's settings");
    Announcer::from_config(&f.sdk, &config, EventsSettings::default())
}

async fn answer(a: &Announcer, text: &str) -> serde_json::Value {
    let event: Event = serde_json::from_str(text).expect("a DynamoDB Streams event");
    let out = events::handle(a, LambdaEvent::new(event, Context::default()))
        .await
        .expect("an answer");
    serde_json::to_value(out).unwrap()
}

#[tokio::test]
async fn every_sample_is_read_and_answered_with_no_failure() {
    let a = announcer("us-east-1").await;
    let samples = sample_events("events");
    assert_eq!(samples.len(), 3);
    for (name, text) in samples {
        assert_eq!(
            answer(&a, &text).await,
            serde_json::json!({"batchItemFailures": []}),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_unreadable_record_is_the_batch_item_failure_by_its_sequence_number() {
    let a = announcer("us-east-1").await;
    let (_, text) = sample_events("events")
        .into_iter()
        .find(|(n, _)| n == "insert-user-cutoff.json")
        .unwrap();
    let broken = text.replace(r#""source": {"S": "self-service"},"#, "");
    assert_eq!(
        answer(&a, &broken).await,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "100000000000000000001"}]})
    );
}
