//! Builders of API Gateway events (HTTP API v2 and REST v1) for the handler.

#![allow(dead_code)]

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use signout::app::App;

/// The payload formats API Gateway sends through lambda_http.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    V2,
    V1,
}

pub struct Call<'a> {
    pub format: Format,
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<String>,
    pub iam: bool,
    pub stage: &'a str,
}

impl<'a> Call<'a> {
    pub fn new(format: Format, method: &'a str, path: &'a str) -> Self {
        Call {
            format,
            method,
            path,
            headers: vec![],
            body: None,
            iam: false,
            stage: if format == Format::V2 {
                "$default"
            } else {
                "prod"
            },
        }
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.headers
            .push(("authorization", format!("Bearer {token}")));
        self
    }

    pub fn header(mut self, k: &'a str, v: &str) -> Self {
        self.headers.push((k, v.to_owned()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.headers
            .push(("content-type", "application/json".into()));
        self.body = Some(body.to_string());
        self
    }

    pub fn form(mut self, body: &str) -> Self {
        self.headers
            .push(("content-type", "application/x-www-form-urlencoded".into()));
        self.body = Some(body.to_owned());
        self
    }

    pub fn raw_body(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    pub fn iam(mut self) -> Self {
        self.iam = true;
        self
    }

    pub fn stage(mut self, stage: &'a str) -> Self {
        self.stage = stage;
        self
    }

    pub fn event(&self) -> Value {
        let mut single = serde_json::Map::new();
        let mut multi = serde_json::Map::new();
        for (k, v) in &self.headers {
            multi
                .entry(k.to_string())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .unwrap()
                .push(json!(v));
            single
                .entry(k.to_string())
                .and_modify(|old| *old = json!(format!("{},{v}", old.as_str().unwrap())))
                .or_insert_with(|| json!(v));
        }
        let user_arn = "arn:aws:iam::123456789012:user/incident-responder";
        match self.format {
            Format::V2 => {
                let mut authorizer = json!(null);
                if self.iam {
                    authorizer = json!({"iam": {"accessKey": "AKIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE", "userArn": user_arn, "userId": "AIDAEXAMPLE"}});
                }
                json!({
                    "version": "2.0",
                    "routeKey": "$default",
                    "rawPath": self.path,
                    "rawQueryString": "",
                    "headers": single,
                    "requestContext": {
                        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                        "domainPrefix": "api", "requestId": "r", "routeKey": "$default", "stage": self.stage,
                        "time": "21/Nov/2026:16:00:00 +0000", "timeEpoch": 1795276800000u64,
                        "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
                        "authorizer": authorizer
                    },
                    "body": self.body,
                    "isBase64Encoded": false
                })
            }
            Format::V1 => {
                let identity = if self.iam {
                    json!({"accessKey": "AKIAEXAMPLE", "accountId": "123456789012", "caller": "AIDAEXAMPLE", "user": "AIDAEXAMPLE", "userArn": user_arn, "sourceIp": "192.0.2.1"})
                } else {
                    json!({"sourceIp": "192.0.2.1"})
                };
                json!({
                    "resource": "/{proxy+}",
                    "path": self.path,
                    "httpMethod": self.method,
                    "headers": single,
                    "multiValueHeaders": multi,
                    "queryStringParameters": null,
                    "multiValueQueryStringParameters": null,
                    "pathParameters": {"proxy": self.path.trim_start_matches('/')},
                    "stageVariables": null,
                    "requestContext": {
                        "accountId": "123456789012", "resourceId": "res", "stage": self.stage, "requestId": "r",
                        "identity": identity, "resourcePath": "/{proxy+}", "httpMethod": self.method,
                        "apiId": "api", "path": format!("/{}{}", self.stage, self.path)
                    },
                    "body": self.body,
                    "isBase64Encoded": false
                })
            }
        }
    }

    pub async fn send(&self, app: &App) -> Answer {
        send_event(app, &self.event()).await
    }
}

/// A response, with the body parsed as JSON.
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub headers: lambda_http::http::HeaderMap,
    pub text: String,
}

pub fn request(event: &Value) -> Request {
    signout::gateway::request(event.clone()).expect("a valid API Gateway event")
}

pub async fn send_event(app: &App, event: &Value) -> Answer {
    let resp: Response<Body> = signout_api::handle(app, request(event)).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => String::new(),
    };
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        json,
        headers,
        text,
    }
}
