//! A cold start with a bad registration logs one JSON error record naming
//! every problem (its own settings and the shared ones), and exits 1.

use std::process::Command;

#[test]
fn a_misconfigured_cold_start_names_every_problem_in_one_json_record() {
    let out = Command::new(env!("CARGO_BIN_EXE_events"))
        .env_clear()
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("USER_POOL_ID", "us-east-1_Abc123")
        .env("SIGNOUT_TABLE", "signout-revocations")
        .env("APP_CLIENT_IDS", "client1")
        .env(
            "BACKCHANNEL_LOGOUT",
            r#"{"client2":{"backchannel_logout_uri":"http://rp.example.com/bcl"}}"#,
        )
        .env("SSF_RECEIVERS", "not json")
        .output()
        .expect("run the events binary");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one record: {stdout}");
    let record: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON record");
    assert_eq!(record["message"], "cold start failed");
    let problems = record["problems"].as_str().unwrap();
    for expected in [
        "BACKCHANNEL_LOGOUT: names client client2, which is not in APP_CLIENT_IDS",
        "SSF_RECEIVERS: must be a JSON array",
        "EVENTS_SIGNING_KEYS: is required when BACKCHANNEL_LOGOUT or SSF_RECEIVERS is set",
    ] {
        assert!(problems.contains(expected), "{expected}: {problems}");
    }
}
