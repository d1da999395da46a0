//! Sign-out events, measured locally (issue 18; `make bench-events`):
//!
//! * latency: from a `POST /signout` (global) answered 200 to the relying
//!   party's verified receipt of the logout token, one sign-out at a time;
//! * throughput: facts written to the table as fast as the store takes them,
//!   until the relying party verified the last one: what one function instance
//!   delivers (each fact: two logout tokens, one CAEP SET, one EventBridge event).
//!
//! Everything is local: the emulator's stream poller stands in for Lambda's
//! event source mapping (it polls every 50 ms when idle; AWS polls a shard
//! about four times a second), moto for DynamoDB, KMS and EventBridge. Prints
//! a Markdown table.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use signout::model::{EpochMs, Source, Sub};
use testkit::events::EventsStack;
use testkit::request;

const SIGN_OUTS: usize = 30;
const FACTS: usize = 300;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Waits until the relying party verified `count` logout tokens for `path`; their receipts.
fn receipts(s: &EventsStack, path: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let got: Vec<Value> =
            s.rp.received()
                .into_iter()
                .filter(|r| r["path"] == path && r["valid"] == true)
                .collect();
        if got.len() >= count {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {count} arrived",
            got.len()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let s = EventsStack::start(2).await;
    let path = format!("/bcl/{}", s.f.client_id);
    let url = format!("{}/lambda-url/signout-api/signout", s.watch.endpoint);

    // Latency: one global sign-out at a time, each of its own user.
    let mut latencies = Vec::with_capacity(SIGN_OUTS);
    for i in 0..SIGN_OUTS {
        let user = format!("bench-{i}-{}", s.f.username);
        s.f.create_user(&user).await;
        let t = s.f.sign_in(&user).await;
        let auth = format!("Bearer {}", t.access);
        let a = request("POST", &url, &[("Authorization", &auth)], "");
        assert_eq!(a.status, 200, "{}", a.body);
        let acknowledged = now();
        let got = receipts(&s, &path, i + 1);
        latencies.push((got[i]["received_at"].as_f64().unwrap() - acknowledged) * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);

    // Throughput: FACTS user cutoffs written back to back.
    let extra: Vec<(&str, &str)> = s
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = s.f.app(&extra).await;
    let before = receipts(&s, &path, SIGN_OUTS).len();
    let started = now();
    for i in 0..FACTS {
        app.store()
            .raise_user_cutoff(
                &Sub(format!("throughput-{i}")),
                EpochMs::now(),
                Source::Admin,
            )
            .await
            .expect("write");
    }
    let written = now() - started;
    let got = receipts(&s, &path, before + FACTS);
    let last = got
        .iter()
        .map(|r| r["received_at"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let elapsed = last - started;

    let report = json!({
        "sign_outs": SIGN_OUTS,
        "latency_ms": {"median": percentile(&latencies, 0.5), "p90": percentile(&latencies, 0.9), "worst": latencies[latencies.len() - 1], "best": latencies[0]},
        "facts": FACTS,
        "writes_seconds": written,
        "delivered_seconds": elapsed,
        "facts_per_second": FACTS as f64 / elapsed,
    });
    eprintln!("{report:#}");
    println!("| metric | value |");
    println!("| --- | --- |");
    println!(
        "| acknowledged sign-out → verified receipt, median of {SIGN_OUTS} | {:.0} ms |",
        percentile(&latencies, 0.5)
    );
    println!(
        "| the same, worst of {SIGN_OUTS} (p90 {:.0} ms, best {:.0} ms) | {:.0} ms |",
        percentile(&latencies, 0.9),
        latencies[0],
        latencies[latencies.len() - 1]
    );
    println!(
        "| facts one function instance delivers ({FACTS} written in {written:.2} s; each: 2 logout tokens, 1 SET, 1 EventBridge event) | {:.0} facts/s ({:.0} deliveries/s) |",
        FACTS as f64 / elapsed,
        4.0 * FACTS as f64 / elapsed
    );
}
