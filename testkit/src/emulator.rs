//! The local AWS emulator (`tools/emulator.py`: moto plus what it lacks):
//! one process shared by a test binary, or one of a test's own (killed to
//! provoke failures, replicating a global table, invoking the trigger hook).
//! The child reads its stdin and exits when it closes, so it dies with the
//! test process however that ends.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb as ddb;

use crate::http::http_get;

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

pub(crate) fn start_emulator_env(env: &[(&str, &str)]) -> Emulator {
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

/// Starts an emulator whose Pre Token Generation hook invokes functions at
/// `lambda_endpoint` (the invoke API of `cargo lambda watch`).
pub fn start_emulator_with_lambda(lambda_endpoint: &str) -> Emulator {
    start_emulator_env(&[("EMULATOR_LAMBDA_ENDPOINT", lambda_endpoint)])
}
