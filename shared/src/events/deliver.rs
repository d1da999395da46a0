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

use url::Url;

use super::kms::KmsError;
use crate::outbound::{Outbound, OutboundError};

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

impl From<OutboundError> for DeliveryError {
    fn from(e: OutboundError) -> Self {
        match e {
            OutboundError::Timeout => DeliveryError::Timeout,
            // A delivery reads no body: only a connection failure gets here.
            OutboundError::Unreachable | OutboundError::TooLarge => DeliveryError::Unreachable,
        }
    }
}

async fn post(
    http: &Outbound,
    url: &Url,
    content_type: &'static str,
    body: String,
    delivered: &[u16],
) -> Result<(), DeliveryError> {
    let status = http.post(url, content_type, body).await?.status;
    if delivered.contains(&status) {
        Ok(())
    } else {
        Err(DeliveryError::Status(status))
    }
}

/// POSTs a logout token to a relying party's `backchannel_logout_uri`.
pub async fn backchannel_logout(
    http: &Outbound,
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
pub async fn push_set(http: &Outbound, endpoint: &Url, set: &str) -> Result<(), DeliveryError> {
    post(
        http,
        endpoint,
        "application/secevent+jwt",
        set.to_owned(),
        &[202, 200, 204],
    )
    .await
}
