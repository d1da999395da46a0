//! What a function builds once per cold start: configuration, clients, the
//! JWKS cache, and logging.

use std::sync::Arc;

use crate::check::Checker;
use crate::cognito::Cognito;
use crate::config::Config;
use crate::store::Store;
use crate::tokens::Verifier;

/// Everything a handler needs, shared across invocations.
pub struct App {
    pub config: Config,
    pub verifier: Verifier,
    pub checker: Checker,
    pub cognito: Cognito,
}

impl App {
    /// Reads the environment and builds the clients. On a configuration
    /// problem, returns every problem, one line each.
    pub async fn from_env() -> Result<Arc<App>, String> {
        let config = Config::from_env().map_err(|e| e.to_string())?;
        let sdk = crate::aws::sdk_config(config.sdk_operation_timeout).await;
        let raw = crate::secrets::resolve(&sdk, "APP_CLIENT_SECRETS")
            .await
            .map_err(|e| e.to_string())?;
        let secrets = Cognito::parse_secrets(raw.as_deref())?;
        Ok(Arc::new(App::build(config, &sdk, secrets)))
    }

    /// Builds from a validated configuration and an SDK configuration.
    pub fn build(
        config: Config,
        sdk: &aws_config::SdkConfig,
        secrets: std::collections::HashMap<crate::ClientId, String>,
    ) -> App {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let idp = aws_sdk_cognitoidentityprovider::Client::new(sdk);
        let store = Store::new(ddb, config.table.clone(), config.max_token_lifetime);
        App {
            verifier: Verifier::new(&config),
            checker: Checker::new(store, config.revocation_cache, config.fail_open),
            cognito: Cognito::new(idp, config.user_pool_id.clone(), secrets),
            config,
        }
    }

    pub fn store(&self) -> &Store {
        self.checker.store()
    }
}

/// JSON logs to stdout (CloudWatch), level from `RUST_LOG` (default `info`).
/// No code path logs a token, cookie, secret or `Authorization` header.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}
