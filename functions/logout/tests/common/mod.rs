//! The logout function's test harness: the function as deployed for a
//! fixture, browser requests as API Gateway events (`testkit::apigw`, v2
//! and v1), and the assertions every test shares.

#![allow(dead_code, unused_imports)]

pub use std::sync::Arc;
pub use std::time::{Duration, Instant};

pub use cookie::Cookie;
pub use serde_json::{Map, Value, json};
pub use signout::app::App;
pub use signout::logout::{FlowState, Logout, LogoutSettings, STATE_COOKIE, page};
pub use signout::model::{EpochMs, OriginJti, Sub};
pub use signout::store::{Consistency, Lookup};
pub use signout::tokens::Expect;
pub use signout::{Revoked, Verdict};
pub use testkit::apigw::{Answer, Call, FORMATS, Format};
pub use testkit::{Fixture, Tokens};
pub use url::Url;

pub const TARGET: &str = "https://app.example.com/signed-out";
pub const TARGET_WITH_QUERY: &str = "https://app.example.com/bye?from=logout";
/// Allowed for the confidential client only.
pub const OTHER_CLIENT_TARGET: &str = "http://localhost:3000/";
pub const DOMAIN: &str = "https://auth.example.com";
pub const CALLBACK: &str = "https://api.example.com/logout/callback";
pub const COGNITO_HOP_QUERY: &str = "logout_uri=https%3A%2F%2Fapi.example.com%2Flogout%2Fcallback";
pub const STATE_KEY: &str = "test-only state key, at least 32 bytes long";
pub const OKTA_LOGOUT: &str = "https://example.okta.com/oauth2/v1/logout";
/// A `state` that breaks naive encoders.
pub const TRICKY_STATE: &str = "af0ifjsldkj/é ü&x=1+2%20<>\"'#frag";

pub const COOKIES: &str = r#"[
  {"name":"__Host-session","path":"/","secure":true,"http_only":true,"same_site":"Lax"},
  {"name":"__Secure-prefs","domain":"example.com","path":"/app","secure":true,"same_site":"Strict"},
  {"name":"refresh_token","domain":"api.example.com","path":"/logout","secure":true,"http_only":true,"same_site":"None"},
  {"name":"app_session","path":"/"}
]"#;

/// The Set-Cookie each configured cookie must be expired with, attribute by attribute.
pub const EXPIRED: [&str; 4] = [
    "__Host-session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "__Secure-prefs=; SameSite=Strict; Secure; Path=/app; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "refresh_token=; HttpOnly; SameSite=None; Secure; Path=/logout; Domain=api.example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "app_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
];
pub const STATE_CLEARED: &str = "__Host-signout_state=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";

// ---------------------------------------------------------------- harness

pub struct H {
    pub f: Fixture,
    pub app: Arc<App>,
    pub flow: Logout,
}

pub async fn harness(extra: &[(&str, &str)]) -> H {
    harness_on(Fixture::new().await, extra).await
}

/// The function as deployed for `f`, with `extra` settings replacing the defaults.
pub async fn harness_on(f: Fixture, extra: &[(&str, &str)]) -> H {
    let mut urls = Map::new();
    urls.insert(f.client_id.clone(), json!([TARGET, TARGET_WITH_QUERY]));
    urls.insert(f.secret_client_id.clone(), json!([OTHER_CLIENT_TARGET]));
    let idps = json!({"Okta": {"end_session_endpoint": OKTA_LOGOUT, "client_id": "0oa1example"}});
    let mut env: Vec<(&str, String)> = vec![
        ("COGNITO_DOMAIN", DOMAIN.into()),
        ("LOGOUT_URLS", Value::Object(urls).to_string()),
        ("LOGOUT_CALLBACK_URL", CALLBACK.into()),
        ("LOGOUT_STATE_KEY", STATE_KEY.into()),
        ("LOGOUT_COOKIES", COOKIES.into()),
        ("LOGOUT_REFRESH_COOKIE", "refresh_token".into()),
        ("IDP_LOGOUT_ENDPOINTS", idps.to_string()),
    ];
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k, (*v).to_owned()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = f.app(&pairs).await;
    let settings = LogoutSettings::from_lookup(Fixture::lookup(f.env_with(&pairs)))
        .expect("valid logout settings");
    H {
        f,
        app,
        flow: Logout::new(settings),
    }
}

/// A browser's request as API Gateway delivers it: v2 with the query encoded in
/// `rawQueryString`, v1 (stage `prod`) with it decoded in the multi-value map.
pub fn event(
    format: Format,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    cookies: &[String],
) -> Value {
    Call::browser(format, method, path)
        .query(query)
        .cookies(cookies)
        .event()
}

/// An HTTP API v2 event; `raw_query` as the browser sent it.
pub fn v2_raw(method: &str, path: &str, raw_query: &str, cookies: &[String], stage: &str) -> Value {
    Call::browser(Format::V2, method, path)
        .raw_query(raw_query)
        .cookies(cookies)
        .stage(stage)
        .event()
}

pub fn logout(format: Format, query: &[(&str, &str)], cookies: &[String]) -> Value {
    event(format, "GET", "/logout", query, cookies)
}

pub fn callback(format: Format, state_cookie: &str) -> Value {
    event(
        format,
        "GET",
        "/logout/callback",
        &[],
        &[format!("{STATE_COOKIE}={state_cookie}")],
    )
}

/// The state cookie a first hop sets.
pub trait StateCookie {
    /// Its value.
    fn state_cookie(&self) -> String;
}

impl StateCookie for Answer {
    fn state_cookie(&self) -> String {
        self.set_cookies()
            .into_iter()
            .map(|s| Cookie::parse(s).unwrap())
            .find(|c| c.name() == STATE_COOKIE)
            .expect("a state cookie")
            .value()
            .to_owned()
    }
}

pub async fn send(h: &H, event: &Value) -> Answer {
    let req =
        lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event");
    let a = Answer::from_response(logout::handle(&h.app, &h.flow, req).await);
    // Every response, whatever it is.
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
    a
}

pub fn assert_page(a: &Answer, status: u16, html: &str) {
    assert_page_for(a, status, html, "");
}

/// [`assert_page`], every failure naming `case`.
pub fn assert_page_for(a: &Answer, status: u16, html: &str, case: &str) {
    assert_eq!(a.status, status, "{case}");
    assert_eq!(a.text, html, "{case}");
    assert_html_page(a, case);
    assert_eq!(
        a.header("x-content-type-options"),
        Some("nosniff"),
        "{case}"
    );
}

/// An HTML page, no redirect, under a CSP that denies everything by default; the CSP.
pub fn assert_html_page<'a>(a: &'a Answer, case: &str) -> &'a str {
    assert_eq!(a.location(), None, "{case}");
    assert_eq!(
        a.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{case}"
    );
    let csp = a.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{case}: {csp}");
    csp
}

/// 400 with the fixed page, no redirect, and no cookie touched at all.
pub fn assert_refused(a: &Answer, case: &str) {
    assert_page_for(a, 400, page::INVALID, case);
    assert!(a.set_cookies().is_empty(), "{case}: {:?}", a.set_cookies());
}

/// 400 from the callback: the fixed page, only the state cookie cleared.
pub fn assert_callback_refused(a: &Answer, case: &str) {
    assert_page_for(a, 400, page::INVALID, case);
    assert_eq!(a.set_cookies(), [STATE_CLEARED], "{case}");
}

/// The first hop: to Cognito's /logout for `client`, returning to our callback.
pub fn assert_cognito_hop(a: &Answer, client: &str) {
    assert_cognito_hop_for(a, client, "");
}

/// [`assert_cognito_hop`], every failure naming `case`.
pub fn assert_cognito_hop_for(a: &Answer, client: &str, case: &str) {
    assert_eq!(a.status, 302, "{case}: {}", a.text);
    assert_eq!(
        a.location(),
        Some(format!("{DOMAIN}/logout?client_id={client}&{COGNITO_HOP_QUERY}").as_str()),
        "{case}"
    );
    let cookies = a.set_cookies();
    assert_eq!(&cookies[..4], EXPIRED, "{case}: every app cookie expired");
    assert_eq!(cookies.len(), 5, "{case}: and the state cookie");
}

/// What Cognito's /logout does: back to `logout_uri` (checked to be our callback).
pub fn cognito_returns_to(location: &str) -> String {
    let url = Url::parse(location).unwrap();
    let logout_uri = url
        .query_pairs()
        .find(|(k, _)| k == "logout_uri")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(logout_uri, CALLBACK);
    Url::parse(&logout_uri).unwrap().path().to_owned()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub async fn verdict(h: &H, token: &str) -> Verdict {
    testkit::verdict(&h.app, token).await
}

pub fn claim(token: &str, name: &str) -> Value {
    signout::tokens::peek_claims(token).unwrap()[name].clone()
}

/// Until when (epoch s) the store lists the session of `token`, if it does.
pub async fn listed_until(h: &H, token: &str) -> Option<u64> {
    let sub = Sub(claim(token, "sub").as_str().unwrap().to_owned());
    let jti = OriginJti(claim(token, "origin_jti").as_str().unwrap().to_owned());
    let state = h
        .app
        .store()
        .load(Lookup::session(&sub, &jti), Consistency::Strong)
        .await
        .unwrap();
    state.session_revoked_until
}

pub fn refresh_cookie(t: &Tokens) -> String {
    format!("refresh_token={}", t.refresh.as_deref().unwrap())
}

pub fn now_s() -> u64 {
    EpochMs::now().secs()
}
