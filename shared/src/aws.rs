//! AWS SDK configuration and error classification shared by the store and Cognito calls.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Loads the SDK configuration once per cold start. Endpoints come from the
/// SDK's own `AWS_ENDPOINT_URL_*` variables; credentials and region from the
/// usual chain.
///
/// The SDK has a connect timeout by default but no operation timeout: without
/// one a slow dependency would run a Lambda into its deadline. `operation`
/// bounds a whole call including retries; each attempt gets a share of it.
pub async fn sdk_config(operation: Duration) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts(operation))
        .retry_config(retries(operation))
        .load()
        .await
}

/// The retry settings [`sdk_config`] applies: two attempts, the second after
/// a backoff that fits inside `operation`. The SDK's default backoff (a
/// random wait of up to 1 s) would use up a 1 s budget (the trigger's): a
/// throttled or 5xx first answer then ended as `timeout`, with no second
/// attempt, and the step reported the wrong code.
pub fn retries(operation: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(operation / 10)
}

/// The timeout settings [`sdk_config`] applies.
pub fn timeouts(operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(operation.min(Duration::from_millis(500)))
        .operation_attempt_timeout(operation / 2)
        .operation_timeout(operation)
        .build()
}

/// A failed AWS call, reduced to what callers act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsFailure {
    /// The service's error code (`ThrottlingException`), or `timeout`, `unreachable`, `bad_response`.
    pub code: String,
    pub retryable: bool,
}

const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
];

/// Classifies any SDK error: throttling, timeouts, transport failures and 5xx are retryable.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> AwsFailure {
    match err {
        SdkError::TimeoutError(_) => AwsFailure {
            code: "timeout".into(),
            retryable: true,
        },
        SdkError::DispatchFailure(d) => AwsFailure {
            code: if d.is_timeout() {
                "timeout"
            } else {
                "unreachable"
            }
            .into(),
            retryable: true,
        },
        SdkError::ResponseError(_) => AwsFailure {
            code: "bad_response".into(),
            retryable: true,
        },
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("ServiceError").to_owned();
            let server = s.raw().status().is_server_error();
            let retryable = server
                || THROTTLING.contains(&code.as_str())
                || code.starts_with("InternalError")
                || code == "InternalServerError"
                || code == "ServiceUnavailable";
            AwsFailure { code, retryable }
        }
        _ => AwsFailure {
            code: "sdk_error".into(),
            retryable: false,
        },
    }
}
