//! HTTPS calls to endpoints that are not AWS APIs: the pool's JWKS and the
//! relying parties' sign-out event receivers.
//!
//! They go through the SDK's own HTTPS connector (hyper, rustls with
//! aws-lc-rs), the same TLS stack as every AWS call: the SDK loads the
//! system's root certificates once per process, where a second client
//! (reqwest, until 2026-12-02) read and parsed them again at every cold start
//! and carried its own HTTP code in every function. The connector follows no
//! redirect, reads no proxy setting and keeps its connections for reuse.

use std::time::Duration;

use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use http::header::{ACCEPT, CONTENT_TYPE};

/// Why a call got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("no answer in time")]
    Timeout,
    #[error("unreachable")]
    Unreachable,
}

/// An answer: the status, and the body when it was asked for.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One HTTPS client, each call bounded by `timeout` (connection, answer and
/// body together).
#[derive(Debug)]
pub struct Outbound {
    connector: Connector,
    timeout: Duration,
}

impl Outbound {
    pub fn new(timeout: Duration) -> Self {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(timeout.min(Duration::from_secs(1)))
            .read_timeout(timeout)
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build();
        Outbound { connector, timeout }
    }

    /// `GET url` with `Accept: accept`; the body is read.
    pub async fn get(&self, url: &url::Url, accept: &str) -> Result<Answer, OutboundError> {
        let request = http::Request::get(url.as_str()).header(ACCEPT, accept);
        self.call(request, SdkBody::empty(), true).await
    }

    /// `POST url` of `body` as `content_type`, with `Accept: application/json`;
    /// only the status is read.
    pub async fn post(
        &self,
        url: &url::Url,
        content_type: &str,
        body: String,
    ) -> Result<Answer, OutboundError> {
        let request = http::Request::post(url.as_str())
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/json");
        self.call(request, SdkBody::from(body), false).await
    }

    async fn call(
        &self,
        request: http::request::Builder,
        body: SdkBody,
        read_body: bool,
    ) -> Result<Answer, OutboundError> {
        // A `Url` always makes a valid request line and these headers are ours.
        let request = request
            .body(body)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(OutboundError::Unreachable)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let answer = tokio::time::timeout_at(deadline, self.connector.call(request))
            .await
            .map_err(|_| OutboundError::Timeout)?
            .map_err(|e| {
                if e.is_timeout() {
                    OutboundError::Timeout
                } else {
                    OutboundError::Unreachable
                }
            })?;
        let status = answer.status().as_u16();
        if !read_body {
            return Ok(Answer {
                status,
                body: Vec::new(),
            });
        }
        let body = ByteStream::new(answer.into_body()).collect();
        let body = tokio::time::timeout_at(deadline, body)
            .await
            .map_err(|_| OutboundError::Timeout)?
            .map_err(|_| OutboundError::Unreachable)?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }
}
