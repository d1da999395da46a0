//! Adapter: an authorizer event of any supported shape in, `signout::authz`
//! decision, the platform's response out.
//!
//! | shape | detected by | allow | 401 | 403 |
//! | --- | --- | --- | --- | --- |
//! | REST `TOKEN` | `type: TOKEN` + `methodArn` | Allow policy on `methodArn` | error `Unauthorized` | Deny policy |
//! | REST `REQUEST` | `type: REQUEST` + `methodArn` | Allow policy on `methodArn` | error `Unauthorized` | Deny policy |
//! | HTTP API 2.0, simple | `version: 2.0` + `routeArn` | `isAuthorized: true` + context | `isAuthorized: false` (403) | `isAuthorized: false` |
//! | HTTP API 2.0, IAM | same, `AUTHORIZER_RESPONSE_MODE=iam` | Allow policy on `routeArn` | error `Unauthorized` | Deny policy |
//! | AppSync | `authorizationToken` + `requestContext.apiId` | `isAuthorized: true`, `resolverContext`, `ttlOverride` | `isAuthorized: false` | `isAuthorized: false` |
//!
//! Policies name the exact method or route ARN, never a wildcard, so API
//! Gateway's result cache (keyed by token) cannot carry one route's Allow to
//! another route.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Map, Value, json};
use signout::Config;
use signout::app::App;
use signout::authz::{self, Access, Principal, Requirements};
use signout::check::Checker;
use signout::config::ConfigError;
use signout::tokens::Verifier;

/// How HTTP API answers are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    Simple,
    Iam,
}

/// The event shapes we accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    RestToken,
    RestRequest,
    HttpV2,
    AppSync,
}

pub fn detect(event: &Value) -> Option<Shape> {
    let s = |k: &str| event.get(k).and_then(Value::as_str);
    match (s("type"), s("methodArn"), s("version"), s("routeArn")) {
        (Some("TOKEN"), Some(_), _, _) => Some(Shape::RestToken),
        (Some("REQUEST"), Some(_), _, _) => Some(Shape::RestRequest),
        (_, None, Some("2.0"), Some(_)) => Some(Shape::HttpV2),
        _ if s("authorizationToken").is_some()
            && event.pointer("/requestContext/apiId").is_some() =>
        {
            Some(Shape::AppSync)
        }
        _ => None,
    }
}

/// The answer API Gateway turns into a 401.
#[derive(Debug)]
pub struct Unauthorized;

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unauthorized")
    }
}

impl std::error::Error for Unauthorized {}

/// An event of no supported shape: a deployment mistake, answered as an error.
#[derive(Debug)]
pub struct UnsupportedEvent;

impl std::fmt::Display for UnsupportedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "unsupported_event: not an API Gateway REST, HTTP API 2.0 or AppSync authorizer event",
        )
    }
}

impl std::error::Error for UnsupportedEvent {}

/// The authorizer's own settings (beyond the shared [`signout::Config`]).
#[derive(Clone, Debug)]
pub struct AuthorizerSettings {
    pub requirements: Requirements,
    pub mode: ResponseMode,
    pub identity_header: String,
}

impl AuthorizerSettings {
    /// Reads `AUTHORIZER_RESPONSE_MODE` (simple | iam), `AUTHORIZER_IDENTITY_HEADER`
    /// (default `authorization`) and the requirements; every problem at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup<F: Fn(&str) -> Option<String>>(get: F) -> Result<Self, ConfigError> {
        let mut problems = ConfigError::default();
        let mode = match get("AUTHORIZER_RESPONSE_MODE").as_deref().map(str::trim) {
            None | Some("") | Some("simple") => ResponseMode::Simple,
            Some("iam") => ResponseMode::Iam,
            Some(_) => {
                problems.add(
                    "AUTHORIZER_RESPONSE_MODE",
                    "must be simple or iam",
                    "simple",
                );
                ResponseMode::Simple
            }
        };
        let identity_header = get("AUTHORIZER_IDENTITY_HEADER")
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "authorization".into());
        let requirements = Requirements::from_lookup(&get);
        let (requirements, ()) = ConfigError::both(requirements, problems.or_ok(()))?;
        Ok(AuthorizerSettings {
            requirements,
            mode,
            identity_header,
        })
    }
}

/// What the authorizer function builds once per cold start: the verifier,
/// the checker and its settings; no Cognito client, no secrets.
pub struct Authorizer {
    pub verifier: Arc<Verifier>,
    pub checker: Arc<Checker>,
    pub settings: AuthorizerSettings,
    /// How long AppSync may cache an allow (`REVOCATION_CACHE_MS`, whole seconds).
    pub cache_ttl: Duration,
}

impl Authorizer {
    pub fn new(
        verifier: Arc<Verifier>,
        checker: Arc<Checker>,
        config: &Config,
        settings: AuthorizerSettings,
    ) -> Self {
        Authorizer {
            verifier,
            checker,
            settings,
            cache_ttl: config.revocation_cache,
        }
    }

    /// An authorizer over the clients of `app` (tests), with settings read through `get`.
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(
        app: Arc<App>,
        get: F,
    ) -> Result<Self, ConfigError> {
        let settings = AuthorizerSettings::from_lookup(get)?;
        Ok(Self::new(
            app.verifier.clone(),
            app.checker.clone(),
            &app.config,
            settings,
        ))
    }

    /// Handles one authorizer event.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let event = event.payload;
        let Some(shape) = detect(&event) else {
            tracing::warn!("unsupported authorizer event shape");
            return Err(UnsupportedEvent.into());
        };
        let access = match self.token(shape, &event) {
            Some(token) => {
                authz::authorize(
                    &self.verifier,
                    &self.checker,
                    token,
                    &self.settings.requirements,
                )
                .await
            }
            None => {
                signout::metrics::decision("unauthorized", "token_missing");
                Access::Unauthorized("token_missing")
            }
        };
        self.respond(shape, &event, access)
    }

    /// The bearer token of the event, per shape. A doubled header is refused.
    fn token<'a>(&self, shape: Shape, event: &'a Value) -> Option<&'a str> {
        match shape {
            Shape::RestToken | Shape::AppSync => {
                let raw = event.get("authorizationToken")?.as_str()?;
                authz::bearer(raw)
                    .or_else(|| (!raw.is_empty() && !raw.contains(' ')).then_some(raw))
            }
            Shape::RestRequest | Shape::HttpV2 => {
                if let Some(Value::Object(multi)) = event.get("multiValueHeaders") {
                    let values =
                        header(multi, &self.settings.identity_header).and_then(Value::as_array);
                    if values.is_some_and(|v| v.len() > 1) {
                        return None;
                    }
                }
                let headers = event.get("headers").and_then(Value::as_object)?;
                let value = header(headers, &self.settings.identity_header)?.as_str()?;
                // API Gateway joins repeated headers with commas in `headers`.
                if value.contains(',') {
                    return None;
                }
                authz::bearer(value)
            }
        }
    }

    fn respond(&self, shape: Shape, event: &Value, access: Access) -> Result<Value, Error> {
        let arn = event
            .get(if shape == Shape::HttpV2 {
                "routeArn"
            } else {
                "methodArn"
            })
            .and_then(Value::as_str)
            .unwrap_or_default();
        let policy = |effect: &str, p: &Principal, context: bool| {
            let mut out = json!({
                "principalId": p.sub,
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]
                }
            });
            if context {
                out["context"] = json!(p.context());
            }
            out
        };
        let ttl = self.cache_ttl.as_secs();
        Ok(match (shape, self.settings.mode, access) {
            (Shape::AppSync, _, Access::Allow(p)) => {
                json!({"isAuthorized": true, "resolverContext": p.context(), "ttlOverride": ttl})
            }
            (Shape::AppSync, _, _) => json!({"isAuthorized": false, "ttlOverride": 0}),
            (Shape::HttpV2, ResponseMode::Simple, Access::Allow(p)) => {
                json!({"isAuthorized": true, "context": p.context()})
            }
            (Shape::HttpV2, ResponseMode::Simple, _) => json!({"isAuthorized": false}),
            (_, _, Access::Allow(p)) => policy("Allow", &p, true),
            (_, _, Access::Forbidden(_, p)) => policy("Deny", &p, false),
            (_, _, Access::Unauthorized(_)) => return Err(Unauthorized.into()),
        })
    }
}

/// Case-insensitive header look-up (REST keeps the client's case, HTTP API lowercases).
fn header<'a>(headers: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_detected_from_the_event() {
        assert_eq!(
            detect(&json!({"type": "TOKEN", "methodArn": "a", "authorizationToken": "x"})),
            Some(Shape::RestToken)
        );
        assert_eq!(
            detect(&json!({"type": "REQUEST", "methodArn": "a"})),
            Some(Shape::RestRequest)
        );
        assert_eq!(
            detect(&json!({"type": "REQUEST", "version": "2.0", "routeArn": "a"})),
            Some(Shape::HttpV2)
        );
        assert_eq!(
            detect(&json!({"authorizationToken": "x", "requestContext": {"apiId": "a"}})),
            Some(Shape::AppSync)
        );
        assert_eq!(detect(&json!({"type": "TOKEN"})), None);
        assert_eq!(detect(&json!({})), None);
        assert_eq!(detect(&json!("x")), None);
    }
}
