//! Invariant 6, no secrets in logs: tokens, cookies, client secrets and
//! `Authorization` headers never appear in log output, ours or our
//! dependencies', whatever `RUST_LOG` says.
//!
//! One test binary per function (`tests/authorizer.rs`, `tests/pre_token.rs`,
//! `tests/signout_api.rs`, `tests/logout.rs`, `tests/events.rs`), so a failure names the
//! function that leaked. Each installs ONE global subscriber, built with the
//! filter production builds (`signout::app::log_filter`) from the most
//! verbose `RUST_LOG` an operator could set, writing JSON lines (with spans)
//! into memory ([`capture`]). Its one test drives every route and event of
//! its function through the handler, good and bad requests, both API Gateway
//! payload formats, with Cognito and DynamoDB failing too, then searches the
//! captured log for every secret it used ([`secrets`]): whole values, and
//! every 16-character fragment of every token.
//!
//! The AWS SDK redacts what its models mark sensitive unless
//! `LOG_SENSITIVE_BODIES=true`; these tests set it, so only `log_filter`'s
//! caps stand between a TRACE setting and, e.g., `GetSecretValue`'s answer.
//! On a failure (or with `NO_SECRETS_DUMP=1`) the captured log is written to
//! the temp directory for inspection.

pub mod capture;
pub mod ctx;
pub mod secrets;

use std::time::Instant;

pub use ctx::*;
use secrets::FRAGMENT;
use testkit::{Fault, FaultProxy, Tokens};

/// Runs `drive` for `function` with the production filter at its most
/// verbose, capturing into memory, and the AWS SDK told to print the bodies
/// it redacts by default (what its own log line suggests to whoever
/// debugs): the filter alone must keep them out. THEN the log holds every
/// line of `expected` (the function's own lines at every level), at least
/// `min_tokens` tokens were searched for, and the log holds no token, no
/// fragment of one, no cookie, secret or Authorization value.
pub fn no_secrets_in_logs(
    function: &str,
    expected: &[&str],
    min_tokens: usize,
    drive: impl AsyncFnOnce(&Ctx),
) {
    // SAFETY: this is the only test of its binary and no thread of ours runs yet.
    unsafe { std::env::set_var("LOG_SENSITIVE_BODIES", "true") };
    let log = capture::captured();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let started = Instant::now();
            let ctx = Ctx::new().await;
            drive(&ctx).await;
            tracing::trace!(target: "no_secrets_in_logs", "capture check: trace events reach the log");

            // THEN the log really captured the function's own lines at every level
            let text = String::from_utf8(log.lock().unwrap().clone()).expect("UTF-8 log");
            let lines = text.lines().count();
            let sent = ctx.sent.lock().unwrap().clone();
            let secrets = ctx.secrets.lock().unwrap();
            println!(
                "{function}: captured {lines} log lines ({} bytes) from {sent:?} handler calls in {:?}; searching for {} tokens (every {FRAGMENT}-character fragment) and {} other secret values",
                text.len(),
                started.elapsed(),
                secrets.tokens.len(),
                secrets.values.len()
            );
            assert!(lines > 0, "{function}: the log is empty: nothing was captured");
            let always = ["capture check: trace events reach the log"];
            for needle in always.iter().chain(expected) {
                assert!(text.contains(needle), "{function}: the log lacks {needle:?}");
            }
            assert!(
                secrets.tokens.len() >= min_tokens,
                "{function}: {}",
                secrets.tokens.len()
            );

            // AND it holds no token, no fragment of one, no cookie, secret or Authorization value
            let found = secrets.found_in(&text);
            if !found.is_empty() || std::env::var_os("NO_SECRETS_DUMP").is_some() {
                // For whoever fixes it: the log (emulator tokens only) next to the test's temp files.
                let dump = std::env::temp_dir().join(format!("no_secrets_in_logs-{function}.log"));
                std::fs::write(&dump, &text).unwrap();
                println!("the captured log is in {}", dump.display());
            }
            assert!(
                found.is_empty(),
                "{function}: {} secret(s) in the log:\n{}",
                found.len(),
                found.join("\n")
            );
        });
}

/// What the functions read at cold start: the client secrets (`App::from_env`,
/// every function) and, for `state_key`, the logout function's state key, from
/// Secrets Manager (`GetSecretValue` answers the secret in its body).
pub async fn cold_start(ctx: &Ctx, state_key: bool) {
    let f = &ctx.f;
    let sm = aws_sdk_secretsmanager::Client::new(&f.sdk);
    let secrets = format!(
        r#"{{"{}":"{}"}}"#,
        f.secret_client_id, f.secret_client_secret
    );
    ctx.secrets().value(&secrets);
    let mut read = vec![("APP_CLIENT_SECRETS", secrets.as_str())];
    if state_key {
        read.push(("LOGOUT_STATE_KEY", STATE_KEY));
    }
    for (name, value) in read {
        let arn = sm
            .create_secret()
            .name(testkit::unique("cold-start-"))
            .secret_string(value)
            .send()
            .await
            .expect("create secret")
            .arn
            .unwrap();
        let arn_var = format!("{name}_ARN");
        let got =
            signout::secrets::resolve_with(&f.sdk, name, |k| (k == arn_var).then(|| arn.clone()))
                .await
                .expect("the secret resolves");
        assert_eq!(got.as_deref(), Some(value));
    }
    let parsed = signout::cognito::Cognito::parse_secrets(Some(&secrets)).unwrap();
    assert_eq!(parsed.len(), 1);
}

/// `round` once per fault of Cognito, then of DynamoDB (see [`faults`]), each
/// time with fresh tokens of `user` (public client, then confidential) signed
/// in before the fault is set, and the service healed after.
pub async fn in_every_fault(ctx: &Ctx, user: &str, mut round: impl AsyncFnMut(&Tokens, &Tokens)) {
    let proxies: [(&FaultProxy, &str); 2] =
        [(&ctx.idp_proxy, "cognito"), (&ctx.ddb_proxy, "dynamodb")];
    for (proxy, which) in proxies {
        for fault in faults(which) {
            let t = ctx.sign_in(user).await;
            let c = ctx.sign_in_confidential(user).await;
            proxy.set(fault.clone());
            round(&t, &c).await;
            proxy.set(Fault::Pass);
            tracing::info!(target: "no_secrets_in_logs", service = which, fault = ?fault, "fault round done");
        }
    }
}
