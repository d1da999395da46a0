//! A stand-in Lambda runtime API that serves a real function binary a list
//! of events, one after the other, as Lambda does, and keeps what it
//! answered and printed. For tests of what a function writes to stdout
//! (metrics, logs) across invocations of one process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the function answered to one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// `POST .../response`: the body.
    Response(String),
    /// `POST .../error`: the error document.
    Error(String),
}

/// One process's run over the events.
#[derive(Debug)]
pub struct Served {
    /// In the order of the events; `request-<i>` answered the `i`th.
    pub answers: Vec<Answered>,
    pub stdout: String,
    pub stderr: String,
}

impl Served {
    /// The request id the runtime API gave the `i`th event.
    pub fn request_id(i: usize) -> String {
        format!("request-{i}")
    }

    /// The X-Ray trace id (`Root`) of the `i`th invocation.
    pub fn trace_id(i: usize) -> String {
        format!("1-5f000000-{i:024x}")
    }

    /// The id of the `i`th invocation's segment (`Parent`), under which its
    /// subsegments belong.
    pub fn segment_id(i: usize) -> String {
        format!("{:016x}", 0xa000_0000_0000_0000_u64 + i as u64)
    }
}

#[derive(Default)]
struct State {
    events: Vec<String>,
    sampled: bool,
    next: usize,
    answers: Vec<Option<Answered>>,
}

/// Runs `binary` with exactly `env` (plus `PATH` and Lambda's own
/// variables), serves it `events` in order, and stops it once every event
/// was answered, or after `limit` (a panic: the function hung). X-Ray did not
/// sample these invocations (`Sampled=0`).
pub fn serve(
    binary: &Path,
    env: &[(String, String)],
    events: &[String],
    limit: Duration,
) -> Served {
    serve_traced(binary, env, events, limit, false)
}

/// [`serve`], the invocations sampled by X-Ray (`Sampled=1`) when `sampled`:
/// each carries the trace header of [`Served::trace_id`] and
/// [`Served::segment_id`], as Lambda's runtime API does.
pub fn serve_traced(
    binary: &Path,
    env: &[(String, String)],
    events: &[String],
    limit: Duration,
    sampled: bool,
) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Mutex::new(State {
        events: events.to_vec(),
        sampled,
        next: 0,
        answers: vec![None; events.len()],
    }));
    {
        let state = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || connection(conn, &state));
            }
        });
    }
    let Function {
        mut child,
        stdout,
        stderr,
    } = Function::start(binary, env, &addr.to_string(), "served");
    let started = Instant::now();
    let exited = loop {
        let done = state.lock().unwrap().answers.iter().all(Option::is_some);
        if done {
            break None;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not answer every event in {limit:?}: {}",
                binary.display(),
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = child.kill();
    let _ = child.wait();
    let (stdout, stderr) = (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    );
    if let Some(status) = exited {
        panic!(
            "{} exited ({status}) before answering every event: {stdout}{stderr}",
            binary.display()
        );
    }
    let answers = std::mem::take(&mut state.lock().unwrap().answers);
    Served {
        answers: answers.into_iter().map(Option::unwrap).collect(),
        stdout,
        stderr,
    }
}

/// A function binary started as Lambda starts it, its output read on threads.
pub(crate) struct Function {
    pub child: Child,
    pub stdout: JoinHandle<String>,
    pub stderr: JoinHandle<String>,
}

impl Function {
    /// Starts `binary` with exactly `env` (plus `PATH` and the variables
    /// Lambda sets, naming it `name`) against the runtime API at `runtime_api`.
    pub fn start(binary: &Path, env: &[(String, String)], runtime_api: &str, name: &str) -> Self {
        let mut child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", name)
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = pipe.read_to_string(&mut s);
                s
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        Function {
            child,
            stdout,
            stderr,
        }
    }
}

/// `env` with the endpoint in `variable` (`AWS_ENDPOINT_URL_DYNAMODB`, ...)
/// pointing at a closed port: that service cannot be reached at all.
pub fn unreachable(env: Vec<(String, String)>, variable: &str) -> Vec<(String, String)> {
    env.into_iter()
        .map(|(k, v)| {
            let v = if k == variable {
                "http://127.0.0.1:9".to_owned()
            } else {
                v
            };
            (k, v)
        })
        .collect()
}

/// One keep-alive connection: requests until the client closes it.
fn connection(conn: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let reply = if path.ends_with("/runtime/invocation/next") {
            match next_event(state) {
                Some((i, event, sampled)) => event_reply(i, &event, sampled),
                // No event left: hold the request, as Lambda holds a frozen one.
                None => return std::thread::sleep(Duration::from_secs(3600)),
            }
        } else {
            answer(state, &path, body);
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_owned()
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn next_event(state: &Mutex<State>) -> Option<(usize, String, bool)> {
    let mut s = state.lock().unwrap();
    let i = s.next;
    let event = s.events.get(i)?.clone();
    s.next += 1;
    Some((i, event, s.sampled))
}

fn event_reply(i: usize, event: &str, sampled: bool) -> String {
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
         lambda-runtime-aws-request-id: {}\r\n\
         lambda-runtime-deadline-ms: {}\r\n\
         lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:served\r\n\
         lambda-runtime-trace-id: Root={};Parent={};Sampled={}\r\n\
         content-length: {}\r\n\r\n{event}",
        Served::request_id(i),
        deadline.as_millis(),
        Served::trace_id(i),
        Served::segment_id(i),
        u8::from(sampled),
        event.len()
    )
}

/// `POST /2018-06-01/runtime/invocation/request-<i>/response` (or `/error`).
fn answer(state: &Mutex<State>, path: &str, body: String) {
    let mut parts = path.rsplit('/');
    let (kind, id) = (parts.next(), parts.next());
    let Some(i) = id
        .and_then(|id| id.strip_prefix("request-"))
        .and_then(|i| i.parse::<usize>().ok())
    else {
        return;
    };
    let answered = match kind {
        Some("response") => Answered::Response(body),
        Some("error") => Answered::Error(body),
        _ => return,
    };
    if let Some(slot) = state.lock().unwrap().answers.get_mut(i) {
        *slot = Some(answered);
    }
}
