//! Fault matrix, sign-out API rows (SECURITY.md, "Faults on every path"):
//! each dependency the function calls fails in each way the fault proxy can.
//!
//! * DynamoDB, which every sign-out reads (the revocation check) or records
//!   in before Cognito: 503 with `Retry-After`, the step named and retryable,
//!   Cognito never told; `/revoke`, `/introspect` and `/session` answer 503.
//!   A retry completes.
//! * Cognito, told after the record: 503 `partial` with the Cognito step
//!   retryable, the record kept (the token is already refused); a look-up
//!   before any record (`AdminGetUser`) fails the whole operation, retryably.
//!   A retry redoes the Cognito step; once it works the job is done (the
//!   self-service token, revoked by then, gets 401 with its revocation code).
//! * Secrets Manager, read once at cold start (`APP_CLIENT_SECRETS_ARN`): the
//!   real binary exits with one line naming the variable, without hanging.

mod common;

use std::time::{Duration, Instant};

use common::{Answer, Call, CallExt, Format};
use serde_json::json;
use signout::app::App;
use signout::model::Sub;
use signout::store::{Consistency, Lookup};
use signout::{Revoked, Verdict};
use testkit::faults::{ColdStart, Dependency, Kind};
use testkit::verdict;
use testkit::{Fault, FaultProxy, Faulty, Fixture};

/// An answer may take the SDK timeout (retries included) and no more, with
/// room for a loaded machine: far inside the function's 10 s Lambda timeout.
const ANSWER_BOUND: Duration = Duration::from_millis(4_000);

async fn send(app: &App, call: Call) -> Answer {
    let started = Instant::now();
    let a = call.send(app).await;
    let took = started.elapsed();
    assert!(
        took < ANSWER_BOUND,
        "{} {}: took {took:?}",
        call.method,
        call.path
    );
    a
}

fn sign_out(token: &str) -> Call {
    Call::new(Format::V2, "POST", "/signout").bearer(token)
}

fn session_sign_out(token: &str, refresh: &str) -> Call {
    Call::new(Format::V2, "POST", "/signout")
        .bearer(token)
        .json(json!({"scope": "session", "refresh_token": refresh}))
}

/// 503 with `Retry-After: 1`, OAuth-style `temporarily_unavailable`.
fn assert_unavailable(r: &Answer, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.text);
    assert_eq!(r.headers["retry-after"], "1", "{what}");
    assert_eq!(r.json["error"], "temporarily_unavailable", "{what}");
}

/// 503, `Retry-After`, `failed`, one step: `step`, retryable, with `code`.
fn assert_failed_first(r: &Answer, step: &str, code: &str) {
    assert_eq!(r.status, 503, "{step}: {}", r.text);
    assert_eq!(r.headers["retry-after"], "1", "{step}");
    assert_eq!(r.json["result"], "failed", "{step}");
    let steps = r.json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{step}: nothing after the failed step");
    assert_eq!(
        steps[0],
        json!({"step": step, "ok": false, "error": code, "retryable": true})
    );
}

/// 503, `Retry-After`, `partial`: `recorded` worked, then `told` failed retryably with `code`.
fn assert_partial(r: &Answer, recorded: &str, told: &str, code: &str) {
    assert_eq!(r.status, 503, "{told}: {}", r.text);
    assert_eq!(r.headers["retry-after"], "1", "{told}");
    assert_eq!(r.json["result"], "partial", "{told}");
    assert_eq!(r.json["steps"][0]["step"], recorded);
    assert_eq!(r.json["steps"][0]["ok"], true);
    assert_eq!(
        r.json["steps"][1],
        json!({"step": told, "ok": false, "error": code, "retryable": true})
    );
}

/// 401 `invalid_token` naming why the token is revoked.
fn assert_revoked(r: &Answer, code: &str) {
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (401, Some("invalid_token")),
        "{code}: {}",
        r.text
    );
    assert!(r.text.contains(code), "{code}: {}", r.text);
}

fn assert_complete(r: &Answer, what: &str) {
    assert_eq!(
        (r.status, r.json["result"].as_str()),
        (200, Some("complete")),
        "{what}: {}",
        r.text
    );
}

fn claim(token: &str, name: &str) -> String {
    signout::tokens::peek_claims(token).unwrap()[name]
        .as_str()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------- DynamoDB

/// Every route that reads or records answers 503, retryably, and tells
/// Cognito nothing; a retry completes once the store is back. Each route
/// gets its own user, client or token: a truncated answer to a write hides
/// a write that happened.
async fn store_fails_before_cognito(dep: Dependency, kind: Kind) {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let app = f.app_through(Faulty::Store, &proxy.endpoint, &[]);
    let t = f.sign_in(&f.username).await;
    let s = f.sign_in(&f.username).await;
    let s_refresh = s.refresh.clone().unwrap();
    let r = f.sign_in(&f.username).await;
    let bob = testkit::unique("bob");
    f.create_user(&bob).await;
    let bob_token = f.sign_in(&bob).await.access;
    let code = kind.store_code();
    proxy.set(kind.fault(dep));

    // Self-service, global: the revocation check (a read, first) fails, so
    // nothing is recorded and Cognito is not told
    let a = send(&app, sign_out(&t.access)).await;
    assert_failed_first(&a, "check_revocation", code);
    assert!(
        f.cognito_accepts(&t.access).await,
        "{kind:?}: nothing half-done at Cognito"
    );
    // Self-service, one session with its refresh token: not revoked at Cognito
    let a = send(&app, session_sign_out(&s.access, &s_refresh)).await;
    assert_failed_first(&a, "check_revocation", code);
    assert!(
        f.refresh(&s_refresh).await.is_ok(),
        "{kind:?}: the refresh token still works at Cognito"
    );
    // RFC 7009 of an access token (recorded only), RFC 7662, GET /session (reads)
    let form = format!("token={}&client_id={}", r.access, f.client_id);
    let a = send(&app, Call::new(Format::V2, "POST", "/revoke").form(&form)).await;
    assert_unavailable(&a, "/revoke");
    let form = format!("token={}", t.access);
    let a = send(
        &app,
        Call::new(Format::V2, "POST", "/introspect")
            .iam()
            .form(&form),
    )
    .await;
    assert_unavailable(&a, "/introspect");
    let a = send(
        &app,
        Call::new(Format::V2, "GET", "/session").bearer(&t.access),
    )
    .await;
    assert_unavailable(&a, "/session");
    // Admin and incident routes: the record fails, Cognito is not told
    let user = format!("/admin/users/{bob}/signout");
    let a = send(&app, Call::new(Format::V2, "POST", &user).iam()).await;
    assert_failed_first(&a, "record_cutoff", code);
    assert!(f.cognito_accepts(&bob_token).await, "{kind:?}: admin");
    let client = format!("/admin/clients/{}/signout", f.secret_client_id);
    let a = send(&app, Call::new(Format::V2, "POST", &client).iam()).await;
    assert_failed_first(&a, "record_client_cutoff", code);

    // A retry once the store is back completes
    proxy.set(Fault::Pass);
    assert_complete(
        &send(&app, session_sign_out(&s.access, &s_refresh)).await,
        "session retry",
    );
    assert!(f.refresh(&s_refresh).await.is_err());
    assert_complete(&send(&app, sign_out(&t.access)).await, "retry");
    assert!(!f.cognito_accepts(&t.access).await);

    // The pool cutoff, last: a truncated answer may hide that it was written
    proxy.set(kind.fault(dep));
    let a = send(
        &app,
        Call::new(Format::V2, "POST", "/admin/signout-all").iam(),
    )
    .await;
    assert_failed_first(&a, "record_pool_cutoff", code);
    assert!(
        proxy
            .seen()
            .iter()
            .all(|t| t.starts_with("DynamoDB_20120810.")),
        "only the store goes through this proxy"
    );
}

testkit::fault_row! { store_fails_before_cognito, DynamoDb;
    throttled: signout_api__dynamodb__throttled__503_before_cognito,
    over_limit: signout_api__dynamodb__over_limit__503_before_cognito,
    error_500: signout_api__dynamodb__error_500__503_before_cognito,
    error_503: signout_api__dynamodb__error_503__503_before_cognito,
    slow: signout_api__dynamodb__slow__503_before_cognito,
    reset: signout_api__dynamodb__reset__503_before_cognito,
    truncated: signout_api__dynamodb__truncated__503_before_cognito,
}

// ---------------------------------------------------------------- Cognito

/// Sign-outs answer `partial` with the Cognito step retryable and the record
/// kept; a retry redoes only the Cognito step, and once Cognito is back
/// finishes the job there (the token, revoked by then, is answered 401).
async fn cognito_fails_after_the_record(dep: Dependency, kind: Kind) {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let app = f.app_through(Faulty::Cognito, &proxy.endpoint, &[]);
    let t = f.sign_in(&f.username).await;
    let r_refresh = f.sign_in(&f.username).await.refresh.unwrap();
    let bob = testkit::unique("bob");
    f.create_user(&bob).await;
    let s = f.sign_in(&bob).await;
    let s_refresh = s.refresh.clone().unwrap();
    let bob_sub = Sub(claim(&s.access, "sub"));
    let code = kind.cognito_code();
    proxy.set(kind.fault(dep));

    // Self-service, global: recorded, Cognito's step retryable
    let a = send(&app, sign_out(&t.access)).await;
    assert_partial(&a, "record_cutoff", "cognito_global_sign_out", code);
    // The DynamoDB record is there: downstream already rejects the token
    assert_eq!(
        verdict(&app, &t.access).await,
        Verdict::Revoked(Revoked::SignedOut)
    );
    let state = app
        .store()
        .load(
            Lookup::user(&Sub(claim(&t.access, "sub"))),
            Consistency::Strong,
        )
        .await
        .unwrap();
    assert!(state.user_not_before.is_some());
    // A retry while Cognito still fails says so again (503, the Cognito
    // step only: the token is revoked now, so nothing is recorded again)
    let a = send(&app, sign_out(&t.access)).await;
    assert_failed_first(&a, "cognito_global_sign_out", code);
    // Self-service, one session: listed, its refresh token's revocation retryable
    let a = send(&app, session_sign_out(&s.access, &s_refresh)).await;
    assert_partial(&a, "record_session", "cognito_revoke_token", code);
    assert_eq!(
        verdict(&app, &s.access).await,
        Verdict::Revoked(Revoked::Session)
    );
    // RFC 7009 of a refresh token: only Cognito can, so 503
    let form = format!("token={r_refresh}&client_id={}", f.client_id);
    let a = send(&app, Call::new(Format::V2, "POST", "/revoke").form(&form)).await;
    assert_unavailable(&a, "/revoke");
    // Admin: the user look-up comes first, so nothing more is recorded
    let bob_route = format!("/admin/users/{bob}/signout");
    let a = send(&app, Call::new(Format::V2, "POST", &bob_route).iam()).await;
    assert_failed_first(&a, "resolve_user", code);
    let bob_state = app
        .store()
        .load(Lookup::user(&bob_sub), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(bob_state.user_not_before, None, "no cutoff for bob");
    assert!(
        proxy
            .seen()
            .iter()
            .all(|t| t.starts_with("AWSCognitoIdentityProviderService.")),
        "only Cognito goes through this proxy"
    );

    // A retry once Cognito is back finishes the job at Cognito; the token
    // is answered as what it now is (401 signed_out / session_revoked)
    proxy.set(Fault::Pass);
    assert_revoked(&send(&app, sign_out(&t.access)).await, "signed_out");
    assert!(f.refresh(t.refresh.as_deref().unwrap()).await.is_err());
    assert!(!f.cognito_accepts(&t.access).await);
    let a = send(&app, session_sign_out(&s.access, &s_refresh)).await;
    assert_revoked(&a, "session_revoked");
    assert!(f.refresh(&s_refresh).await.is_err());
    let a = send(&app, Call::new(Format::V2, "POST", "/revoke").form(&form)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(f.refresh(&r_refresh).await.is_err());
    assert_complete(
        &send(&app, Call::new(Format::V2, "POST", &bob_route).iam()).await,
        "admin retry",
    );
}

testkit::fault_row! { cognito_fails_after_the_record, Cognito;
    throttled: signout_api__cognito__throttled__partial_and_retryable,
    over_limit: signout_api__cognito__over_limit__partial_and_retryable,
    error_500: signout_api__cognito__error_500__partial_and_retryable,
    error_503: signout_api__cognito__error_503__partial_and_retryable,
    slow: signout_api__cognito__slow__partial_and_retryable,
    reset: signout_api__cognito__reset__partial_and_retryable,
    truncated: signout_api__cognito__truncated__partial_and_retryable,
}

// ---------------------------------------------------------------- Secrets Manager

/// The real binary's cold start, with `APP_CLIENT_SECRETS_ARN` read through a
/// proxy that answers with `fault`.
async fn cold_start(fault: Fault) -> ColdStart {
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let secrets = format!(
        r#"{{"{}":"{}"}}"#,
        f.secret_client_id, f.secret_client_secret
    );
    let arn = testkit::faults::create_secret(&f.sdk, &secrets).await;
    let env =
        testkit::faults::cold_start_env(&f, &proxy.endpoint, &[("APP_CLIENT_SECRETS_ARN", &arn)]);
    proxy.set(fault);
    let run = tokio::task::spawn_blocking(move || {
        testkit::faults::cold_start(
            env!("CARGO_BIN_EXE_signout-api").as_ref(),
            &env,
            Duration::from_secs(30),
        )
    })
    .await
    .unwrap();
    assert!(
        proxy
            .seen()
            .iter()
            .any(|t| t == "secretsmanager.GetSecretValue"),
        "the secret was read through the proxy: {:?}",
        proxy.seen()
    );
    run
}

async fn cold_start_fails(dep: Dependency, kind: Kind) {
    cold_start(kind.fault(dep))
        .await
        .assert_failed_on(&["APP_CLIENT_SECRETS_ARN"], kind);
}

testkit::fault_row! { cold_start_fails, SecretsManager;
    throttled: signout_api__secrets_manager__throttled__cold_start_fails,
    over_limit: signout_api__secrets_manager__over_limit__cold_start_fails,
    error_500: signout_api__secrets_manager__error_500__cold_start_fails,
    error_503: signout_api__secrets_manager__error_503__cold_start_fails,
    slow: signout_api__secrets_manager__slow__cold_start_fails,
    reset: signout_api__secrets_manager__reset__cold_start_fails,
    truncated: signout_api__secrets_manager__truncated__cold_start_fails,
}

/// The control: with Secrets Manager answering, the same cold start completes.
#[allow(non_snake_case)]
#[tokio::test]
async fn signout_api__secrets_manager__control__cold_start_completes() {
    cold_start(Fault::Pass).await.assert_ready();
}
