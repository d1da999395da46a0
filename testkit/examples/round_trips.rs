//! Round trips per operation (issue 9): the DynamoDB and Cognito requests each
//! function makes for one event, counted by a [`FaultProxy`] placed between
//! the real function binaries (under `cargo lambda watch`) and the emulator.
//!
//! ```sh
//! cargo run -p testkit --example round_trips -- [--fixture-out DIR]
//! ```
//!
//! Every operation gets a user of its own (a fresh `(sub, client)` for the
//! verdict cache), signed in at the emulator directly, so only the function's
//! own requests go through the proxy. The functions run with
//! `REVOCATION_CACHE_MS=60000`, so the authorizer's "hit" is a hit whatever the
//! machine's speed. Each answer is checked (an error path would count less),
//! and one JSON document is printed: per operation, the DynamoDB and Cognito
//! operations seen, and the JWKS fetches (the first event of a process).
//!
//! The emulator is the one at `BENCH_EMULATOR` when set (`bench/run.sh` starts
//! one that outlives this process), else one of our own. With
//! `--fixture-out DIR`, a fresh table, pool and signed-in user are left on that
//! emulator for the cold-start and memory runs of `bench/runtime_api.py`:
//! `DIR/env.json` (the functions' settings and credentials) and
//! `DIR/<function>.json` (one realistic event per function).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use testkit::{FaultProxy, Fixture, LambdaWatch, Tokens, free_port, sample_events};

/// The logout function's settings (the same in the round trips and the cold-start fixture).
fn logout_settings(f: &Fixture) -> Vec<(&'static str, String)> {
    vec![
        ("COGNITO_DOMAIN", "https://auth.example.com".into()),
        (
            "LOGOUT_URLS",
            json!({ f.client_id.clone(): ["https://app.example.com/signed-out"] }).to_string(),
        ),
        (
            "LOGOUT_CALLBACK_URL",
            "https://api.example.com/logout/callback".into(),
        ),
        (
            "LOGOUT_STATE_KEY",
            "bench-only state key, at least 32 bytes long".into(),
        ),
        (
            "LOGOUT_COOKIES",
            r#"[{"name":"refresh_token","path":"/logout","secure":true,"http_only":true,"same_site":"None"},{"name":"app_session","path":"/"}]"#.into(),
        ),
        ("LOGOUT_REFRESH_COOKIE", "refresh_token".into()),
    ]
}

fn function_env(f: &Fixture, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let logout = logout_settings(f);
    let mut settings: Vec<(&str, &str)> = logout.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.extend_from_slice(extra);
    f.function_env(&settings)
}

struct User {
    name: String,
    sub: String,
    tokens: Tokens,
}

async fn new_user(f: &Fixture) -> User {
    let name = testkit::unique("bench");
    f.create_user(&name).await;
    let tokens = f.sign_in(&name).await;
    User {
        name,
        sub: testkit::sub_of(&tokens.access),
        tokens,
    }
}

/// A sample event of `events/<dir>/<name>` with `user`'s values filled in.
fn event(f: &Fixture, dir: &str, name: &str, user: &User) -> String {
    let (_, text) = sample_events(dir)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("events/{dir}/{name}"));
    f.fill(
        &text.replace("{{USERNAME}}", &user.name),
        Some(&user.tokens),
        &user.sub,
    )
}

/// What the answer must be, so an error path is never counted as the operation.
#[derive(Clone, Copy)]
enum Expect {
    Allow,
    Unauthorized,
    Stamped,
    Status(u16),
    Redirect,
}

impl Expect {
    fn holds(self, status: u16, out: &Value) -> bool {
        if let Expect::Unauthorized = self {
            // An error answer: the invoke API reports it with a 5xx status.
            return out["errorMessage"] == "Unauthorized";
        }
        status == 200
            && match self {
                Expect::Allow => {
                    out.pointer("/policyDocument/Statement/0/Effect") == Some(&json!("Allow"))
                }
                Expect::Unauthorized => unreachable!(),
                Expect::Stamped => {
                    out.pointer("/response").is_some() && out.get("errorType").is_none()
                }
                Expect::Status(s) => out["statusCode"] == s,
                Expect::Redirect => out["statusCode"]
                    .as_u64()
                    .is_some_and(|s| (300..400).contains(&s)),
            }
    }
}

struct Counter {
    proxy: FaultProxy,
    watch: LambdaWatch,
    rows: Vec<Value>,
}

impl Counter {
    /// Invokes `function` with `event` and records the requests it made.
    fn call(&mut self, operation: &str, function: &str, event: &str, expect: Expect) {
        self.proxy.clear_seen();
        let (status, body) = self.watch.invoke(function, event);
        let seen = self.proxy.seen();
        let bytes = self.proxy.response_bytes();
        let out: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert!(
            expect.holds(status, &out),
            "{operation}: unexpected answer ({status}): {body}; requests seen: {seen:?}"
        );
        let (mut dynamodb, mut cognito, mut other, mut jwks) = (vec![], vec![], vec![], 0);
        // Bytes of DynamoDB's answers: what a decision reads, whatever the user's history.
        let mut dynamodb_bytes = 0;
        for (s, n) in seen.into_iter().zip(bytes) {
            if let Some(op) = s.strip_prefix("DynamoDB_20120810.") {
                dynamodb.push(op.to_owned());
                dynamodb_bytes += n;
            } else if let Some(op) = s.strip_prefix("AWSCognitoIdentityProviderService.") {
                cognito.push(op.to_owned());
            } else if s.starts_with("GET ") && s.contains("/.well-known/jwks.json") {
                jwks += 1;
            } else {
                other.push(s);
            }
        }
        eprintln!(
            "{operation:<48} DynamoDB {dynamodb:?} ({dynamodb_bytes} B) Cognito {cognito:?} JWKS {jwks} {}",
            if other.is_empty() {
                String::new()
            } else {
                format!("other {other:?}")
            }
        );
        self.rows.push(json!({
            "operation": operation,
            "function": function,
            "dynamodb": dynamodb,
            "dynamodb_bytes": dynamodb_bytes,
            "cognito": cognito,
            "jwks": jwks,
            "other": other,
        }));
    }
}

fn main() {
    let fixture_out = {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.as_slice() {
            [] => None,
            [flag, dir] if flag == "--fixture-out" => Some(PathBuf::from(dir)),
            _ => {
                eprintln!("usage: round_trips [--fixture-out DIR]");
                std::process::exit(2);
            }
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let endpoint =
        std::env::var("BENCH_EMULATOR").unwrap_or_else(|_| testkit::emulator().endpoint.clone());
    let f = rt.block_on(Fixture::on(&endpoint));

    // The functions talk to the emulator through the proxy: AWS APIs and the JWKS.
    let proxy = FaultProxy::start(&f.endpoint);
    let env: Vec<(String, String)> = function_env(&f, &[("REVOCATION_CACHE_MS", "60000")])
        .into_iter()
        .map(|(k, v)| (k, v.replace(&f.endpoint, &proxy.endpoint)))
        .collect();
    eprintln!("starting cargo lambda watch (the first event of each function may build it)…");
    let watch = LambdaWatch::start(free_port(), &env);
    let mut c = Counter {
        proxy,
        watch,
        rows: Vec::new(),
    };
    let user = || rt.block_on(new_user(&f));

    let u = user();
    let e = event(&f, "authorizer", "rest-token.json", &u);
    c.call(
        "authorizer: first event of a process",
        "authorizer",
        &e,
        Expect::Allow,
    );
    let u = user();
    let e = event(&f, "authorizer", "rest-token.json", &u);
    c.call("authorizer: cache miss", "authorizer", &e, Expect::Allow);
    c.call(
        "authorizer: cache hit (same token again)",
        "authorizer",
        &e,
        Expect::Allow,
    );
    let e = event(&f, "authorizer", "rest-token-garbage.json", &u);
    c.call(
        "authorizer: malformed token",
        "authorizer",
        &e,
        Expect::Unauthorized,
    );

    let u = user();
    let e = event(&f, "pre-token", "v2-authentication.json", &u);
    c.call(
        "pre-token trigger (V2_0 authentication)",
        "pre-token",
        &e,
        Expect::Stamped,
    );

    let api = "signout-api";
    let u = user();
    let e = event(&f, api, "v2-session.json", &u);
    c.call(
        "GET /session (first event of a process)",
        api,
        &e,
        Expect::Status(200),
    );
    let u = user();
    let e = event(&f, api, "v2-session.json", &u);
    c.call("GET /session (cache miss)", api, &e, Expect::Status(200));
    let u = user();
    let e = event(&f, api, "v2-introspect.json", &u);
    c.call("POST /introspect (IAM)", api, &e, Expect::Status(200));
    let u = user();
    let e = event(&f, api, "v2-revoke.json", &u);
    c.call(
        "POST /revoke (access token: its session, first for the user)",
        api,
        &e,
        Expect::Status(200),
    );
    // The same user's second session: the map of revoked sessions exists now.
    let second = rt.block_on(f.sign_in(&u.name));
    let e = event(
        &f,
        api,
        "v2-revoke.json",
        &User {
            tokens: second,
            ..u
        },
    );
    c.call(
        "POST /revoke (access token: a second session)",
        api,
        &e,
        Expect::Status(200),
    );
    let u = user();
    let e = event(&f, api, "v2-revoke.json", &u).replace(
        &format!("token={}&token_type_hint=access_token", u.tokens.access),
        &format!(
            "token={}&token_type_hint=refresh_token",
            u.tokens.refresh.as_deref().expect("a refresh token")
        ),
    );
    c.call("POST /revoke (refresh token)", api, &e, Expect::Status(200));
    let u = user();
    let e = event(&f, api, "v2-signout-session.json", &u);
    c.call(
        "POST /signout (scope session, refresh token)",
        api,
        &e,
        Expect::Status(200),
    );
    let u = user();
    let e = event(&f, api, "v2-signout.json", &u);
    c.call("POST /signout (scope global)", api, &e, Expect::Status(200));
    let u = user();
    let e = event(&f, api, "v2-admin-user-signout.json", &u);
    c.call(
        "POST /admin/users/{username}/signout (block)",
        api,
        &e,
        Expect::Status(200),
    );
    let u = user();
    let e = event(&f, "logout", "v2-logout-oidc.json", &u);
    c.call(
        "logout: GET /logout (id_token_hint, refresh cookie)",
        "logout",
        &e,
        Expect::Redirect,
    );
    // Last: these two revoke every token of the client, then of the pool.
    let e = event(&f, api, "v2-admin-client-signout.json", &u);
    c.call(
        "POST /admin/clients/{client_id}/signout",
        api,
        &e,
        Expect::Status(200),
    );
    let e = event(&f, api, "v2-admin-signout-all.json", &u);
    c.call("POST /admin/signout-all", api, &e, Expect::Status(200));

    let rows = std::mem::take(&mut c.rows);
    drop(c); // stops cargo lambda watch

    if let Some(dir) = fixture_out {
        write_fixture(&rt, &endpoint, &dir);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "operations": rows })).unwrap()
    );
}

/// A fresh table, pool and signed-in user, and the files `bench/runtime_api.py` serves.
/// Users signed out in turn by the revocation-delay run.
const DELAY_USERS: usize = 20;

fn write_fixture(rt: &tokio::runtime::Runtime, endpoint: &str, dir: &Path) {
    let f = rt.block_on(Fixture::on(endpoint));
    let tokens = rt.block_on(f.sign_in(&f.username));
    let user = User {
        name: f.username.clone(),
        sub: testkit::sub_of(&tokens.access),
        tokens,
    };
    // As deployed: the default verdict cache (REVOCATION_CACHE_MS unset).
    let env: serde_json::Map<String, Value> = function_env(&f, &[])
        .into_iter()
        .filter(|(k, _)| k != "REVOCATION_CACHE_MS")
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    std::fs::create_dir_all(dir).expect("fixture directory");
    std::fs::write(dir.join("env.json"), Value::Object(env).to_string()).unwrap();
    for (function, dir_name, name) in [
        ("authorizer", "authorizer", "rest-token.json"),
        ("pre-token", "pre-token", "v2-authentication.json"),
        ("signout-api", "signout-api", "v2-session.json"),
        ("logout", "logout", "v2-logout-oidc.json"),
    ] {
        // The logout event revokes its session each time it is served: a user
        // of its own, so the other functions' events stay valid throughout.
        let e = if function == "logout" {
            event(&f, dir_name, name, &rt.block_on(new_user(&f)))
        } else {
            event(&f, dir_name, name, &user)
        };
        std::fs::write(dir.join(format!("{function}.json")), e).unwrap();
    }
    // Revocation delay (bench/runtime_api.py delay): per user, the token's
    // authorizer event and its global sign-out.
    let delay = dir.join("delay");
    std::fs::create_dir_all(&delay).expect("delay directory");
    for i in 0..DELAY_USERS {
        let u = rt.block_on(new_user(&f));
        let token = event(&f, "authorizer", "rest-token.json", &u);
        std::fs::write(delay.join(format!("{i}-authorizer.json")), token).unwrap();
        let signout = event(&f, "signout-api", "v2-signout.json", &u);
        std::fs::write(delay.join(format!("{i}-signout.json")), signout).unwrap();
    }
    eprintln!(
        "fixture for the cold-start and revocation-delay runs written to {}",
        dir.display()
    );
}
