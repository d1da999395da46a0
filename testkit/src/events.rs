//! Sign-out events end to end: the emulator polling the table's stream into
//! the real `events` binary under `cargo lambda watch`, a KMS signing key,
//! an EventBridge bus whose rule targets an SQS queue, and a relying party on
//! loopback (`tools/relying_party.py`, joserfc) that validates what arrives
//! against the JWKS the real `signout-api` binary publishes.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb as ddb;
use aws_sdk_eventbridge as eventbridge;
use aws_sdk_kms as kms;
use aws_sdk_sqs as sqs;
use serde_json::{Value, json};

use crate::emulator::{Emulator, free_port, python, root, start_emulator_env};
use crate::http::{http_get, http_post};
use crate::{Fixture, LambdaWatch, unique};

/// The `aud` the relying party expects of CAEP SETs.
pub const SSF_AUDIENCE: &str = "https://ssf.rp.test";

/// Turns on the table's stream, as the template does (`NEW_AND_OLD_IMAGES`).
/// A new RSA 2048 sign/verify key at the emulator's KMS, as the template
/// creates for the events: its id.
pub async fn signing_key(sdk: &aws_config::SdkConfig) -> String {
    let key = kms::Client::new(sdk)
        .create_key()
        .key_spec(kms::types::KeySpec::Rsa2048)
        .key_usage(kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("create the events' signing key");
    key.key_metadata().unwrap().key_id().to_owned()
}

pub async fn enable_stream(ddb: &ddb::Client, table: &str) {
    ddb.update_table()
        .table_name(table)
        .stream_specification(
            ddb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(ddb::types::StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable the table's stream");
}

/// The stream poller's counters (`invocations`, `delivered`, `retried`, `to_dlq`, `behind`).
pub fn stream_status(endpoint: &str) -> Value {
    let (status, body) = http_get(&format!("{endpoint}/_streams"));
    assert_eq!(status, 200, "stream status: {body}");
    serde_json::from_str(&body).expect("stream status is JSON")
}

/// Waits until `records` stream records were handled (done or sent to the
/// on-failure queue) and none is in flight; the counters then.
pub fn wait_streamed(endpoint: &str, records: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let s = stream_status(endpoint);
        let handled = s["delivered"].as_u64().unwrap() + s["to_dlq"].as_u64().unwrap();
        if handled >= records && s["behind"] == 0 {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "the stream was never drained: {s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The relying party process; killed when dropped.
pub struct RelyingParty {
    pub url: String,
    child: Child,
    _stdin: ChildStdin,
    pub log: std::path::PathBuf,
}

impl RelyingParty {
    pub fn start(jwks_url: &str, issuer: &str) -> RelyingParty {
        let log = std::env::temp_dir()
            .join(unique("relying-party-"))
            .with_extension("log");
        let mut child = Command::new(python())
            .arg(root().join("tools/relying_party.py"))
            .args(["--jwks-url", jwks_url, "--issuer", issuer])
            .args(["--ssf-audience", SSF_AUDIENCE, "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start tools/relying_party.py");
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("relying party said {line:?}"))
            .to_owned();
        // Its log lines, kept for the tests that read them.
        let log_out = log.with_extension("out");
        let mut sink = std::fs::File::create(&log_out).unwrap();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut sink);
        });
        RelyingParty {
            url,
            child,
            _stdin: stdin,
            log: log_out,
        }
    }

    /// The back-channel logout URI of `client_id`.
    pub fn bcl_uri(&self, client_id: &str) -> String {
        format!("{}/bcl/{client_id}", self.url)
    }

    /// Every request received, in order (see tools/relying_party.py).
    pub fn received(&self) -> Vec<Value> {
        let (status, body) = http_get(&format!("{}/_received", self.url));
        assert_eq!(status, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// Makes the relying party answer `status` to valid tokens for `client_id`.
    pub fn answer(&self, client_id: &str, status: u16) {
        let (s, _) = http_post(
            &format!("{}/_status/{client_id}", self.url),
            &status.to_string(),
            Duration::from_secs(5),
        );
        assert_eq!(s, 204);
    }
}

impl Drop for RelyingParty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything running for the events tests.
pub struct EventsStack {
    pub emu: Emulator,
    pub f: Fixture,
    pub rp: RelyingParty,
    pub watch: LambdaWatch,
    pub env: Vec<(String, String)>,
    pub sqs: sqs::Client,
    /// The queue the bus's rule targets.
    pub bus_queue: String,
    /// The on-failure queue of the stream poller.
    pub dlq: String,
}

impl EventsStack {
    /// Starts it all; the stream poller retries a failed batch `max_retries` times.
    pub async fn start(max_retries: u32) -> EventsStack {
        Self::start_with(max_retries, &[]).await
    }

    /// [`EventsStack::start`] with `extra` settings for the functions.
    pub async fn start_with(max_retries: u32, extra: &[(&str, &str)]) -> EventsStack {
        let port = free_port();
        let lambda = format!("http://127.0.0.1:{port}");
        let dlq = unique("events-dlq-");
        let retries = max_retries.to_string();
        let emu = start_emulator_env(&[
            ("EMULATOR_LAMBDA_ENDPOINT", &lambda),
            ("EMULATOR_STREAM_FUNCTION", "events"),
            ("EMULATOR_STREAM_DLQ", &dlq),
            ("EMULATOR_STREAM_MAX_RETRIES", &retries),
        ]);
        let f = Fixture::on(&emu.endpoint).await;
        enable_stream(&f.ddb, &f.table).await;
        let key_id = signing_key(&f.sdk).await;
        let sqs = sqs::Client::new(&f.sdk);
        let bus = unique("signout-bus-");
        let bus_queue = bus_to_queue(&f.sdk, &sqs, &bus).await;
        let issuer = format!("{lambda}/lambda-url/signout-api");
        let rp = RelyingParty::start(&signout::events::metadata::jwks_uri(&issuer), &issuer);
        let registrations = json!({
            f.client_id.clone(): {"backchannel_logout_uri": rp.bcl_uri(&f.client_id)},
            f.secret_client_id.clone(): {"backchannel_logout_uri": rp.bcl_uri(&f.secret_client_id)},
        });
        let receivers = json!([{"endpoint_url": format!("{}/ssf", rp.url), "aud": SSF_AUDIENCE}]);
        let (registrations, receivers) = (registrations.to_string(), receivers.to_string());
        let mut settings = vec![
            ("EVENTS_ISSUER", issuer.as_str()),
            ("EVENTS_SIGNING_KEYS", key_id.as_str()),
            ("EVENT_BUS_NAME", bus.as_str()),
            ("BACKCHANNEL_LOGOUT", registrations.as_str()),
            ("SSF_RECEIVERS", receivers.as_str()),
        ];
        settings.extend_from_slice(extra);
        let env = f.function_env(&settings);
        let watch = LambdaWatch::start(port, &env);
        // The first call of each function builds it: make both calls here,
        // so no stream batch waits on a build (and the published keys load).
        let (status, body) = watch.invoke("events", r#"{"Records":[]}"#);
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"batchItemFailures":[]}"#)
        );
        let jwks = crate::request(
            "GET",
            &signout::events::metadata::jwks_uri(&issuer),
            &[],
            "",
        );
        assert_eq!(jwks.status, 200, "the published keys: {}", jwks.body);
        EventsStack {
            emu,
            f,
            rp,
            watch,
            env,
            sqs,
            bus_queue,
            dlq,
        }
    }

    /// The events on the bus, as its rule's SQS target received them.
    pub async fn bus_events(&self) -> Vec<Value> {
        drain(&self.sqs, &self.bus_queue).await
    }

    /// The on-failure queue's messages (up to 10), left in the queue for a
    /// redrive; none when the queue was never created.
    pub async fn dlq_messages(&self) -> Vec<Value> {
        let Ok(q) = self.sqs.get_queue_url().queue_name(&self.dlq).send().await else {
            return Vec::new();
        };
        let got = self
            .sqs
            .receive_message()
            .queue_url(q.queue_url().unwrap())
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        got.messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).expect("a JSON message"))
            .collect()
    }
}

/// A bus, a rule for every sign-out event on it, and an SQS queue as its target.
async fn bus_to_queue(sdk: &aws_config::SdkConfig, sqs: &sqs::Client, bus: &str) -> String {
    let eb = eventbridge::Client::new(sdk);
    eb.create_event_bus()
        .name(bus)
        .send()
        .await
        .expect("create bus");
    let queue = sqs
        .create_queue()
        .queue_name(format!("{bus}-target"))
        .send()
        .await
        .expect("create the target queue");
    let queue_url = queue.queue_url().unwrap().to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&sqs::types::QueueAttributeName::QueueArn]
        .clone();
    eb.put_rule()
        .name("all-sign-outs")
        .event_bus_name(bus)
        .event_pattern(json!({"source": [signout::events::bus::SOURCE]}).to_string())
        .send()
        .await
        .expect("put rule");
    eb.put_targets()
        .rule("all-sign-outs")
        .event_bus_name(bus)
        .targets(
            eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("put target");
    queue_url
}

/// Every message of a queue, parsed, deleted as read.
async fn drain(sqs: &sqs::Client, queue_url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            out.push(serde_json::from_str(m.body().unwrap()).expect("a JSON message"));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}
