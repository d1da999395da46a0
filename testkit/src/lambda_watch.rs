//! `cargo lambda watch` running our real function binaries, and the
//! environment a fixture gives them.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider as idp;

use crate::emulator::{REGION, root};
use crate::http::http_post;
use crate::{Fixture, unique};

/// `cargo lambda watch` running our real function binaries, killed (with its
/// whole process group and the functions it started) when dropped.
pub struct LambdaWatch {
    pub port: u16,
    pub endpoint: String,
    child: Child,
    killed: bool,
    /// Where the functions' output goes (stdout, stderr).
    logs: [std::path::PathBuf; 2],
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
            logs: [log, log_err],
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
    /// Everything the functions (and `cargo lambda watch`) wrote so far.
    pub fn logs(&self) -> String {
        self.logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

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

    /// A crash and a restart: kills `cargo lambda watch` and its functions at
    /// once (SIGKILL), then starts it again on the same port with `env`.
    pub fn crash_and_restart(&mut self, env: &[(String, String)]) {
        let descendants = self.descendants();
        self.signal("KILL", &descendants);
        let _ = self.child.wait();
        self.killed = true; // the old value's Drop has nothing left to stop
        let fresh = LambdaWatch::start(self.port, env);
        drop(std::mem::replace(self, fresh));
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
            ("AWS_ENDPOINT_URL_KMS", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", self.endpoint.as_str()),
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
