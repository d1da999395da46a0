//! API Gateway proxy events, as the functions receive them through
//! lambda_http: HTTP API (payload format 2.0) and REST API (1.0).
//!
//! One builder for every test that sends an HTTP request to a handler:
//!
//! ```
//! use testkit::apigw::{Call, Format};
//! let api = Call::new(Format::V2, "POST", "/signout").bearer("eyJ...").event();
//! let browser = Call::browser(Format::V1, "GET", "/logout")
//!     .query(&[("client_id", "abc")])
//!     .cookies(&["app_session=abc".to_owned()])
//!     .event();
//! assert_eq!(api["requestContext"]["http"]["method"], "POST");
//! assert_eq!(browser["headers"]["Cookie"], "app_session=abc");
//! ```
//!
//! [`Answer`] reads what a handler answers.
//!
//! The JSON is built by hand rather than from `aws_lambda_events`' types:
//! serialising those writes every optional field out, and the tests send
//! exactly the fields API Gateway sends for these requests.

use lambda_http::http::HeaderMap;
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};

/// The payload formats API Gateway sends through lambda_http.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HTTP API, payload format 2.0.
    V2,
    /// REST API, payload format 1.0.
    V1,
}

/// Both formats, for tests that run a case in each.
pub const FORMATS: [Format; 2] = [Format::V2, Format::V1];

/// The two kinds of request the tests send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A client calling the sign-out API: on REST through a `/{proxy+}`
    /// resource; on an HTTP API `body` and `requestContext.authorizer` are
    /// written out, `null` when absent.
    Api,
    /// A browser navigating to a route of its own (the logout function):
    /// on REST the resource is the path; `Host` and `X-Forwarded-Proto`
    /// headers; no body.
    Browser,
}

const ACCOUNT: &str = "123456789012";
const IAM_USER_ARN: &str = "arn:aws:iam::123456789012:user/incident-responder";

/// One request, built up and turned into its event with [`Call::event`].
#[derive(Clone, Debug)]
pub struct Call {
    pub format: Format,
    pub method: String,
    pub path: String,
    /// Header name and value, in order; a repeated name is joined with `,`
    /// (v2, and REST's single-value map) or listed (REST's multi-value map).
    pub headers: Vec<(String, String)>,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// The v2 `rawQueryString` as sent, in place of one encoded from `query`.
    pub raw_query: Option<String>,
    /// `name=value` pairs: v2's `cookies`, REST's `Cookie` header.
    pub cookies: Vec<String>,
    pub body: Option<String>,
    /// Signed with SigV4 by an IAM user (the admin routes' authorization).
    pub iam: bool,
    pub stage: String,
    kind: Kind,
}

impl Call {
    /// A call to the sign-out API (stage `$default` on v2, `prod` on REST).
    pub fn new(format: Format, method: &str, path: &str) -> Self {
        Call {
            format,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: vec![],
            query: vec![],
            raw_query: None,
            cookies: vec![],
            body: None,
            iam: false,
            stage: match format {
                Format::V2 => "$default",
                Format::V1 => "prod",
            }
            .to_owned(),
            kind: Kind::Api,
        }
    }

    /// A browser's request to the logout function's routes.
    pub fn browser(format: Format, method: &str, path: &str) -> Self {
        let (host, proto) = match format {
            Format::V2 => ("host", "x-forwarded-proto"),
            Format::V1 => ("Host", "X-Forwarded-Proto"),
        };
        Call {
            kind: Kind::Browser,
            ..Call::new(format, method, path)
        }
        .header(host, "api.example.com")
        .header(proto, "https")
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Without the header `name` (every value of it).
    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(k, _)| k != name);
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.header("content-type", "application/json")
            .raw_body(&body.to_string())
    }

    pub fn form(self, body: &str) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .raw_body(body)
    }

    pub fn raw_body(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self
    }

    pub fn raw_query(mut self, raw: &str) -> Self {
        self.raw_query = Some(raw.to_owned());
        self
    }

    pub fn cookies(mut self, cookies: &[String]) -> Self {
        self.cookies.extend_from_slice(cookies);
        self
    }

    pub fn iam(mut self) -> Self {
        self.iam = true;
        self
    }

    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = stage.to_owned();
        self
    }

    fn source_ip(&self) -> &'static str {
        match self.kind {
            Kind::Api => "192.0.2.1",
            Kind::Browser => "203.0.113.9",
        }
    }

    /// The event API Gateway would send for this request.
    pub fn event(&self) -> Value {
        match self.format {
            Format::V2 => self.v2(),
            Format::V1 => self.v1(),
        }
    }

    fn v2(&self) -> Value {
        let (single, _) = header_maps(&self.headers);
        let raw_query = self.raw_query.clone().unwrap_or_else(|| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&self.query)
                .finish()
        });
        let mut e = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": single,
            "requestContext": {
                "accountId": ACCOUNT, "apiId": "api", "domainName": "api.example.com",
                "domainPrefix": "api", "requestId": "r", "routeKey": "$default", "stage": self.stage,
                "time": "21/Nov/2026:16:00:00 +0000", "timeEpoch": 1795276800000u64,
                "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": self.source_ip(), "userAgent": "test"}
            },
            "isBase64Encoded": false
        });
        if self.kind == Kind::Api {
            let authorizer = if self.iam {
                json!({"iam": {"accessKey": "AKIAEXAMPLE", "accountId": ACCOUNT, "callerId": "AIDAEXAMPLE", "userArn": IAM_USER_ARN, "userId": "AIDAEXAMPLE"}})
            } else {
                Value::Null
            };
            e["requestContext"]["authorizer"] = authorizer;
            e["body"] = json!(self.body);
        } else if self.body.is_some() {
            // A browser's form post (the logout confirmation).
            e["body"] = json!(self.body);
        }
        if !self.cookies.is_empty() {
            e["cookies"] = json!(self.cookies);
        }
        e
    }

    fn v1(&self) -> Value {
        let mut headers = self.headers.clone();
        if !self.cookies.is_empty() {
            headers.push(("Cookie".into(), self.cookies.join("; ")));
        }
        let (single, multi) = header_maps(&headers);
        let mut query = Map::new();
        let mut multi_query = Map::new();
        for (k, v) in &self.query {
            query.insert(k.clone(), json!(v));
            push(&mut multi_query, k, v);
        }
        let or_null = |m: Map<String, Value>| {
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        };
        let (resource, path_parameters) = match self.kind {
            Kind::Api => (
                "/{proxy+}",
                json!({"proxy": self.path.trim_start_matches('/')}),
            ),
            Kind::Browser => (self.path.as_str(), Value::Null),
        };
        let identity = if self.iam {
            json!({"accessKey": "AKIAEXAMPLE", "accountId": ACCOUNT, "caller": "AIDAEXAMPLE", "user": "AIDAEXAMPLE", "userArn": IAM_USER_ARN, "sourceIp": self.source_ip()})
        } else {
            json!({"sourceIp": self.source_ip()})
        };
        json!({
            "resource": resource,
            "path": self.path,
            "httpMethod": self.method,
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": or_null(query),
            "multiValueQueryStringParameters": or_null(multi_query),
            "pathParameters": path_parameters,
            "stageVariables": null,
            "requestContext": {
                "accountId": ACCOUNT, "resourceId": "res", "stage": self.stage, "requestId": "r",
                "identity": identity, "resourcePath": resource, "httpMethod": self.method,
                "apiId": "api", "path": format!("/{}{}", self.stage, self.path)
            },
            "body": self.body,
            "isBase64Encoded": false
        })
    }
}

/// Headers as the single-value map (repeats joined with `,`) and the multi-value map.
fn header_maps(headers: &[(String, String)]) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi = Map::new();
    for (k, v) in headers {
        push(&mut multi, k, v);
        single
            .entry(k.clone())
            .and_modify(|old| *old = json!(format!("{},{v}", old.as_str().unwrap())))
            .or_insert_with(|| json!(v));
    }
    (single, multi)
}

fn push(multi: &mut Map<String, Value>, k: &str, v: &str) {
    multi
        .entry(k.to_owned())
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .unwrap()
        .push(json!(v));
}

/// A handler's response: status, headers, the body as text and, when it is
/// JSON, parsed (`Value::Null` otherwise).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn from_response(resp: Response<Body>) -> Self {
        let text = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Every `Set-Cookie` header, in order.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}
