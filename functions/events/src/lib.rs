//! Adapter: a DynamoDB Streams batch in, `signout::events` announces each
//! recorded sign-out, the partial batch response out (`batchItemFailures`
//! names the first record that failed; the event source mapping retries from
//! it, and sends what exhausts its retries to the on-failure queue).

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{Error, LambdaEvent};
use signout::events::Announcer;

pub async fn handle(
    announcer: &Announcer,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    Ok(announcer.batch(event.payload).await)
}
