//! HTTP delivery of signed tokens to relying parties and SSF receivers.
//!
//! * Back-channel logout (OIDC Back-Channel Logout 1.0 §2.5): `POST` of
//!   `application/x-www-form-urlencoded` `logout_token=<jwt>`; only 200 and
//!   204 count as delivered (§2.8).
//! * CAEP push (RFC 8935 §2): `POST` of the SET as
//!   `application/secevent+jwt`, `Accept: application/json`; delivered when
//!   the receiver answers 202 (RFC 8935 §2.2; 200 and 204 are accepted too,
//!   as some receivers answer them).
//!
//! Redirects are never followed: a logout token goes to the registered URI
//! or nowhere. What a receiver answered is logged by status only, never the
//! token nor the body.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use url::Url;

use super::kms::KmsError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    #[error("the receiver did not answer in time")]
    Timeout,
    #[error("the receiver is unreachable")]
    Unreachable,
    #[error("the token could not be signed: {0}")]
    Sign(#[from] KmsError),
}

impl DeliveryError {
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryError::Status(_) => "receiver_status",
            DeliveryError::Timeout => "receiver_timeout",
            DeliveryError::Unreachable => "receiver_unreachable",
            DeliveryError::Sign(e) => e.code(),
        }
    }
}

/// The HTTP client of every delivery: bounded by `timeout`, no redirects.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(1)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

async fn post(
    http: &reqwest::Client,
    url: &Url,
    content_type: &'static str,
    body: String,
    delivered: &[u16],
) -> Result<(), DeliveryError> {
    let answer = http
        .post(url.clone())
        .header(CONTENT_TYPE, content_type)
        .header(ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                DeliveryError::Timeout
            } else {
                DeliveryError::Unreachable
            }
        })?;
    let status = answer.status().as_u16();
    if delivered.contains(&status) {
        Ok(())
    } else {
        Err(DeliveryError::Status(status))
    }
}

/// POSTs a logout token to a relying party's `backchannel_logout_uri`.
pub async fn backchannel_logout(
    http: &reqwest::Client,
    uri: &Url,
    logout_token: &str,
) -> Result<(), DeliveryError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", logout_token)
        .finish();
    post(
        http,
        uri,
        "application/x-www-form-urlencoded",
        body,
        &[200, 204],
    )
    .await
}

/// Pushes a SET to an SSF receiver (RFC 8935).
pub async fn push_set(
    http: &reqwest::Client,
    endpoint: &Url,
    set: &str,
) -> Result<(), DeliveryError> {
    post(
        http,
        endpoint,
        "application/secevent+jwt",
        set.to_owned(),
        &[202, 200, 204],
    )
    .await
}
