//! Adapter: an API Gateway request (HTTP API v2 or REST v1, through
//! lambda_http, with or without the stage in the path) in, a
//! `signout::logout` call, an HTTP response out.
//!
//! | route | does |
//! | --- | --- |
//! | `GET /logout` | validates the target; asks the user to confirm when `LOGOUT_CONFIRM` says so (no valid hint, by default); else revokes the hinted session and the refresh-token cookie, expires app cookies, 302 to Cognito's `/logout` |
//! | `POST /logout` | the confirmation page's form: with its cookie and CSRF token, what `GET /logout` would have done |
//! | `GET /logout/callback` | opens the signed state cookie, 302 to the IdP's logout or the target with `state` |
//!
//! Every response carries `Cache-Control: no-store` and
//! `Referrer-Policy: no-referrer` (the query may hold an ID token: no cache
//! keeps it and no next hop sees it in `Referer`). Pages are fixed HTML under
//! `Content-Security-Policy: default-src 'none'`.

use cookie::time::{Duration, OffsetDateTime};
use cookie::{Cookie, SameSite as CookieSameSite};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use signout::app::App;
use signout::gateway;
use signout::logout::{
    Lifetime, Logout, LogoutResponse, Page, Reply, SameSite, SetCookie, page::confirm_html,
};

/// The routes this function serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Logout,
    Callback,
}

/// Matches `path`, without or with a leading stage segment.
pub fn route(path: &str, stage: Option<&str>) -> Option<Route> {
    gateway::match_path(path, stage, |s| match s {
        ["logout"] => Some(Route::Logout),
        ["logout", "callback"] => Some(Route::Callback),
        _ => None,
    })
}

/// Every query parameter, each occurrence kept (so repeats can be refused),
/// each value decoded exactly once: lambda_http parses HTTP API's
/// `rawQueryString`, and REST's `multiValueQueryStringParameters` arrive decoded.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.query_string_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The request's cookies as (name, value), from every `Cookie` header
/// (lambda_http folds HTTP API's `cookies` array into one).
pub fn request_cookies(req: &Request) -> Vec<(String, String)> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            Cookie::split_parse(v)
                .filter_map(Result::ok)
                .map(|c| (c.name().to_owned(), c.value().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Longest form body read: the confirmation form holds one short token.
const MAX_FORM_BYTES: usize = 2048;

/// The fields of an `application/x-www-form-urlencoded` body (none for
/// another type or a body too large).
pub fn form_pairs(req: &Request) -> Vec<(String, String)> {
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let body = req.body().as_ref();
    if !form || body.len() > MAX_FORM_BYTES {
        return Vec::new();
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Handles one request; never fails (every refusal is a page).
pub async fn handle(app: &App, flow: &Logout, req: Request) -> Response<Body> {
    let stage = gateway::stage_of(&req);
    let route = route(req.uri().path(), stage.as_deref());
    let answer = match route {
        None => LogoutResponse::page(Page::NotFound),
        Some(Route::Logout) if req.method() == Method::POST => {
            flow.confirmed(app, &form_pairs(&req), &request_cookies(&req))
                .await
        }
        Some(_) if req.method() != Method::GET => LogoutResponse::page(Page::MethodNotAllowed),
        Some(Route::Logout) => {
            flow.start(app, &query_pairs(&req), &request_cookies(&req))
                .await
        }
        Some(Route::Callback) => flow.callback(app, &request_cookies(&req)),
    };
    let mut resp = respond(answer);
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allow = match route {
            Some(Route::Logout) => "GET, POST",
            _ => "GET",
        };
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

/// A `Set-Cookie` value, built by the `cookie` crate with the attributes the
/// cookie was set with (a browser replaces only a cookie whose name, domain
/// and path match, and refuses prefixed cookies without their attributes).
pub fn set_cookie_value(c: &SetCookie) -> String {
    let spec = &c.cookie;
    let mut b = Cookie::build((spec.name.clone(), c.value.clone()))
        .path(spec.path.clone())
        .secure(spec.secure)
        .http_only(spec.http_only);
    if let Some(domain) = &spec.domain {
        b = b.domain(domain.clone());
    }
    if let Some(same_site) = spec.same_site {
        b = b.same_site(match same_site {
            SameSite::Strict => CookieSameSite::Strict,
            SameSite::Lax => CookieSameSite::Lax,
            SameSite::None => CookieSameSite::None,
        });
    }
    b = match c.lifetime {
        // Both: Max-Age wins where understood, Expires covers older agents.
        Lifetime::Expired => b
            .max_age(Duration::ZERO)
            .expires(OffsetDateTime::UNIX_EPOCH),
        Lifetime::Seconds(s) => b.max_age(Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))),
    };
    b.build().to_string()
}

const CSP: &str = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The confirmation page's: its form may post, and the answer's redirects
/// lead on to Cognito, an IdP and the target (Chromium holds redirects
/// after a form submission to `form-action`), so that is left open.
const CSP_CONFIRM: &str = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Renders an answer: status, security headers, `Location`, `Set-Cookie`s.
pub fn respond(answer: LogoutResponse) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let mut confirm = None;
    let page = match answer.reply {
        Reply::Redirect(url) => match HeaderValue::from_str(&url) {
            Ok(location) => {
                h.insert(header::LOCATION, location);
                *resp.status_mut() = StatusCode::FOUND;
                None
            }
            // Only an allow-list entry with control characters gets here.
            Err(_) => {
                tracing::error!(
                    code = "location_unusable",
                    "a redirect target is not a valid header value"
                );
                Some(Page::Invalid)
            }
        },
        Reply::Page(p) => Some(p),
        Reply::Confirm(token) => {
            confirm = Some(confirm_html(&token));
            None
        }
    };
    if let Some(html) = confirm {
        let h = resp.headers_mut();
        page_headers(h, CSP_CONFIRM);
        *resp.status_mut() = StatusCode::OK;
        *resp.body_mut() = Body::Text(html);
    }
    if let Some(p) = page {
        let h = resp.headers_mut();
        page_headers(h, CSP);
        if p == Page::Unavailable {
            h.insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        *resp.status_mut() = StatusCode::from_u16(p.status()).unwrap_or(StatusCode::BAD_REQUEST);
        *resp.body_mut() = Body::Text(p.html().to_owned());
    }
    for c in &answer.set_cookies {
        match HeaderValue::from_str(&set_cookie_value(c)) {
            Ok(v) => {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Err(_) => {
                tracing::error!(
                    code = "cookie_unusable",
                    cookie = %c.cookie.name,
                    "a Set-Cookie is not a valid header value"
                )
            }
        }
    }
    resp
}

fn page_headers(h: &mut lambda_http::http::HeaderMap, csp: &'static str) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_or_without_the_stage() {
        assert_eq!(route("/logout", None), Some(Route::Logout));
        assert_eq!(
            route("/logout/callback", Some("$default")),
            Some(Route::Callback)
        );
        assert_eq!(route("/prod/logout", Some("prod")), Some(Route::Logout));
        assert_eq!(
            route("/prod/logout/callback", Some("prod")),
            Some(Route::Callback)
        );
        assert_eq!(route("/prod/logout", None), None);
        assert_eq!(route("/other/logout", Some("prod")), None);
        assert_eq!(route("/logout/callback/x", None), None);
        assert_eq!(route("/", None), None);
    }
}
