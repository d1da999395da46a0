//! CloudWatch metrics, written to stdout in Embedded Metric Format (EMF).
//!
//! The domain code counts through the `metrics` facade with the functions
//! below (one place for every name, so the template's alarms and dashboard,
//! docs/ARCHITECTURE.md "Metrics", and the code agree). A function's `main`
//! calls [`init`] once, which installs `metrics_cloudwatch_embedded`'s
//! recorder with the namespace (`METRICS_NAMESPACE`, default
//! [`DEFAULT_NAMESPACE`]) and the dimension `Function`; [`measured`] then
//! flushes what one invocation counted before its answer goes back, tagged
//! with the invocation's `requestId`. Without [`init`] (tests calling a
//! handler directly, the demo) every count is a no-op.
//!
//! The collector writes one EMF document per distinct dimension set: the
//! alarmed metrics (`FailOpenAllows`, `StoreErrors`, `PartialSignOuts`) carry
//! no label, so their document has exactly the set `[Function]` the alarms
//! name. Counters never reset across invocations, only their deltas are written.

use std::future::Future;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use lambda_runtime::LambdaEvent;
use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::ops::{Completion, Report, SignOutKind};

/// The namespace when `METRICS_NAMESPACE` is unset (the template's default).
pub const DEFAULT_NAMESPACE: &str = "CognitoSignout";

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the EMF recorder for `function` (the binary's name: `authorizer`,
/// `pre-token`, `signout-api`, `logout`) and counts the cold start. Metrics
/// that cannot be installed are logged and skipped: they never stop a function.
pub fn init(function: &'static str) {
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    match Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension("Function", function)
        .init()
    {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
            describe();
            counter!("ColdStarts").increment(1);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics disabled: the recorder could not be installed")
        }
    }
}

/// Handles one invocation with `handle`, then writes what it counted before
/// the answer is returned: `run(service_fn(|e| metrics::measured(e, |e| f.handle(e))))`.
pub async fn measured<P, T, F>(event: LambdaEvent<P>, handle: impl FnOnce(LambdaEvent<P>) -> F) -> T
where
    F: Future<Output = T>,
{
    let request_id = event.context.request_id.clone();
    // Boxed: the handler's future nested in this one otherwise overflows
    // rustc's layout query depth in the authorizer's `main`.
    flushed(request_id, Box::pin(handle(event))).await
}

/// Runs one invocation's `work`, then writes what it counted (tagged with
/// `request_id`).
pub async fn flushed<T>(request_id: String, work: impl Future<Output = T>) -> T {
    let out = work.await;
    flush(request_id);
    out
}

fn flush(request_id: String) {
    let Some(collector) = COLLECTOR.get() else {
        return;
    };
    collector.set_property("requestId", request_id);
    // One write per document: the lines stay whole between log lines.
    let mut buf = Vec::with_capacity(1024);
    let written = collector
        .flush(&mut buf)
        .and_then(|()| std::io::stdout().lock().write_all(&buf));
    if let Err(e) = written {
        tracing::warn!(error = %e, "metrics not written");
    }
}

fn describe() {
    for name in [
        "ColdStarts",
        "Decisions",
        "FailOpenAllows",
        "StoreErrors",
        "UnstampedTokens",
        "TriggerOutcomes",
        "SignOuts",
        "PartialSignOuts",
        "SignOutStepFailures",
        "JwksFetches",
        "EventsAnnounced",
        "EventDeliveryFailures",
    ] {
        describe_counter!(name, Unit::Count, "");
    }
    describe_histogram!("TriggerLatency", Unit::Milliseconds, "");
}

/// One authorizer decision: `outcome` `allowed`, `unauthorized` or
/// `forbidden`; `reason` the code answered (`active` for an allow, `fail_open`
/// for an allow without a revocation check).
pub fn decision(outcome: &'static str, reason: &'static str) {
    counter!("Decisions", "Outcome" => outcome, "Reason" => reason).increment(1);
}

/// A request allowed without reading the table (`AUTHORIZER_FAIL_OPEN=true`).
pub fn fail_open_allow() {
    counter!("FailOpenAllows").increment(1);
}

/// A read or write of the revocation table failed (or ran out of time).
pub fn store_error() {
    counter!("StoreErrors").increment(1);
}

/// A verified token without the trigger's stamp (judged by `iat`, see
/// `check::minted_before`): many mean the trigger is not attached.
pub fn unstamped_token() {
    counter!("UnstampedTokens").increment(1);
}

/// One Pre Token Generation event: `outcome` `stamped`, `unstamped` (the
/// store failed), `blocked` or `passed_through`, and how long it took.
pub fn trigger(outcome: &'static str, took: Duration) {
    counter!("TriggerOutcomes", "Outcome" => outcome).increment(1);
    histogram!("TriggerLatency").record(took.as_secs_f64() * 1000.0);
}

/// One sign-out of `kind` and how it ended; a count per failed step.
pub fn sign_out(kind: SignOutKind, report: &Report) {
    let result = report.result();
    counter!("SignOuts", "Kind" => kind.code(), "Result" => result.code()).increment(1);
    if result == Completion::Partial {
        counter!("PartialSignOuts").increment(1);
    }
    for step in report.steps.iter().filter(|s| !s.ok) {
        counter!("SignOutStepFailures", "Kind" => kind.code(), "Step" => step.step.code())
            .increment(1);
    }
}

/// One JWKS fetch, `ok` or not.
pub fn jwks_fetch(ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    counter!("JwksFetches", "Result" => result).increment(1);
}

/// One recorded fact announced (events function): `fact` its kind
/// (`user_cutoff`, `session_revoked`, ...).
pub fn event_announced(fact: &'static str) {
    counter!("EventsAnnounced", "Fact" => fact).increment(1);
}

/// One delivery of a fact that failed (it is retried with its record):
/// `code` the error's (`receiver_status`, `kms_unavailable`, `bus_not_accepted`, ...).
pub fn event_delivery_failed(code: &'static str) {
    counter!("EventDeliveryFailures", "Code" => code).increment(1);
}
