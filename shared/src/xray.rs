//! AWS X-Ray subsegments for the calls an invocation makes: every AWS SDK
//! operation (DynamoDB, Cognito, Secrets Manager, KMS, EventBridge) through one client
//! [`Interceptor`], and the JWKS fetch through [`remote`].
//!
//! With `Tracing: Active`, Lambda records the invocation's segment and runs
//! an X-Ray daemon at `AWS_XRAY_DAEMON_ADDRESS`; the runtime puts the
//! invocation's trace header in `_X_AMZN_TRACE_ID`. `xray-lite` sends each
//! subsegment to that daemon over UDP (no collector, no extra layer), under
//! the invocation's segment. Nothing is sent when the daemon address is unset
//! (local runs, tests calling handlers) or Lambda did not sample the
//! invocation (`Sampled=1` absent). Sending never fails a call: a lost
//! datagram loses a subsegment, not a request.
//!
//! `xray-lite-aws-sdk` exists, but attaches per call site and marks no
//! faults; one interceptor on each client covers every attempt of every
//! operation, and [`Call`] marks errors and faults as X-Ray defines them.

use std::sync::{Mutex, OnceLock};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use xray_lite::{
    AwsOperation, Context as _, DaemonClient, Http, Namespace, Request, Response,
    SubsegmentContext, SubsegmentSession,
};

static DAEMON: OnceLock<Option<DaemonClient>> = OnceLock::new();

/// Opens the socket to the X-Ray daemon once per cold start, when Lambda
/// names one (`AWS_XRAY_DAEMON_ADDRESS`).
pub fn init() {
    DAEMON.get_or_init(|| {
        std::env::var_os("AWS_XRAY_DAEMON_ADDRESS")?;
        DaemonClient::from_lambda_env()
            .map_err(|e| tracing::warn!(error = %e, "X-Ray subsegments disabled"))
            .ok()
    });
}

/// The current invocation's trace, when there is a daemon and Lambda sampled it.
fn context() -> Option<SubsegmentContext<DaemonClient>> {
    let client = DAEMON.get()?.as_ref()?.clone();
    let header = std::env::var("_X_AMZN_TRACE_ID").ok()?;
    if !header.split(';').any(|part| part.trim() == "Sampled=1") {
        return None;
    }
    SubsegmentContext::from_lambda_env(client).ok()
}

/// What one subsegment records: an AWS operation or a remote HTTP call.
#[derive(Debug)]
pub struct Call {
    name: String,
    kind: Kind,
    status: Option<u16>,
    request_id: Option<String>,
    no_response: bool,
}

#[derive(Debug)]
enum Kind {
    Aws { operation: String },
    Remote { method: String, url: String },
}

// The segment document schema limits `http.request.url` to 250 characters.
const MAX_URL: usize = 250;

impl Namespace for Call {
    fn name(&self, _prefix: &str) -> String {
        self.name.clone()
    }

    fn update_subsegment(&self, s: &mut xray_lite::Subsegment) {
        let mut request = None;
        match &self.kind {
            Kind::Aws { operation } => {
                s.namespace = Some("aws".into());
                s.aws = Some(AwsOperation {
                    operation: Some(operation.clone()),
                    request_id: self.request_id.clone(),
                    ..AwsOperation::default()
                });
            }
            Kind::Remote { method, url } => {
                s.namespace = Some("remote".into());
                let mut url = url.clone();
                if url.len() > MAX_URL {
                    let mut end = MAX_URL;
                    while !url.is_char_boundary(end) {
                        end -= 1;
                    }
                    url.truncate(end);
                }
                request = Some(Request {
                    method: Some(method.clone()),
                    url: Some(url),
                    ..Request::default()
                });
            }
        }
        let response = self.status.map(|status| Response {
            status: Some(status),
            content_length: None,
        });
        if request.is_some() || response.is_some() {
            s.http = Some(Http { request, response });
        }
        // X-Ray: `error` for a 4xx, `fault` for a 5xx or no answer at all.
        // (xray-lite names the throttle flag `throttled`, which the segment
        // schema calls `throttle`; a 429 is recorded as an error only.)
        s.error = matches!(self.status, Some(400..=499));
        s.fault = self.no_response || matches!(self.status, Some(500..=599));
    }
}

/// An open subsegment: ends, and is sent, when dropped.
pub struct Span(Option<SubsegmentSession<DaemonClient, Call>>);

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Span"
        } else {
            "Span(off)"
        })
    }
}

impl Span {
    fn enter(call: Call) -> Self {
        Span(context().map(|c| c.enter_subsegment(call)))
    }

    fn call(&mut self) -> Option<&mut Call> {
        self.0.as_mut().and_then(|s| s.namespace_mut())
    }

    /// The HTTP status the call answered.
    pub fn answered(&mut self, status: u16) {
        if let Some(call) = self.call() {
            call.status = Some(status);
        }
    }

    /// The call ended without an answer (timeout, connection refused).
    pub fn unanswered(&mut self) {
        if let Some(call) = self.call() {
            call.no_response = true;
        }
    }

    /// The trace header to send on, so the callee joins the trace.
    fn trace_header(&self) -> Option<String> {
        self.0.as_ref().and_then(|s| s.x_amzn_trace_id())
    }
}

/// A subsegment for an HTTP call to a service outside AWS (the JWKS).
pub fn remote(name: &str, method: &str, url: &str) -> Span {
    Span::enter(Call {
        name: name.into(),
        kind: Kind::Remote {
            method: method.into(),
            url: url.into(),
        },
        status: None,
        request_id: None,
        no_response: false,
    })
}

fn aws(service: &str, operation: &str) -> Span {
    Span::enter(Call {
        name: service.into(),
        kind: Kind::Aws {
            operation: operation.into(),
        },
        status: None,
        request_id: None,
        no_response: false,
    })
}

/// A KMS client of `sdk` whose calls are subsegments (the events' signing keys).
pub fn kms(sdk: &aws_config::SdkConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(sdk)
            .interceptor(Interceptor)
            .build(),
    )
}

/// Records each attempt of every operation of the client it is added to:
/// `Client::from_conf(Builder::from(sdk).interceptor(xray::Interceptor).build())`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interceptor;

/// The attempt in flight, kept in the operation's config bag between hooks.
#[derive(Debug)]
struct Attempt(Mutex<Option<Span>>);

impl Storable for Attempt {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Interceptor {
    fn name(&self) -> &'static str {
        "xray"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let span = aws(meta.service(), meta.name());
        if span.0.is_some() {
            cfg.interceptor_state()
                .store_put(Attempt(Mutex::new(Some(span))));
        }
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let header = cfg
            .load::<Attempt>()
            .and_then(|a| a.0.lock().ok()?.as_ref()?.trace_header());
        if let Some(header) = header {
            context
                .request_mut()
                .headers_mut()
                .insert("X-Amzn-Trace-Id", header);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(mut span) = cfg.load::<Attempt>().and_then(|a| a.0.lock().ok()?.take()) else {
            return Ok(());
        };
        match context.response() {
            Some(response) => {
                span.answered(response.status().as_u16());
                let id = response
                    .headers()
                    .get("x-amzn-requestid")
                    .or_else(|| response.headers().get("x-amz-request-id"));
                if let (Some(id), Some(call)) = (id, span.call()) {
                    call.request_id = Some(id.to_owned());
                }
            }
            None => span.unanswered(),
        }
        Ok(()) // `span` drops here: the subsegment ends and is sent.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subsegment(call: &Call) -> serde_json::Value {
        let mut s = xray_lite::Subsegment::default();
        call.update_subsegment(&mut s);
        serde_json::to_value(&s).unwrap()
    }

    fn remote_call(url: &str, status: Option<u16>, no_response: bool) -> Call {
        Call {
            name: "JWKS".into(),
            kind: Kind::Remote {
                method: "GET".into(),
                url: url.into(),
            },
            status,
            request_id: None,
            no_response,
        }
    }

    #[test]
    fn a_5xx_or_no_answer_is_a_fault_and_a_4xx_an_error() {
        let fault = subsegment(&remote_call("https://k", Some(503), false));
        assert_eq!(
            (fault["fault"].as_bool(), fault.get("error")),
            (Some(true), None)
        );
        let error = subsegment(&remote_call("https://k", Some(404), false));
        assert_eq!(
            (error.get("fault"), error["error"].as_bool()),
            (None, Some(true))
        );
        let none = subsegment(&remote_call("https://k", None, true));
        assert_eq!(none["fault"].as_bool(), Some(true));
        let ok = subsegment(&remote_call("https://k", Some(200), false));
        assert_eq!((ok.get("fault"), ok.get("error")), (None, None));
    }

    #[test]
    fn a_long_url_is_cut_to_the_schema_limit_on_a_character_boundary() {
        let url = format!("https://k/{}", "é".repeat(200));
        let s = subsegment(&remote_call(&url, Some(200), false));
        let recorded = s["http"]["request"]["url"].as_str().unwrap();
        assert!(recorded.len() <= MAX_URL && url.starts_with(recorded));
    }

    #[test]
    fn without_a_daemon_no_span_is_opened() {
        // No `init` in unit tests: calls run untraced.
        assert!(remote("JWKS", "GET", "https://k").0.is_none());
    }
}
