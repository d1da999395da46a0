//! Test harness: the local AWS emulator and per-test fixtures.
//!
//! [`emulator`] starts `tools/emulator.py` (moto's server plus `RevokeToken`)
//! once per test binary, on a free loopback port. The child reads its stdin
//! and exits when it closes, so it dies with the test process however that
//! ends. [`Fixture::new`] gives each test its own table, user pool, app
//! clients and user, so tests run in parallel without sharing state.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cognitoidentityprovider as idp;
use aws_sdk_dynamodb as ddb;

pub const REGION: &str = "us-east-1";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The project-local Python with moto installed (`make venv`).
pub fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `make venv` (the README's test command does it for you)",
        p.display()
    );
    p
}

pub struct Emulator {
    pub port: u16,
    pub endpoint: String,
    // Held for the life of the process; its closing tells the emulator to exit.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an emulator process of our own (not the shared one), e.g. for tests
/// that stop it to provoke failures.
pub fn start_emulator() -> Emulator {
    start_emulator_env(&[])
}

fn start_emulator_env(env: &[(&str, &str)]) -> Emulator {
    let port = free_port();
    let mut child = Command::new(python())
        .arg(root().join("tools/emulator.py"))
        .args(["--port", &port.to_string(), "--exit-on-stdin-eof"])
        .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tools/emulator.py");
    let stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    // Drain stderr so the server never blocks on a full pipe; keep the first lines for errors.
    let early = std::sync::Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = early.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut e = sink.lock().unwrap();
            if e.len() < 50 {
                e.push(line);
            }
        }
    });
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("emulator exited with {status}: {:?}", early.lock().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "emulator did not start: {:?}",
            early.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Emulator {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    }
}

impl Emulator {
    /// Kills the emulator (for tests of an unreachable store).
    pub fn kill(&self) {
        let mut c = self._child.lock().unwrap();
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The emulator shared by every test of this process.
pub fn emulator() -> &'static Emulator {
    static EMU: OnceLock<Emulator> = OnceLock::new();
    EMU.get_or_init(start_emulator)
}

/// SDK configuration pointing at `endpoint`, with throwaway credentials.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(ddb::config::Credentials::new(
            "testing", "testing", None, None, "testkit",
        ))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(1))
                .build(),
        )
        .load()
        .await
}

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

/// Creates the revocation table as the template does (key `pk`, TTL `expires_at`).
pub async fn create_table(ddb: &ddb::Client, table: &str) {
    use ddb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            ddb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
}

impl Fixture {
    /// Our functions' shared state, configured for this fixture (plus `extra` settings),
    /// with the SDK timeouts our functions use.
    pub async fn app(&self, extra: &[(&str, &str)]) -> std::sync::Arc<signout::app::App> {
        let config = signout::Config::from_lookup(Fixture::lookup(self.env_with(extra)))
            .expect("valid config");
        let sdk = self
            .sdk
            .to_builder()
            .timeout_config(signout::aws::timeouts(config.sdk_operation_timeout))
            .build();
        let mut secrets = std::collections::HashMap::new();
        secrets.insert(
            signout::ClientId(self.secret_client_id.clone()),
            self.secret_client_secret.clone(),
        );
        std::sync::Arc::new(signout::app::App::build(config, &sdk, secrets))
    }

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

/// The `sub` claim of a token (unverified; tests only).
pub fn sub_of(token: &str) -> String {
    signout::tokens::peek_claims(token).unwrap()["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs `claims` with the emulator's key (`tools/mint_token.py`), for tokens
/// the emulator cannot mint itself (expired, stamped at a chosen instant).
pub fn mint(claims: &serde_json::Value) -> String {
    mint_with_header(None, claims)
}

pub fn mint_with_header(header: Option<&serde_json::Value>, claims: &serde_json::Value) -> String {
    use std::io::Write;
    let mut child = Command::new(python())
        .arg(root().join("tools/mint_token.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tools/mint_token.py");
    let spec = serde_json::json!({"header": header, "claims": claims});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "mint_token.py failed");
    String::from_utf8(out.stdout).unwrap()
}

impl Fixture {
    /// The claims of `token` with `changes` applied, re-signed with the emulator's key.
    pub fn remint(&self, token: &str, changes: serde_json::Value) -> String {
        let mut claims = serde_json::Value::Object(signout::tokens::peek_claims(token).unwrap());
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        mint(&claims)
    }
}

/// What the fault proxy does with the next requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward to the emulator.
    Pass,
    /// Answer with this status and an AWS JSON error of this type.
    Error(u16, &'static str),
    /// Wait this long, then forward (slower than the SDK's timeouts).
    Delay(Duration),
    /// Close the connection without answering.
    Reset,
    /// Forward, then cut the response off half way.
    Truncate,
}

/// A loopback HTTP proxy in front of the emulator that injects what no
/// emulator produces: throttling, 5xx, timeouts, resets. One request per
/// connection; counts the requests it saw, by AWS target (`X-Amz-Target`).
pub struct FaultProxy {
    pub endpoint: String,
    fault: std::sync::Arc<Mutex<Fault>>,
    seen: std::sync::Arc<Mutex<Vec<Seen>>>,
}

/// One request the proxy forwarded: its AWS target and the size of the answer's body.
#[derive(Clone, Debug)]
struct Seen {
    target: String,
    response_bytes: usize,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let fault = std::sync::Arc::new(Mutex::new(Fault::Pass));
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (f, s) = (fault.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                let (f, s, up) = (f.clone(), s.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(conn, &up, &f, &s);
                });
            }
        });
        FaultProxy {
            endpoint,
            fault,
            seen,
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// The `X-Amz-Target` of every request seen so far (e.g. `DynamoDB_20120810.BatchGetItem`).
    pub fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.target.clone())
            .collect()
    }

    /// The body size of every answer forwarded so far, in request order
    /// (0 for a request answered with an injected fault).
    pub fn response_bytes(&self) -> Vec<usize> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.response_bytes)
            .collect()
    }

    pub fn clear_seen(&self) {
        self.seen.lock().unwrap().clear();
    }
}

fn proxy_one(
    mut client: TcpStream,
    upstream: &str,
    fault: &Mutex<Fault>,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Read the head, then the body by Content-Length.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l.split_once(':').unwrap().1.trim().to_owned())
    };
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let index = {
        let mut seen = seen.lock().unwrap();
        seen.push(Seen {
            target: header("x-amz-target")
                .unwrap_or_else(|| head.lines().next().unwrap_or_default().to_owned()),
            response_bytes: 0,
        });
        seen.len() - 1
    };
    let current = fault.lock().unwrap().clone();
    match current {
        Fault::Reset => return Ok(()),
        Fault::Error(status, kind) => {
            let body = format!(r#"{{"__type":"{kind}","message":"injected fault"}}"#);
            write!(
                client,
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
            return Ok(());
        }
        Fault::Delay(d) => std::thread::sleep(d),
        Fault::Pass | Fault::Truncate => {}
    }
    // Forward with Connection: close so the emulator ends the response with EOF.
    let mut up = TcpStream::connect(upstream)?;
    let mut new_head: String = head
        .lines()
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    new_head.push_str("Connection: close\r\n\r\n");
    up.write_all(new_head.as_bytes())?;
    up.write_all(&buf[head_end..])?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    if current == Fault::Truncate {
        response.truncate(response.len() / 2);
    }
    let body = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| response.len() - p - 4);
    if let Some(s) = seen.lock().unwrap().get_mut(index) {
        s.response_bytes = body;
    }
    client.write_all(&response)?;
    Ok(())
}

/// Starts an emulator that simulates a DynamoDB global table over `regions`
/// (`tools/replication.py`): every write is delivered to the other Regions
/// after a random delay in `delay_ms`, last writer wins per item.
pub fn start_emulator_replicating(regions: &[&str], delay_ms: (u64, u64), seed: u64) -> Emulator {
    start_emulator_env(&[
        ("EMULATOR_REPLICATE_REGIONS", &regions.join(",")),
        (
            "EMULATOR_REPLICATION_DELAY_MS",
            &format!("{}-{}", delay_ms.0, delay_ms.1),
        ),
        ("EMULATOR_REPLICATION_SEED", &seed.to_string()),
    ])
}

/// The replication simulator's counters (`captured`, `applied`, `dropped_lww`, `pending`).
pub fn replication_status(endpoint: &str) -> serde_json::Value {
    let (status, body) = http_get(&format!("{endpoint}/_replication"));
    assert_eq!(status, 200, "replication status: {body}");
    serde_json::from_str(&body).expect("replication status is JSON")
}

/// Waits until every captured write was delivered everywhere; the counters then.
pub fn wait_replicated(endpoint: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = replication_status(endpoint);
        if s["pending"] == 0 {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "replication never converged: {s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut conn = TcpStream::connect(host).expect("connect");
    write!(
        conn,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

/// Deletes every item of `table` whose `expires_at` lies before `now_s`, as
/// DynamoDB's TTL process may by then (moto never expires items). Returns how
/// many it deleted.
pub async fn expire_items(ddb: &ddb::Client, table: &str, now_s: u64) -> usize {
    let mut deleted = 0;
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let expires_at: Option<u64> = item
                .get("expires_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok());
            if expires_at.is_some_and(|e| e < now_s) {
                ddb.delete_item()
                    .table_name(table)
                    .key("pk", item["pk"].clone())
                    .send()
                    .await
                    .expect("delete an expired item");
                deleted += 1;
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return deleted;
        }
    }
}

/// Starts an emulator whose Pre Token Generation hook invokes functions at
/// `lambda_endpoint` (the invoke API of `cargo lambda watch`).
pub fn start_emulator_with_lambda(lambda_endpoint: &str) -> Emulator {
    start_emulator_env(&[("EMULATOR_LAMBDA_ENDPOINT", lambda_endpoint)])
}

/// A minimal HTTP/1.0 POST on loopback: (status, body). Tests only.
pub fn http_post(url: &str, body: &str, timeout: Duration) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(timeout)).unwrap();
    write!(
        s,
        "POST /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read response");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `cargo lambda watch` running our real function binaries, killed (with its
/// whole process group and the functions it started) when dropped.
pub struct LambdaWatch {
    pub port: u16,
    pub endpoint: String,
    child: Child,
    killed: bool,
}

impl LambdaWatch {
    /// Starts `cargo lambda watch` on `port` with `env` for the functions.
    pub fn start(port: u16, env: &[(String, String)]) -> LambdaWatch {
        use std::os::unix::process::CommandExt;
        let env_file = std::env::temp_dir().join(unique("lambda-watch-env-"));
        let text: String = env.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
        std::fs::write(&env_file, text).unwrap();
        let log = env_file.with_extension("out");
        let log_err = env_file.with_extension("err");
        let bin = root().join(".venv/bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = Command::new(bin.join("cargo-lambda"))
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--quiet",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(root())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log_err).unwrap())
            .process_group(0)
            .spawn()
            .expect("start cargo lambda watch");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not start: {}",
                std::fs::read_to_string(&log_err).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        LambdaWatch {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            killed: false,
        }
    }

    /// Invokes `function` through the Lambda invoke API: (status, body).
    /// The first call of a function builds it, so the wait is long.
    pub fn invoke(&self, function: &str, event: &str) -> (u16, String) {
        http_post(
            &format!(
                "{}/2015-03-31/functions/{function}/invocations",
                self.endpoint
            ),
            event,
            Duration::from_secs(600),
        )
    }
}

impl LambdaWatch {
    /// The processes `cargo lambda watch` started (the functions run in
    /// sessions of their own, outside its process group), deepest last.
    pub fn descendants(&self) -> Vec<u32> {
        let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter_map(|pid| {
                        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                        // pid (comm) state ppid ...: comm may hold spaces and parentheses.
                        let after = &stat[stat.rfind(')')? + 1..];
                        let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
                        Some((pid, ppid))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut found = vec![self.child.id()];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i];
            found.extend(
                parents
                    .iter()
                    .filter(|(_, pp)| *pp == parent)
                    .map(|(p, _)| *p),
            );
            i += 1;
        }
        found.remove(0);
        found
    }

    fn signal(&self, signal: &str, descendants: &[u32]) {
        // Negative pid: the whole group (cargo, watchexec); then each function.
        let mut targets = vec![format!("-{}", self.child.id())];
        targets.extend(descendants.iter().map(u32::to_string));
        for target in targets {
            let _ = Command::new("kill")
                .args(["-s", signal, "--", &target])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Kills `cargo lambda watch` and the functions it runs at once
    /// (SIGKILL, no graceful shutdown): a crash. The processes it killed.
    pub fn kill(mut self) -> Vec<u32> {
        let descendants = self.descendants();
        self.signal("KILL", &descendants);
        let _ = self.child.wait();
        self.killed = true;
        descendants
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        if self.killed {
            return;
        }
        let descendants = self.descendants();
        self.signal("TERM", &descendants);
        std::thread::sleep(Duration::from_millis(300));
        self.signal("KILL", &descendants);
        let _ = self.child.wait();
    }
}

impl Fixture {
    /// The environment `cargo lambda watch` gives our functions: the settings,
    /// the SDK's own endpoint variables and throwaway credentials.
    pub fn function_env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env_with(extra);
        for (k, v) in [
            ("AWS_ENDPOINT_URL_DYNAMODB", self.endpoint.as_str()),
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                self.endpoint.as_str(),
            ),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", REGION),
            ("RUST_LOG", "info"),
        ] {
            env.push((k.to_owned(), v.to_owned()));
        }
        env.push((
            "APP_CLIENT_SECRETS".to_owned(),
            format!(
                r#"{{"{}":"{}"}}"#,
                self.secret_client_id, self.secret_client_secret
            ),
        ));
        env
    }

    /// Attaches the Pre Token Generation trigger (`pre-token`) to this pool.
    pub async fn attach_trigger(&self, version: &str) {
        let cfg = idp::types::PreTokenGenerationVersionConfigType::builder()
            .lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:pre-token")
            .lambda_version(idp::types::PreTokenGenerationLambdaVersionType::from(
                version,
            ))
            .build()
            .unwrap();
        self.idp
            .update_user_pool()
            .user_pool_id(&self.pool_id)
            .lambda_config(
                idp::types::LambdaConfigType::builder()
                    .pre_token_generation_config(cfg)
                    .build(),
            )
            .send()
            .await
            .expect("attach trigger");
    }
}

pub mod faults;
pub mod walkthrough;

/// The claims of a token as JSON (unverified; walkthrough and tests only).
pub fn signout_claims(token: &str) -> serde_json::Value {
    serde_json::Value::Object(signout::tokens::peek_claims(token).unwrap_or_default())
}

/// Which of the functions' AWS clients go through a fault proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faulty {
    Store,
    Cognito,
}

impl Fixture {
    /// Our functions' state with one client (DynamoDB or Cognito) aimed at
    /// `proxy_endpoint` and everything else direct, with a 1 s SDK timeout
    /// and production's retries (two attempts).
    pub fn app_through(
        &self,
        faulty: Faulty,
        proxy_endpoint: &str,
        extra: &[(&str, &str)],
    ) -> signout::app::App {
        let mut settings = vec![("SDK_OPERATION_TIMEOUT_MS", "1000")];
        settings.extend_from_slice(extra);
        let config =
            signout::Config::from_lookup(Fixture::lookup(self.env_with(&settings))).unwrap();
        let timeouts = signout::aws::timeouts(config.sdk_operation_timeout);
        let retries = signout::aws::retries(config.sdk_operation_timeout);
        let direct = self
            .sdk
            .to_builder()
            .timeout_config(timeouts.clone())
            .retry_config(retries.clone())
            .build();
        let proxied = self
            .sdk
            .to_builder()
            .endpoint_url(proxy_endpoint)
            .timeout_config(timeouts)
            .retry_config(retries)
            .build();
        let (ddb_cfg, idp_cfg) = match faulty {
            Faulty::Store => (&proxied, &direct),
            Faulty::Cognito => (&direct, &proxied),
        };
        let store = signout::store::Store::from_config(ddb::Client::new(ddb_cfg), &config);
        signout::app::App {
            verifier: signout::tokens::Verifier::new(&config),
            checker: signout::check::Checker::new(store, config.revocation_cache, config.fail_open),
            cognito: signout::cognito::Cognito::new(
                idp::Client::new(idp_cfg),
                config.user_pool_id.clone(),
                std::collections::HashMap::new(),
            ),
            config,
        }
    }
}
