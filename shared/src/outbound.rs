//! HTTPS calls to endpoints that are not AWS APIs: the pool's JWKS and the
//! relying parties' sign-out event receivers.
//!
//! They go through the SDK's own HTTPS connector (hyper, rustls with
//! aws-lc-rs), the same TLS stack as every AWS call: the SDK loads the
//! system's root certificates once per process, where a second client
//! (reqwest, until 2026-12-02) read and parsed them again at every cold start
//! and carried its own HTTP code in every function. The connector follows no
//! redirect (a 3xx is an answer like any other) and keeps its connections for
//! reuse; `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are honoured, as reqwest did.

use std::time::Duration;

use aws_smithy_http_client::proxy::ProxyConfig;
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
    #[error("the answer's body is larger than allowed")]
    TooLarge,
}

/// An answer: the status, and the body when it was asked for and the status
/// is 2xx (nothing else is read).
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
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build();
        Outbound { connector, timeout }
    }

    /// `GET url` with `Accept: accept`; a 2xx answer's body is read, up to
    /// `max_bytes` (a larger one is refused as soon as its `Content-Length`
    /// or the bytes received say so, not after buffering it).
    pub async fn get(
        &self,
        url: &url::Url,
        accept: &str,
        max_bytes: usize,
    ) -> Result<Answer, OutboundError> {
        let request = http::Request::get(url.as_str()).header(ACCEPT, accept);
        self.call(request, SdkBody::empty(), Some(max_bytes)).await
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
        self.call(request, SdkBody::from(body), None).await
    }

    async fn call(
        &self,
        request: http::request::Builder,
        body: SdkBody,
        read_body: Option<usize>,
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
        let Some(max_bytes) = read_body.filter(|_| answer.status().is_success()) else {
            return Ok(Answer {
                status,
                body: Vec::new(),
            });
        };
        let declared = answer
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > max_bytes) {
            return Err(OutboundError::TooLarge);
        }
        let mut chunks = ByteStream::new(answer.into_body());
        let mut body = Vec::with_capacity(declared.unwrap_or(0));
        loop {
            let chunk = tokio::time::timeout_at(deadline, chunks.next())
                .await
                .map_err(|_| OutboundError::Timeout)?;
            match chunk {
                None => break,
                Some(Err(_)) => return Err(OutboundError::Unreachable),
                Some(Ok(bytes)) if body.len() + bytes.len() > max_bytes => {
                    return Err(OutboundError::TooLarge);
                }
                Some(Ok(bytes)) => body.extend_from_slice(&bytes),
            }
        }
        Ok(Answer { status, body })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A loopback server that writes `reply` on each connection after
    /// reading the request head (nothing when `reply` is empty) and then
    /// holds the connection open; counts the connections it accepted.
    fn server(reply: String) -> (url::Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let mut head = [0u8; 4096];
                let _ = conn.read(&mut head);
                let _ = conn.write_all(reply.as_bytes());
                held.push(conn);
            }
        });
        (url, accepted)
    }

    /// `GET` of a server answering `reply`, with a 1,024-byte body bound.
    async fn get(reply: &str, timeout: Duration) -> Result<Answer, OutboundError> {
        let (url, _) = server(reply.to_owned());
        Outbound::new(timeout)
            .get(&url, "application/json", 1024)
            .await
    }

    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_redirect_is_answered_as_it_is_never_followed() {
        // GIVEN a second server, and a first that redirects to it
        let (target, target_hits) = server("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into());
        let (first, _) = server(format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n"
        ));
        // WHEN a token is posted to the first
        let answer = Outbound::new(LONG)
            .post(&first, "application/secevent+jwt", "x.y.z".into())
            .await
            .unwrap();
        // THEN the answer is the redirect itself, and the second server heard nothing
        assert_eq!(answer.status, 307);
        assert_eq!(target_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_get_reads_the_status_and_the_whole_body() {
        let reply = "HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"keys\":[]}";
        let answer = get(reply, LONG).await.unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, &b"{\"keys\":[]}"[..])
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        assert_eq!(get("", SHORT).await.unwrap_err(), OutboundError::Timeout);
    }

    #[tokio::test]
    async fn a_body_that_never_ends_is_a_timeout() {
        // The head promises 100 bytes and sends 10: the bound covers the body too.
        let reply = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789";
        assert_eq!(get(reply, SHORT).await.unwrap_err(), OutboundError::Timeout);
    }

    #[tokio::test]
    async fn a_body_declared_larger_than_allowed_is_refused_unread() {
        let reply = "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n";
        assert_eq!(get(reply, LONG).await.unwrap_err(), OutboundError::TooLarge);
    }

    #[tokio::test]
    async fn a_chunked_body_larger_than_allowed_is_refused() {
        // No Content-Length: the chunks themselves cross the bound.
        let chunk = format!("800\r\n{}\r\n", "x".repeat(0x800));
        let reply =
            format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n");
        assert_eq!(
            get(&reply, LONG).await.unwrap_err(),
            OutboundError::TooLarge
        );
    }

    #[tokio::test]
    async fn the_body_of_an_error_answer_is_not_read() {
        // The head promises a body that never comes: only a 2xx body is awaited.
        let reply = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\n\r\n";
        let answer = get(reply, SHORT).await.unwrap();
        assert_eq!((answer.status, answer.body.len()), (503, 0));
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let err = Outbound::new(Duration::from_secs(5))
            .get(&url, "application/json", 1024)
            .await
            .unwrap_err();
        assert_eq!(err, OutboundError::Unreachable);
    }
}
