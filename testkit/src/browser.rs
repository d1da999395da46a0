//! The product as a browser meets it, for the browser suite (`tests/browser`,
//! `make test-browser`): the emulator and the functions as in
//! [`walkthrough::start`](crate::walkthrough::start), configured for distinct
//! HTTPS sites on loopback. The browser maps every `*.test` name to one TLS
//! front (`tests/browser/sites.py`), which sends each site on:
//!
//! | site | what it is |
//! | --- | --- |
//! | `https://app.test` | the application (a page the suite serves) |
//! | `https://api.test` | our functions, as API Gateway would call them |
//! | `https://auth.test` | Cognito's hosted UI: the pool's custom domain, served by the emulator |
//! | `https://idp.test` | a federated OpenID provider, the pool's identity provider `IdP` |
//!
//! The public client registers `https://api.test/logout/callback` as its
//! sign-out URL and `https://app.test/callback` as its callback URL, as
//! docs/DEPLOY.md tells a deployment to.

use aws_sdk_cognitoidentityprovider as idp;
use serde_json::json;

use crate::Fixture;
use crate::walkthrough::{Running, start_with};

pub const APP: &str = "https://app.test";
pub const API: &str = "https://api.test";
/// The user pool's (custom) domain: the emulator serves its hosted UI.
pub const AUTH_DOMAIN: &str = "auth.test";
pub const CALLBACK: &str = "https://api.test/logout/callback";
pub const APP_CALLBACK: &str = "https://app.test/callback";
pub const SIGNED_OUT: &str = "https://app.test/signed-out";
pub const SIGNED_OUT_WITH_QUERY: &str = "https://app.test/bye?from=logout";
const STATE_KEY: &str = "browser-suite-state-key-0123456789abcdef";

/// The cookies the application keeps on `api.test` (set at sign-in by its
/// backend), which the logout function expires.
pub const COOKIES: &str = r#"[{"name":"__Host-session","path":"/","secure":true,"http_only":true,"same_site":"Lax"},{"name":"refresh_token","path":"/logout","secure":true,"http_only":true,"same_site":"None"}]"#;

/// The logout function's settings for these sites.
pub fn logout_env(f: &Fixture) -> Vec<(String, String)> {
    let urls = json!({ f.client_id.clone(): [SIGNED_OUT, SIGNED_OUT_WITH_QUERY] }).to_string();
    [
        ("COGNITO_DOMAIN", format!("https://{AUTH_DOMAIN}")),
        ("LOGOUT_URLS", urls),
        ("LOGOUT_CALLBACK_URL", CALLBACK.to_owned()),
        ("LOGOUT_STATE_KEY", STATE_KEY.to_owned()),
        ("LOGOUT_COOKIES", COOKIES.to_owned()),
        ("LOGOUT_REFRESH_COOKIE", "refresh_token".to_owned()),
        // The default, spelled out: a valid hint signs out at once, anything
        // else asks the user first.
        ("LOGOUT_CONFIRM", "auto".to_owned()),
        (
            "LOGOUT_SCOPE",
            std::env::var("LOGOUT_SCOPE").unwrap_or_else(|_| "session".to_owned()),
        ),
        (
            "IDP_LOGOUT_ENDPOINTS",
            json!({"IdP": {"end_session_endpoint": "https://idp.test/logout", "client_id": "cognito-at-idp"}}).to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Starts everything, then registers the sites with the pool: its domain,
/// and the public client's callback and sign-out URLs.
pub async fn start(lambda_port: Option<u16>) -> Running {
    let r = start_with(lambda_port, |f, _| logout_env(f)).await;
    let f = &r.f;
    f.idp
        .update_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .callback_urls(APP_CALLBACK)
        .logout_urls(CALLBACK)
        .allowed_o_auth_flows(idp::types::OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_flows_user_pool_client(true)
        .supported_identity_providers("COGNITO")
        .supported_identity_providers("IdP")
        .send()
        .await
        .expect("register the client's URLs");
    f.idp
        .create_identity_provider()
        .user_pool_id(&f.pool_id)
        .provider_name("IdP")
        .provider_type(idp::types::IdentityProviderTypeType::Oidc)
        .provider_details("authorize_url", "https://idp.test/authorize")
        .provider_details("client_id", "cognito-at-idp")
        .provider_details("authorize_scopes", "openid")
        .provider_details("oidc_issuer", "https://idp.test")
        .send()
        .await
        .expect("create the federated provider");
    f.idp
        .create_user_pool_domain()
        .user_pool_id(&f.pool_id)
        .domain(AUTH_DOMAIN)
        .custom_domain_config(
            idp::types::CustomDomainConfigType::builder()
                .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/browser-suite")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the pool's domain");
    r
}

/// What the suite needs to know, as one JSON line (no token, no secret but
/// the fixture user's test password).
pub fn describe(r: &Running) -> String {
    json!({
        "emulator": r.emu.endpoint,
        "lambda": r.watch.endpoint,
        "region": crate::REGION,
        "pool_id": r.f.pool_id,
        "client_id": r.f.client_id,
        "username": r.f.username,
        "password": r.f.password,
        "table": r.f.table,
    })
    .to_string()
}
