//! Running an HTTP handler behind API Gateway, through lambda_http, safely.
//!
//! lambda_http 1.3 builds the request URI from the `Host` and
//! `X-Forwarded-Proto` headers, the path and the raw query with `unwrap` and
//! `expect`: an event whose `X-Forwarded-Proto` is `h~tps` (found by our
//! fuzzer), or whose query holds a space, panics, and with `panic = "abort"`
//! that kills the process. [`sanitize`] rewrites exactly those fields to values
//! lambda_http accepts before it sees the event, and [`run`] does that for
//! every invocation.

use std::future::Future;

use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Adapter, Body, Error, Request, RequestExt, Response, Service};
use lambda_runtime::{LambdaEvent, service_fn};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

/// Matches `path` with `matches` over its segments, without or with a
/// leading stage segment: lambda_http prefixes REST stages to the path, and
/// HTTP API's `$default` stage has none.
pub fn match_path<R>(
    path: &str,
    stage: Option<&str>,
    matches: impl Fn(&[&str]) -> Option<R>,
) -> Option<R> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches(&segments).or_else(|| {
        let stage = stage.filter(|s| !s.is_empty() && *s != "$default")?;
        (segments.first() == Some(&stage))
            .then(|| matches(&segments[1..]))
            .flatten()
    })
}

/// The API Gateway stage the request came through.
pub fn stage_of(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => c.stage.clone(),
        RequestContext::ApiGatewayV1(c) => c.stage.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Characters a URI query may not hold as they are (RFC 3986), so we encode them.
const QUERY_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters a URI path may not hold as they are.
const PATH_UNSAFE: &AsciiSet = &QUERY_UNSAFE.add(b'?');

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        && url::Url::parse(&format!("https://{h}/"))
            .is_ok_and(|u| u.path() == "/" && u.username().is_empty())
}

fn header_ok(name: &str, value: &Value) -> bool {
    let values: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    match name.to_ascii_lowercase().as_str() {
        "x-forwarded-proto" => values.iter().all(|v| *v == "http" || *v == "https"),
        "host" => values.iter().all(|v| valid_host(v)),
        _ => true,
    }
}

fn encode_path(slot: Option<&mut Value>) {
    if let Some(Value::String(s)) = slot {
        let mut out = fix_escapes(&utf8_percent_encode(s, PATH_UNSAFE).to_string());
        // lambda_http appends the path to the authority: it must start with `/`.
        if !out.starts_with('/') {
            out.insert(0, '/');
        }
        *s = out;
    }
}

fn encode_query(slot: Option<&mut Value>) {
    if let Some(Value::String(s)) = slot {
        // `%` is kept (already-encoded input) but must start a valid escape.
        *s = fix_escapes(&utf8_percent_encode(s, QUERY_UNSAFE).to_string());
    }
}

/// Encodes every `%` not followed by two hex digits.
fn fix_escapes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        let escape = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if c == '%' && !escape {
            out.push_str("%25");
        } else {
            out.push(c);
        }
    }
    out
}

/// Makes an API Gateway event safe for lambda_http's request builder: drops
/// `Host` and `X-Forwarded-Proto` values it cannot use, and percent-encodes
/// paths and raw queries. Everything else is left alone.
pub fn sanitize(event: &mut Value) {
    let Some(obj) = event.as_object_mut() else {
        return;
    };
    for key in ["headers", "multiValueHeaders"] {
        if let Some(Value::Object(h)) = obj.get_mut(key) {
            h.retain(|k, v| header_ok(k, v));
        }
    }
    if let Some(ctx) = obj.get_mut("requestContext").and_then(Value::as_object_mut) {
        if ctx
            .get("domainName")
            .and_then(Value::as_str)
            .is_some_and(|d| !valid_host(d))
        {
            ctx.remove("domainName");
        }
        if let Some(Value::String(stage)) = ctx.get_mut("stage")
            && !stage
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_$".contains(&b))
        {
            *stage = "$default".into();
        }
    }
    encode_path(obj.get_mut("rawPath"));
    encode_path(obj.get_mut("path"));
    encode_query(obj.get_mut("rawQueryString"));
}

/// The lambda_http request for an API Gateway event, sanitized first.
pub fn request(mut event: Value) -> Result<Request, serde_json::Error> {
    sanitize(&mut event);
    let parsed: LambdaRequest = serde_json::from_value(event)?;
    Ok(parsed.into())
}

/// Runs `handler` for every API Gateway event (REST v1 and HTTP API v2),
/// sanitizing each event first. Events of another shape are Lambda errors.
pub async fn run<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let LambdaEvent {
            mut payload,
            context,
        } = event;
        sanitize(&mut payload);
        let request: LambdaRequest = serde_json::from_value(payload).map_err(|_| {
            Error::from("unsupported_event: not an API Gateway REST or HTTP API event")
        })?;
        let mut adapter = Adapter::from(service_fn(|r: Request| {
            let fut = handler(r);
            async move { Ok::<_, Error>(fut.await) }
        }));
        let request_id = context.request_id.clone();
        crate::metrics::flushed(request_id, adapter.call(LambdaEvent::new(request, context))).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_forwarding_headers_and_paths_are_made_safe() {
        let mut e = json!({
            "version": "2.0", "rawPath": "/a b/\u{1}", "rawQueryString": "x=a b&y=%zz",
            "headers": {"x-forwarded-proto": "h~tps", "host": "evil/host", "accept": "x"},
            "requestContext": {"domainName": "bad host", "stage": "pr od"}
        });
        sanitize(&mut e);
        assert_eq!(e["headers"], json!({"accept": "x"}));
        assert_eq!(e["rawPath"], "/a%20b/%01");
        assert_eq!(e["rawQueryString"], "x=a%20b&y=%25zz");
        assert!(e["requestContext"].get("domainName").is_none());
        assert_eq!(e["requestContext"]["stage"], "$default");
        let mut ok = json!({"headers": {"Host": "api.example.com", "X-Forwarded-Proto": "https"}, "rawQueryString": "a=%20b"});
        let before = ok.clone();
        sanitize(&mut ok);
        assert_eq!(ok, before, "valid events are untouched");
    }
}
