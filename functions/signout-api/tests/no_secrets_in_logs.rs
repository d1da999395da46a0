//! Invariant 6, no secrets in logs: tokens, cookies, client secrets and
//! `Authorization` headers never appear in log output, ours or our
//! dependencies', whatever `RUST_LOG` says.
//!
//! This binary installs ONE global subscriber, built with the filter
//! production builds (`signout::app::log_filter`) from the most verbose
//! `RUST_LOG` an operator could set, writing JSON lines (with spans) into
//! memory. One test drives every route and event of the four functions
//! through their handlers, good and bad requests, both API Gateway payload
//! formats, with Cognito and DynamoDB failing too, then searches the captured
//! log for every secret it used: whole values, and every 16-character
//! fragment of every token.
//!
//! The AWS SDK redacts what its models mark sensitive unless
//! `LOG_SENSITIVE_BODIES=true`; this test sets it, so only `log_filter`'s caps
//! stand between a TRACE setting and, e.g., `GetSecretValue`'s answer. On a
//! failure (or with `NO_SECRETS_DUMP=1`) the captured log is written to the
//! temp directory for inspection.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Answer, Call, Format};
use lambda_http::Body;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Map, Value, json};
use signout::app::App;
use signout::cognito::Cognito;
use signout::logout::{Logout, LogoutSettings, STATE_COOKIE};
use signout::model::{ClientId, EpochMs};
use signout::store::Store;
use testkit::{Fault, FaultProxy, Fixture, Tokens};
use tracing_subscriber::fmt::format::FmtSpan;

/// The most verbose `RUST_LOG` an operator could set, with directives that try
/// to lift the caps `log_filter` puts on transport crates (by exact name, by
/// a more specific module, by a span).
const RUST_LOG: &str = "trace,aws_smithy_runtime=trace,aws_smithy_runtime::client::orchestrator=trace,\
aws_sigv4=trace,aws_sdk_cognitoidentityprovider=trace,hyper=trace,hyper_util::client=trace,h2=trace,\
[invoke]=trace,[{AccessToken}]=trace";

// ---------------------------------------------------------------- capture

struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The log of this test binary: one global subscriber, installed once.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(signout::app::log_filter(RUST_LOG))
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::FULL)
            .with_target(true)
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        buf
    })
}

// ---------------------------------------------------------------- secrets

/// Everything that must never reach the log.
#[derive(Default)]
struct Secrets {
    /// Searched whole and by every 16-character fragment.
    tokens: BTreeSet<String>,
    /// Searched whole (cookie values, secrets, header values).
    values: BTreeSet<String>,
}

/// Shorter values cannot be searched for without false alarms; every secret
/// this test chooses itself is longer.
const MIN_VALUE_LEN: usize = 8;
const FRAGMENT: usize = 16;

impl Secrets {
    fn token(&mut self, t: &str) {
        if t.len() >= FRAGMENT {
            self.tokens.insert(t.to_owned());
        }
    }

    fn tokens(&mut self, t: &Tokens) {
        self.token(&t.access);
        self.token(&t.id);
        if let Some(r) = &t.refresh {
            self.token(r);
        }
    }

    fn value(&mut self, v: &str) {
        let v = v.trim();
        if v.len() >= MIN_VALUE_LEN {
            self.values.insert(v.to_owned());
        }
    }

    /// A `Cookie` header value: the whole value and each cookie's value.
    fn cookie_header(&mut self, header: &str) {
        self.value(header);
        for pair in header.split(';') {
            if let Some((_, v)) = pair.split_once('=') {
                self.value(v);
            }
        }
    }

    /// Every credential an event carries: `Authorization` (and Basic
    /// credentials decoded), cookies, session tokens, authorizer tokens.
    fn event(&mut self, e: &Value) {
        match e {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = k.to_ascii_lowercase();
                    let strings: Vec<&str> = match v {
                        Value::String(s) => vec![s.as_str()],
                        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    match key.as_str() {
                        "authorization" | "authorizationtoken" | "identitysource" => {
                            for s in strings {
                                self.authorization(s);
                            }
                        }
                        "cookie" | "cookies" => {
                            for s in strings {
                                self.cookie_header(s);
                            }
                        }
                        "x-amz-security-token" => {
                            for s in strings {
                                self.value(s);
                            }
                        }
                        _ => {}
                    }
                    self.event(v);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.event(v)),
            _ => {}
        }
    }

    fn authorization(&mut self, value: &str) {
        self.value(value);
        for part in value.split(',') {
            self.value(part);
        }
        if let Some((scheme, rest)) = value.trim().split_once(' ') {
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("basic") {
                self.value(rest);
                if let Ok(decoded) = STANDARD.decode(rest)
                    && let Ok(text) = String::from_utf8(decoded)
                {
                    self.value(&text);
                    if let Some((_, secret)) = text.split_once(':') {
                        self.value(secret);
                    }
                }
            } else if scheme.eq_ignore_ascii_case("bearer") {
                self.token(rest);
            }
        } else {
            self.token(value);
        }
    }

    /// What of the secrets the log contains, described without the secret.
    fn found_in(&self, log: &str) -> Vec<String> {
        let mut found = Vec::new();
        for v in &self.values {
            if log.contains(v.as_str()) {
                found.push(format!(
                    "a value starting {:?} ({} chars)",
                    &v[..4],
                    v.len()
                ));
            }
        }
        let mut fragments: HashMap<&[u8], usize> = HashMap::new();
        for (i, t) in self.tokens.iter().enumerate() {
            for w in t.as_bytes().windows(FRAGMENT) {
                fragments.entry(w).or_insert(i);
            }
        }
        let mut hit = HashSet::new();
        for w in log.as_bytes().windows(FRAGMENT) {
            if let Some(i) = fragments.get(w)
                && hit.insert(*i)
            {
                found.push(format!(
                    "a 16-character fragment of token #{i} ({:?}...)",
                    String::from_utf8_lossy(&w[..4])
                ));
            }
        }
        found
    }
}

// ---------------------------------------------------------------- context

const TARGET: &str = "https://app.example.com/signed-out";
const DOMAIN: &str = "https://auth.example.com";
const CALLBACK: &str = "https://api.example.com/logout/callback";
const STATE_KEY: &str = "no-secrets-test state key, 32 bytes or more, never logged";
const COOKIES: &str = r#"[
  {"name":"__Host-session","path":"/","secure":true,"http_only":true,"same_site":"Lax"},
  {"name":"refresh_token","domain":"api.example.com","path":"/logout","secure":true,"http_only":true,"same_site":"None"},
  {"name":"app_session","path":"/"}
]"#;
const OKTA_LOGOUT: &str = "https://example.okta.com/oauth2/v1/logout";
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/session";
const ROUTE_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/GET/session";

struct Ctx {
    f: Fixture,
    /// Every setting of every function (a superset works for each).
    env: Vec<(String, String)>,
    app: Arc<App>,
    /// The same functions with Cognito and DynamoDB behind fault proxies.
    faulty: Arc<App>,
    faulty_open: Arc<App>,
    idp_proxy: FaultProxy,
    ddb_proxy: FaultProxy,
    secrets: Mutex<Secrets>,
    sent: Mutex<HashMap<&'static str, usize>>,
}

impl Ctx {
    async fn new() -> Ctx {
        let f = Fixture::new().await;
        let mut urls = Map::new();
        urls.insert(f.client_id.clone(), json!([TARGET]));
        urls.insert(f.secret_client_id.clone(), json!([TARGET]));
        let idps =
            json!({"Okta": {"end_session_endpoint": OKTA_LOGOUT, "client_id": "0oa1example"}});
        let extra: Vec<(&str, String)> = vec![
            ("COGNITO_DOMAIN", DOMAIN.into()),
            ("LOGOUT_URLS", Value::Object(urls).to_string()),
            ("LOGOUT_CALLBACK_URL", CALLBACK.into()),
            ("LOGOUT_STATE_KEY", STATE_KEY.into()),
            ("LOGOUT_COOKIES", COOKIES.into()),
            ("LOGOUT_REFRESH_COOKIE", "refresh_token".into()),
            ("IDP_LOGOUT_ENDPOINTS", idps.to_string()),
            ("SDK_OPERATION_TIMEOUT_MS", "1000".into()),
        ];
        let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let env = f.env_with(&pairs);
        let app = f.app(&pairs).await;
        let idp_proxy = FaultProxy::start(&f.endpoint);
        let ddb_proxy = FaultProxy::start(&f.endpoint);
        let faulty = faulty_app(&f, &env, &[], &ddb_proxy, &idp_proxy);
        let faulty_open = faulty_app(
            &f,
            &env,
            &[("AUTHORIZER_FAIL_OPEN", "true")],
            &ddb_proxy,
            &idp_proxy,
        );
        let mut secrets = Secrets::default();
        secrets.value(&f.secret_client_secret);
        secrets.value(STATE_KEY);
        Ctx {
            f,
            env,
            app,
            faulty,
            faulty_open,
            idp_proxy,
            ddb_proxy,
            secrets: Mutex::new(secrets),
            sent: Mutex::new(HashMap::new()),
        }
    }

    fn secrets(&self) -> std::sync::MutexGuard<'_, Secrets> {
        self.secrets.lock().unwrap()
    }

    fn count(&self, function: &'static str) {
        *self.sent.lock().unwrap().entry(function).or_default() += 1;
    }

    fn lookup(&self, extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut env = self.env.clone();
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        Fixture::lookup(env)
    }

    /// A new user of the pool (so one flow's sign-out does not end another's).
    async fn user(&self) -> String {
        let name = testkit::unique("carol");
        self.f.create_user(&name).await;
        name
    }

    async fn sign_in(&self, user: &str) -> Tokens {
        let t = self.f.sign_in(user).await;
        self.secrets().tokens(&t);
        t
    }

    async fn sign_in_confidential(&self, user: &str) -> Tokens {
        let t = self.f.sign_in_with(user, &self.f.secret_client_id).await;
        self.secrets().tokens(&t);
        t
    }

    fn remint(&self, token: &str, changes: Value) -> String {
        let t = self.f.remint(token, changes);
        self.secrets().token(&t);
        t
    }

    fn basic(&self, secret: &str) -> String {
        let v = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{secret}", self.f.secret_client_id))
        );
        self.secrets().authorization(&v);
        v
    }

    /// The sign-out API, through its handler.
    async fn api(&self, app: &App, call: Call<'_>) -> Answer {
        self.api_event(app, &call.event()).await
    }

    async fn api_event(&self, app: &App, event: &Value) -> Answer {
        self.secrets().event(event);
        self.count("signout-api");
        common::send_event(app, event).await
    }

    /// The authorizer, through its handler.
    async fn authorize(&self, a: &authorizer::Authorizer, event: Value) -> Result<Value, String> {
        self.secrets().event(&event);
        self.count("authorizer");
        a.handle(LambdaEvent::new(event, Context::default()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The trigger, through its handler.
    async fn trigger(&self, app: &App, event: Value) -> Result<Value, String> {
        self.count("pre-token");
        pre_token::handler(&app.trigger(), LambdaEvent::new(event, Context::default()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The logout function, through its handler: (status, Location, Set-Cookies).
    async fn logout(&self, app: &App, flow: &Logout, event: &Value) -> LogoutAnswer {
        self.secrets().event(event);
        self.count("logout");
        let req = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
        let resp = logout::handle(app, flow, req).await;
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let mut state = None;
        for c in &set_cookies {
            let value = c.split(';').next().unwrap_or_default();
            if let Some(v) = value.strip_prefix(&format!("{STATE_COOKIE}="))
                && !v.is_empty()
            {
                self.secrets().value(v);
                state = Some(v.to_owned());
            }
        }
        let body = match resp.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        LogoutAnswer {
            status: resp.status().as_u16(),
            state,
            body,
        }
    }

    fn flow(&self) -> Logout {
        Logout::new(LogoutSettings::from_lookup(self.lookup(&[])).expect("valid logout settings"))
    }
}

struct LogoutAnswer {
    status: u16,
    state: Option<String>,
    body: String,
}

/// An App whose DynamoDB and Cognito calls go through fault proxies.
fn faulty_app(
    f: &Fixture,
    env: &[(String, String)],
    extra: &[(&str, &str)],
    ddb: &FaultProxy,
    idp: &FaultProxy,
) -> Arc<App> {
    let mut env = env.to_vec();
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    let config = signout::Config::from_lookup(Fixture::lookup(env)).unwrap();
    let timeouts = signout::aws::timeouts(config.sdk_operation_timeout);
    let via = |p: &FaultProxy| {
        f.sdk
            .to_builder()
            .endpoint_url(&p.endpoint)
            .timeout_config(timeouts.clone())
            // Production's two attempts, without its backoff (keeps the test quick).
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .build()
    };
    let store = Store::from_config(aws_sdk_dynamodb::Client::new(&via(ddb)), &config);
    let secrets = HashMap::from([(
        ClientId(f.secret_client_id.clone()),
        f.secret_client_secret.clone(),
    )]);
    let cognito = Cognito::new(
        aws_sdk_cognitoidentityprovider::Client::new(&via(idp)),
        config.user_pool_id.clone(),
        secrets,
    );
    Arc::new(App::assemble(config, store, cognito))
}

/// Faults each service answers with in the failure rounds.
fn faults(service: &str) -> Vec<Fault> {
    if service == "cognito" {
        vec![
            Fault::Error(500, "InternalErrorException"),
            Fault::Error(400, "TooManyRequestsException"),
            Fault::Error(400, "NotAuthorizedException"),
            Fault::Reset,
        ]
    } else {
        vec![
            Fault::Error(400, "ProvisionedThroughputExceededException"),
            Fault::Error(500, "InternalServerError"),
            Fault::Truncate,
        ]
    }
}

/// A token with `header` in place of its own, signature kept: refused before
/// any key is used (alg confusion, `alg: none`, unknown `kid`s).
fn with_header(token: &str, header: Value) -> String {
    let mut parts = token.splitn(3, '.');
    let (_, payload, sig) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
    format!(
        "{}.{payload}.{sig}",
        URL_SAFE_NO_PAD.encode(header.to_string())
    )
}

/// Sleeps into the next wall-clock second.
async fn next_second() {
    let now = EpochMs::now().0;
    tokio::time::sleep(Duration::from_millis(1_000 - now % 1_000 + 5)).await;
}

/// The signature's last characters changed.
fn tampered(token: &str) -> String {
    let mut t = token[..token.len() - 4].to_owned();
    t.push_str(if token.ends_with("AAAA") {
        "BBBB"
    } else {
        "AAAA"
    });
    t
}

// ---------------------------------------------------------------- the test

#[test]
fn no_token_cookie_secret_or_authorization_header_reaches_the_log_even_at_trace() {
    // GIVEN the production filter at its most verbose, capturing into memory, and the
    // AWS SDK told to print the bodies it redacts by default (what its own log line
    // suggests to whoever debugs): the filter alone must keep them out.
    // SAFETY: this is the only test of this binary and no thread of ours runs yet.
    unsafe { std::env::set_var("LOG_SENSITIVE_BODIES", "true") };
    let log = captured();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(drive_everything_then_search(log));
}

async fn drive_everything_then_search(log: &Arc<Mutex<Vec<u8>>>) {
    let started = std::time::Instant::now();
    let ctx = Ctx::new().await;

    // WHEN the functions cold-start with their secrets in Secrets Manager
    cold_start(&ctx).await;
    // AND every route and event of the four functions runs, succeeding and failing
    signout_api(&ctx).await;
    authorizer_shapes(&ctx).await;
    pre_token_events(&ctx).await;
    logout_flows(&ctx).await;
    failures(&ctx).await;
    // (last: a pool cutoff ends every session of this fixture)
    let r = ctx
        .api(
            &ctx.app,
            Call::new(Format::V2, "POST", "/admin/signout-all").iam(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    tracing::trace!(target: "no_secrets_in_logs", "capture check: trace events reach the log");

    // THEN the log really captured the functions' own lines at every level
    let text = String::from_utf8(log.lock().unwrap().clone()).expect("UTF-8 log");
    let lines = text.lines().count();
    let sent = ctx.sent.lock().unwrap().clone();
    let secrets = ctx.secrets.lock().unwrap();
    println!(
        "captured {lines} log lines ({} bytes) from {sent:?} handler calls in {:?}; searching for {} tokens (every {FRAGMENT}-character fragment) and {} other secret values",
        text.len(),
        started.elapsed(),
        secrets.tokens.len(),
        secrets.values.len()
    );
    assert!(lines > 0, "the log is empty: nothing was captured");
    for needle in [
        "capture check: trace events reach the log",
        "\"message\":\"sign-out\"",
        "denied: revoked",
        "denied: token refused",
        "revocation store unreadable: denying (fail closed)",
        "allowed without a revocation check (fail open)",
        "step failed",
        "token stamped",
        "user blocked",
        "\"message\":\"logout\"",
        "logout refused",
        "logout callback refused",
        "logout step failed",
        "revoke: token not valid",
        "admin: pool cutoff",
    ] {
        assert!(text.contains(needle), "the log lacks {needle:?}");
    }
    assert!(secrets.tokens.len() >= 40, "{}", secrets.tokens.len());

    // AND it holds no token, no fragment of one, no cookie, secret or Authorization value
    let found = secrets.found_in(&text);
    if !found.is_empty() || std::env::var_os("NO_SECRETS_DUMP").is_some() {
        // For whoever fixes it: the log (emulator tokens only) next to the test's temp files.
        let dump = std::env::temp_dir().join("no_secrets_in_logs.log");
        std::fs::write(&dump, &text).unwrap();
        println!("the captured log is in {}", dump.display());
    }
    assert!(
        found.is_empty(),
        "{} secret(s) in the log:\n{}",
        found.len(),
        found.join("\n")
    );
}

// ---------------------------------------------------------------- cold start

/// What `App::from_env` and the logout function read at cold start: the
/// client secrets and the state key, from Secrets Manager (`GetSecretValue`
/// answers the secret in its body).
async fn cold_start(ctx: &Ctx) {
    let f = &ctx.f;
    let sm = aws_sdk_secretsmanager::Client::new(&f.sdk);
    let secrets = format!(
        r#"{{"{}":"{}"}}"#,
        f.secret_client_id, f.secret_client_secret
    );
    ctx.secrets().value(&secrets);
    for (name, value) in [
        ("APP_CLIENT_SECRETS", secrets.as_str()),
        ("LOGOUT_STATE_KEY", STATE_KEY),
    ] {
        let arn = sm
            .create_secret()
            .name(testkit::unique("cold-start-"))
            .secret_string(value)
            .send()
            .await
            .expect("create secret")
            .arn
            .unwrap();
        let arn_var = format!("{name}_ARN");
        let got =
            signout::secrets::resolve_with(&f.sdk, name, |k| (k == arn_var).then(|| arn.clone()))
                .await
                .expect("the secret resolves");
        assert_eq!(got.as_deref(), Some(value));
    }
    let parsed = Cognito::parse_secrets(Some(&secrets)).unwrap();
    assert_eq!(parsed.len(), 1);
}

// ---------------------------------------------------------------- sign-out API

async fn signout_api(ctx: &Ctx) {
    let f = &ctx.f;
    let app = &*ctx.app;
    for format in [Format::V2, Format::V1] {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let c = ctx.sign_in_confidential(&user).await;
        let good = ctx.basic(&f.secret_client_secret);
        let wrong = ctx.basic("not-the-secret-at-all");

        // Good requests
        let r = ctx
            .api(app, Call::new(format, "GET", "/session").bearer(&t.access))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        ctx.api(app, Call::new(format, "GET", "/session").bearer(&t.id))
            .await;
        for body in [&t.access, &t.id] {
            let r = ctx
                .api(
                    app,
                    Call::new(format, "POST", "/introspect")
                        .iam()
                        .form(&format!("token={body}")),
                )
                .await;
            assert_eq!(r.json["active"], true, "{}", r.text);
        }
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/introspect")
                    .header("authorization", &good)
                    .form(&format!("token={}", c.access)),
            )
            .await;
        assert_eq!(r.json["active"], true, "{}", r.text);
        // RevokeToken at Cognito: the body carries the refresh token (and our client secret)
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/revoke").form(&format!(
                    "token={}&token_type_hint=refresh_token&client_id={}",
                    t.refresh.as_deref().unwrap(),
                    f.client_id
                )),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/revoke")
                    .header("authorization", &good)
                    .form(&format!("token={}", c.refresh.as_deref().unwrap())),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let c2 = ctx.sign_in_confidential(&user).await;
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/revoke").form(&format!(
                    "token={}&client_id={}",
                    c2.refresh.as_deref().unwrap(),
                    f.secret_client_id
                )),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Access and ID tokens: their sessions recorded
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/revoke")
                    .header("authorization", &good)
                    .form(&format!("token={}&token_type_hint=access_token", c.access)),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/revoke").form(&format!(
                    "token={}&token_type_hint=id_token&client_id={}",
                    t.id, f.client_id
                )),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Session sign-out with the refresh token in the JSON body
        let s = ctx.sign_in(&user).await;
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/signout")
                    .bearer(&s.access)
                    .json(json!({"scope": "session", "refresh_token": s.refresh})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Global sign-out: GlobalSignOut's body carries the access token
        let g = ctx.sign_in(&user).await;
        let r = ctx
            .api(app, Call::new(format, "POST", "/signout").bearer(&g.access))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["result"], "complete", "{}", r.text);
        let r = ctx
            .api(app, Call::new(format, "GET", "/session").bearer(&g.access))
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/introspect")
                    .header("authorization", &good)
                    .form(&format!("token={}", g.access)),
            )
            .await;
        assert_eq!(r.json, json!({"active": false}));

        // Bad requests, each carrying a credential
        let huge = format!("{}{}", g.access, "x".repeat(20_000));
        let bad: Vec<Call> = vec![
            Call::new(format, "GET", "/signout").bearer(&g.access),
            Call::new(format, "POST", "/nowhere").bearer(&g.access),
            Call::new(format, "POST", "/signout").header("authorization", &good),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .bearer(&g.id),
            Call::new(format, "POST", "/signout").bearer(&g.id),
            Call::new(format, "POST", "/signout").bearer("not-a-token-at-all"),
            Call::new(format, "POST", "/signout").header("authorization", &g.access),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .header("content-type", "text/plain")
                .raw_body(&format!(
                    "{{\"refresh_token\":\"{}\"}}",
                    g.refresh.as_deref().unwrap()
                )),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .json(json!({"refresh_token": g.refresh})),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .json(json!({"scope": "session", "refresh_token": 5, "token": g.id})),
            Call::new(format, "POST", "/signout")
                .bearer(&g.access)
                .json(json!({"scope": huge})),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}&client_secret={}",
                g.refresh.as_deref().unwrap(),
                f.secret_client_id,
                f.secret_client_secret
            )),
            Call::new(format, "POST", "/revoke")
                .header("authorization", &wrong)
                .form(&format!("token={}", g.refresh.as_deref().unwrap())),
            Call::new(format, "POST", "/revoke")
                .header("authorization", &good)
                .form(&format!("token={}&client_id={}", g.access, f.client_id)),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}",
                g.access, f.secret_client_id
            )),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&token_type_hint=saml&client_id={}",
                g.access, f.client_id
            )),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&token={}&client_id={}",
                g.access, g.id, f.client_id
            )),
            Call::new(format, "POST", "/revoke")
                .form(&format!("token={}&client_id=nosuchclient", g.access)),
            Call::new(format, "POST", "/revoke").form(&format!(
                "token={}&client_id={}",
                tampered(&g.access),
                f.client_id
            )),
            Call::new(format, "POST", "/revoke")
                .json(json!({"token": g.access, "client_id": f.client_id})),
            Call::new(format, "POST", "/introspect").form(&format!("token={}", g.access)),
            Call::new(format, "POST", "/introspect")
                .header("authorization", &wrong)
                .form(&format!("token={}", g.access)),
            Call::new(format, "POST", "/introspect")
                .iam()
                .form(&format!("token={}", tampered(&g.id))),
            Call::new(format, "POST", "/admin/signout-all").bearer(&g.access),
            Call::new(format, "POST", "/admin/signout-all")
                .iam()
                .json(json!({"token": g.access})),
            Call::new(format, "PATCH", "/session").bearer(&g.access),
        ];
        for (i, call) in bad.into_iter().enumerate() {
            // (RFC 7009: an invalid token to /revoke is still 200)
            let r = ctx.api(app, call).await;
            assert!(
                (200..500).contains(&r.status),
                "bad request #{i}: {}",
                r.text
            );
        }

        // Admin and incident-response routes
        let victim = ctx.user().await;
        let v = ctx.sign_in(&victim).await;
        let path = format!("/admin/users/{victim}/signout");
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", &path)
                    .iam()
                    .json(json!({"block_for_seconds": 600})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = ctx
            .api(app, Call::new(format, "POST", &path).bearer(&v.access))
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
        let alias = format!("/admin/users/{}%40example.com/signout", victim);
        let r = ctx.api(app, Call::new(format, "POST", &alias).iam()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(format, "POST", "/admin/users/nobody-here/signout").iam(),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.text);
        let r = ctx
            .api(
                app,
                Call::new(
                    format,
                    "POST",
                    &format!("/admin/clients/{}/signout", "unknownclient"),
                )
                .iam(),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.text);
        // The victim's blocked sub, for the trigger
        VICTIMS.lock().unwrap().push(testkit::sub_of(&v.access));
    }

    // Stage prefix, and an incident cutoff for the confidential client
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    let r = ctx
        .api(
            app,
            Call::new(Format::V2, "GET", "/prod/session")
                .stage("prod")
                .bearer(&t.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ctx
        .api(
            app,
            Call::new(
                Format::V1,
                "POST",
                &format!("/admin/clients/{}/signout", f.secret_client_id),
            )
            .iam(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Every sample event, filled with live tokens
    for (name, text) in testkit::sample_events("signout-api") {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let filled = f
            .fill(&text, Some(&t), &testkit::sub_of(&t.access))
            .replace(&f.username, &user);
        let event: Value = serde_json::from_str(&filled).unwrap();
        let r = ctx.api_event(app, &event).await;
        assert!(r.status < 500, "{name}: {}", r.text);
    }
}

/// Subs of users the admin route blocked (the trigger must refuse them).
static VICTIMS: Mutex<Vec<String>> = Mutex::new(Vec::new());

// ---------------------------------------------------------------- authorizer

/// An authorizer answer that lets nothing through (401, 403 or AppSync's refusal).
fn denied(out: &Result<Value, String>) -> bool {
    match out {
        Err(_) => true,
        Ok(v) => {
            v["isAuthorized"] == false || v["policyDocument"]["Statement"][0]["Effect"] == "Deny"
        }
    }
}

fn rest_token(token: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": METHOD_ARN})
}

fn rest_request(token: &str) -> Value {
    json!({
        "type": "REQUEST", "methodArn": METHOD_ARN, "resource": "/session", "path": "/session",
        "httpMethod": "GET", "headers": {"Authorization": format!("Bearer {token}"), "Cookie": format!("app_session=rest-request-cookie-{}", &token[token.len() - 12..])},
        "multiValueHeaders": {"Authorization": [format!("Bearer {token}")]},
        "requestContext": {"stage": "prod"}
    })
}

fn http_v2(token: &str) -> Value {
    json!({
        "version": "2.0", "type": "REQUEST", "routeArn": ROUTE_ARN,
        "identitySource": [format!("Bearer {token}")], "routeKey": "GET /session",
        "rawPath": "/session", "headers": {"authorization": format!("Bearer {token}")},
        "cookies": [format!("app_session=http-v2-cookie-{}", &token[token.len() - 12..])],
        "requestContext": {"http": {"method": "GET", "path": "/session"}}
    })
}

fn appsync(token: &str) -> Value {
    json!({
        "authorizationToken": token,
        "requestContext": {"apiId": "aaaa", "accountId": "123456789012", "requestId": "r", "queryString": "{}", "operationName": "Q", "variables": {}}
    })
}

async fn authorizer_shapes(ctx: &Ctx) {
    let f = &ctx.f;
    let build = |app: &Arc<App>, extra: &[(&str, &str)]| {
        authorizer::Authorizer::from_lookup(app.clone(), ctx.lookup(extra)).unwrap()
    };
    let simple = build(&ctx.app, &[]);
    let iam = build(&ctx.app, &[("AUTHORIZER_RESPONSE_MODE", "iam")]);
    let any = build(&ctx.app, &[("AUTHORIZER_TOKEN_USE", "any")]);
    let groups = build(
        &ctx.app,
        &[
            ("REQUIRED_GROUPS", "admins"),
            ("AUTHORIZER_RESPONSE_MODE", "iam"),
        ],
    );
    let shapes: [fn(&str) -> Value; 4] = [rest_token, rest_request, http_v2, appsync];

    // (the sign-out API's samples cut every earlier token off: unstamped tokens
    // of the cutoff's own second count as earlier)
    next_second().await;
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    let now = EpochMs::now().secs();
    let expired = ctx.remint(&t.access, json!({"iat": now - 7200, "exp": now - 3600}));
    // Stamped as the trigger would: the cutoff current at mint time
    let current = ctx
        .app
        .store()
        .load(
            signout::store::Lookup {
                sub: Some(&signout::Sub(testkit::sub_of(&t.access))),
                session: None,
                client: Some(&ClientId(f.client_id.clone())),
            },
            signout::store::Consistency::Strong,
        )
        .await
        .unwrap()
        .cutoff()
        .unwrap_or_default();
    let stamped = ctx.remint(
        &t.access,
        json!({"signout_epoch": current.0, "jti": "stamped-jti"}),
    );
    let header = |h: Value| {
        let s = with_header(&t.access, h);
        ctx.secrets().token(&s);
        s
    };
    let forged = [
        header(json!({"alg": "HS256", "kid": "dummy", "typ": "JWT"})),
        header(json!({"alg": "none", "typ": "JWT"})),
        header(json!({"alg": "RS256", "kid": "attacker-kid-1"})),
        header(json!({"alg": "RS256", "kid": "attacker-kid-2"})),
        header(json!({"alg": "RS256"})),
        tampered(&t.access),
        expired.clone(),
        format!("{}.{}", t.access, t.id),
    ];
    for forged in &forged {
        ctx.secrets().token(forged);
    }

    // Allowed, in every shape and mode
    for shape in shapes {
        for a in [&simple, &iam, &any] {
            for token in [&t.access, &stamped] {
                let out = ctx.authorize(a, shape(token)).await;
                assert!(!denied(&out), "{out:?}");
            }
        }
        // 403: a valid token without the required group
        let out = ctx.authorize(&groups, shape(&t.access)).await;
        assert!(denied(&out), "{out:?}");
        // Denied: an ID token where access is required, forged and broken tokens
        ctx.authorize(&simple, shape(&t.id)).await.ok();
        for token in &forged {
            let out = ctx.authorize(&iam, shape(token)).await;
            assert!(denied(&out), "{out:?}");
        }
    }
    // No token, a doubled header, an unknown shape
    ctx.authorize(
        &simple,
        json!({"type": "TOKEN", "authorizationToken": "", "methodArn": METHOD_ARN}),
    )
    .await
    .ok();
    let mut doubled = rest_request(&t.access);
    doubled["multiValueHeaders"]["Authorization"] =
        json!([format!("Bearer {}", t.access), format!("Bearer {}", t.id)]);
    assert!(denied(&ctx.authorize(&simple, doubled).await));
    assert!(
        ctx.authorize(
            &simple,
            json!({"authorization": format!("Bearer {}", t.access)})
        )
        .await
        .is_err()
    );

    // Revoked: after a global sign-out through the API
    let r = ctx
        .api(
            &ctx.app,
            Call::new(Format::V2, "POST", "/signout").bearer(&t.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for shape in shapes {
        let out = ctx.authorize(&iam, shape(&t.access)).await;
        assert!(denied(&out), "{out:?}");
        ctx.authorize(&simple, shape(&stamped)).await.ok();
    }

    // Every sample event
    let fresh_user = ctx.user().await;
    for (name, text) in testkit::sample_events("authorizer") {
        let t = ctx.sign_in(&fresh_user).await;
        let event: Value =
            serde_json::from_str(&f.fill(&text, Some(&t), &testkit::sub_of(&t.access))).unwrap();
        let out = ctx.authorize(&simple, event).await;
        if name.contains("garbage") || name.contains("no-token") {
            assert!(denied(&out), "{name}: {out:?}");
        }
    }
}

// ---------------------------------------------------------------- trigger

async fn pre_token_events(ctx: &Ctx) {
    let f = &ctx.f;
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    let sub = testkit::sub_of(&t.access);
    let samples = testkit::sample_events("pre-token");
    assert!(samples.len() >= 21);
    for (name, text) in &samples {
        let event: Value = serde_json::from_str(&f.fill(text, Some(&t), &sub)).unwrap();
        let out = ctx.trigger(&ctx.app, event).await;
        assert!(out.is_ok(), "{name}: {out:?}");
    }
    // A blocked user is refused
    let victims = VICTIMS.lock().unwrap().clone();
    assert!(!victims.is_empty());
    for victim in victims {
        let text = sample(&samples, "v2-authentication.json");
        let event: Value = serde_json::from_str(&f.fill(&text, None, &victim)).unwrap();
        let out = ctx.trigger(&ctx.app, event).await;
        assert!(out.is_err_and(|e| e.contains("blocked")));
    }
}

fn sample(samples: &[(String, String)], name: &str) -> String {
    samples
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| panic!("events/pre-token/{name}"))
}

// ---------------------------------------------------------------- logout

/// A logout request as API Gateway delivers it.
fn logout_event(format: Format, path: &str, query: &[(&str, &str)], cookies: &[String]) -> Value {
    match format {
        Format::V2 => {
            let raw = url_encode(query);
            let mut e = json!({
                "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": raw,
                "headers": {"host": "api.example.com", "x-forwarded-proto": "https"},
                "requestContext": {
                    "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                    "domainPrefix": "api", "requestId": "r", "routeKey": "$default", "stage": "$default",
                    "time": "21/Nov/2026:16:00:00 +0000", "timeEpoch": 1795276800000u64,
                    "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"}
                },
                "isBase64Encoded": false
            });
            if !cookies.is_empty() {
                e["cookies"] = json!(cookies);
            }
            e
        }
        Format::V1 => {
            let mut single = Map::new();
            let mut multi = Map::new();
            for (k, v) in query {
                single.insert((*k).to_owned(), json!(v));
                multi
                    .entry((*k).to_owned())
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                    .unwrap()
                    .push(json!(v));
            }
            let mut headers = Map::new();
            headers.insert("Host".into(), json!("api.example.com"));
            if !cookies.is_empty() {
                headers.insert("Cookie".into(), json!(cookies.join("; ")));
            }
            let multi_headers: Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            let or_null = |m: Map<String, Value>| {
                if m.is_empty() {
                    Value::Null
                } else {
                    Value::Object(m)
                }
            };
            json!({
                "resource": path, "path": path, "httpMethod": "GET",
                "headers": headers, "multiValueHeaders": multi_headers,
                "queryStringParameters": or_null(single),
                "multiValueQueryStringParameters": or_null(multi),
                "pathParameters": null, "stageVariables": null,
                "requestContext": {
                    "accountId": "123456789012", "resourceId": "res", "stage": "prod", "requestId": "r",
                    "identity": {"sourceIp": "203.0.113.9"}, "resourcePath": path, "httpMethod": "GET",
                    "apiId": "api", "path": format!("/prod{path}")
                },
                "body": null, "isBase64Encoded": false
            })
        }
    }
}

fn url_encode(query: &[(&str, &str)]) -> String {
    query
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn logout_flows(ctx: &Ctx) {
    let f = &ctx.f;
    let flow = ctx.flow();
    let app = &*ctx.app;
    for format in [Format::V2, Format::V1] {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let cookies = vec![
            format!("refresh_token={}", t.refresh.as_deref().unwrap()),
            format!("app_session=app-session-value-{}", testkit::unique("s")),
            format!("__Host-session=host-session-value-{}", testkit::unique("h")),
        ];
        // OIDC RP-initiated, with a hint, state and every cookie
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(
                    format,
                    "/logout",
                    &[
                        ("client_id", f.client_id.as_str()),
                        ("post_logout_redirect_uri", TARGET),
                        ("id_token_hint", t.id.as_str()),
                        ("state", "opaque-app-state"),
                    ],
                    &cookies,
                ),
            )
            .await;
        assert_eq!(a.status, 302, "{}", a.body);
        let state = a.state.expect("a state cookie");
        let back = vec![format!("{STATE_COOKIE}={state}")];
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(format, "/logout/callback", &[], &back),
            )
            .await;
        assert_eq!(a.status, 302, "{}", a.body);
        // Replayed, tampered and doubled state cookies
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(format, "/logout/callback", &[], &back),
            )
            .await;
        assert_eq!(a.status, 400);
        let forged_state = format!("{STATE_COOKIE}={}x", &state[..state.len() - 1]);
        ctx.secrets().value(&forged_state);
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(
                    format,
                    "/logout/callback",
                    &[],
                    std::slice::from_ref(&forged_state),
                ),
            )
            .await;
        assert_eq!(a.status, 400);
        ctx.logout(
            app,
            &flow,
            &logout_event(
                format,
                "/logout/callback",
                &[],
                &[back[0].clone(), forged_state.clone()],
            ),
        )
        .await;
        ctx.logout(
            app,
            &flow,
            &logout_event(format, "/logout/callback", &[], &[]),
        )
        .await;

        // Cognito style, with cookies; a federated user's hint (through the IdP's logout)
        let t2 = ctx.sign_in(&user).await;
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(
                    format,
                    "/logout",
                    &[("client_id", f.client_id.as_str()), ("logout_uri", TARGET)],
                    &[format!("refresh_token={}", t2.refresh.as_deref().unwrap())],
                ),
            )
            .await;
        assert_eq!(a.status, 302, "{}", a.body);
        let t3 = ctx.sign_in(&user).await;
        let identities = json!([{"userId": "00u1example", "providerName": "Okta", "providerType": "OIDC", "issuer": null, "primary": "true", "dateCreated": "1700000000000"}]);
        let federated = ctx.remint(&t3.id, json!({"identities": identities}));
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(
                    format,
                    "/logout",
                    &[
                        ("id_token_hint", federated.as_str()),
                        ("logout_uri", TARGET),
                    ],
                    &[],
                ),
            )
            .await;
        assert_eq!(a.status, 302, "{}", a.body);
        let state = a.state.expect("a state cookie");
        ctx.logout(
            app,
            &flow,
            &logout_event(
                format,
                "/logout/callback",
                &[],
                &[format!("{STATE_COOKIE}={state}")],
            ),
        )
        .await;

        // Refused: hostile targets, forged hints, another client's hint, repeats
        let t4 = ctx.sign_in(&user).await;
        let forged = tampered(&t4.id);
        ctx.secrets().token(&forged);
        let hostile: Vec<Vec<(&str, &str)>> = vec![
            vec![
                ("client_id", f.client_id.as_str()),
                ("logout_uri", "https://evil.example.net/"),
                ("id_token_hint", t4.id.as_str()),
            ],
            vec![("id_token_hint", forged.as_str()), ("logout_uri", TARGET)],
            vec![
                ("client_id", f.secret_client_id.as_str()),
                ("id_token_hint", t4.id.as_str()),
            ],
            vec![("id_token_hint", t4.access.as_str())],
            vec![
                ("id_token_hint", t4.id.as_str()),
                ("id_token_hint", t4.id.as_str()),
            ],
            vec![("logout_uri", TARGET)],
        ];
        for q in hostile {
            let a = ctx
                .logout(
                    app,
                    &flow,
                    &logout_event(format, "/logout", &q, &cookies[1..]),
                )
                .await;
            assert_eq!(a.status, 400, "{q:?}: {}", a.body);
        }
        // An expired hint still signs its session out
        let now = EpochMs::now().secs();
        let t5 = ctx.sign_in(&user).await;
        let expired = ctx.remint(&t5.id, json!({"iat": now - 7200, "exp": now - 3600}));
        let a = ctx
            .logout(
                app,
                &flow,
                &logout_event(
                    format,
                    "/logout",
                    &[("id_token_hint", expired.as_str()), ("logout_uri", TARGET)],
                    &cookies,
                ),
            )
            .await;
        assert_eq!(a.status, 302, "{}", a.body);
    }

    // Every sample event
    for (name, text) in testkit::sample_events("logout") {
        let user = ctx.user().await;
        let t = ctx.sign_in(&user).await;
        let mut filled = f
            .fill(&text, Some(&t), &testkit::sub_of(&t.access))
            .replace(
                "app_session=abc",
                &format!("app_session=sample-cookie-{}", testkit::unique("v")),
            );
        if filled.contains("PLACEHOLDER") {
            let a = ctx
                .logout(
                    app,
                    &flow,
                    &logout_event(
                        Format::V2,
                        "/logout",
                        &[("client_id", f.client_id.as_str()), ("logout_uri", TARGET)],
                        &[],
                    ),
                )
                .await;
            filled = filled.replace("PLACEHOLDER", &a.state.expect("a state cookie"));
        }
        let event: Value = serde_json::from_str(&filled).unwrap();
        let a = ctx.logout(app, &flow, &event).await;
        assert!(a.status == 302 || a.status == 400, "{name}: {}", a.status);
    }
}

// ---------------------------------------------------------------- failures

/// Every function again, with Cognito then DynamoDB answering faults.
async fn failures(ctx: &Ctx) {
    let f = &ctx.f;
    let faulty = &*ctx.faulty;
    let flow = ctx.flow();
    let good = ctx.basic(&f.secret_client_secret);
    let closed = authorizer::Authorizer::from_lookup(ctx.faulty.clone(), ctx.lookup(&[])).unwrap();
    let open =
        authorizer::Authorizer::from_lookup(ctx.faulty_open.clone(), ctx.lookup(&[])).unwrap();
    let user = ctx.user().await;
    let sub = testkit::sub_of(&ctx.sign_in(&user).await.access);
    let admin_path = format!("/admin/users/{user}/signout");

    for (proxy, which) in [(&ctx.idp_proxy, "cognito"), (&ctx.ddb_proxy, "dynamodb")] {
        for fault in faults(which) {
            let t = ctx.sign_in(&user).await;
            let c = ctx.sign_in_confidential(&user).await;
            proxy.set(fault.clone());
            // Sign-out API: every route that calls AWS
            let calls = vec![
                Call::new(Format::V2, "POST", "/signout").bearer(&t.access),
                Call::new(Format::V1, "POST", "/signout")
                    .bearer(&t.access)
                    .json(json!({"scope": "session", "refresh_token": t.refresh})),
                Call::new(Format::V2, "POST", "/revoke")
                    .header("authorization", &good)
                    .form(&format!("token={}", c.refresh.as_deref().unwrap())),
                Call::new(Format::V1, "POST", "/revoke").form(&format!(
                    "token={}&token_type_hint=access_token&client_id={}",
                    t.access, f.client_id
                )),
                Call::new(Format::V2, "POST", "/introspect")
                    .header("authorization", &good)
                    .form(&format!("token={}", c.access)),
                Call::new(Format::V1, "GET", "/session").bearer(&t.id),
                Call::new(Format::V2, "POST", &admin_path).iam(),
            ];
            for call in calls {
                ctx.api(faulty, call).await;
            }
            // Authorizer, fail closed and fail open
            for token in [&t.access, &c.access] {
                ctx.authorize(&closed, rest_request(token)).await.ok();
                ctx.authorize(&open, http_v2(token)).await.ok();
            }
            // Trigger: store unreadable
            let text = sample(
                &testkit::sample_events("pre-token"),
                "v3-refresh-tokens.json",
            );
            let event: Value = serde_json::from_str(&f.fill(&text, None, &sub)).unwrap();
            ctx.trigger(faulty, event).await.ok();
            // Logout: the refresh cookie's revocation and the hint's record fail
            let cookies = [format!("refresh_token={}", t.refresh.as_deref().unwrap())];
            ctx.logout(
                faulty,
                &flow,
                &logout_event(
                    Format::V2,
                    "/logout",
                    &[("id_token_hint", t.id.as_str()), ("logout_uri", TARGET)],
                    &cookies,
                ),
            )
            .await;
            proxy.set(Fault::Pass);
            tracing::info!(target: "no_secrets_in_logs", service = which, fault = ?fault, "fault round done");
        }
    }
    // A slow Cognito: the SDK's operation timeout ends the call
    let t = ctx.sign_in(&user).await;
    ctx.idp_proxy
        .set(Fault::Delay(Duration::from_millis(1_500)));
    let r = ctx
        .api(
            faulty,
            Call::new(Format::V2, "POST", "/signout").bearer(&t.access),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    ctx.idp_proxy.set(Fault::Pass);
}
