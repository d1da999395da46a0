//! A loopback HTTP proxy in front of the emulator that injects what no
//! emulator produces: throttling, 5xx, timeouts, resets, truncated answers.

use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

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
