//! Our functions' shared state built in-process against a fixture, directly
//! or with one client behind a fault proxy.

use aws_sdk_cognitoidentityprovider as idp;
use aws_sdk_dynamodb as ddb;

use crate::Fixture;

impl Fixture {
    /// Our functions' shared state, configured for this fixture (plus `extra` settings),
    /// with the SDK timeouts our functions use.
    pub async fn app(&self, extra: &[(&str, &str)]) -> std::sync::Arc<signout::app::App> {
        let config = signout::Config::from_lookup(Fixture::lookup(self.env_with(extra)))
            .expect("valid config");
        let sdk = self
            .sdk
            .to_builder()
            .timeout_config(signout::aws::timeouts(config.sdk_operation_timeout))
            .build();
        let mut secrets = std::collections::HashMap::new();
        secrets.insert(
            signout::ClientId(self.secret_client_id.clone()),
            self.secret_client_secret.clone(),
        );
        std::sync::Arc::new(signout::app::App::build(config, &sdk, secrets))
    }
}

/// Which of the functions' AWS clients go through a fault proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faulty {
    Store,
    Cognito,
}

impl Fixture {
    /// Our functions' state with one client (DynamoDB or Cognito) aimed at
    /// `proxy_endpoint` and everything else direct, with a 1 s SDK timeout
    /// and production's retries (two attempts).
    pub fn app_through(
        &self,
        faulty: Faulty,
        proxy_endpoint: &str,
        extra: &[(&str, &str)],
    ) -> signout::app::App {
        let mut settings = vec![("SDK_OPERATION_TIMEOUT_MS", "1000")];
        settings.extend_from_slice(extra);
        let config =
            signout::Config::from_lookup(Fixture::lookup(self.env_with(&settings))).unwrap();
        let timeouts = signout::aws::timeouts(config.sdk_operation_timeout);
        let retries = signout::aws::retries(config.sdk_operation_timeout);
        let direct = self
            .sdk
            .to_builder()
            .timeout_config(timeouts.clone())
            .retry_config(retries.clone())
            .build();
        let proxied = self
            .sdk
            .to_builder()
            .endpoint_url(proxy_endpoint)
            .timeout_config(timeouts)
            .retry_config(retries)
            .build();
        let (ddb_cfg, idp_cfg) = match faulty {
            Faulty::Store => (&proxied, &direct),
            Faulty::Cognito => (&direct, &proxied),
        };
        let store = signout::store::Store::from_config(ddb::Client::new(ddb_cfg), &config);
        let cognito = signout::cognito::Cognito::new(
            idp::Client::new(idp_cfg),
            config.user_pool_id.clone(),
            std::collections::HashMap::new(),
        );
        signout::app::App::assemble(config, store, cognito)
    }
}

/// The verified claims of `token` as `expect` takes it; panics with the
/// rejection's code when it does not verify.
pub async fn claims_as(
    app: &signout::app::App,
    token: &str,
    expect: signout::tokens::Expect,
) -> signout::tokens::Claims {
    match app.verifier.verify(token, expect).await {
        Ok(v) => v.claims.clone(),
        Err(e) => panic!("the token does not verify: {}", e.code()),
    }
}

/// The store's verdict on `token` (any kind, verified first); panics when
/// the token does not verify or the store cannot be read.
pub async fn verdict(app: &signout::app::App, token: &str) -> signout::Verdict {
    let claims = claims_as(app, token, signout::tokens::Expect::ANY).await;
    match app.checker.check(&claims).await {
        Ok(v) => v,
        Err(e) => panic!("the store could not be read: {}", e.code()),
    }
}
