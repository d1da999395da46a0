//! A cold start that cannot go on logs one JSON error record, which Lambda's
//! advanced logging controls keep even at `ApplicationLogLevel` WARN, and
//! nothing else; the process exits with status 1.

use std::process::Command;

#[test]
fn a_misconfigured_cold_start_is_one_json_error_record_even_at_warn() {
    let out = Command::new(env!("CARGO_BIN_EXE_pre-token"))
        .env_clear()
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("USER_POOL_ID", "not a pool")
        .output()
        .expect("run the pre-token binary");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "nothing on stderr"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one record: {stdout}");
    let record: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON record");
    assert_eq!(record["level"], "ERROR");
    assert_eq!(record["message"], "cold start failed");
    assert!(record["timestamp"].is_string());
    let problems = record["problems"].as_str().unwrap();
    for variable in [
        "AWS_REGION",
        "USER_POOL_ID",
        "SIGNOUT_TABLE",
        "APP_CLIENT_IDS",
    ] {
        assert!(problems.contains(variable), "{variable} named: {problems}");
    }
}
