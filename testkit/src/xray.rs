//! A stand-in X-Ray daemon: the UDP socket a function's subsegments go to
//! (`AWS_XRAY_DAEMON_ADDRESS`), read back and checked against AWS's segment
//! document schema by `tools/check_xray.py` (a third-party checker:
//! `jsonschema` with the schema AWS publishes).

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::emulator::root;

/// The daemon's socket on loopback.
pub struct Daemon {
    socket: UdpSocket,
}

impl Default for Daemon {
    fn default() -> Self {
        Self::new()
    }
}

impl Daemon {
    pub fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        Daemon { socket }
    }

    /// The variable Lambda sets for a function with active tracing.
    pub fn env(&self) -> (String, String) {
        (
            "AWS_XRAY_DAEMON_ADDRESS".into(),
            self.socket.local_addr().unwrap().to_string(),
        )
    }

    /// Every datagram received so far. Loopback UDP is in the socket's buffer
    /// once `send` returned, so after the function answered all is here.
    pub fn received(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = self.socket.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

/// The complete subsegments (not their in-progress first sends) in `datagrams`.
pub fn subsegments(datagrams: &[String]) -> Vec<Value> {
    datagrams
        .iter()
        .filter_map(|d| d.split_once('\n'))
        .filter_map(|(_, doc)| serde_json::from_str::<Value>(doc).ok())
        .filter(|doc| doc.get("end_time").is_some())
        .collect()
}

/// Panics with the checker's findings unless every datagram is the daemon
/// protocol's header and a valid segment document (and there is at least one).
pub fn assert_valid(datagrams: &[String]) {
    let mut child = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tools/check_xray.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tools/check_xray.py (make venv)");
    let input = serde_json::to_vec(datagrams).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "X-Ray documents fail the schema: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
