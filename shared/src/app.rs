//! What a cold start reads and builds: the configuration (or every problem
//! with it), the SDK configuration, and the sign-out API's and logout
//! function's bundle of clients, and the events function's [`announcer`].
//! The authorizer and the trigger compose only
//! the parts they use (`Store::from_sdk`, `Checker::from_config`,
//! `Verifier::from_config`, `Trigger::from_config`) in their `main.rs`.

use std::sync::Arc;

use aws_config::SdkConfig;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::check::Checker;
use crate::cognito::Cognito;
use crate::config::{Config, ConfigError};
use crate::events::kms::KeySet;
use crate::events::{Announcer, EventsSettings};
use crate::store::Store;
use crate::tokens::Verifier;
use crate::trigger::Trigger;

/// The first step of every cold start: the settings (or every problem with
/// them), then an SDK configuration with their Region and operation timeout.
/// Invalid settings build no SDK configuration: without `AWS_REGION` the SDK
/// would go looking for a Region (IMDS) and log its failures.
pub async fn cold_start() -> Result<(Config, SdkConfig), ConfigError> {
    let config = Config::from_env()?;
    let sdk = crate::aws::sdk_config(config.sdk_operation_timeout).await;
    Ok((config, sdk))
}

/// Everything the sign-out API (and the logout function) uses, shared
/// across invocations.
pub struct App {
    pub config: Config,
    pub verifier: Arc<Verifier>,
    pub checker: Arc<Checker>,
    pub cognito: Cognito,
    /// The sign-out events' signing keys (`EVENTS_SIGNING_KEYS`), which the
    /// sign-out API publishes; read from KMS on first use.
    pub event_keys: Option<Arc<KeySet>>,
}

impl App {
    /// Reads the environment and builds the clients; every problem at once.
    pub async fn from_env() -> Result<Arc<App>, ConfigError> {
        let (config, sdk) = cold_start().await?;
        Ok(Arc::new(App::from_config(config, &sdk).await?))
    }

    /// Builds the clients of a validated configuration, reading the client
    /// secrets (Secrets Manager or the environment).
    pub async fn from_config(config: Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        let cognito = Cognito::from_config(sdk, &config).await?;
        let store = Store::from_sdk(sdk, &config);
        Ok(App::assemble(config, store, cognito).with_event_keys(sdk))
    }

    /// Builds from a validated configuration, an SDK configuration and the
    /// client secrets already read (tests and tools).
    pub fn build(
        config: Config,
        sdk: &SdkConfig,
        secrets: std::collections::HashMap<crate::ClientId, String>,
    ) -> App {
        let idp = crate::cognito::traced_client(sdk);
        let cognito = Cognito::new(idp, config.user_pool_id.clone(), secrets);
        let store = Store::from_sdk(sdk, &config);
        App::assemble(config, store, cognito).with_event_keys(sdk)
    }

    /// The bundle of the given store and Cognito client.
    pub fn assemble(config: Config, store: Store, cognito: Cognito) -> App {
        App {
            verifier: Arc::new(Verifier::from_config(&config)),
            checker: Arc::new(Checker::from_config(store, &config)),
            cognito,
            event_keys: None,
            config,
        }
    }

    /// The configured signing keys, through KMS of `sdk`.
    pub fn with_event_keys(mut self, sdk: &SdkConfig) -> Self {
        self.event_keys = self
            .config
            .events_signing
            .as_ref()
            .map(|s| Arc::new(KeySet::new(crate::xray::kms(sdk), s.keys.clone())));
        self
    }

    pub fn store(&self) -> &Store {
        self.checker.store()
    }

    /// The trigger over this bundle's store (tests call the trigger's
    /// handler with the same store the API writes).
    pub fn trigger(&self) -> Trigger {
        Trigger::from_config(self.store().clone(), &self.config)
    }
}

/// The events function's cold start: the shared settings and its own
/// (receivers, signing keys, bus), every problem of both at once.
pub async fn announcer() -> Result<Announcer, ConfigError> {
    let config = Config::from_env();
    // The registrations name app clients: check them against APP_CLIENT_IDS
    // even when another shared setting is wrong, so one start reports all.
    let clients = match &config {
        Ok(c) => c.app_client_ids.clone(),
        Err(_) => std::env::var("APP_CLIENT_IDS")
            .unwrap_or_default()
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect(),
    };
    // Without a valid shared configuration, whether keys are set is unknown:
    // assume so, rather than report a problem that may not exist.
    let signs = config.as_ref().map_or(true, |c| c.events_signing.is_some());
    let settings = EventsSettings::from_env(&clients, signs);
    let (config, settings) = ConfigError::both(config, settings)?;
    let sdk = crate::aws::sdk_config(config.sdk_operation_timeout).await;
    Ok(Announcer::from_config(&sdk, &config, settings))
}

/// Crates whose DEBUG and TRACE output describes wire traffic, capped at
/// [`LOG_CAP`] whatever `RUST_LOG` says (prefixes, as `EnvFilter` matches
/// targets): the AWS SDK (`aws_smithy_runtime`, `aws_sigv4`, `aws_sdk_*`,
/// ...), the HTTP and TLS stacks under it (which `outbound` shares), and the
/// Lambda runtime.
///
/// Why: at TRACE the SDK logs every request and response it handles. It
/// redacts the bodies and headers its models mark sensitive, but one
/// environment variable (`LOG_SENSITIVE_BODIES=true`, which its own log line
/// suggests to whoever debugs) turns that off, and then `GetSecretValue`
/// (our client secrets, at cold start) and any token-bearing response are
/// printed whole. Its DEBUG output carries raw error responses, whose
/// messages are the service's to word. The HTTP stacks' DEBUG/TRACE describe
/// connections and frames. None of it helps an operator of these functions
/// more than a leaked secret hurts; `tests/no_secrets_in_logs.rs` (sign-out
/// API) proves the cap holds at TRACE with `LOG_SENSITIVE_BODIES=true`.
pub const LOG_CAPPED: &[&str] = &[
    "aws_",
    "hyper",
    "h2",
    "rustls",
    "tokio_rustls",
    "tower",
    "lambda_runtime",
    "lambda_http",
];

/// The most verbose level a [`LOG_CAPPED`] crate may log at.
pub const LOG_CAP: LevelFilter = LevelFilter::INFO;

/// The log filter for `directives` (the syntax of `RUST_LOG`; `info` when
/// blank or invalid), with [`LOG_CAPPED`] crates held at [`LOG_CAP`] or
/// below, however the directives try to lift them:
///
/// * a directive naming a capped crate or one of its modules
///   (`aws_smithy_runtime::client=trace`) is lowered to the cap;
/// * a less specific one (`trace`, `aws=trace`) is overridden by a cap
///   directive per crate, at the lower of the two levels (`RUST_LOG=warn`
///   keeps the SDK at WARN);
/// * a span or field directive (`[invoke]=trace`) enables every target
///   inside its spans, so it is lowered to the cap too.
pub fn log_filter(directives: &str) -> EnvFilter {
    let directives = match directives.trim() {
        "" => "info",
        d if EnvFilter::try_new(d).is_err() => "info",
        d => d,
    };
    let mut kept: Vec<String> = Vec::new();
    // (target, level) of every directive without span or field filters.
    let mut statics: Vec<(String, LevelFilter)> = Vec::new();
    for d in directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let Some((selector, level)) = split_directive(d) else {
            return log_filter("info");
        };
        let target = selector.split('[').next().unwrap_or_default().trim();
        let capped = selector.contains('[') || LOG_CAPPED.iter().any(|c| target.starts_with(c));
        let level = if capped { level.min(LOG_CAP) } else { level };
        if !selector.contains('[') {
            statics.push((target.to_owned(), level));
        }
        kept.push(if selector.is_empty() {
            level.to_string()
        } else {
            format!("{selector}={level}")
        });
    }
    for crate_prefix in LOG_CAPPED {
        // The directive EnvFilter would apply to the crate: the longest target it starts with.
        let applies = statics
            .iter()
            .filter(|(t, _)| crate_prefix.starts_with(t.as_str()))
            .max_by_key(|(t, _)| t.len());
        if let Some((_, level)) = applies {
            kept.push(format!("{crate_prefix}={}", (*level).min(LOG_CAP)));
        }
    }
    EnvFilter::try_new(kept.join(",")).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// `target[span{field=value}]=level` into its selector and level (no level: TRACE).
fn split_directive(d: &str) -> Option<(&str, LevelFilter)> {
    match d.rsplit_once('=') {
        // An `=` inside a field filter is not the level's.
        Some((selector, level)) if !level.contains([']', '}']) => {
            Some((selector.trim(), level.trim().parse().ok()?))
        }
        _ => match d.parse::<LevelFilter>() {
            Ok(level) => Some(("", level)),
            Err(_) => Some((d, LevelFilter::TRACE)),
        },
    }
}

pub use crate::logging::init_tracing;

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Which of a fixed set of probe events `log_filter(directives)` lets through.
    fn passed(directives: &str) -> Vec<&'static str> {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter(directives))
            .with_writer(move || Buf(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "signout::ops", "ours-trace");
            tracing::debug!(target: "signout::ops", "ours-debug");
            tracing::info!(target: "signout::ops", "ours-info");
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk-trace");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sdk-debug");
            tracing::info!(target: "aws_smithy_runtime::client::orchestrator", "sdk-info");
            tracing::warn!(target: "aws_smithy_runtime::client::orchestrator", "sdk-warn");
            tracing::trace!(target: "aws_sigv4::http_request::sign", "sigv4-trace");
            tracing::debug!(target: "hyper_util::client::legacy", "hyper-debug");
            tracing::trace!(target: "h2::codec", "h2-trace");
            tracing::debug!(target: "lambda_runtime::runtime", "runtime-debug");
            tracing::info_span!("invoke").in_scope(|| {
                tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk-trace-in-span");
                tracing::debug!(target: "signout::ops", "ours-debug-in-span");
            });
        });
        let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        [
            "ours-trace",
            "ours-debug",
            "ours-info",
            "sdk-trace",
            "sdk-debug",
            "sdk-info",
            "sdk-warn",
            "sigv4-trace",
            "hyper-debug",
            "h2-trace",
            "runtime-debug",
            "sdk-trace-in-span",
            "ours-debug-in-span",
        ]
        .into_iter()
        .filter(|p| out.lines().any(|l| l.ends_with(&format!(" {p}"))))
        .collect()
    }

    #[test]
    fn trace_reaches_our_code_but_not_the_sdk_or_http_stacks() {
        assert_eq!(
            passed("trace"),
            [
                "ours-trace",
                "ours-debug",
                "ours-info",
                "sdk-info",
                "sdk-warn",
                "ours-debug-in-span"
            ]
        );
    }

    #[test]
    fn directives_naming_capped_crates_or_spans_cannot_lift_the_cap() {
        for directives in [
            "trace,aws_smithy_runtime=trace",
            "trace,aws_smithy_runtime::client::orchestrator=trace,aws_sigv4=trace",
            "aws=trace,h=trace,hyper_util=trace,h2::codec=trace,lambda_runtime=debug,signout=trace",
            "trace,[invoke]=trace",
            "trace,aws_smithy_runtime[invoke]=trace",
            "trace,[{name}]=trace",
            "trace,aws_smithy_runtime",
        ] {
            let got = passed(directives);
            for leak in [
                "sdk-trace",
                "sdk-debug",
                "sigv4-trace",
                "hyper-debug",
                "h2-trace",
                "runtime-debug",
                "sdk-trace-in-span",
            ] {
                assert!(
                    !got.contains(&leak),
                    "{directives}: {leak} passed ({got:?})"
                );
            }
            assert!(got.contains(&"sdk-warn"), "{directives}: {got:?}");
        }
    }

    #[test]
    fn quieter_settings_stay_quiet_and_bad_ones_mean_info() {
        assert_eq!(passed("warn"), ["sdk-warn"]);
        assert_eq!(passed("off"), Vec::<&str>::new());
        assert_eq!(
            passed("error,signout=debug"),
            ["ours-debug", "ours-info", "ours-debug-in-span"]
        );
        assert_eq!(passed("aws_smithy_runtime=off,info"), ["ours-info"]);
        for info in ["", "  ", "info", "not a [directive", "signout=loud"] {
            assert_eq!(
                passed(info),
                ["ours-info", "sdk-info", "sdk-warn"],
                "{info:?}"
            );
        }
    }
}
