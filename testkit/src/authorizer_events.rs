//! The authorizer's four event shapes as API Gateway and AppSync send them,
//! for one bearer token (and, when given, one cookie the authorizer must
//! never log).

use serde_json::{Value, json};

pub const METHOD_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/session";
pub const ROUTE_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/GET/session";

/// A REST API TOKEN authorizer event.
pub fn rest_token(token: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": METHOD_ARN})
}

/// A REST API REQUEST authorizer event, with a `Cookie` header when `cookie` is given.
pub fn rest_request(token: &str, cookie: Option<&str>) -> Value {
    let mut e = json!({
        "type": "REQUEST", "methodArn": METHOD_ARN, "resource": "/session", "path": "/session",
        "httpMethod": "GET", "headers": {"Authorization": format!("Bearer {token}")},
        "multiValueHeaders": {"Authorization": [format!("Bearer {token}")]},
        "requestContext": {"stage": "prod"}
    });
    if let Some(c) = cookie {
        e["headers"]["Cookie"] = json!(c);
    }
    e
}

/// An HTTP API (payload 2.0) REQUEST authorizer event, with `cookies` when `cookie` is given.
pub fn http_v2(token: &str, cookie: Option<&str>) -> Value {
    let mut e = json!({
        "version": "2.0", "type": "REQUEST", "routeArn": ROUTE_ARN,
        "identitySource": [format!("Bearer {token}")], "routeKey": "GET /session",
        "rawPath": "/session", "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"http": {"method": "GET", "path": "/session"}}
    });
    if let Some(c) = cookie {
        e["cookies"] = json!([c]);
    }
    e
}

/// An AppSync Lambda authorizer event.
pub fn appsync(token: &str) -> Value {
    json!({
        "authorizationToken": token,
        "requestContext": {"apiId": "aaaa", "accountId": "123456789012", "requestId": "r", "queryString": "{}", "operationName": "Q", "variables": {}}
    })
}
