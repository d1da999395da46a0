//! Adapter: an API Gateway request (HTTP API v2 or REST v1, through
//! lambda_http) in, a `signout::ops` operation, a JSON answer out.
//!
//! | route | who | does |
//! | --- | --- | --- |
//! | `POST /signout` | Bearer access token, not revoked | global (default) or session sign-out |
//! | `POST /revoke` | client (RFC 7009) | by the token's form, whatever the hint: refresh token at Cognito; access/ID token's session in the store (`revoke`) |
//! | `POST /introspect` | IAM or client credentials | RFC 7662, after the full revocation check |
//! | `GET /session` | Bearer token | the caller's verified claims and whether the session is active |
//! | `POST /admin/users/{username}/signout` | IAM | cutoff (+ optional block), `AdminUserGlobalSignOut` |
//! | `POST /admin/clients/{client_id}/signout` | IAM | cutoff for one app client |
//! | `POST /admin/signout-all` | IAM | cutoff for the pool |
//! | `GET /.well-known/jwks.json` | anyone | the public keys of sign-out events (KMS `GetPublicKey`) |
//! | `GET /.well-known/ssf-configuration` | anyone | the issuer metadata of sign-out events |

use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use signout::app::App;
use signout::check::{Decision, Verdict};
use signout::cognito::CognitoFailure;
use signout::gateway;
use signout::http::{self as h, ApiError, json_response, token_error};
use signout::model::ClientId;
use signout::oauth;
use signout::ops::{self, Completion, Report, Step, StepError, StepName};
use signout::tokens::Expect;

pub use signout::oauth::REFRESH_NOTE;

/// The routes, with the path's variable part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    SignOut,
    Revoke,
    Introspect,
    Session,
    AdminUser(String),
    AdminClient(String),
    AdminAll,
    Jwks,
    EventsMetadata,
}

impl Route {
    fn method(&self) -> (Method, &'static str) {
        match self {
            Route::Session | Route::Jwks | Route::EventsMetadata => (Method::GET, "GET"),
            _ => (Method::POST, "POST"),
        }
    }
}

/// Matches `path`, without or with a leading stage segment.
pub fn route(path: &str, stage: Option<&str>) -> Option<Route> {
    gateway::match_path(path, stage, match_segments)
}

fn decode(segment: &str) -> Option<String> {
    let s = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    (!s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)).then(|| s.into_owned())
}

fn match_segments(s: &[&str]) -> Option<Route> {
    match s {
        ["signout"] => Some(Route::SignOut),
        ["revoke"] => Some(Route::Revoke),
        ["introspect"] => Some(Route::Introspect),
        ["session"] => Some(Route::Session),
        ["admin", "users", user, "signout"] => decode(user).map(Route::AdminUser),
        ["admin", "clients", client, "signout"] => decode(client).map(Route::AdminClient),
        ["admin", "signout-all"] => Some(Route::AdminAll),
        [".well-known", "jwks.json"] => Some(Route::Jwks),
        [".well-known", "ssf-configuration"] => Some(Route::EventsMetadata),
        _ => None,
    }
}

/// The IAM caller of the request, when API Gateway authorized it with SigV4.
pub fn iam_caller(req: &Request) -> Option<String> {
    let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => {
            let iam = c.authorizer.as_ref()?.iam.as_ref()?;
            non_empty(&iam.user_arn)
                .or_else(|| non_empty(&iam.caller_id))
                .or_else(|| non_empty(&iam.access_key))
        }
        RequestContext::ApiGatewayV1(c) => non_empty(&c.identity.user_arn)
            .or_else(|| non_empty(&c.identity.caller))
            .or_else(|| non_empty(&c.identity.access_key)),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Handles one request; never fails (every error is an answer).
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let response = match dispatch(app, &req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::Text(body))
}

pub(crate) type ApiResult = Result<lambda_http::http::Response<String>, ApiError>;

async fn dispatch(app: &App, req: &Request) -> ApiResult {
    let stage = gateway::stage_of(req);
    let Some(route) = route(req.uri().path(), stage.as_deref()) else {
        return Err(ApiError::not_found("no such route"));
    };
    let (method, allow) = route.method();
    if req.method() != method {
        return Err(ApiError::method_not_allowed(allow));
    }
    let body: &[u8] = req.body().as_ref();
    match route {
        Route::SignOut => sign_out(app, req, body).await,
        Route::Revoke => {
            let form = h::form(req.headers(), body)?;
            let basic = h::basic_credentials(req.headers())?;
            let answer = oauth::revoke(app, basic.as_ref(), &form).await?;
            Ok(json_response(StatusCode::OK, &answer))
        }
        Route::Introspect => {
            let form = h::form(req.headers(), body)?;
            let basic = h::basic_credentials(req.headers())?;
            let by_iam = iam_caller(req).is_some();
            let answer = oauth::introspect(app, by_iam, basic.as_ref(), &form).await?;
            Ok(json_response(StatusCode::OK, &answer))
        }
        Route::Session => session(app, req).await,
        Route::AdminUser(username) => {
            let caller = admin(req)?;
            admin_user(app, &caller, &username, req, body).await
        }
        Route::AdminClient(client) => {
            let caller = admin(req)?;
            if !app.verifier.knows_client(&client) {
                return Err(ApiError::not_found("unknown app client"));
            }
            tracing::info!(%caller, client = %client, "admin: client cutoff");
            no_body(req, body)?;
            Ok(report_response(
                &ops::client_sign_out(app, &ClientId(client)).await,
            ))
        }
        Route::AdminAll => {
            let caller = admin(req)?;
            tracing::info!(%caller, "admin: pool cutoff");
            no_body(req, body)?;
            Ok(report_response(&ops::pool_sign_out(app).await))
        }
        Route::Jwks => jwks(app).await,
        Route::EventsMetadata => {
            let signing = app.config.events_signing.as_ref();
            let issuer = signing
                .ok_or_else(|| ApiError::not_found("sign-out events are not signed here"))?;
            Ok(cacheable(json_response(
                StatusCode::OK,
                &signout::events::metadata::document(&issuer.issuer),
            )))
        }
    }
}

/// Public documents may be cached by relying parties and CDNs for five
/// minutes: a rotation publishes the next key longer than that before it signs.
fn cacheable(mut r: lambda_http::http::Response<String>) -> lambda_http::http::Response<String> {
    let h = r.headers_mut();
    h.remove(lambda_http::http::header::PRAGMA);
    h.insert(
        lambda_http::http::header::CACHE_CONTROL,
        lambda_http::http::HeaderValue::from_static("public, max-age=300"),
    );
    r
}

async fn jwks(app: &App) -> ApiResult {
    let keys = app
        .event_keys
        .as_ref()
        .ok_or_else(|| ApiError::not_found("sign-out events are not signed here"))?;
    match keys.jwks().await {
        Ok(doc) => Ok(cacheable(json_response(StatusCode::OK, &doc))),
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "signing keys unavailable");
            Err(ApiError::unavailable(format!(
                "signing keys unavailable ({})",
                e.code()
            )))
        }
    }
}

/// The function refuses admin routes itself when the event carries no IAM
/// identity, whatever the API's configuration.
fn admin(req: &Request) -> Result<String, ApiError> {
    iam_caller(req)
        .ok_or_else(|| ApiError::forbidden("this route requires IAM (SigV4) authorization"))
}

fn no_body(req: &Request, body: &[u8]) -> Result<(), ApiError> {
    let fields = h::json_object(req.headers(), body)?;
    h::only_fields(&fields, &[])
}

/// 200 when complete; 503 with Retry-After when a retryable step failed;
/// 502 when a step failed for good.
pub fn report_response(report: &Report) -> lambda_http::http::Response<String> {
    let status = match report.result() {
        Completion::Complete => StatusCode::OK,
        _ if report.retryable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    let mut r = json_response(status, &report.to_json());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(lambda_http::http::header::RETRY_AFTER, 1.into());
    }
    r
}

async fn sign_out(app: &App, req: &Request, body: &[u8]) -> ApiResult {
    let token = h::bearer_token(req.headers())?;
    let fields = h::json_object(req.headers(), body)?;
    h::only_fields(&fields, &["scope", "refresh_token"])?;
    let scope = match fields.get("scope") {
        None => "global",
        Some(Value::String(s)) if s == "global" || s == "session" => s.as_str(),
        Some(Value::String(_)) => {
            return Err(ApiError::bad_request(
                "scope must be \"global\" or \"session\"",
            ));
        }
        Some(_) => return Err(ApiError::bad_request("scope must be a string")),
    };
    let refresh = match fields.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 8192 => Some(s.as_str()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "refresh_token must be a non-empty string",
            ));
        }
    };
    if refresh.is_some() && scope == "global" {
        return Err(ApiError::bad_request(
            "refresh_token is only used with scope \"session\"",
        ));
    }
    let verified = app
        .verifier
        .verify(token, Expect::ACCESS)
        .await
        .map_err(token_error)?;
    // The full check first: a token already signed out (stolen, replayed)
    // must not sign its user out again. It records nothing; only the Cognito
    // step of a retry after `partial` is redone (see `ops::finish_at_cognito`).
    match ops::check_first(app, &verified.claims).await {
        Ok(Verdict::Active) => {}
        Ok(Verdict::Revoked(why)) => {
            let global = scope == "global";
            let redone =
                ops::finish_at_cognito(app, &verified.claims, token, why, global, refresh).await;
            tracing::info!(
                scope,
                code = why.code(),
                cognito_step = redone.as_ref().map(|s| s.step.code()),
                sub = %verified.claims.sub,
                "sign-out refused: the token is already revoked"
            );
            return match redone {
                Some(step) if !step.ok && step.retryable => Ok(report_response(&Report::of(step))),
                _ => Err(ApiError::invalid_token(why.code())),
            };
        }
        Err(report) => return Ok(report_response(&report)),
    }
    let report = if scope == "global" {
        ops::global_sign_out(app, &verified.claims, token).await
    } else {
        ops::session_sign_out(app, &verified.claims, refresh)
            .await
            .map_err(|_| {
                ApiError::bad_request("this token has no origin_jti: use scope \"global\"")
            })?
    };
    tracing::info!(scope, result = report.result().code(), sub = %verified.claims.sub, "sign-out");
    Ok(report_response(&report))
}

/// The caller's verified claims and whether the session is still active.
async fn session(app: &App, req: &Request) -> ApiResult {
    let token = h::bearer_token(req.headers())?;
    let verified = app
        .verifier
        .verify(token, Expect::ANY)
        .await
        .map_err(token_error)?;
    match app.checker.decide(&verified.claims).await {
        Decision::Allow | Decision::AllowFailOpen(_) => {}
        Decision::Deny(r) => return Err(ApiError::invalid_token(r.code())),
        Decision::DenyUnavailable(e) => {
            return Err(ApiError::unavailable(format!(
                "the revocation store is unavailable ({})",
                e.code()
            )));
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"active": true, "claims": Value::Object(signout::tokens::peek_claims(token).unwrap_or_default())}),
    ))
}

const MAX_BLOCK_SECONDS: u64 = 366 * 86_400;

/// A non-negative JSON number without a fractional part: `900`, and also `900.0`,
/// which JSON Schema's `integer` (docs/openapi.yaml) accepts too.
fn whole_number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=MAX_BLOCK_SECONDS as f64).contains(f))
            .map(|f| f as u64)
    })
}

async fn admin_user(
    app: &App,
    caller: &str,
    username: &str,
    req: &Request,
    body: &[u8],
) -> ApiResult {
    let fields = h::json_object(req.headers(), body)?;
    h::only_fields(&fields, &["block_for_seconds"])?;
    let block = match fields.get("block_for_seconds") {
        None | Some(Value::Null) => 0,
        Some(v) => whole_number(v)
            .filter(|n| *n <= MAX_BLOCK_SECONDS)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "block_for_seconds must be a whole number from 0 to {MAX_BLOCK_SECONDS}"
                ))
            })?,
    };
    let user = match app.cognito.resolve_user(username).await {
        Ok(u) => u,
        Err(e) if e.kind == CognitoFailure::UserNotFound => {
            return Err(ApiError::not_found("no such user"));
        }
        Err(e) if e.retryable => {
            let step = Step::failed(StepName::ResolveUser, StepError::Cognito(e.kind), true);
            return Ok(report_response(&Report::of(step)));
        }
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "server_error",
                format!("user look-up failed ({})", e.code()),
            ));
        }
    };
    tracing::info!(%caller, sub = %user.sub, block_for_seconds = block, "admin: user sign-out");
    let report = ops::admin_sign_out(app, &user.username, &user.sub, block).await;
    Ok(report_response(&report))
}
