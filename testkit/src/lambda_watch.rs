//! `cargo lambda watch` running our real function binaries, and the
//! environment a fixture gives them.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider as idp;

use crate::emulator::{REGION, root};
use crate::http::http_post;
use crate::{Fixture, unique};

/// The environment file `make run` writes for `cargo lambda watch --env-file`, under the root.
pub const WATCH_ENV_FILE: &str = ".run/functions.env";
/// The port `[workspace.metadata.lambda.watch]` names (`make run`'s `LAMBDA_PORT` default).
pub const WATCH_PORT: u16 = 9000;

fn write_env_file(path: &std::path::Path, env: &[(String, String)]) {
    let text: String = env.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
    std::fs::write(path, text).unwrap();
}

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
        let env_file = std::env::temp_dir().join(unique("lambda-watch-env-"));
        write_env_file(&env_file, env);
        let mut flags = vec!["-A".to_owned(), "127.0.0.1".to_owned(), "-P".to_owned()];
        flags.push(port.to_string());
        flags.extend(["--env-file".to_owned(), env_file.display().to_string()]);
        Self::spawn(port, &flags, &env_file)
    }

    /// Starts `cargo lambda watch --env-file .run/functions.env` as a user
    /// would from the project root, configured by the workspace's
    /// `[workspace.metadata.lambda.watch]`: `env` goes to that file
    /// ([`WATCH_ENV_FILE`]), the address is the metadata's, and so is the port
    /// unless `port` differs from [`WATCH_PORT`]. One at a time per checkout:
    /// the file is shared (`make run`, the walkthrough test).
    pub fn start_from_metadata(port: u16, env: &[(String, String)]) -> LambdaWatch {
        let env_file = root().join(WATCH_ENV_FILE);
        std::fs::create_dir_all(env_file.parent().unwrap()).unwrap();
        write_env_file(&env_file, env);
        let mut flags = vec!["--env-file".to_owned(), WATCH_ENV_FILE.to_owned()];
        if port != WATCH_PORT {
            flags.extend(["-P".to_owned(), port.to_string()]);
        }
        Self::spawn(port, &flags, &env_file)
    }

    fn spawn(port: u16, flags: &[String], env_file: &std::path::Path) -> LambdaWatch {
        use std::os::unix::process::CommandExt;
        let log = std::env::temp_dir().join(unique("lambda-watch-out-"));
        let log_err = log.with_extension("err");
        let bin = root().join(".venv/bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = Command::new(bin.join("cargo-lambda"))
            .args(["lambda", "watch", "--ignore-changes", "--quiet"])
            .args(flags)
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
                "cargo lambda watch did not start ({}): {}",
                env_file.display(),
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
