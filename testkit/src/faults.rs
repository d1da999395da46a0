//! The fault matrix's shared parts (SECURITY.md, "Faults on every path"):
//! the kinds of fault every cell injects, as each dependency would answer
//! them, the macro that makes one named `#[tokio::test]` per cell, a log
//! capture for cells that must see a failed step logged, and a cold start of
//! a real function binary for the Secrets Manager cells.
//!
//! A cell is (function, dependency, fault kind). Each function's
//! `tests/faults.rs` writes one [`fault_row!`](crate::fault_row) per
//! dependency it calls, naming all seven cells `<function>__<dependency>__<kind>__<answer>`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Fault;

/// The SDK operation timeout every cell configures (`SDK_OPERATION_TIMEOUT_MS`),
/// as the template sets it for the trigger.
pub const SDK_TIMEOUT_MS: &str = "1000";

/// The external services our functions call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    DynamoDb,
    Cognito,
    /// Read once per cold start (`APP_CLIENT_SECRETS_ARN`, `LOGOUT_STATE_KEY_ARN`).
    SecretsManager,
}

impl Dependency {
    /// As it appears in a cell's name.
    pub fn name(self) -> &'static str {
        match self {
            Dependency::DynamoDb => "dynamodb",
            Dependency::Cognito => "cognito",
            Dependency::SecretsManager => "secrets_manager",
        }
    }
}

/// Every fault the fault proxy can produce: the matrix's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 400 with the service's throttling error.
    Throttled,
    /// 400 with the service's capacity or limit error.
    OverLimit,
    /// 500 with the service's internal error.
    Error500,
    /// 503 `ServiceUnavailable`.
    Error503,
    /// The answer comes only after the SDK operation timeout.
    Slow,
    /// The connection closes without an answer.
    Reset,
    /// The answer is cut off half way.
    Truncated,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Throttled,
        Kind::OverLimit,
        Kind::Error500,
        Kind::Error503,
        Kind::Slow,
        Kind::Reset,
        Kind::Truncated,
    ];

    /// As it appears in a cell's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Throttled => "throttled",
            Kind::OverLimit => "over_limit",
            Kind::Error500 => "error_500",
            Kind::Error503 => "error_503",
            Kind::Slow => "slow",
            Kind::Reset => "reset",
            Kind::Truncated => "truncated",
        }
    }

    /// This fault as `dep` would answer it.
    pub fn fault(self, dep: Dependency) -> Fault {
        use Dependency::*;
        match (self, dep) {
            (Kind::Throttled, DynamoDb | SecretsManager) => {
                Fault::Error(400, "ThrottlingException")
            }
            (Kind::Throttled, Cognito) => Fault::Error(400, "TooManyRequestsException"),
            (Kind::OverLimit, DynamoDb) => {
                Fault::Error(400, "ProvisionedThroughputExceededException")
            }
            (Kind::OverLimit, Cognito | SecretsManager) => {
                Fault::Error(400, "LimitExceededException")
            }
            (Kind::Error500, DynamoDb) => Fault::Error(500, "InternalServerError"),
            (Kind::Error500, Cognito) => Fault::Error(500, "InternalErrorException"),
            (Kind::Error500, SecretsManager) => Fault::Error(500, "InternalServiceError"),
            (Kind::Error503, _) => Fault::Error(503, "ServiceUnavailable"),
            (Kind::Slow, _) => Fault::Delay(slow(dep)),
            (Kind::Reset, _) => Fault::Reset,
            (Kind::Truncated, _) => Fault::Truncate,
        }
    }

    /// The code a sign-out step reports when the store fails this way.
    pub fn store_code(self) -> &'static str {
        match self {
            Kind::Throttled | Kind::OverLimit => "store_throttled",
            _ => "store_unavailable",
        }
    }

    /// The code a sign-out step reports when Cognito fails this way.
    pub fn cognito_code(self) -> &'static str {
        match self {
            Kind::Throttled | Kind::OverLimit => "throttled",
            Kind::Slow => "timeout",
            _ => "unavailable",
        }
    }
}

/// How long a slow answer takes: past the cells' 1 s SDK timeout, and for
/// Secrets Manager also past the fixed 3 s bound on the logout function's
/// state-key read, so every read at a cold start times out.
pub fn slow(dep: Dependency) -> Duration {
    match dep {
        Dependency::SecretsManager => Duration::from_millis(3_500),
        _ => Duration::from_millis(1_500),
    }
}

/// One `#[tokio::test]` per cell of a row (one function, one dependency):
/// `check(Dependency::$dep, kind)` runs for each of the seven kinds, under the
/// name given for it. Every kind must be named, in [`Kind::ALL`]'s order, and
/// each name must contain `__<dependency>__<kind>__`.
///
/// ```ignore
/// testkit::fault_row! { denies, DynamoDb;
///     throttled: authorizer__dynamodb__throttled__denies,
///     over_limit: authorizer__dynamodb__over_limit__denies,
///     error_500: authorizer__dynamodb__error_500__denies,
///     error_503: authorizer__dynamodb__error_503__denies,
///     slow: authorizer__dynamodb__slow__denies,
///     reset: authorizer__dynamodb__reset__denies,
///     truncated: authorizer__dynamodb__truncated__denies,
/// }
/// ```
#[macro_export]
macro_rules! fault_row {
    (
        $check:path, $dep:ident;
        throttled: $throttled:ident,
        over_limit: $over_limit:ident,
        error_500: $error_500:ident,
        error_503: $error_503:ident,
        slow: $slow:ident,
        reset: $reset:ident,
        truncated: $truncated:ident $(,)?
    ) => {
        $crate::fault_row!(@cell $check, $dep, Throttled, $throttled);
        $crate::fault_row!(@cell $check, $dep, OverLimit, $over_limit);
        $crate::fault_row!(@cell $check, $dep, Error500, $error_500);
        $crate::fault_row!(@cell $check, $dep, Error503, $error_503);
        $crate::fault_row!(@cell $check, $dep, Slow, $slow);
        $crate::fault_row!(@cell $check, $dep, Reset, $reset);
        $crate::fault_row!(@cell $check, $dep, Truncated, $truncated);
    };
    (@cell $check:path, $dep:ident, $kind:ident, $name:ident) => {
        #[allow(non_snake_case)]
        #[tokio::test]
        async fn $name() {
            let dep = $crate::faults::Dependency::$dep;
            let kind = $crate::faults::Kind::$kind;
            let cell = format!("__{}__{}__", dep.name(), kind.name());
            assert!(
                stringify!($name).contains(&cell),
                "{} must name its cell ({cell})",
                stringify!($name)
            );
            $check(dep, kind).await;
        }
    };
}

// ---------------------------------------------------------------- logs

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What this thread logs while the capture lives, as the functions log it
/// (`signout::logging::json_subscriber`: flattened JSON lines, at INFO).
/// `#[tokio::test]` runs a test on one thread, so each test sees only its
/// own lines.
pub struct Logs {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    pub fn capture() -> Logs {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let settings = signout::logging::LogSettings::from_lookup(|_| None);
        let subscriber = signout::logging::json_subscriber(&settings, move || Sink(sink.clone()));
        let guard = tracing::subscriber::set_default(subscriber);
        Logs { buf, _guard: guard }
    }

    /// Every line logged so far.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The lines whose `step` is `step`.
    pub fn steps(&self, step: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["step"] == step)
            .collect()
    }
}

// ---------------------------------------------------------------- cold starts

/// How a cold start of a real function binary ended.
#[derive(Debug)]
pub struct ColdStart {
    /// How it exited by itself; `None` when it was killed: after asking for
    /// an event, or after the time limit (a hang).
    pub status: Option<ExitStatus>,
    /// It finished its init and asked the Lambda runtime API for an event.
    pub asked_for_event: bool,
    /// The function's logs.
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `binary` with exactly `env` (plus `PATH` and what the Lambda runtime
/// needs) against a stand-in runtime API that never hands out an event: the
/// run ends when the process exits, when it asks for its first event (init
/// done, it is then killed), or after `limit` (killed, `status: None`).
pub fn cold_start(binary: &Path, env: &[(String, String)], limit: Duration) -> ColdStart {
    let runtime_api = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = runtime_api.local_addr().unwrap();
    runtime_api.set_nonblocking(true).unwrap();
    let asked = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (asked, done) = (asked.clone(), done.clone());
        std::thread::spawn(move || {
            // Connections are held open unanswered, as a runtime API with no event would.
            let mut held = Vec::new();
            while !done.load(Ordering::SeqCst) {
                match runtime_api.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let mut line = String::new();
                        let _ = BufReader::new(conn.try_clone().unwrap()).read_line(&mut line);
                        if line.contains("/runtime/invocation/next") {
                            asked.store(true, Ordering::SeqCst);
                        }
                        held.push(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
    };
    let started = Instant::now();
    let crate::runtime_api::Function {
        mut child,
        stdout,
        stderr,
    } = crate::runtime_api::Function::start(binary, env, &addr.to_string(), "cold-start");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if asked.load(Ordering::SeqCst) || started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    let asked_for_event = asked.load(Ordering::SeqCst);
    ColdStart {
        status,
        asked_for_event,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        took,
    }
}

/// Stores `value` as a Secrets Manager secret where `sdk` points; its ARN.
pub async fn create_secret(sdk: &aws_config::SdkConfig, value: &str) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(crate::unique("secret-"))
        .secret_string(value)
        .send()
        .await
        .expect("create a secret")
        .arn
        .expect("an ARN")
}

/// The environment a function gets at a cold start for `f` (as under
/// `cargo lambda watch`, see [`Fixture::function_env`](crate::Fixture::function_env)),
/// with Secrets Manager at `secrets_manager`, the cells' SDK timeout, no
/// plain-variable secrets, and `extra`.
pub fn cold_start_env(
    f: &crate::Fixture,
    secrets_manager: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = f.function_env(&[("SDK_OPERATION_TIMEOUT_MS", SDK_TIMEOUT_MS)]);
    env.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "APP_CLIENT_SECRETS" | "LOGOUT_STATE_KEY" | "AWS_ENDPOINT_URL_SECRETS_MANAGER"
        )
    });
    env.push((
        "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(),
        secrets_manager.to_owned(),
    ));
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

/// What a cold start must not take longer than to fail: Lambda's init phase
/// is limited to 10 s.
pub const COLD_START_BOUND: Duration = Duration::from_secs(10);

impl ColdStart {
    /// The init completed: the function asked for its first event.
    pub fn assert_ready(&self) {
        assert!(
            self.asked_for_event,
            "init did not complete ({:?} after {:?}): {}",
            self.status, self.took, self.stderr
        );
    }

    /// The init failed fast and cleanly on `kind`: the process exited by
    /// itself with status 1 (no hang, no panic) before asking for an event,
    /// printed nothing on stderr, and logged one JSON error record, `cold
    /// start failed`, whose `problems` name each secret of `variables` with
    /// the failure's code, in that order.
    pub fn assert_failed_on(&self, variables: &[&str], kind: Kind) {
        let context = format!(
            "{kind:?} after {:?}: stdout {:?}, stderr {:?}",
            self.took, self.stdout, self.stderr
        );
        assert!(!self.asked_for_event, "init completed: {context}");
        let status = self.status.unwrap_or_else(|| panic!("hung: {context}"));
        assert_eq!(status.code(), Some(1), "{context}");
        assert!(self.took < COLD_START_BOUND, "{context}");
        assert_eq!(self.stderr, "", "nothing on stderr: {context}");
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one record: {context}");
        let record: serde_json::Value =
            serde_json::from_str(lines[0]).unwrap_or_else(|_| panic!("JSON: {context}"));
        assert_eq!(record["level"], "ERROR", "{context}");
        assert_eq!(record["message"], "cold start failed", "{context}");
        let codes: &[&str] = match kind.fault(Dependency::SecretsManager) {
            Fault::Error(_, code) => &[code],
            Fault::Delay(_) => &["timeout"],
            Fault::Reset => &["unreachable"],
            // Cut in the head or in the body.
            _ => &["bad_response", "unreachable"],
        };
        let problems: Vec<&str> = record["problems"]
            .as_str()
            .unwrap_or("")
            .split("; ")
            .collect();
        assert_eq!(problems.len(), variables.len(), "{context}");
        for (problem, variable) in problems.iter().zip(variables) {
            assert!(
                codes
                    .iter()
                    .any(|c| *problem == format!("{variable}: GetSecretValue failed ({c})")),
                "{problem:?} (expected one of {codes:?}): {context}"
            );
        }
    }
}
