//! Log output as Lambda's advanced logging controls expect it.
//!
//! * Level: `AWS_LAMBDA_LOG_LEVEL` (what the function's `ApplicationLogLevel`
//!   sets), with `RUST_LOG` as the override when it is set; `info` otherwise.
//!   Either goes through [`log_filter`], so the SDK and HTTP stacks stay capped.
//! * Format: `AWS_LAMBDA_LOG_FORMAT` `Text` gives plain lines; anything else
//!   (and `JSON`, Lambda's default for these functions) one JSON object per line.
//! * Every JSON line has an RFC 3339 `timestamp` and an upper-case `level`: Lambda
//!   treats a JSON line without a timestamp as INFO, so with `ApplicationLogLevel`
//!   WARN it would drop everything, errors included.
//! * The runtime's invoke span fields (`requestId`, `xrayTraceId`) sit at the top
//!   level of every line logged during an invocation, where log queries find them.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::app::log_filter;

/// What the environment asks of the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// `RUST_LOG` syntax, before [`log_filter`] caps it.
    pub directives: String,
    pub json: bool,
}

impl LogSettings {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let set = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let lambda_level = set("AWS_LAMBDA_LOG_LEVEL").and_then(|l| {
            match l.to_ascii_uppercase().as_str() {
                "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" => Some(l.to_ascii_lowercase()),
                // Lambda's FATAL has no tracing level: errors are the closest.
                "FATAL" => Some("error".to_owned()),
                _ => None,
            }
        });
        LogSettings {
            directives: set("RUST_LOG")
                .or(lambda_level)
                .unwrap_or_else(|| "info".to_owned()),
            json: !set("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("text")),
        }
    }

    /// The filter these settings give, capped as [`log_filter`] caps it.
    pub fn filter(&self) -> EnvFilter {
        log_filter(&self.directives)
    }
}

/// A JSON-lines subscriber writing to `writer`, as the functions log.
pub fn json_subscriber<W>(
    settings: &LogSettings,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let mut layer = json_subscriber::JsonLayer::new(writer);
    layer
        .with_timer("timestamp", SystemTime)
        .with_level("level")
        .with_top_level_flattened_span_list()
        .with_flattened_event();
    tracing_subscriber::registry()
        .with(settings.filter())
        .with(layer)
}

/// Installs the functions' logging (and X-Ray subsegments, [`crate::xray`]),
/// once per process. No code path logs a token, cookie, secret or
/// `Authorization` header.
pub fn init_tracing() {
    crate::xray::init();
    let settings = LogSettings::from_env();
    if settings.json {
        let _ = json_subscriber(&settings, std::io::stdout).try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(settings.filter())
            .with_target(false)
            .with_ansi(false)
            .try_init();
    }
}

/// Ends a cold start that cannot go on (configuration, secrets): one error
/// record naming every problem, then exit status 1, which Lambda reports as
/// the init error. Nothing else is printed: a multi-line message on stderr
/// would reach the logs as lines of text without level or time.
pub fn cold_start_failed(problems: crate::config::ConfigError) -> ! {
    let one_line: Vec<String> = problems.problems.iter().map(|p| p.to_string()).collect();
    tracing::error!(problems = %one_line.join("; "), "cold start failed");
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> LogSettings {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        LogSettings::from_lookup(move |k| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The JSON lines the functions' subscriber writes for a few events inside
    /// an invoke span shaped as the Lambda runtime's.
    fn logged(s: &LogSettings) -> Vec<Value> {
        let out = Lines::default();
        let sink = out.clone();
        let subscriber = json_subscriber(s, move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("Lambda runtime invoke", requestId = "req-1").in_scope(|| {
                tracing::info!(code = "x", "an info line");
                tracing::warn!(code = "store_unavailable", "a warning");
                tracing::error!("an error");
            });
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
            .collect()
    }

    #[test]
    fn lambda_log_level_comes_first_and_rust_log_overrides_it() {
        assert_eq!(settings(&[]).directives, "info");
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]).directives,
            "warn"
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).directives,
            "error"
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")]).directives,
            "debug"
        );
        assert!(settings(&[]).json);
        assert!(!settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).json);
    }

    #[test]
    fn at_warn_errors_and_warnings_are_logged_and_info_is_not() {
        let lines = logged(&settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]));
        let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["WARN", "ERROR"]);
    }

    #[test]
    fn every_json_line_has_an_rfc3339_timestamp_and_the_request_id_at_the_top() {
        let lines = logged(&settings(&[]));
        assert_eq!(lines.len(), 3);
        for l in &lines {
            let ts = l["timestamp"].as_str().expect("timestamp");
            // 2026-12-01T05:20:31.123456Z
            let (date, time) = ts.split_once('T').expect("RFC 3339 date and time");
            assert_eq!(date.len(), 10, "{ts}");
            assert!(time.ends_with('Z') && time.len() >= 9, "{ts}");
            assert_eq!(l["requestId"], "req-1", "{l}");
            assert!(l["message"].is_string(), "{l}");
        }
        assert_eq!(lines[1]["code"], "store_unavailable");
    }
}
