//! A crash between the two steps of a sign-out (SECURITY.md, "Faults on
//! every path"): the real `signout-api` binary, under `cargo lambda watch`,
//! records the cutoff, calls Cognito, and is killed (SIGKILL, the whole
//! process group) while Cognito has not answered. Nothing recorded is lost,
//! and the client's retry against a fresh process finishes the job.

mod common;

use std::time::{Duration, Instant};

use common::{Call, Format};
use serde_json::Value;
use signout::model::Sub;
use signout::store::{Consistency, Lookup};
use signout::tokens::Expect;
use signout::{Revoked, Verdict};
use testkit::{Fault, FaultProxy, Fixture, LambdaWatch, free_port, http_post};

const GLOBAL_SIGN_OUT: &str = "AWSCognitoIdentityProviderService.GlobalSignOut";

/// The real function, with Cognito behind `proxy` and a generous SDK timeout
/// (the call must still be pending when the process dies).
fn start(f: &Fixture, proxy: &FaultProxy) -> LambdaWatch {
    let mut env = f.function_env(&[("SDK_OPERATION_TIMEOUT_MS", "30000")]);
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER");
    env.push((
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER".into(),
        proxy.endpoint.clone(),
    ));
    let watch = LambdaWatch::start(free_port(), &env);
    // cargo lambda watch builds and starts the function on its first invoke
    let warm = Call::new(Format::V2, "GET", "/session").event().to_string();
    let (status, body) = watch.invoke("signout-api", &warm);
    assert_eq!(status, 200, "warm-up: {body}");
    watch
}

fn is_the_function(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split('\0').next().unwrap_or("").ends_with("signout-api"))
}

/// Running: not gone, not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s[s.rfind(')')? + 1..].trim_start().to_owned();
            Some(!after.starts_with('Z') && !after.starts_with('X'))
        })
        .unwrap_or(false)
}

/// The API Gateway answer inside a Lambda invoke answer: (status, JSON body).
fn proxy_answer(body: &str) -> (u64, Value) {
    let answer: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
    let inner = answer["body"].as_str().unwrap_or_default();
    (
        answer["statusCode"].as_u64().unwrap_or_default(),
        serde_json::from_str(inner).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_record_and_cognito_a_retry_on_a_fresh_process_finishes_and_nothing_is_lost()
 {
    // GIVEN the function running, Cognito holding every answer for a minute
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let proxy = FaultProxy::start(&f.endpoint);
    let watch = start(&f, &proxy);
    let t = f.sign_in(&f.username).await;
    let sub = Sub(testkit::sub_of(&t.access));
    let event = Call::new(Format::V2, "POST", "/signout")
        .bearer(&t.access)
        .event()
        .to_string();
    proxy.set(Fault::Delay(Duration::from_secs(60)));

    // WHEN a client signs out, and the process dies once the cutoff is
    // recorded and Cognito's GlobalSignOut is pending
    let url = format!(
        "{}/2015-03-31/functions/signout-api/invocations",
        watch.endpoint
    );
    let (client_url, client_event) = (url.clone(), event.clone());
    let client = std::thread::spawn(move || {
        std::panic::catch_unwind(|| http_post(&client_url, &client_event, Duration::from_secs(120)))
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let recorded = loop {
        let state = app
            .store()
            .load(Lookup::user(&sub), Consistency::Strong)
            .await
            .unwrap();
        if let Some(cutoff) = state.user_not_before
            && proxy.seen().iter().any(|t| t == GLOBAL_SIGN_OUT)
        {
            break cutoff;
        }
        assert!(Instant::now() < deadline, "never reached Cognito");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let running = watch.descendants();
    assert!(
        running.iter().any(|pid| is_the_function(*pid)),
        "the function runs under the watch: {running:?}"
    );
    let killed = watch.kill();
    std::thread::sleep(Duration::from_millis(200));
    for pid in &killed {
        assert!(!alive(*pid), "{pid} survived");
    }

    // THEN the client got no answer
    let answered = client.join().unwrap();
    if let Ok((status, body)) = &answered {
        assert!(
            *status == 0 || !body.contains("complete"),
            "an answer from a killed process: {status} {body}"
        );
    }
    // AND what was recorded stays: the cutoff, and the check refusing the token,
    // while Cognito, never told, still accepts it
    let claims = testkit::claims_as(&app, &t.access, Expect::ACCESS).await;
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
    assert!(
        f.cognito_accepts(&t.access).await,
        "Cognito's step never ran"
    );

    // WHEN the client retries against a fresh process, Cognito answering again
    proxy.set(Fault::Pass);
    let fresh = start(&f, &proxy);
    let calls_before = proxy
        .seen()
        .iter()
        .filter(|t| *t == GLOBAL_SIGN_OUT)
        .count();
    let (status, body) = fresh.invoke("signout-api", &event);
    assert_eq!(status, 200, "{body}");

    // THEN the retry finishes the job at Cognito (the token, revoked by the
    // record that survived, is answered as what it is: 401 signed_out)
    let (code, answer) = proxy_answer(&body);
    assert_eq!(
        (code, answer["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("signed_out"),
        "{body}"
    );
    let calls = proxy
        .seen()
        .iter()
        .filter(|t| *t == GLOBAL_SIGN_OUT)
        .count();
    assert_eq!(calls, calls_before + 1, "GlobalSignOut redone once");
    assert!(!f.cognito_accepts(&t.access).await, "Cognito signed out");
    assert!(f.refresh(t.refresh.as_deref().unwrap()).await.is_err());
    // AND nothing recorded was lost or moved: the same cutoff, the token refused
    let state = app
        .store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.user_not_before, Some(recorded));
    assert_eq!(
        app.checker.check(&claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
}
