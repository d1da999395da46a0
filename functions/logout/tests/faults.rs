//! Fault matrix, logout rows (SECURITY.md, "Faults on every path"): each
//! dependency the function calls fails in each way the fault proxy can, and
//! the browser still walks the whole chain (Cognito's `/logout` with every
//! app cookie expired, then the target with `state`); the failed step is
//! logged at WARN by its code.
//!
//! * DynamoDB (recording the hinted session, or with `LOGOUT_SCOPE=global`
//!   the user's cutoff): `record_session` / `record_cutoff` logged; the
//!   refresh-token cookie is still revoked at Cognito.
//! * Cognito (`RevokeToken` of the refresh-token cookie, asked first):
//!   `revoke_refresh_token` logged; the session is still recorded, listed for
//!   as long as a refresh token could mint.
//! * Secrets Manager, read once at cold start (`LOGOUT_STATE_KEY_ARN`,
//!   `APP_CLIENT_SECRETS_ARN`): the real binary exits with one error record
//!   naming both, without hanging.

mod common;

use common::*;
use testkit::faults::{ColdStart, Dependency, Kind, Logs};
use testkit::{Fault, FaultProxy, Faulty};

/// A first hop may take the SDK timeout twice (Cognito, then the store) and
/// no more, with room for a loaded machine: inside the 10 s Lambda timeout.
const HOP_BOUND: Duration = Duration::from_millis(6_000);

/// The function's settings, as `common::harness_on` gives them, plus `extra`.
fn settings(f: &Fixture, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let urls = json!({
        f.client_id.as_str(): [TARGET, TARGET_WITH_QUERY],
        f.secret_client_id.as_str(): [OTHER_CLIENT_TARGET],
    });
    let urls = urls.to_string();
    let mut env = vec![
        ("COGNITO_DOMAIN", DOMAIN),
        ("LOGOUT_URLS", urls.as_str()),
        ("LOGOUT_CALLBACK_URL", CALLBACK),
        ("LOGOUT_STATE_KEY", STATE_KEY),
        ("LOGOUT_COOKIES", COOKIES),
        ("LOGOUT_REFRESH_COOKIE", "refresh_token"),
    ];
    env.extend_from_slice(extra);
    f.env_with(&env)
}

/// The function for a fresh fixture with `faulty` behind a fault proxy and
/// `LOGOUT_SCOPE=scope`; the JWKS fetched already.
async fn harness_through(faulty: Faulty, scope: &str) -> (H, FaultProxy) {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let env = settings(&f, &[("LOGOUT_SCOPE", scope)]);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = f.app_through(faulty, &proxy.endpoint, &pairs);
    let flow = Logout::new(LogoutSettings::from_lookup(Fixture::lookup(env)).expect("valid"));
    let t = f.sign_in(&f.username).await;
    app.verifier.verify(&t.id, Expect::ID_HINT).await.unwrap();
    let h = H {
        f,
        app: Arc::new(app),
        flow,
    };
    (h, proxy)
}

/// The whole chain for `t` (its hint and refresh-token cookie), the first
/// hop in time: Cognito's `/logout`, then the target with `state`.
async fn walk_the_chain(h: &H, t: &Tokens) {
    let started = Instant::now();
    let first = send(
        h,
        &logout(
            Format::V2,
            &[
                ("id_token_hint", t.id.as_str()),
                ("logout_uri", TARGET),
                ("state", "kept"),
            ],
            &[refresh_cookie(t)],
        ),
    )
    .await;
    let took = started.elapsed();
    assert!(took < HOP_BOUND, "first hop took {took:?}");
    assert_cognito_hop(&first, &h.f.client_id);
    let last = send(h, &callback(Format::V2, &first.state_cookie())).await;
    assert_eq!(
        last.location(),
        Some(format!("{TARGET}?state=kept").as_str())
    );
}

/// One WARN line for `step`, with `code`.
fn assert_logged(logs: &Logs, step: &str, code: &str) {
    let lines = logs.steps(step);
    assert_eq!(lines.len(), 1, "{step}: {lines:?}");
    assert_eq!(lines[0]["level"], "WARN", "{step}");
    assert_eq!(lines[0]["message"], "logout step failed", "{step}");
    assert_eq!(lines[0]["code"], code, "{step}: {lines:?}");
}

// ---------------------------------------------------------------- DynamoDB

async fn store_fails(dep: Dependency, kind: Kind) {
    for (scope, step) in [("session", "record_session"), ("global", "record_cutoff")] {
        let (h, proxy) = harness_through(Faulty::Store, scope).await;
        let t = h.f.sign_in(&h.f.username).await;
        proxy.set(kind.fault(dep));
        let logs = Logs::capture();
        walk_the_chain(&h, &t).await;
        assert_logged(&logs, step, kind.store_code());
        assert!(
            logs.steps("revoke_refresh_token").is_empty(),
            "{scope}: Cognito answered"
        );
        assert!(
            h.f.refresh(t.refresh.as_deref().unwrap()).await.is_err(),
            "{scope}: the refresh token is revoked at Cognito all the same"
        );
        assert!(
            proxy
                .seen()
                .iter()
                .all(|t| t.starts_with("DynamoDB_20120810.")),
            "only the store goes through this proxy"
        );
    }
}

testkit::fault_row! { store_fails, DynamoDb;
    throttled: logout__dynamodb__throttled__redirects_and_logs_the_step,
    over_limit: logout__dynamodb__over_limit__redirects_and_logs_the_step,
    error_500: logout__dynamodb__error_500__redirects_and_logs_the_step,
    error_503: logout__dynamodb__error_503__redirects_and_logs_the_step,
    slow: logout__dynamodb__slow__redirects_and_logs_the_step,
    reset: logout__dynamodb__reset__redirects_and_logs_the_step,
    truncated: logout__dynamodb__truncated__redirects_and_logs_the_step,
}

// ---------------------------------------------------------------- Cognito

async fn cognito_fails(dep: Dependency, kind: Kind) {
    let (h, proxy) = harness_through(Faulty::Cognito, "session").await;
    let t = h.f.sign_in(&h.f.username).await;
    proxy.set(kind.fault(dep));
    let logs = Logs::capture();
    let before = now_s();
    walk_the_chain(&h, &t).await;
    assert_logged(&logs, "revoke_refresh_token", kind.cognito_code());
    assert!(
        logs.steps("record_session").is_empty(),
        "the store answered"
    );
    // Nothing lost: the session is recorded, for as long as a refresh token could mint
    let until = listed_until(&h, &t.access)
        .await
        .expect("the session is recorded");
    let refresh = h.app.config.refresh_token_lifetime.as_secs();
    assert!(until >= before + refresh, "listed {until}");
    assert_eq!(
        verdict(&h, &t.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    assert!(
        proxy
            .seen()
            .iter()
            .all(|t| t == "AWSCognitoIdentityProviderService.RevokeToken"),
        "only RevokeToken goes through this proxy: {:?}",
        proxy.seen()
    );
}

testkit::fault_row! { cognito_fails, Cognito;
    throttled: logout__cognito__throttled__redirects_and_logs_the_step,
    over_limit: logout__cognito__over_limit__redirects_and_logs_the_step,
    error_500: logout__cognito__error_500__redirects_and_logs_the_step,
    error_503: logout__cognito__error_503__redirects_and_logs_the_step,
    slow: logout__cognito__slow__redirects_and_logs_the_step,
    reset: logout__cognito__reset__redirects_and_logs_the_step,
    truncated: logout__cognito__truncated__redirects_and_logs_the_step,
}

// ---------------------------------------------------------------- Secrets Manager

/// The real binary's cold start, with both secrets read through a proxy
/// that answers with `fault`.
async fn cold_start(fault: Fault) -> ColdStart {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let secrets = json!({ f.secret_client_id.as_str(): f.secret_client_secret }).to_string();
    let secrets_arn = testkit::faults::create_secret(&f.sdk, &secrets).await;
    let key_arn = testkit::faults::create_secret(&f.sdk, STATE_KEY).await;
    let mut extra = settings(&f, &[]);
    extra.retain(|(k, _)| {
        k != "LOGOUT_STATE_KEY" && (k.starts_with("LOGOUT_") || k == "COGNITO_DOMAIN")
    });
    extra.push(("APP_CLIENT_SECRETS_ARN".into(), secrets_arn));
    extra.push(("LOGOUT_STATE_KEY_ARN".into(), key_arn));
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let env = testkit::faults::cold_start_env(&f, &proxy.endpoint, &extra);
    proxy.set(fault);
    let run = tokio::task::spawn_blocking(move || {
        testkit::faults::cold_start(
            env!("CARGO_BIN_EXE_logout").as_ref(),
            &env,
            Duration::from_secs(30),
        )
    })
    .await
    .unwrap();
    let reads = proxy
        .seen()
        .iter()
        .filter(|t| *t == "secretsmanager.GetSecretValue")
        .count();
    assert!(reads >= 2, "both secrets were read through the proxy");
    run
}

async fn cold_start_fails(dep: Dependency, kind: Kind) {
    cold_start(kind.fault(dep))
        .await
        .assert_failed_on(&["APP_CLIENT_SECRETS_ARN", "LOGOUT_STATE_KEY_ARN"], kind);
}

testkit::fault_row! { cold_start_fails, SecretsManager;
    throttled: logout__secrets_manager__throttled__cold_start_fails,
    over_limit: logout__secrets_manager__over_limit__cold_start_fails,
    error_500: logout__secrets_manager__error_500__cold_start_fails,
    error_503: logout__secrets_manager__error_503__cold_start_fails,
    slow: logout__secrets_manager__slow__cold_start_fails,
    reset: logout__secrets_manager__reset__cold_start_fails,
    truncated: logout__secrets_manager__truncated__cold_start_fails,
}

/// The control: with Secrets Manager answering, the same cold start completes.
#[allow(non_snake_case)]
#[tokio::test]
async fn logout__secrets_manager__control__cold_start_completes() {
    cold_start(Fault::Pass).await.assert_ready();
}
