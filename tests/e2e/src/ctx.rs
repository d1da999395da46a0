//! What every function's test shares: the fixture, the functions' settings
//! and state (direct, and with Cognito and DynamoDB behind fault proxies),
//! and each function's handler called with every secret it is given noted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Map, Value, json};
use signout::app::App;
use signout::cognito::Cognito;
use signout::logout::{Logout, LogoutSettings, STATE_COOKIE};
use signout::model::ClientId;
use signout::store::Store;
use testkit::apigw::{Answer, Call};
use testkit::{Fault, FaultProxy, Fixture, Tokens};

use crate::secrets::Secrets;

pub const TARGET: &str = "https://app.example.com/signed-out";
pub const DOMAIN: &str = "https://auth.example.com";
pub const CALLBACK: &str = "https://api.example.com/logout/callback";
pub const STATE_KEY: &str = "no-secrets-test state key, 32 bytes or more, never logged";
pub const COOKIES: &str = r#"[
  {"name":"__Host-session","path":"/","secure":true,"http_only":true,"same_site":"Lax"},
  {"name":"refresh_token","domain":"api.example.com","path":"/logout","secure":true,"http_only":true,"same_site":"None"},
  {"name":"app_session","path":"/"}
]"#;
pub const OKTA_LOGOUT: &str = "https://example.okta.com/oauth2/v1/logout";
pub struct Ctx {
    pub f: Fixture,
    /// Every setting of every function (a superset works for each).
    pub env: Vec<(String, String)>,
    pub app: Arc<App>,
    /// The same functions with Cognito and DynamoDB behind fault proxies.
    pub faulty: Arc<App>,
    pub faulty_open: Arc<App>,
    pub idp_proxy: FaultProxy,
    pub ddb_proxy: FaultProxy,
    pub secrets: Mutex<Secrets>,
    pub sent: Mutex<HashMap<&'static str, usize>>,
}

impl Ctx {
    pub async fn new() -> Ctx {
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

    pub fn secrets(&self) -> std::sync::MutexGuard<'_, Secrets> {
        self.secrets.lock().unwrap()
    }

    pub fn count(&self, function: &'static str) {
        *self.sent.lock().unwrap().entry(function).or_default() += 1;
    }

    pub fn lookup(&self, extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut env = self.env.clone();
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        Fixture::lookup(env)
    }

    /// A new user of the pool (so one flow's sign-out does not end another's).
    pub async fn user(&self) -> String {
        let name = testkit::unique("carol");
        self.f.create_user(&name).await;
        name
    }

    pub async fn sign_in(&self, user: &str) -> Tokens {
        let t = self.f.sign_in(user).await;
        self.secrets().tokens(&t);
        t
    }

    pub async fn sign_in_confidential(&self, user: &str) -> Tokens {
        let t = self.f.sign_in_with(user, &self.f.secret_client_id).await;
        self.secrets().tokens(&t);
        t
    }

    pub fn remint(&self, token: &str, changes: Value) -> String {
        let t = self.f.remint(token, changes);
        self.secrets().token(&t);
        t
    }

    pub fn basic(&self, secret: &str) -> String {
        let v = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{secret}", self.f.secret_client_id))
        );
        self.secrets().authorization(&v);
        v
    }

    /// The sign-out API, through its handler.
    pub async fn api(&self, app: &App, call: Call) -> Answer {
        self.api_event(app, &call.event()).await
    }

    pub async fn api_event(&self, app: &App, event: &Value) -> Answer {
        self.secrets().event(event);
        self.count("signout-api");
        let req = signout::gateway::request(event.clone()).expect("a valid API Gateway event");
        Answer::from_response(signout_api::handle(app, req).await)
    }

    /// The authorizer, through its handler.
    pub async fn authorize(
        &self,
        a: &authorizer::Authorizer,
        event: Value,
    ) -> Result<Value, String> {
        self.secrets().event(&event);
        self.count("authorizer");
        a.handle(LambdaEvent::new(event, Context::default()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The trigger, through its handler.
    pub async fn trigger(&self, app: &App, event: Value) -> Result<Value, String> {
        self.count("pre-token");
        pre_token::handle(&app.trigger(), LambdaEvent::new(event, Context::default()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The logout function, through its handler: (status, Location, Set-Cookies).
    pub async fn logout(&self, app: &App, flow: &Logout, event: &Value) -> LogoutAnswer {
        self.secrets().event(event);
        self.count("logout");
        let req = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
        let a = Answer::from_response(logout::handle(app, flow, req).await);
        let mut state = None;
        for c in a.set_cookies() {
            let value = c.split(';').next().unwrap_or_default();
            if let Some(v) = value.strip_prefix(&format!("{STATE_COOKIE}="))
                && !v.is_empty()
            {
                self.secrets().value(v);
                state = Some(v.to_owned());
            }
        }
        LogoutAnswer {
            status: a.status,
            state,
            body: a.text,
        }
    }

    pub fn flow(&self) -> Logout {
        Logout::new(LogoutSettings::from_lookup(self.lookup(&[])).expect("valid logout settings"))
    }
}

pub struct LogoutAnswer {
    pub status: u16,
    pub state: Option<String>,
    pub body: String,
}

/// An App whose DynamoDB and Cognito calls go through fault proxies.
pub fn faulty_app(
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
pub fn faults(service: &str) -> Vec<Fault> {
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

/// The signature's last characters changed.
pub fn tampered(token: &str) -> String {
    let mut t = token[..token.len() - 4].to_owned();
    t.push_str(if token.ends_with("AAAA") {
        "BBBB"
    } else {
        "AAAA"
    });
    t
}
