//! Adapter: Lambda event in, `signout::trigger` call, Cognito's response out.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use signout::trigger::{Outcome, Trigger};

/// Handles one Pre Token Generation event. A blocked user gets an error,
/// which Cognito shows as a failed sign-in; every other case answers the
/// event, stamped or passed through unchanged.
pub async fn handle(trigger: &Trigger, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (response, outcome) = trigger.handle(event.payload).await?;
    match &outcome {
        Outcome::Stamped(stamp) => tracing::info!(stamp = stamp.0, "token stamped"),
        Outcome::PassedThrough(reason) => tracing::info!(reason, "passed through"),
        Outcome::Unstamped(code) => tracing::warn!(code, "not stamped"),
    }
    Ok(response)
}
