//! Per-test fixtures: each test gets its own table, user pool, app clients
//! and user on the emulator, so tests run in parallel without sharing state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider as idp;
use aws_sdk_dynamodb as ddb;

use crate::emulator::{REGION, emulator, root, sdk_config_for};
use crate::table::create_table;

/// A name no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}{}x{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// Tokens from a sign-in.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access: String,
    pub id: String,
    pub refresh: Option<String>,
}

/// One test's own table, user pool, app clients and user.
pub struct Fixture {
    pub endpoint: String,
    pub sdk: SdkConfig,
    pub ddb: ddb::Client,
    pub idp: idp::Client,
    pub table: String,
    pub pool_id: String,
    /// A public client (no secret), like a browser or mobile app.
    pub client_id: String,
    /// A confidential client with a secret.
    pub secret_client_id: String,
    pub secret_client_secret: String,
    pub username: String,
    pub email: String,
    pub password: String,
}

pub const PASSWORD: &str = "Corr3ct-Horse-Battery!";

impl Fixture {
    /// A fixture on the shared emulator.
    pub async fn new() -> Fixture {
        Self::on(&emulator().endpoint).await
    }

    /// A fixture on the emulator at `endpoint`.
    pub async fn on(endpoint: &str) -> Fixture {
        let sdk = sdk_config_for(endpoint).await;
        let ddb = ddb::Client::new(&sdk);
        let idp = idp::Client::new(&sdk);
        let table = unique("signout-");
        create_table(&ddb, &table).await;
        let pool = idp
            .create_user_pool()
            .pool_name(unique("pool-"))
            .alias_attributes(idp::types::AliasAttributeType::Email)
            .send()
            .await
            .expect("create user pool");
        let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
        let client_id = create_client(&idp, &pool_id, false).await.0;
        let (secret_client_id, secret) = create_client(&idp, &pool_id, true).await;
        let username = unique("alice");
        let email = format!("{username}@example.com");
        let f = Fixture {
            endpoint: endpoint.to_owned(),
            sdk,
            ddb,
            idp,
            table,
            pool_id,
            client_id,
            secret_client_id,
            secret_client_secret: secret.unwrap(),
            username: username.clone(),
            email,
            password: PASSWORD.into(),
        };
        f.create_user(&username).await;
        f
    }

    /// Creates a confirmed user with [`PASSWORD`] and an email alias.
    pub async fn create_user(&self, username: &str) {
        self.idp
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .user_attributes(attr("email", &format!("{username}@example.com")))
            .user_attributes(attr("email_verified", "true"))
            .message_action(idp::types::MessageActionType::Suppress)
            .send()
            .await
            .expect("create user");
        self.idp
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await
            .expect("set password");
    }

    /// The settings our functions read, pointing at this fixture.
    pub fn env(&self) -> Vec<(String, String)> {
        let clients = format!("{},{}", self.client_id, self.secret_client_id);
        [
            ("AWS_REGION", REGION.to_owned()),
            ("USER_POOL_ID", self.pool_id.clone()),
            ("SIGNOUT_TABLE", self.table.clone()),
            ("APP_CLIENT_IDS", clients),
            (
                "JWKS_URL",
                format!("{}/{}/.well-known/jwks.json", self.endpoint, self.pool_id),
            ),
            ("REVOCATION_CACHE_MS", "0".to_owned()),
            // The logout function signs out at once, confirmation or not:
            // its tests follow the chain; the confirmation page (the
            // default, `auto`) has tests of its own that set it.
            ("LOGOUT_CONFIRM", "never".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// `env()` with some values replaced or added.
    pub fn env_with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env();
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        env
    }

    /// A lookup function over `env` for `Config::from_lookup`.
    pub fn lookup(env: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
        move |k| env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone())
    }

    /// Signs `username` in with USER_PASSWORD_AUTH on the public client.
    pub async fn sign_in(&self, username: &str) -> Tokens {
        self.sign_in_with(username, &self.client_id).await
    }

    pub async fn sign_in_with(&self, username: &str, client_id: &str) -> Tokens {
        let mut req = self
            .idp
            .initiate_auth()
            .client_id(client_id)
            .auth_flow(idp::types::AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", PASSWORD);
        if client_id == self.secret_client_id {
            req = req.auth_parameters(
                "SECRET_HASH",
                secret_hash(username, client_id, &self.secret_client_secret),
            );
        }
        let out = req.send().await.expect("sign in");
        let r = out.authentication_result().expect("tokens");
        Tokens {
            access: r.access_token().unwrap().to_owned(),
            id: r.id_token().unwrap().to_owned(),
            refresh: r.refresh_token().map(str::to_owned),
        }
    }

    /// REFRESH_TOKEN_AUTH; Err(code) when Cognito refuses.
    pub async fn refresh(&self, refresh: &str) -> Result<Tokens, String> {
        let out = self
            .idp
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(idp::types::AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh)
            .send()
            .await
            .map_err(|e| code_of(&e))?;
        let r = out.authentication_result().unwrap();
        Ok(Tokens {
            access: r.access_token().unwrap().to_owned(),
            id: r.id_token().unwrap().to_owned(),
            refresh: None,
        })
    }

    /// GetUser: whether Cognito itself still accepts the access token.
    pub async fn cognito_accepts(&self, access: &str) -> bool {
        self.idp
            .get_user()
            .access_token(access)
            .send()
            .await
            .is_ok()
    }
}

fn code_of<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("unknown").to_owned()
}

fn attr(name: &str, value: &str) -> idp::types::AttributeType {
    idp::types::AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

/// Cognito's SECRET_HASH: Base64(HMAC-SHA256(secret, username + client_id)).
pub fn secret_hash(username: &str, client_id: &str, secret: &str) -> String {
    use base64::Engine;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

async fn create_client(idp: &idp::Client, pool_id: &str, secret: bool) -> (String, Option<String>) {
    let out = idp
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name(if secret { "confidential" } else { "public" })
        .generate_secret(secret)
        .enable_token_revocation(true)
        .explicit_auth_flows(idp::types::ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(idp::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("create app client");
    let c = out.user_pool_client().unwrap();
    (
        c.client_id().unwrap().to_owned(),
        c.client_secret().map(str::to_owned),
    )
}

impl Fixture {
    /// Replaces the `{{...}}` placeholders of a sample event.
    pub fn fill(&self, template: &str, tokens: Option<&Tokens>, sub: &str) -> String {
        let mut s = template
            .replace("{{CLIENT_ID}}", &self.client_id)
            .replace("{{USER_POOL_ID}}", &self.pool_id)
            .replace("{{SUB}}", sub)
            .replace("{{USERNAME}}", &self.username)
            .replace("{{REGION}}", REGION);
        if let Some(t) = tokens {
            s = s
                .replace("{{ACCESS_TOKEN}}", &t.access)
                .replace("{{ID_TOKEN}}", &t.id)
                .replace("{{REFRESH_TOKEN}}", t.refresh.as_deref().unwrap_or(""));
        }
        s
    }
}

/// The sample events of one function (`events/<dir>/*.json`), by file name.
pub fn sample_events(dir: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(root().join("events").join(dir))
        .unwrap_or_else(|e| panic!("events/{dir}: {e}"))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}
