//! Reading the Embedded Metric Format documents a function printed: checked
//! against the specification by `tools/check_emf.py` (a third-party checker:
//! `jsonschema` and AWS's `aws-embedded-metrics` validators), then summed.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::emulator::root;

/// Every EMF document in `stdout` (lines with an `_aws` member).
pub fn documents(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

/// Panics with the checker's findings unless every EMF document in `stdout`
/// meets the specification (and there is at least one).
pub fn assert_valid(stdout: &str) {
    let mut child = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tools/check_emf.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tools/check_emf.py (make venv)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdout.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "EMF documents fail the specification: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The sum of `metric` over the documents whose one dimension set is
/// exactly `Function` plus `dimensions` with these values.
pub fn total(docs: &[Value], metric: &str, dimensions: &[(&str, &str)]) -> f64 {
    docs.iter()
        .filter(|d| {
            let directive = &d["_aws"]["CloudWatchMetrics"][0];
            let set: Vec<&str> = directive["Dimensions"][0]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            set.len() == dimensions.len() + 1
                && set.contains(&"Function")
                && dimensions
                    .iter()
                    .all(|(k, v)| set.contains(k) && d[*k].as_str() == Some(*v))
        })
        .filter_map(|d| match &d[metric] {
            Value::Number(n) => n.as_f64(),
            Value::Array(a) => Some(a.len() as f64),
            _ => None,
        })
        .sum()
}
