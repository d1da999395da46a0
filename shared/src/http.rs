//! HTTP helpers for the JSON APIs: OAuth-style errors, strict body parsing,
//! client authentication. Nothing here ever echoes a request value back:
//! every error description is one of ours.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value, json};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An error answer: `{"error": "...", "error_description": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable code (`invalid_request`, `invalid_token`, ...).
    pub error: &'static str,
    pub description: String,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<u32>,
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            description: description.into(),
            www_authenticate: None,
            retry_after: None,
            allow: None,
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750).
    pub fn invalid_token(code: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            format!("the access token is not valid ({code})"),
        );
        e.www_authenticate = Some(format!(
            r#"Bearer error="invalid_token", error_description="{code}""#
        ));
        e
    }

    /// 401 `invalid_request` with a plain Bearer challenge (no token sent).
    pub fn missing_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "an Authorization: Bearer <access token> header is required",
        );
        e.www_authenticate = Some("Bearer".into());
        e
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        e.www_authenticate = Some(r#"Basic realm="signout""#.into());
        e
    }

    pub fn unavailable(description: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        );
        e.retry_after = Some(1);
        e
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            format!("method not allowed on this route (allowed: {allow})"),
        );
        e.allow = Some(allow);
        e
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    pub fn into_response(self) -> Response<String> {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut r = json_response(self.status, &body);
        let h = r.headers_mut();
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, w);
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(a) = self.allow {
            h.insert(header::ALLOW, HeaderValue::from_static(a));
        }
        r
    }
}

/// A token we refused, as an answer: 503 when the signing keys could not be
/// fetched (our failure, try again), else 401 `invalid_token` with its code.
pub fn token_error(e: crate::tokens::TokenError) -> ApiError {
    if e.is_transient() {
        ApiError::unavailable("the signing keys could not be fetched")
    } else {
        ApiError::invalid_token(e.code())
    }
}

/// A JSON answer that no cache keeps.
pub fn json_response(status: StatusCode, body: &Value) -> Response<String> {
    let mut r = Response::new(body.to_string());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The one value of a header; a repeated header is refused.
pub fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "the {name} header must appear once"
        )));
    }
    match first {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("the {name} header is not visible ASCII"))),
    }
}

/// The bearer token of the request, or a 401.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = single_header(headers, "authorization")?.ok_or_else(ApiError::missing_token)?;
    // HTTP APIs join a repeated header with commas; a JWT never has one.
    if value.contains(',') {
        return Err(ApiError::bad_request(
            "the authorization header must appear once",
        ));
    }
    crate::authz::bearer(value).ok_or_else(ApiError::missing_token)
}

/// The media type of the request, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    Ok(single_header(headers, "content-type")?.map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }))
}

fn body_text(body: &[u8]) -> Result<&str, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not valid UTF-8"))
}

/// A JSON object body; an empty body is an empty object. Requires
/// `Content-Type: application/json` when there is a body.
pub fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let text = body_text(body)?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match media_type(headers)?.as_deref() {
        Some("application/json") => {}
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "the body must be application/json",
            ));
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(_) => Err(ApiError::bad_request("the body is not valid JSON")),
    }
}

/// Refuses any field of `body` not in `allowed`, naming the first allowed ones, never the input.
pub fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    if body.keys().all(|k| allowed.contains(&k.as_str())) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "unknown field in the body (allowed: {})",
            allowed.join(", ")
        )))
    }
}

/// An `application/x-www-form-urlencoded` body. Repeated parameters are
/// refused (RFC 6749 section 3.1).
pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    if media_type(headers)?.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let text = body_text(body)?;
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(ApiError::bad_request(
                "a form parameter appears more than once",
            ));
        }
    }
    Ok(out)
}

/// `Authorization: Basic` client credentials (RFC 6749 2.3.1: both parts form-urlencoded).
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = single_header(headers, "authorization")? else {
        return Ok(None);
    };
    let Some((scheme, rest)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || ApiError::invalid_client("malformed Basic client credentials");
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn json_bodies_are_strict_and_never_echo_input() {
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert!(json_object(&json, b"").unwrap().is_empty());
        assert_eq!(json_object(&json, br#"{"a":1}"#).unwrap()["a"], 1);
        let e = json_object(&json, b"{\"scope\": eyJsecret").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(!e.description.contains("eyJ"));
        assert_eq!(
            json_object(&json, b"[1]").unwrap_err().description,
            "the body must be a JSON object"
        );
        assert_eq!(
            json_object(&json, &[0xff, 0xfe]).unwrap_err().description,
            "the body is not valid UTF-8"
        );
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            json_object(&json, &big).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let text = headers(&[("content-type", "text/plain")]);
        assert_eq!(
            json_object(&text, b"{}").unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            json_object(&HeaderMap::new(), b"{}").unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn forms_refuse_repeats_and_wrong_types() {
        let f = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let m = form(&f, b"token=a%2Bb&client_id=c").unwrap();
        assert_eq!(m["token"], "a+b");
        assert!(form(&f, b"token=a&token=b").is_err());
        assert!(
            form(
                &headers(&[("content-type", "application/json")]),
                b"token=a"
            )
            .is_err()
        );
    }

    #[test]
    fn headers_must_appear_once_and_bearer_is_required() {
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(
            bearer_token(&two).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            bearer_token(&HeaderMap::new()).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer t")])).unwrap(),
            "t"
        );
    }

    #[test]
    fn basic_credentials_are_decoded_per_rfc_6749() {
        let v = format!("Basic {}", STANDARD.encode("client%3A1:s%2Bcret"));
        let h = headers(&[("authorization", &v)]);
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("client:1".into(), "s+cret".into()))
        );
        assert_eq!(
            basic_credentials(&headers(&[("authorization", "Bearer x")])).unwrap(),
            None
        );
        assert!(basic_credentials(&headers(&[("authorization", "Basic !!")])).is_err());
    }

    #[test]
    fn error_responses_carry_their_headers() {
        let r = ApiError::invalid_token("token_expired").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        let r = ApiError::unavailable("x").into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
