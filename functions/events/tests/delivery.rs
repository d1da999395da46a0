//! Sign-out events end to end, with real parts only: sign-outs through the
//! real `signout-api` binary (or the shared operations the admin routes run),
//! the table's stream polled by the emulator into the real `events` binary
//! under `cargo lambda watch`, tokens signed by KMS (moto), and a relying
//! party (`tools/relying_party.py`) that validates every logout token and SET
//! with joserfc against the JWKS the sign-out API publishes.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{Value, json};
use signout::model::{ClientId, Sub};
use signout::tokens::peek_claims;
use testkit::events::{EventsStack, SSF_AUDIENCE, wait_streamed};
use testkit::request;
use testkit::{Fixture, Tokens, python, root};

const BCL: &str = "http://schemas.openid.net/event/backchannel-logout";
const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// POST /signout of the sign-out API, as the user of `t`.
fn sign_out(s: &EventsStack, t: &Tokens, body: Value) {
    let url = format!("{}/lambda-url/signout-api/signout", s.watch.endpoint);
    let auth = format!("Bearer {}", t.access);
    let r = request(
        "POST",
        &url,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    );
    assert_eq!(r.status, 200, "sign-out: {}", r.body);
}

fn claim(token: &str, name: &str) -> String {
    peek_claims(token).unwrap()[name]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The valid back-channel logout requests the relying party received.
fn logouts(received: &[Value]) -> Vec<&Value> {
    received
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/bcl/"))
        .collect()
}

fn sets(received: &[Value]) -> Vec<&Value> {
    received.iter().filter(|r| r["path"] == "/ssf").collect()
}

fn assert_all_valid(received: &[Value]) {
    for r in received {
        assert_eq!(r["valid"], true, "the relying party rejected: {r}");
    }
}

async fn app(s: &EventsStack) -> std::sync::Arc<signout::app::App> {
    let extra: Vec<(&str, &str)> = s
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.f.app(&extra).await
}

#[tokio::test]
async fn a_session_sign_out_logs_out_only_that_session_at_every_registered_client() {
    // GIVEN a user with two sessions
    let s = EventsStack::start(2).await;
    let f: &Fixture = &s.f;
    let a = f.sign_in(&f.username).await;
    let b = f.sign_in(&f.username).await;
    // WHEN one session signs out
    sign_out(
        &s,
        &a,
        json!({"scope": "session", "refresh_token": a.refresh}),
    );
    wait_streamed(&s.emu.endpoint, 1);
    // THEN each registered client's relying party gets one valid logout token
    // naming that session (sid = origin_jti) and the user, and never the other session
    let received = s.rp.received();
    assert_all_valid(&received);
    let bcl = logouts(&received);
    let auds: BTreeSet<&str> = bcl
        .iter()
        .map(|r| r["claims"]["aud"].as_str().unwrap())
        .collect();
    assert_eq!(
        auds,
        BTreeSet::from([f.client_id.as_str(), f.secret_client_id.as_str()])
    );
    assert_eq!(bcl.len(), 2);
    for r in &bcl {
        assert_eq!(r["header"]["typ"], "logout+jwt");
        assert_eq!(r["claims"]["sid"], claim(&a.access, "origin_jti"));
        assert_ne!(r["claims"]["sid"], claim(&b.access, "origin_jti"));
        assert_eq!(r["claims"]["sub"], claim(&a.access, "sub"));
        assert_eq!(r["claims"]["events"], json!({BCL: {}}));
        assert!(r["claims"].get("nonce").is_none());
    }
    // AND the SSF receiver one CAEP session-revoked SET for that session
    let set = sets(&received);
    assert_eq!(set.len(), 1);
    let subject = &set[0]["claims"]["sub_id"];
    assert_eq!(subject["session"]["id"], claim(&a.access, "origin_jti"));
    assert_eq!(set[0]["claims"]["aud"], SSF_AUDIENCE);
    assert!(set[0]["claims"]["events"][CAEP].is_object());
}

#[tokio::test]
async fn a_global_sign_out_logs_the_user_out_at_every_client_by_sub() {
    let s = EventsStack::start(2).await;
    let t = s.f.sign_in(&s.f.username).await;
    sign_out(&s, &t, json!({}));
    wait_streamed(&s.emu.endpoint, 1);
    let received = s.rp.received();
    assert_all_valid(&received);
    let bcl = logouts(&received);
    assert_eq!(bcl.len(), 2, "one per registered client");
    for r in &bcl {
        assert_eq!(r["claims"]["sub"], claim(&t.access, "sub"));
        assert!(r["claims"].get("sid").is_none());
    }
    let jtis: BTreeSet<&str> = bcl
        .iter()
        .map(|r| r["claims"]["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis.len(), 2, "a jti is never shared by two receivers");
    assert_eq!(sets(&received).len(), 1);
}

#[tokio::test]
async fn client_and_pool_cutoffs_reach_the_ssf_receiver_and_the_bus_but_send_no_logout_token() {
    let s = EventsStack::start(2).await;
    let app = app(&s).await;
    let client = ClientId(s.f.client_id.clone());
    assert!(
        signout::ops::client_sign_out(&app, &client).await.result()
            == signout::ops::Completion::Complete
    );
    assert!(signout::ops::pool_sign_out(&app).await.result() == signout::ops::Completion::Complete);
    wait_streamed(&s.emu.endpoint, 2);
    let received = s.rp.received();
    assert_all_valid(&received);
    assert!(
        logouts(&received).is_empty(),
        "§2.4: neither sub nor sid exists for them"
    );
    let subjects: Vec<&Value> = sets(&received)
        .iter()
        .map(|r| &r["claims"]["sub_id"])
        .collect();
    assert_eq!(subjects.len(), 2);
    assert!(
        subjects
            .iter()
            .any(|s| s["application"]["id"] == client.as_str())
    );
    let pool = s.f.pool_id.as_str();
    assert!(
        subjects
            .iter()
            .all(|subject| subject["tenant"]["id"] == pool)
    );
    let types: BTreeSet<String> = s
        .bus_events()
        .await
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["Client Signed Out".to_owned(), "Pool Signed Out".to_owned()])
    );
}

#[tokio::test]
async fn every_fact_is_on_the_bus_with_the_documented_detail() {
    // GIVEN a session revocation, then an admin sign-out with a block
    let s = EventsStack::start(2).await;
    let app = app(&s).await;
    let t = s.f.sign_in(&s.f.username).await;
    let sub = Sub(claim(&t.access, "sub"));
    sign_out(&s, &t, json!({"scope": "session"}));
    let admin = signout::ops::admin_sign_out(&app, &s.f.username, &sub, 600).await;
    assert!(admin.result() == signout::ops::Completion::Complete);
    wait_streamed(&s.emu.endpoint, 3);
    // THEN the bus's SQS target holds one event per fact, each detail valid
    // against its JSON Schema in docs/events
    let events = s.bus_events().await;
    let types: BTreeSet<&str> = events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["User Signed Out", "User Blocked", "Session Revoked"])
    );
    assert_eq!(events.len(), 3);
    for e in &events {
        assert_eq!(e["source"], "cognito-signout");
        assert_eq!(e["detail"]["region"], "us-east-1");
        if e["detail"]["fact"] != "session_revoked" {
            assert_eq!(e["detail"]["actor"], "admin");
        }
        validate_detail(&e["detail"]);
    }
}

/// Validates a detail against `docs/events/<fact>.schema.json` with the
/// `jsonschema` package (tools/requirements.txt).
fn validate_detail(detail: &Value) {
    let fact = detail["fact"].as_str().unwrap().replace('_', "-");
    let schema = root().join(format!("docs/events/{fact}.schema.json"));
    let out = Command::new(python())
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.loads(sys.argv[2]), json.load(open(sys.argv[1])))"])
        .arg(&schema)
        .arg(detail.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{detail} against {}: {}",
        schema.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_relying_party_answering_500_gets_retries_then_the_dlq_keeps_the_batch_for_redrive() {
    // GIVEN one relying party that fails every delivery
    let s = EventsStack::start(2).await;
    s.rp.answer(&s.f.client_id, 500);
    let t = s.f.sign_in(&s.f.username).await;
    // WHEN the user signs out
    sign_out(&s, &t, json!({}));
    let status = wait_streamed(&s.emu.endpoint, 1);
    // THEN the batch was tried 1 + 2 times, then went to the on-failure queue
    assert_eq!(status["to_dlq"], 1, "{status}");
    let failing: Vec<Value> =
        s.rp.received()
            .into_iter()
            .filter(|r| r["path"] == format!("/bcl/{}", s.f.client_id))
            .collect();
    assert_eq!(failing.len(), 3);
    let jtis: BTreeSet<&str> = failing
        .iter()
        .map(|r| r["claims"]["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis.len(), 1, "every retry repeats the jti");
    let dlq = s.dlq_messages().await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0]["DDBStreamBatchInfo"]["batchSize"], 1);
    // AND the healthy relying party got the same token each time, applied once
    let healthy: Vec<Value> =
        s.rp.received()
            .into_iter()
            .filter(|r| r["path"] == format!("/bcl/{}", s.f.secret_client_id))
            .collect();
    assert_eq!(healthy.len(), 3);
    assert_eq!(
        healthy.iter().filter(|r| r["duplicate"] == false).count(),
        1
    );
    // WHEN the relying party recovers and the queue is redriven
    s.rp.answer(&s.f.client_id, 200);
    let redriven = redrive(&s);
    assert!(
        redriven.status.success(),
        "{}",
        String::from_utf8_lossy(&redriven.stdout)
    );
    // THEN it receives the logout with the same jti, and the queue is empty
    let after: Vec<Value> =
        s.rp.received()
            .into_iter()
            .filter(|r| r["path"] == format!("/bcl/{}", s.f.client_id))
            .collect();
    assert_eq!(after.len(), 4);
    assert_eq!(after[3]["status"], 200);
    assert_eq!(after[3]["claims"]["jti"], after[0]["claims"]["jti"]);
    assert!(s.dlq_messages().await.is_empty());
}

#[tokio::test]
async fn a_function_killed_mid_batch_loses_nothing_and_the_retry_repeats_the_jti() {
    // GIVEN a relying party that does not answer, and deliveries that wait for it
    let mut s = EventsStack::start_with(1000, &[("SDK_OPERATION_TIMEOUT_MS", "60000")]).await;
    s.rp.answer(&s.f.client_id, 0);
    let t = s.f.sign_in(&s.f.username).await;
    sign_out(&s, &t, json!({}));
    // WHEN the function is killed while it delivers (the relying party holds the request)
    let bcl = format!("/bcl/{}", s.f.client_id);
    let first = loop {
        if let Some(r) = s.rp.received().into_iter().find(|r| r["path"] == bcl) {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    s.rp.answer(&s.f.client_id, 200);
    let env = s.env.clone();
    s.watch.crash_and_restart(&env);
    // THEN the mapping retries the batch: the relying party gets the same jti again,
    // nothing goes to the dead-letter queue
    let status = wait_streamed(&s.emu.endpoint, 1);
    assert_eq!(status["to_dlq"], 0, "{status}");
    let again: Vec<Value> =
        s.rp.received()
            .into_iter()
            .filter(|r| r["path"] == bcl && r["status"] == 200)
            .collect();
    assert_eq!(again.len(), 1, "delivered once after the crash");
    assert_eq!(again[0]["claims"]["jti"], first["claims"]["jti"]);
    assert!(s.dlq_messages().await.is_empty());
}

fn redrive(s: &EventsStack) -> std::process::Output {
    let queue = format!("{}/123456789012/{}", s.emu.endpoint, s.dlq);
    Command::new(python())
        .arg(root().join("tools/redrive.py"))
        .args([
            "--queue-url",
            &queue,
            "--lambda-endpoint",
            &s.watch.endpoint,
        ])
        .env("AWS_ENDPOINT_URL", &s.emu.endpoint)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("run tools/redrive.py")
}

#[tokio::test]
async fn no_token_cookie_or_secret_appears_in_any_event_or_log() {
    let s = EventsStack::start(2).await;
    let t = s.f.sign_in(&s.f.username).await;
    sign_out(
        &s,
        &t,
        json!({"scope": "session", "refresh_token": t.refresh}),
    );
    wait_streamed(&s.emu.endpoint, 1);
    let received = s.rp.received();
    assert_eq!(
        logouts(&received).len(),
        2,
        "the logout tokens were delivered"
    );
    let bus = serde_json::to_string(&s.bus_events().await).unwrap();
    let logs = s.watch.logs();
    let rp_log = std::fs::read_to_string(&s.rp.log).unwrap();
    let secrets = [
        t.access.as_str(),
        t.id.as_str(),
        t.refresh.as_deref().unwrap(),
        s.f.secret_client_secret.as_str(),
    ];
    for (name, text) in [
        ("bus", &bus),
        ("function logs", &logs),
        ("relying party log", &rp_log),
    ] {
        assert!(!text.is_empty(), "{name} is empty");
        for secret in secrets {
            assert!(!text.contains(secret), "{name} holds a secret");
        }
        // No JWS at all: not ours (logout tokens, SETs) nor Cognito's.
        assert!(
            !text.contains("eyJhbGciOi") && !text.contains("eyJ0eXAiOi"),
            "{name} holds a token"
        );
    }
}
