//! Browser sign-out: `GET /logout` and `GET /logout/callback`.
//!
//! The browser arrives with Cognito's parameters (`client_id`, `logout_uri`)
//! or OpenID Connect RP-Initiated Logout's (`client_id`,
//! `post_logout_redirect_uri`, `id_token_hint`, `state`; `logout_hint` and
//! `ui_locales` are accepted and ignored). [`Logout::start`]:
//!
//! 1. refuses anything ambiguous (a repeated parameter, both target names),
//!    an unknown client, a hint that does not verify or names another client,
//!    and a target that is not byte for byte an entry of the client's
//!    `LOGOUT_URLS`: a fixed 400 page, no redirect, no cookie, nothing revoked;
//! 2. revokes the refresh-token cookie at Cognito, then records the hinted
//!    session (or, with `LOGOUT_SCOPE=global`, the user) in the store. A
//!    failing step is logged with its code and never stops the browser;
//! 3. expires the configured app cookies, sets a signed five-minute state
//!    cookie, and sends the browser through Cognito's `/logout`, which clears
//!    the `cognito` cookie and returns to `LOGOUT_CALLBACK_URL`.
//!
//! [`Logout::callback`] opens the state cookie (signature, expiry, a nonce
//! this process has not seen), clears it, and sends the browser on to the
//! federated IdP's `end_session_endpoint` when the hint named one, else to
//! the target with `state` appended.
//!
//! Nothing here speaks HTTP: the function crate turns an [`Answer`] into a
//! response (security headers, `Set-Cookie` built with the `cookie` crate).
//! The submodules are inline only because this module is one file; each
//! could move to `logout/<name>.rs` unchanged.

use std::collections::HashSet;

use url::Url;

use crate::app::App;
use crate::config::Config;
use crate::model::{ClientId, EpochMs, Source};
use crate::tokens::{Claims, Expect, TokenError};

pub use page::Page;
pub use settings::{AppCookie, IdpLogout, LogoutSettings, SameSite, Scope, StateKey};
pub use state::{FlowState, SeenNonces};

/// The cookie that carries the flow across Cognito's hop. `__Host-`: only
/// this exact host can set or read it (Secure, `Path=/`, no `Domain`).
pub const STATE_COOKIE: &str = "__Host-signout_state";
/// How long a browser has to come back from Cognito's `/logout`.
pub const STATE_LIFETIME_SECS: u64 = 300;
/// Longest `state` echoed; it travels in a cookie, which browsers cap at 4 KB.
pub const MAX_STATE_PARAM_BYTES: usize = 1024;
/// More parameters than any legitimate sign-out link carries.
pub const MAX_PARAMETERS: usize = 32;
/// Refresh-token cookies revoked per request (the same name under several paths).
const MAX_REFRESH_COOKIES: usize = 4;

/// Why a sign-out request was refused. Each has a stable code for logs; the
/// browser only ever sees the fixed [`Page::Invalid`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogoutError {
    #[error("a query parameter appears more than once")]
    DuplicateParameter,
    #[error("more than {MAX_PARAMETERS} query parameters")]
    TooManyParameters,
    #[error("both logout_uri and post_logout_redirect_uri were given")]
    ConflictingTargets,
    #[error("state is longer than {MAX_STATE_PARAM_BYTES} bytes")]
    StateTooLong,
    #[error("no client_id and no verified id_token_hint")]
    ClientMissing,
    #[error("client_id is not a configured app client")]
    UnknownClient,
    #[error("the id_token_hint was issued to another client than client_id")]
    HintClientMismatch,
    #[error("the id_token_hint does not verify ({})", .0.code())]
    HintRefused(TokenError),
    #[error("the target is not on the client's allow-list")]
    TargetNotAllowed,
    #[error("no sign-out state cookie")]
    StateMissing,
    #[error("more than one sign-out state cookie")]
    StateDuplicated,
    #[error("the sign-out state is malformed or its signature does not verify")]
    StateInvalid,
    #[error("the sign-out state has expired")]
    StateExpired,
    #[error("the sign-out state was already used")]
    StateReplayed,
}

impl LogoutError {
    /// Stable code, safe to log.
    pub fn code(&self) -> &'static str {
        match self {
            LogoutError::DuplicateParameter => "duplicate_parameter",
            LogoutError::TooManyParameters => "too_many_parameters",
            LogoutError::ConflictingTargets => "conflicting_targets",
            LogoutError::StateTooLong => "state_too_long",
            LogoutError::ClientMissing => "client_missing",
            LogoutError::UnknownClient => "unknown_client",
            LogoutError::HintClientMismatch => "hint_client_mismatch",
            LogoutError::HintRefused(_) => "hint_invalid",
            LogoutError::TargetNotAllowed => "target_not_allowed",
            LogoutError::StateMissing => "state_missing",
            LogoutError::StateDuplicated => "state_duplicated",
            LogoutError::StateInvalid => "state_invalid",
            LogoutError::StateExpired => "state_expired",
            LogoutError::StateReplayed => "state_replayed",
        }
    }
}

/// What the browser is told to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 302 to this URL: Cognito's `/logout`, a configured IdP's
    /// `end_session_endpoint`, or an allow-listed target.
    Redirect(String),
    Page(Page),
}

/// How long a cookie we send lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// Empty value, `Max-Age=0` and an `Expires` in the past.
    Expired,
    Seconds(u64),
}

/// One `Set-Cookie` to send, with the attributes the cookie was set with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie {
    pub cookie: AppCookie,
    pub value: String,
    pub lifetime: Lifetime,
}

impl SetCookie {
    /// Expires `cookie`; the attributes must be those it was set with, or the
    /// browser keeps the original.
    pub fn expire(cookie: &AppCookie) -> Self {
        SetCookie {
            cookie: cookie.clone(),
            value: String::new(),
            lifetime: Lifetime::Expired,
        }
    }

    fn state(value: String) -> Self {
        SetCookie {
            cookie: AppCookie::state(),
            value,
            lifetime: Lifetime::Seconds(STATE_LIFETIME_SECS),
        }
    }

    fn clear_state() -> Self {
        Self::expire(&AppCookie::state())
    }
}

/// The outcome of one request, for the function crate to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub reply: Reply,
    pub set_cookies: Vec<SetCookie>,
}

impl Answer {
    /// A page and no cookie at all.
    pub fn page(page: Page) -> Self {
        Answer {
            reply: Reply::Page(page),
            set_cookies: Vec::new(),
        }
    }
}

/// The parameters of `GET /logout`, once nothing about them is ambiguous.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogoutParams {
    pub client_id: Option<String>,
    /// `logout_uri` or `post_logout_redirect_uri`, exactly as decoded once.
    pub target: Option<String>,
    pub id_token_hint: Option<String>,
    pub state: Option<String>,
}

impl LogoutParams {
    /// `pairs` are the query parameters, each decoded once. A repeated name is
    /// refused rather than resolved: which copy a proxy, API Gateway or we
    /// would pick differs, and that difference is how filters are bypassed.
    /// Empty values count as absent, except an empty target, which is refused
    /// like any other target that is not on the allow-list.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, LogoutError> {
        if pairs.len() > MAX_PARAMETERS {
            return Err(LogoutError::TooManyParameters);
        }
        let mut names = HashSet::new();
        if !pairs.iter().all(|(k, _)| names.insert(k.as_str())) {
            return Err(LogoutError::DuplicateParameter);
        }
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let non_empty = |name: &str| get(name).filter(|v| !v.is_empty());
        let target = match (get("logout_uri"), get("post_logout_redirect_uri")) {
            (Some(_), Some(_)) => return Err(LogoutError::ConflictingTargets),
            (a, b) => a.or(b),
        };
        let state = non_empty("state");
        if state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_STATE_PARAM_BYTES)
        {
            return Err(LogoutError::StateTooLong);
        }
        Ok(LogoutParams {
            client_id: non_empty("client_id"),
            target,
            id_token_hint: non_empty("id_token_hint"),
            state,
        })
    }
}

/// Whether `target` is, byte for byte, one of `client`'s allowed targets.
/// Deliberately no parsing and no normalisation: any difference (case, a
/// trailing slash or dot, a default port, an encoding, a fragment) is a
/// mismatch, so no disagreement between URL parsers can widen the list.
pub fn target_allowed(config: &Config, client: &str, target: &str) -> bool {
    config
        .logout_urls
        .get(client)
        .is_some_and(|urls| urls.iter().any(|u| u == target))
}

/// Until when (epoch seconds) a signed-out session stays listed: while its
/// refresh token can still mint tokens with its `origin_jti`. Once Cognito
/// revoked that refresh token, only tokens already minted remain, and none
/// outlives the longest token lifetime.
pub fn session_until(now_s: u64, hint_exp: u64, refresh_revoked: bool, config: &Config) -> u64 {
    let horizon = if refresh_revoked {
        config.max_token_lifetime
    } else {
        config.refresh_token_lifetime
    };
    hint_exp.max(now_s.saturating_add(horizon.as_secs()))
}

/// Cognito's `/logout` on the hosted UI domain, returning to `callback`
/// (which must be registered as a sign-out URL of `client`).
pub fn cognito_logout_url(domain: &Url, client: &str, callback: &str) -> String {
    let mut url = domain.clone();
    url.set_path("/logout");
    url.set_fragment(None);
    url.set_query(None);
    url.query_pairs_mut()
        .append_pair("client_id", client)
        .append_pair("logout_uri", callback);
    url.into()
}

/// The IdP's `end_session_endpoint` (its own query kept), returning to the
/// validated target with `state`, which the IdP echoes (OIDC RP-Initiated
/// Logout 1.0, section 2). No `id_token_hint`: we do not hold the IdP's token.
pub fn idp_logout_url(idp: &IdpLogout, target: Option<&str>, state: Option<&str>) -> String {
    let mut pairs = Vec::new();
    if let Some(c) = &idp.client_id {
        pairs.push(("client_id", c.as_str()));
    }
    if let Some(t) = target {
        pairs.push(("post_logout_redirect_uri", t));
        if let Some(s) = state {
            pairs.push(("state", s));
        }
    }
    let mut url = idp.end_session_endpoint.clone();
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    url.into()
}

/// The allow-listed target with `state` appended as a query parameter. The
/// target is not parsed and re-serialised, which could change it.
pub fn final_url(target: &str, state: Option<&str>) -> String {
    match state {
        None => target.to_owned(),
        Some(s) => {
            let sep = if target.contains('?') { '&' } else { '?' };
            let value: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            format!("{target}{sep}state={value}")
        }
    }
}

/// The sign-out flow, built once per cold start.
pub struct Logout {
    settings: LogoutSettings,
    seen: SeenNonces,
}

/// What a valid `GET /logout` resolved to, before anything is done.
struct Plan {
    client: ClientId,
    target: Option<String>,
    state: Option<String>,
    hint: Option<Claims>,
    idp: Option<String>,
}

impl Logout {
    pub fn new(settings: LogoutSettings) -> Self {
        Logout {
            settings,
            seen: SeenNonces::default(),
        }
    }

    pub fn settings(&self) -> &LogoutSettings {
        &self.settings
    }

    /// `GET /logout`. `query` holds the parameters decoded once, every
    /// occurrence kept; `cookies` the request's cookies as (name, value).
    pub async fn start(
        &self,
        app: &App,
        query: &[(String, String)],
        cookies: &[(String, String)],
    ) -> Answer {
        let plan = match self.plan(app, query).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "logout refused");
                return Answer::page(Page::Invalid);
            }
        };
        // Cognito first: how long the session must stay listed depends on
        // whether its refresh token is dead. A Cognito failure then only
        // lengthens the listing; nothing recorded is lost.
        let refresh_revoked = self.revoke_refresh_tokens(app, &plan.client, cookies).await;
        if let Some(claims) = &plan.hint {
            self.record(app, claims, refresh_revoked).await;
        }
        tracing::info!(
            client = %plan.client,
            hinted = plan.hint.is_some(),
            federated = plan.idp.is_some(),
            refresh_revoked,
            "logout"
        );

        let mut set_cookies: Vec<SetCookie> = self
            .settings
            .cookies
            .iter()
            .map(SetCookie::expire)
            .collect();
        let flow = FlowState {
            client: plan.client.0,
            target: plan.target,
            state: plan.state,
            idp: plan.idp,
        };
        let reply = match &app.config.cognito_domain {
            Some(domain) => {
                set_cookies.push(SetCookie::state(self.seal_at(&flow, EpochMs::now().secs())));
                Reply::Redirect(cognito_logout_url(
                    domain,
                    &flow.client,
                    &self.settings.callback_url,
                ))
            }
            // Required at cold start; should a deployment still lack it, skip
            // the hop rather than strand the browser.
            None => self.next_hop(&flow),
        };
        Answer { reply, set_cookies }
    }

    /// `GET /logout/callback`, where Cognito's `/logout` returns the browser.
    /// The state cookie is cleared in every answer to a request that carried one.
    pub fn callback(&self, app: &App, cookies: &[(String, String)]) -> Answer {
        let presented: Vec<&str> = cookies
            .iter()
            .filter(|(n, _)| n == STATE_COOKIE)
            .map(|(_, v)| v.as_str())
            .collect();
        match self.resume(app, &presented) {
            Ok(flow) => Answer {
                reply: self.next_hop(&flow),
                set_cookies: vec![SetCookie::clear_state()],
            },
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "logout callback refused");
                Answer {
                    reply: Reply::Page(Page::Invalid),
                    set_cookies: if presented.is_empty() {
                        Vec::new()
                    } else {
                        vec![SetCookie::clear_state()]
                    },
                }
            }
        }
    }

    /// Seals `flow` as if at `now` (epoch seconds): the state cookie's value.
    pub fn seal_at(&self, flow: &FlowState, now: u64) -> String {
        state::seal(&self.settings.state_key, flow, now)
    }

    async fn plan(&self, app: &App, query: &[(String, String)]) -> Result<Plan, LogoutError> {
        let params = LogoutParams::from_pairs(query)?;
        let hint = match &params.id_token_hint {
            None => None,
            Some(token) => match app.verifier.verify(token, Expect::ID_HINT).await {
                Ok(verified) => Some(verified.claims),
                // Our keys are unreachable, which says nothing about the
                // token: sign out without naming a session (client_id must
                // then come from the query) rather than trap the browser.
                Err(e) if e.is_transient() => {
                    tracing::warn!(step = "verify_hint", code = e.code(), "logout step failed");
                    None
                }
                Err(e) => return Err(LogoutError::HintRefused(e)),
            },
        };
        let client = match (params.client_id, &hint) {
            (Some(c), Some(h)) if c != h.client_id.as_str() => {
                return Err(LogoutError::HintClientMismatch);
            }
            (Some(c), _) => c,
            (None, Some(h)) => h.client_id.0.clone(),
            (None, None) => return Err(LogoutError::ClientMissing),
        };
        let config = &app.config;
        if !config.app_client_ids.contains(&client) && !config.logout_urls.contains_key(&client) {
            return Err(LogoutError::UnknownClient);
        }
        if let Some(t) = &params.target
            && !target_allowed(config, &client, t)
        {
            return Err(LogoutError::TargetNotAllowed);
        }
        let idp = hint.as_ref().and_then(|h| {
            h.identity_providers
                .iter()
                .find(|name| self.settings.idps.contains_key(*name))
                .cloned()
        });
        Ok(Plan {
            client: ClientId(client),
            target: params.target,
            state: params.state,
            hint,
            idp,
        })
    }

    /// Revokes the refresh-token cookie at Cognito (the client secret is
    /// added by [`crate::cognito::Cognito`]). True when at least one was
    /// presented and every one presented was revoked.
    async fn revoke_refresh_tokens(
        &self,
        app: &App,
        client: &ClientId,
        cookies: &[(String, String)],
    ) -> bool {
        let Some(name) = &self.settings.refresh_cookie else {
            return false;
        };
        let mut tokens: Vec<&str> = cookies
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        tokens.truncate(MAX_REFRESH_COOKIES);
        let mut all = !tokens.is_empty();
        for token in tokens {
            if let Err(e) = app.cognito.revoke_refresh_token(token, client).await {
                tracing::warn!(
                    step = "revoke_refresh_token",
                    code = e.code,
                    retryable = e.retryable,
                    "logout step failed"
                );
                all = false;
            }
        }
        all
    }

    /// Records the hinted session (or the whole user) as signed out.
    async fn record(&self, app: &App, claims: &Claims, refresh_revoked: bool) {
        let now = EpochMs::now();
        let store = app.store();
        let (step, result) = match (self.settings.scope, &claims.origin_jti) {
            (Scope::Global, _) => (
                "record_cutoff",
                store
                    .raise_user_cutoff(&claims.sub, now, Source::Logout)
                    .await,
            ),
            (Scope::Session, Some(session)) => {
                let until = session_until(now.secs(), claims.exp, refresh_revoked, &app.config);
                (
                    "record_session",
                    store
                        .revoke_session(&claims.sub, session, until, Source::Logout)
                        .await,
                )
            }
            (Scope::Session, None) => {
                // Cognito stamps origin_jti on every token; without it there is
                // no session to name, and signing out every session instead
                // would do more than was asked.
                tracing::warn!(
                    step = "record_session",
                    code = "hint_without_session",
                    "logout step failed"
                );
                return;
            }
        };
        match result {
            Ok(()) => app.checker.forget(&claims.sub),
            Err(e) => tracing::warn!(
                step,
                code = e.code(),
                retryable = e.retryable(),
                "logout step failed"
            ),
        }
    }

    fn resume(&self, app: &App, presented: &[&str]) -> Result<FlowState, LogoutError> {
        let value = match presented {
            [] => return Err(LogoutError::StateMissing),
            [one] => *one,
            _ => return Err(LogoutError::StateDuplicated),
        };
        let now = EpochMs::now().secs();
        let sealed = state::open(&self.settings.state_key, value, now)?;
        if !self.seen.first_use(&sealed.nonce, sealed.exp, now) {
            return Err(LogoutError::StateReplayed);
        }
        let flow = sealed.flow;
        // The allow-list may have changed between the two hops (a deployment):
        // the target must still be on it.
        if let Some(t) = &flow.target
            && !target_allowed(&app.config, &flow.client, t)
        {
            return Err(LogoutError::TargetNotAllowed);
        }
        Ok(flow)
    }

    /// After Cognito: the IdP's logout when one is configured for the user's
    /// provider, else the target with `state`, else our signed-out page.
    fn next_hop(&self, flow: &FlowState) -> Reply {
        if let Some(idp) = flow.idp.as_ref().and_then(|n| self.settings.idps.get(n)) {
            return Reply::Redirect(idp_logout_url(
                idp,
                flow.target.as_deref(),
                flow.state.as_deref(),
            ));
        }
        match &flow.target {
            Some(t) => Reply::Redirect(final_url(t, flow.state.as_deref())),
            None => Reply::Page(Page::SignedOut),
        }
    }
}

pub mod settings {
    //! `LogoutSettings`: what the logout function reads beyond [`Config`](crate::config::Config).

    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt;

    use aws_lc_rs::hmac;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use serde::Deserialize;
    use serde_json::Value;
    use url::Url;

    use super::STATE_COOKIE;
    use crate::config::{ConfigError, Problem};

    /// Shortest `LOGOUT_STATE_KEY`: HMAC-SHA256's output size.
    pub const MIN_KEY_BYTES: usize = 32;

    const COOKIES_EXAMPLE: &str = r#"[{"name":"session","domain":"example.com","path":"/","secure":true,"http_only":true,"same_site":"Lax"}]"#;
    const IDPS_EXAMPLE: &str = r#"{"Okta":{"end_session_endpoint":"https://example.okta.com/oauth2/v1/logout","client_id":"0oa1example"}}"#;

    /// What a hinted sign-out revokes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Scope {
        /// The hinted session (its `origin_jti`); the user's other sessions stay.
        Session,
        /// Every token of the user minted before the sign-out.
        Global,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SameSite {
        Strict,
        Lax,
        None,
    }

    /// A cookie of the application, with the attributes it is set with: a
    /// browser only replaces a cookie whose name, domain and path match.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AppCookie {
        pub name: String,
        /// `None`: a host-only cookie.
        pub domain: Option<String>,
        pub path: String,
        pub secure: bool,
        pub http_only: bool,
        pub same_site: Option<SameSite>,
    }

    impl AppCookie {
        /// The state cookie's attributes.
        pub fn state() -> Self {
            AppCookie {
                name: STATE_COOKIE.to_owned(),
                domain: None,
                path: "/".to_owned(),
                secure: true,
                http_only: true,
                same_site: Some(SameSite::Lax),
            }
        }
    }

    /// A federated IdP's logout endpoint.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct IdpLogout {
        pub end_session_endpoint: Url,
        /// Sent as `client_id` (our client at the IdP), when the IdP wants it.
        pub client_id: Option<String>,
    }

    /// The HMAC-SHA256 key that signs the state cookie. Never printed.
    #[derive(Clone)]
    pub struct StateKey(pub(super) hmac::Key);

    impl StateKey {
        /// A value that decodes as base64 (standard or URL-safe, padded or
        /// not) to at least 32 bytes is used decoded; otherwise its raw bytes,
        /// if there are at least 32. (Base64 of a shorter key, 44 characters
        /// for 31 bytes, is then taken raw: still 32 bytes or more of key.)
        pub fn from_setting(raw: &str) -> Option<Self> {
            let decoded = [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(raw).ok())
                .filter(|k| k.len() >= MIN_KEY_BYTES);
            let bytes = match decoded {
                Some(k) => k,
                None if raw.len() >= MIN_KEY_BYTES => raw.as_bytes().to_vec(),
                None => return None,
            };
            Some(StateKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
        }
    }

    impl fmt::Debug for StateKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("StateKey(<redacted>)")
        }
    }

    /// The logout function's own settings, validated once at cold start.
    #[derive(Clone, Debug)]
    pub struct LogoutSettings {
        /// `LOGOUT_CALLBACK_URL` exactly as configured: Cognito compares it
        /// byte for byte with the client's registered sign-out URLs.
        pub callback_url: String,
        pub state_key: StateKey,
        pub scope: Scope,
        /// `LOGOUT_REFRESH_COOKIE`: the cookie holding the refresh token.
        pub refresh_cookie: Option<String>,
        /// `LOGOUT_COOKIES`: expired on every sign-out.
        pub cookies: Vec<AppCookie>,
        /// `IDP_LOGOUT_ENDPOINTS`: provider name (as in the `identities` claim) to its logout.
        pub idps: BTreeMap<String, IdpLogout>,
    }

    struct Problems(Vec<Problem>);

    impl Problems {
        fn add(
            &mut self,
            variable: &'static str,
            message: impl Into<String>,
            example: &'static str,
        ) {
            self.0.push(Problem {
                variable,
                message: message.into(),
                example,
            });
        }
    }

    impl LogoutSettings {
        pub fn from_env() -> Result<Self, ConfigError> {
            Self::from_lookup(|k| std::env::var(k).ok())
        }

        /// Reads settings through `get`; every problem is reported at once,
        /// one line each (variable, what is wrong, a right value).
        pub fn from_lookup<F: Fn(&str) -> Option<String>>(get: F) -> Result<Self, ConfigError> {
            let raw = |k: &str| {
                get(k)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            };
            let mut p = Problems(Vec::new());

            // Parsed by `Config`; only its presence matters here.
            if raw("COGNITO_DOMAIN").is_none() {
                p.add(
                    "COGNITO_DOMAIN",
                    "is required by the logout function (the hosted UI domain whose /logout clears Cognito's cookie)",
                    "https://auth.example.com",
                );
            }

            let callback_url = raw("LOGOUT_CALLBACK_URL");
            const CALLBACK_EXAMPLE: &str = "https://api.example.com/logout/callback";
            match &callback_url {
                None => p.add(
                    "LOGOUT_CALLBACK_URL",
                    "is required but not set",
                    CALLBACK_EXAMPLE,
                ),
                Some(u) => {
                    if let Err(msg) = callback(u) {
                        p.add("LOGOUT_CALLBACK_URL", msg, CALLBACK_EXAMPLE);
                    }
                }
            }

            const KEY_EXAMPLE: &str = "$(openssl rand -base64 32)";
            let state_key = match raw("LOGOUT_STATE_KEY") {
                None => {
                    p.add("LOGOUT_STATE_KEY", "is required but not set", KEY_EXAMPLE);
                    None
                }
                Some(k) => {
                    let key = StateKey::from_setting(&k);
                    if key.is_none() {
                        p.add(
                            "LOGOUT_STATE_KEY",
                            format!("must be at least {MIN_KEY_BYTES} bytes (base64 or raw)"),
                            KEY_EXAMPLE,
                        );
                    }
                    key
                }
            };

            let scope = match raw("LOGOUT_SCOPE")
                .map(|s| s.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("session") => Scope::Session,
                Some("global") => Scope::Global,
                Some(_) => {
                    p.add("LOGOUT_SCOPE", "must be session or global", "session");
                    Scope::Session
                }
            };

            let cookies = match raw("LOGOUT_COOKIES") {
                None => Vec::new(),
                Some(json) => app_cookies(&json, &mut p),
            };

            let refresh_cookie = raw("LOGOUT_REFRESH_COOKIE");
            if let Some(name) = &refresh_cookie {
                if !valid_cookie_name(name) {
                    p.add(
                        "LOGOUT_REFRESH_COOKIE",
                        "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
                        "refresh_token",
                    );
                } else if !cookies.iter().any(|c| &c.name == name) {
                    p.add(
                        "LOGOUT_REFRESH_COOKIE",
                        "must also be listed in LOGOUT_COOKIES, with its attributes, so the browser drops it",
                        "refresh_token",
                    );
                }
            }

            let idps = match raw("IDP_LOGOUT_ENDPOINTS") {
                None => BTreeMap::new(),
                Some(json) => idp_endpoints(&json, &mut p),
            };

            match (callback_url, state_key) {
                (Some(callback_url), Some(state_key)) if p.0.is_empty() => Ok(LogoutSettings {
                    callback_url,
                    state_key,
                    scope,
                    refresh_cookie,
                    cookies,
                    idps,
                }),
                _ => Err(ConfigError { problems: p.0 }),
            }
        }
    }

    /// An absolute https URL (http only for a loopback host), without
    /// userinfo or fragment.
    fn web_url(raw: &str) -> Result<Url, &'static str> {
        let url = Url::parse(raw).map_err(|_| "must be an absolute URL")?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if !(url.scheme() == "https" || url.scheme() == "http" && local) {
            return Err("must use https (http only for localhost)");
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err("must have no userinfo and no fragment");
        }
        Ok(url)
    }

    fn callback(raw: &str) -> Result<(), &'static str> {
        let url = web_url(raw)?;
        if url.query().is_some() {
            return Err("must have no query");
        }
        if !url.path().ends_with("/logout/callback") {
            return Err("must point at this function's /logout/callback route");
        }
        Ok(())
    }

    /// RFC 6265 cookie-name: an HTTP token.
    fn valid_cookie_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    }

    fn valid_domain(domain: &str) -> bool {
        let d = domain.strip_prefix('.').unwrap_or(domain);
        !d.is_empty()
            && d.len() <= 253
            && d.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    }

    fn valid_path(path: &str) -> bool {
        path.starts_with('/')
            && path.len() <= 1024
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b';')
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawCookie {
        name: String,
        path: String,
        #[serde(default)]
        domain: Option<String>,
        #[serde(default)]
        secure: bool,
        #[serde(default)]
        http_only: bool,
        #[serde(default)]
        same_site: Option<String>,
    }

    fn app_cookies(json: &str, p: &mut Problems) -> Vec<AppCookie> {
        const VAR: &str = "LOGOUT_COOKIES";
        let Ok(entries) = serde_json::from_str::<Vec<Value>>(json) else {
            p.add(
                VAR,
                "must be a JSON array of {name, path, domain?, secure?, http_only?, same_site?}",
                COOKIES_EXAMPLE,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let n = i + 1;
            let c: RawCookie = match serde_json::from_value(entry) {
                Ok(c) => c,
                Err(e) => {
                    // serde's message names the field (`unknown field "httpOnly"`); no secret is in here.
                    p.add(VAR, format!("entry {n}: {e}"), COOKIES_EXAMPLE);
                    continue;
                }
            };
            let at = format!("entry {n} ({:?})", c.name);
            let before = p.0.len();
            if !valid_cookie_name(&c.name) {
                p.add(
                    VAR,
                    format!(
                        "{at}: name must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)"
                    ),
                    COOKIES_EXAMPLE,
                );
            }
            if c.name.eq_ignore_ascii_case(STATE_COOKIE) {
                p.add(
                    VAR,
                    format!("{at}: {STATE_COOKIE} is this function's own cookie"),
                    COOKIES_EXAMPLE,
                );
            }
            if !valid_path(&c.path) {
                p.add(
                    VAR,
                    format!("{at}: path must start with / (no spaces or ;)"),
                    COOKIES_EXAMPLE,
                );
            }
            if let Some(d) = &c.domain
                && !valid_domain(d)
            {
                p.add(
                    VAR,
                    format!("{at}: domain must be a host name, without scheme, port or path"),
                    COOKIES_EXAMPLE,
                );
            }
            let same_site = match c
                .same_site
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None => None,
                Some("strict") => Some(SameSite::Strict),
                Some("lax") => Some(SameSite::Lax),
                Some("none") => Some(SameSite::None),
                Some(_) => {
                    p.add(
                        VAR,
                        format!("{at}: same_site must be Strict, Lax or None"),
                        COOKIES_EXAMPLE,
                    );
                    None
                }
            };
            if same_site == Some(SameSite::None) && !c.secure {
                p.add(
                    VAR,
                    format!("{at}: same_site None requires secure true"),
                    COOKIES_EXAMPLE,
                );
            }
            // Cookie prefixes (RFC 6265bis 4.1.3): browsers refuse a prefixed
            // cookie that breaks them, so an expiry that broke them would be ignored.
            let lower = c.name.to_ascii_lowercase();
            if lower.starts_with("__host-") {
                if !c.secure {
                    p.add(
                        VAR,
                        format!("{at}: a __Host- cookie must be secure"),
                        COOKIES_EXAMPLE,
                    );
                }
                if c.path != "/" {
                    p.add(
                        VAR,
                        format!("{at}: a __Host- cookie must have path \"/\""),
                        COOKIES_EXAMPLE,
                    );
                }
                if c.domain.is_some() {
                    p.add(
                        VAR,
                        format!("{at}: a __Host- cookie must have no domain"),
                        COOKIES_EXAMPLE,
                    );
                }
            } else if lower.starts_with("__secure-") && !c.secure {
                p.add(
                    VAR,
                    format!("{at}: a __Secure- cookie must be secure"),
                    COOKIES_EXAMPLE,
                );
            }
            let key = (
                c.name.clone(),
                c.domain
                    .clone()
                    .map(|d| d.trim_start_matches('.').to_ascii_lowercase()),
                c.path.clone(),
            );
            if !seen.insert(key) {
                p.add(
                    VAR,
                    format!("{at}: listed twice with the same domain and path"),
                    COOKIES_EXAMPLE,
                );
            }
            if p.0.len() == before {
                out.push(AppCookie {
                    name: c.name,
                    domain: c.domain,
                    path: c.path,
                    secure: c.secure,
                    http_only: c.http_only,
                    same_site,
                });
            }
        }
        out
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawIdp {
        end_session_endpoint: String,
        #[serde(default)]
        client_id: Option<String>,
    }

    fn idp_endpoints(json: &str, p: &mut Problems) -> BTreeMap<String, IdpLogout> {
        const VAR: &str = "IDP_LOGOUT_ENDPOINTS";
        let Ok(entries) = serde_json::from_str::<BTreeMap<String, Value>>(json) else {
            p.add(
                VAR,
                "must be a JSON object of provider name to {end_session_endpoint, client_id?}",
                IDPS_EXAMPLE,
            );
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (name, entry) in entries {
            if name.is_empty() {
                p.add(VAR, "provider names must not be empty", IDPS_EXAMPLE);
                continue;
            }
            let at = format!("provider {name:?}");
            let raw: RawIdp = match serde_json::from_value(entry) {
                Ok(r) => r,
                Err(e) => {
                    p.add(VAR, format!("{at}: {e}"), IDPS_EXAMPLE);
                    continue;
                }
            };
            let endpoint = match web_url(&raw.end_session_endpoint) {
                Ok(u) => u,
                Err(msg) => {
                    p.add(
                        VAR,
                        format!("{at}: end_session_endpoint {msg}"),
                        IDPS_EXAMPLE,
                    );
                    continue;
                }
            };
            let client_id = raw.client_id.filter(|c| !c.is_empty());
            if client_id
                .as_ref()
                .is_some_and(|c| c.chars().any(char::is_control))
            {
                p.add(
                    VAR,
                    format!("{at}: client_id must not contain control characters"),
                    IDPS_EXAMPLE,
                );
                continue;
            }
            out.insert(
                name,
                IdpLogout {
                    end_session_endpoint: endpoint,
                    client_id,
                },
            );
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::collections::HashMap;

        const KEY: &str = "0123456789abcdef0123456789abcdef";

        fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            move |k| map.get(k).cloned()
        }

        fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
            let mut env = vec![
                ("COGNITO_DOMAIN", "https://auth.example.com"),
                (
                    "LOGOUT_CALLBACK_URL",
                    "https://api.example.com/logout/callback",
                ),
                ("LOGOUT_STATE_KEY", KEY),
            ];
            for (k, v) in extra {
                env.retain(|(ek, _)| ek != k);
                env.push((k, v));
            }
            env
        }

        fn problems(extra: &[(&'static str, &'static str)]) -> Vec<String> {
            LogoutSettings::from_lookup(lookup(&with(extra)))
                .unwrap_err()
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect()
        }

        #[test]
        fn defaults_need_only_the_domain_callback_and_key() {
            let s = LogoutSettings::from_lookup(lookup(&with(&[]))).unwrap();
            assert_eq!(s.callback_url, "https://api.example.com/logout/callback");
            assert_eq!(s.scope, Scope::Session);
            assert!(s.cookies.is_empty() && s.idps.is_empty() && s.refresh_cookie.is_none());
            assert_eq!(format!("{:?}", s.state_key), "StateKey(<redacted>)");
            assert!(!format!("{s:?}").contains(KEY));
        }

        #[test]
        fn every_problem_is_reported_at_once_one_line_each() {
            let err = LogoutSettings::from_lookup(lookup(&[
                (
                    "LOGOUT_CALLBACK_URL",
                    "http://api.example.com/logout/callback",
                ),
                ("LOGOUT_STATE_KEY", "short-secret-value"),
                ("LOGOUT_SCOPE", "everything"),
                (
                    "LOGOUT_COOKIES",
                    r#"[{"name":"__Host-id","path":"/app","domain":"example.com"}]"#,
                ),
                ("LOGOUT_REFRESH_COOKIE", "rt"),
                (
                    "IDP_LOGOUT_ENDPOINTS",
                    r#"{"Okta":{"end_session_endpoint":"javascript:alert(1)"}}"#,
                ),
            ]))
            .unwrap_err();
            let vars: Vec<_> = err.problems.iter().map(|p| p.variable).collect();
            assert_eq!(
                vars,
                [
                    "COGNITO_DOMAIN",
                    "LOGOUT_CALLBACK_URL",
                    "LOGOUT_STATE_KEY",
                    "LOGOUT_SCOPE",
                    "LOGOUT_COOKIES",
                    "LOGOUT_COOKIES",
                    "LOGOUT_COOKIES",
                    "LOGOUT_REFRESH_COOKIE",
                    "IDP_LOGOUT_ENDPOINTS",
                ]
            );
            let text = err.to_string();
            assert_eq!(text.lines().count(), 1 + vars.len());
            assert!(
                !text.contains("short-secret-value"),
                "the key is never printed"
            );
            assert!(text.contains("a __Host- cookie must be secure"));
            assert!(text.contains("a __Host- cookie must have path \"/\""));
            assert!(text.contains("a __Host- cookie must have no domain"));
        }

        #[test]
        fn cookie_prefix_rules_and_attributes_are_checked() {
            let bad = [
                (
                    r#"[{"name":"__Secure-x","path":"/"}]"#,
                    "a __Secure- cookie must be secure",
                ),
                (
                    r#"[{"name":"__host-x","path":"/","secure":true,"domain":"a.example.com"}]"#,
                    "must have no domain",
                ),
                (
                    r#"[{"name":"x","path":"/","same_site":"None"}]"#,
                    "same_site None requires secure true",
                ),
                (
                    r#"[{"name":"x","path":"/","same_site":"Sometimes"}]"#,
                    "same_site must be Strict, Lax or None",
                ),
                (
                    r#"[{"name":"x y","path":"/"}]"#,
                    "name must be a cookie name",
                ),
                (r#"[{"name":"x","path":"app"}]"#, "path must start with /"),
                (
                    r#"[{"name":"x","path":"/","domain":"https://example.com"}]"#,
                    "domain must be a host name",
                ),
                (
                    r#"[{"name":"x","path":"/","httpOnly":true}]"#,
                    "unknown field `httpOnly`",
                ),
                (r#"[{"name":"x"}]"#, "missing field `path`"),
                (
                    r#"[{"name":"x","path":"/"},{"name":"x","path":"/"}]"#,
                    "listed twice",
                ),
                (
                    r#"[{"name":"__Host-signout_state","path":"/","secure":true}]"#,
                    "this function's own cookie",
                ),
                (r#"{"name":"x"}"#, "must be a JSON array"),
            ];
            for (json, want) in bad {
                let lines = problems(&[("LOGOUT_COOKIES", json)]);
                assert_eq!(lines.len(), 1, "{json}: {lines:?}");
                assert!(lines[0].contains(want), "{json}: {}", lines[0]);
            }
            let s = LogoutSettings::from_lookup(lookup(&with(&[
                ("LOGOUT_COOKIES", r#"[{"name":"__Host-id","path":"/","secure":true,"http_only":true,"same_site":"lax"},{"name":"rt","path":"/logout","domain":".example.com","secure":true,"same_site":"None"}]"#),
                ("LOGOUT_REFRESH_COOKIE", "rt"),
            ])))
            .unwrap();
            assert_eq!(s.cookies.len(), 2);
            assert_eq!(s.cookies[0].same_site, Some(SameSite::Lax));
            assert_eq!(s.cookies[1].domain.as_deref(), Some(".example.com"));
            assert_eq!(s.refresh_cookie.as_deref(), Some("rt"));
        }

        #[test]
        fn the_refresh_cookie_must_be_one_of_the_expired_cookies() {
            let lines = problems(&[("LOGOUT_REFRESH_COOKIE", "rt")]);
            assert_eq!(lines.len(), 1);
            assert!(
                lines[0]
                    .starts_with("LOGOUT_REFRESH_COOKIE: must also be listed in LOGOUT_COOKIES")
            );
        }

        #[test]
        fn the_callback_is_an_https_url_of_our_route() {
            for (url, want) in [
                ("/logout/callback", "must be an absolute URL"),
                ("http://api.example.com/logout/callback", "must use https"),
                ("https://u:p@api.example.com/logout/callback", "no userinfo"),
                ("https://api.example.com/logout/callback#x", "no fragment"),
                (
                    "https://api.example.com/logout/callback?x=1",
                    "must have no query",
                ),
                ("https://api.example.com/", "/logout/callback route"),
            ] {
                let lines = problems(&[("LOGOUT_CALLBACK_URL", url)]);
                assert_eq!(lines.len(), 1, "{url}");
                assert!(lines[0].contains(want), "{url}: {}", lines[0]);
            }
            let s = LogoutSettings::from_lookup(lookup(&with(&[(
                "LOGOUT_CALLBACK_URL",
                "http://localhost:9000/prod/logout/callback",
            )])))
            .unwrap();
            assert_eq!(s.callback_url, "http://localhost:9000/prod/logout/callback");
        }

        #[test]
        fn state_keys_are_base64_or_raw_and_at_least_32_bytes() {
            let b64 = STANDARD.encode([7u8; 32]);
            let url_safe = URL_SAFE_NO_PAD.encode([0xfbu8; 40]);
            assert!(StateKey::from_setting(&b64).is_some());
            assert!(StateKey::from_setting(&url_safe).is_some());
            assert!(StateKey::from_setting(KEY).is_some(), "32 raw bytes");
            // base64 of 16 bytes is 24 characters: too short either way.
            assert!(StateKey::from_setting(&STANDARD.encode([7u8; 16])).is_none());
            assert!(StateKey::from_setting("x".repeat(31).as_str()).is_none());
            // base64 of 31 bytes is 44 characters, taken raw: still 248 bits of key material.
            assert!(StateKey::from_setting(&STANDARD.encode([7u8; 31])).is_some());
            // Same bytes, same key: base64 of the raw key signs like the raw key.
            let mac = |k: &StateKey| hmac::sign(&k.0, b"m").as_ref().to_vec();
            let raw = StateKey::from_setting(KEY).unwrap();
            let encoded = StateKey::from_setting(&STANDARD.encode(KEY)).unwrap();
            assert_eq!(mac(&raw), mac(&encoded));
        }

        #[test]
        fn idp_endpoints_are_https_urls() {
            let s = LogoutSettings::from_lookup(lookup(&with(&[(
                "IDP_LOGOUT_ENDPOINTS",
                r#"{"Okta":{"end_session_endpoint":"https://example.okta.com/oauth2/v1/logout","client_id":"0oa1"},"Azure":{"end_session_endpoint":"https://login.example.com/logout?p=b2c_1"}}"#,
            )])))
            .unwrap();
            assert_eq!(s.idps["Okta"].client_id.as_deref(), Some("0oa1"));
            assert_eq!(
                s.idps["Azure"].end_session_endpoint.query(),
                Some("p=b2c_1")
            );
            for (json, want) in [
                (
                    r#"{"Okta":{"end_session_endpoint":"http://example.okta.com/logout"}}"#,
                    "must use https",
                ),
                (
                    r#"{"Okta":{"end_session_endpoint":"https://example.okta.com/logout","secret":"x"}}"#,
                    "unknown field",
                ),
                (
                    r#"{"Okta":"https://example.okta.com/logout"}"#,
                    "provider \"Okta\"",
                ),
                (
                    r#"["https://example.okta.com/logout"]"#,
                    "must be a JSON object",
                ),
            ] {
                let lines = problems(&[("IDP_LOGOUT_ENDPOINTS", json)]);
                assert_eq!(lines.len(), 1, "{json}");
                assert!(lines[0].contains(want), "{json}: {}", lines[0]);
            }
        }

        #[test]
        fn scope_is_session_or_global() {
            let s =
                LogoutSettings::from_lookup(lookup(&with(&[("LOGOUT_SCOPE", "Global")]))).unwrap();
            assert_eq!(s.scope, Scope::Global);
        }
    }
}

pub mod state {
    //! The state cookie: what the callback needs, signed and short-lived.
    //!
    //! Value: `base64url(JSON payload) "." base64url(HMAC-SHA256(key, context || payload))`.
    //! The payload carries a version, an expiry and a random nonce besides the
    //! flow. Base64url and `.` are all valid cookie octets, so the value needs
    //! no further encoding.
    //!
    //! Replay: the callback clears the cookie in its answer, so a browser does
    //! not present it twice, and a nonce this process has already accepted is
    //! refused ([`SeenNonces`]). A copy replayed at another Lambda instance
    //! within its five minutes would pass, and gains nothing: the callback
    //! revokes nothing and only redirects to an allow-listed target or a
    //! configured IdP, where a fresh `GET /logout` leads anyway. Recording
    //! nonces in the store would close that gap at the price of a DynamoDB
    //! write per sign-out and a new way for the last hop to fail; not worth it.

    use std::collections::HashMap;
    use std::sync::Mutex;

    use aws_lc_rs::hmac;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Serialize};

    use super::{LogoutError, STATE_LIFETIME_SECS, StateKey};

    const VERSION: u8 = 1;
    /// Domain separation: this key signs nothing else, but the tag still says what it signs.
    const CONTEXT: &[u8] = b"signout/logout-state/v1\n";
    const NONCE_BYTES: usize = 16;
    /// Longest value accepted; browsers keep at most about 4 KB per cookie.
    pub const MAX_VALUE_BYTES: usize = 4000;
    /// Nonces remembered per process (five minutes of callbacks is far fewer).
    const SEEN_CAPACITY: usize = 10_000;
    /// Clock leeway for a state that seems to come from the future.
    const FUTURE_LEEWAY_SECS: u64 = 60;

    /// What travels from `GET /logout` to the callback.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct FlowState {
        pub client: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub target: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub state: Option<String>,
        /// Provider name; its endpoint is looked up in the settings again, so
        /// the cookie can only ever name a configured IdP.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub idp: Option<String>,
    }

    /// A state cookie after its signature verified.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Sealed {
        pub v: u8,
        pub exp: u64,
        pub nonce: String,
        pub flow: FlowState,
    }

    fn mac_input(payload: &str) -> Vec<u8> {
        [CONTEXT, payload.as_bytes()].concat()
    }

    /// Seals `flow` at `now` (epoch seconds), valid for [`STATE_LIFETIME_SECS`].
    pub fn seal(key: &StateKey, flow: &FlowState, now: u64) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system random source works");
        let sealed = Sealed {
            v: VERSION,
            exp: now.saturating_add(STATE_LIFETIME_SECS),
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            flow: flow.clone(),
        };
        let json = serde_json::to_vec(&sealed).expect("plain data serialises");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = hmac::sign(&key.0, &mac_input(&payload));
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Opens a state cookie value: signature first (constant time), then
    /// content, then expiry.
    pub fn open(key: &StateKey, value: &str, now: u64) -> Result<Sealed, LogoutError> {
        let invalid = LogoutError::StateInvalid;
        if value.len() > MAX_VALUE_BYTES {
            return Err(invalid);
        }
        let (payload, tag) = value.split_once('.').ok_or(invalid.clone())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid.clone())?;
        hmac::verify(&key.0, &mac_input(payload), &tag).map_err(|_| invalid.clone())?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| invalid.clone())?;
        let sealed: Sealed = serde_json::from_slice(&json).map_err(|_| invalid.clone())?;
        let nonce_ok = URL_SAFE_NO_PAD
            .decode(&sealed.nonce)
            .is_ok_and(|n| n.len() == NONCE_BYTES);
        if sealed.v != VERSION || !nonce_ok {
            return Err(invalid);
        }
        if sealed.exp <= now {
            return Err(LogoutError::StateExpired);
        }
        if sealed.exp > now + STATE_LIFETIME_SECS + FUTURE_LEEWAY_SECS {
            return Err(invalid);
        }
        Ok(sealed)
    }

    /// Nonces of state cookies this process accepted, until they expire.
    #[derive(Default)]
    pub struct SeenNonces {
        seen: Mutex<HashMap<String, u64>>,
    }

    impl SeenNonces {
        /// Records `nonce` (valid until `exp`); false when it was seen before.
        pub fn first_use(&self, nonce: &str, exp: u64, now: u64) -> bool {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.contains_key(nonce) {
                return false;
            }
            if seen.len() >= SEEN_CAPACITY {
                seen.retain(|_, until| *until > now);
                if seen.len() >= SEEN_CAPACITY {
                    // Only a flood of valid states gets here; forgetting them
                    // costs the replay check on this instance, not correctness
                    // of the redirect (see the module comment).
                    tracing::warn!(code = "nonce_cache_full", "forgetting seen sign-out states");
                    seen.clear();
                }
            }
            seen.insert(nonce.to_owned(), exp);
            true
        }

        pub fn len(&self) -> usize {
            self.seen.lock().unwrap_or_else(|e| e.into_inner()).len()
        }

        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn key(byte: u8) -> StateKey {
            StateKey::from_setting(&String::from_utf8(vec![byte; 32]).unwrap()).unwrap()
        }

        fn flow() -> FlowState {
            FlowState {
                client: "abc123".into(),
                target: Some("https://app.example.com/bye".into()),
                state: Some("a b&c=d/é+%20".into()),
                idp: Some("Okta".into()),
            }
        }

        const NOW: u64 = 1_800_000_000;

        #[test]
        fn a_sealed_state_opens_with_its_key_until_it_expires() {
            let k = key(b'k');
            let v = seal(&k, &flow(), NOW);
            assert!(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            );
            let s = open(&k, &v, NOW).unwrap();
            assert_eq!(s.flow, flow());
            assert_eq!(s.exp, NOW + STATE_LIFETIME_SECS);
            assert_eq!(
                open(&k, &v, NOW + STATE_LIFETIME_SECS - 1).unwrap().flow,
                flow()
            );
            assert_eq!(
                open(&k, &v, NOW + STATE_LIFETIME_SECS),
                Err(LogoutError::StateExpired)
            );
            assert_eq!(
                open(&k, &v, NOW - 3600),
                Err(LogoutError::StateInvalid),
                "from the future"
            );
            assert_ne!(
                open(&k, &seal(&k, &flow(), NOW), NOW).unwrap().nonce,
                s.nonce
            );
        }

        #[test]
        fn tampered_foreign_or_malformed_states_are_invalid() {
            let k = key(b'k');
            let v = seal(&k, &flow(), NOW);
            let (payload, tag) = v.split_once('.').unwrap();
            let mut forged =
                serde_json::from_slice::<Sealed>(&URL_SAFE_NO_PAD.decode(payload).unwrap())
                    .unwrap();
            forged.flow.target = Some("https://evil.example.net/".into());
            let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
            let flip = |s: &str| {
                let mut b = s.as_bytes().to_vec();
                b[3] = if b[3] == b'A' { b'B' } else { b'A' };
                String::from_utf8(b).unwrap()
            };
            for bad in [
                format!("{forged_payload}.{tag}"),
                format!("{}.{tag}", flip(payload)),
                format!("{payload}.{}", flip(tag)),
                format!("{payload}."),
                format!(".{tag}"),
                payload.to_owned(),
                format!("{payload}.{tag}.x"),
                String::new(),
                "not a state".into(),
                format!("{payload}.{tag}{}", "A".repeat(MAX_VALUE_BYTES)),
            ] {
                assert_eq!(open(&k, &bad, NOW), Err(LogoutError::StateInvalid), "{bad}");
            }
            assert_eq!(
                open(&key(b'o'), &v, NOW),
                Err(LogoutError::StateInvalid),
                "another key"
            );
        }

        #[test]
        fn a_nonce_is_accepted_once() {
            let seen = SeenNonces::default();
            assert!(seen.first_use("n1", NOW + 10, NOW));
            assert!(!seen.first_use("n1", NOW + 10, NOW));
            assert!(seen.first_use("n2", NOW + 10, NOW));
            assert_eq!(seen.len(), 2);
        }

        #[test]
        fn a_full_nonce_cache_drops_expired_entries_first() {
            let seen = SeenNonces::default();
            for i in 0..SEEN_CAPACITY {
                seen.first_use(&format!("old{i}"), NOW - 1, NOW - 300);
            }
            seen.first_use("live", NOW + 100, NOW - 300);
            assert!(seen.first_use("new", NOW + 300, NOW));
            assert_eq!(seen.len(), 2, "expired entries pruned, the live one kept");
            assert!(!seen.first_use("live", NOW + 100, NOW));
        }
    }
}

pub mod page {
    //! The only bodies the browser ever gets from us: fixed text, no input.

    macro_rules! page {
        ($title:literal, $text:literal) => {
            concat!(
                "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">",
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
                "<title>",
                $title,
                "</title></head>\n<body>\n<h1>",
                $title,
                "</h1>\n<p>",
                $text,
                "</p>\n</body>\n</html>\n"
            )
        };
    }

    pub const SIGNED_OUT: &str = page!("You are signed out", "You can close this window.");
    pub const INVALID: &str = page!(
        "This sign-out link is not valid",
        "Return to the application and sign out from there."
    );
    pub const NOT_FOUND: &str = page!("Not found", "There is nothing at this address.");
    pub const METHOD_NOT_ALLOWED: &str = page!(
        "Method not allowed",
        "Sign-out links are followed with GET."
    );

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Page {
        /// The flow ended without a target (OIDC without `post_logout_redirect_uri`).
        SignedOut,
        /// Anything refused.
        Invalid,
        NotFound,
        MethodNotAllowed,
    }

    impl Page {
        pub fn status(self) -> u16 {
            match self {
                Page::SignedOut => 200,
                Page::Invalid => 400,
                Page::NotFound => 404,
                Page::MethodNotAllowed => 405,
            }
        }

        pub fn html(self) -> &'static str {
            match self {
                Page::SignedOut => SIGNED_OUT,
                Page::Invalid => INVALID,
                Page::NotFound => NOT_FOUND,
                Page::MethodNotAllowed => METHOD_NOT_ALLOWED,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn config() -> Config {
        let env: HashMap<&str, &str> = [
            ("AWS_REGION", "eu-west-1"),
            ("USER_POOL_ID", "eu-west-1_AbC123"),
            ("SIGNOUT_TABLE", "revocations"),
            ("APP_CLIENT_IDS", "abc123"),
            ("LOGOUT_URLS", r#"{"abc123":["https://app.example.com/bye","https://app.example.com/bye?from=logout"]}"#),
        ]
        .into_iter()
        .collect();
        Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap()
    }

    #[test]
    fn parameters_of_both_styles_are_read() {
        let cognito = LogoutParams::from_pairs(&pairs(&[
            ("client_id", "abc123"),
            ("logout_uri", "https://x/"),
        ]))
        .unwrap();
        assert_eq!(cognito.client_id.as_deref(), Some("abc123"));
        assert_eq!(cognito.target.as_deref(), Some("https://x/"));
        let oidc = LogoutParams::from_pairs(&pairs(&[
            ("post_logout_redirect_uri", "https://x/"),
            ("id_token_hint", "h"),
            ("state", "s"),
            ("logout_hint", "alice"),
            ("ui_locales", "fr"),
        ]))
        .unwrap();
        assert_eq!(oidc.target.as_deref(), Some("https://x/"));
        assert_eq!(
            (oidc.id_token_hint.as_deref(), oidc.state.as_deref()),
            (Some("h"), Some("s"))
        );
        assert_eq!(oidc.client_id, None);
        let empty = LogoutParams::from_pairs(&pairs(&[
            ("client_id", ""),
            ("state", ""),
            ("logout_uri", ""),
        ]))
        .unwrap();
        assert_eq!((empty.client_id, empty.state), (None, None));
        assert_eq!(
            empty.target.as_deref(),
            Some(""),
            "an empty target is kept, to be refused"
        );
    }

    #[test]
    fn ambiguous_parameters_are_refused() {
        let err = |p: &[(&str, &str)]| LogoutParams::from_pairs(&pairs(p)).unwrap_err();
        assert_eq!(
            err(&[("logout_uri", "a"), ("logout_uri", "a")]),
            LogoutError::DuplicateParameter
        );
        assert_eq!(
            err(&[("client_id", "a"), ("x", "1"), ("x", "2")]),
            LogoutError::DuplicateParameter
        );
        assert_eq!(
            err(&[("logout_uri", "a"), ("post_logout_redirect_uri", "a")]),
            LogoutError::ConflictingTargets
        );
        let long = "s".repeat(MAX_STATE_PARAM_BYTES + 1);
        assert_eq!(err(&[("state", &long)]), LogoutError::StateTooLong);
        let many: Vec<(String, String)> = (0..=MAX_PARAMETERS)
            .map(|i| (format!("p{i}"), String::new()))
            .collect();
        assert_eq!(
            LogoutParams::from_pairs(&many),
            Err(LogoutError::TooManyParameters)
        );
    }

    #[test]
    fn targets_match_exactly_or_not_at_all() {
        let c = config();
        assert!(target_allowed(&c, "abc123", "https://app.example.com/bye"));
        assert!(target_allowed(
            &c,
            "abc123",
            "https://app.example.com/bye?from=logout"
        ));
        for t in [
            "https://app.example.com/bye/",
            "https://APP.example.com/bye",
            "https://app.example.com:443/bye",
            "https://app.example.com./bye",
            "https://app.example.com/by%65",
            "https://app.example.com/bye?from=logout&x",
            "https://app.example.com/bye#",
            " https://app.example.com/bye",
            "",
        ] {
            assert!(!target_allowed(&c, "abc123", t), "{t}");
        }
        assert!(!target_allowed(&c, "other", "https://app.example.com/bye"));
    }

    #[test]
    fn sessions_stay_listed_while_their_refresh_token_can_mint() {
        let c = config();
        let now = 1_800_000_000;
        let day = c.max_token_lifetime.as_secs();
        let refresh = c.refresh_token_lifetime.as_secs();
        assert_eq!(session_until(now, now + 3600, false, &c), now + refresh);
        assert_eq!(session_until(now, now + 3600, true, &c), now + day);
        assert_eq!(
            session_until(now, now - 3600, true, &c),
            now + day,
            "expired hint"
        );
        let mut long = c.clone();
        long.max_token_lifetime = Duration::from_secs(300);
        assert_eq!(session_until(now, now + 3600, true, &long), now + 3600);
    }

    #[test]
    fn urls_are_built_with_every_value_encoded() {
        let domain = Url::parse("https://auth.example.com/").unwrap();
        assert_eq!(
            cognito_logout_url(&domain, "abc123", "https://api.example.com/logout/callback"),
            "https://auth.example.com/logout?client_id=abc123&logout_uri=https%3A%2F%2Fapi.example.com%2Flogout%2Fcallback"
        );
        let idp = IdpLogout {
            end_session_endpoint: Url::parse("https://login.example.com/logout?p=b2c_1").unwrap(),
            client_id: Some("0oa1".into()),
        };
        assert_eq!(
            idp_logout_url(&idp, Some("https://app.example.com/bye"), Some("a&b")),
            "https://login.example.com/logout?p=b2c_1&client_id=0oa1&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&state=a%26b"
        );
        let bare = IdpLogout {
            end_session_endpoint: Url::parse("https://idp.example.com/logout").unwrap(),
            client_id: None,
        };
        assert_eq!(
            idp_logout_url(&bare, None, Some("ignored without a target")),
            "https://idp.example.com/logout"
        );
        assert_eq!(
            final_url("https://app.example.com/bye", None),
            "https://app.example.com/bye"
        );
        assert_eq!(
            final_url("https://app.example.com/bye", Some("x y&z=\r\n")),
            "https://app.example.com/bye?state=x+y%26z%3D%0D%0A"
        );
        assert_eq!(
            final_url("https://app.example.com/bye?from=logout", Some("s")),
            "https://app.example.com/bye?from=logout&state=s"
        );
    }

    #[test]
    fn pages_are_fixed_and_say_what_happened() {
        for p in [
            Page::SignedOut,
            Page::Invalid,
            Page::NotFound,
            Page::MethodNotAllowed,
        ] {
            assert!(p.html().starts_with("<!doctype html>"));
            assert!(!p.html().contains("<script"));
        }
        assert!(Page::SignedOut.html().contains("You are signed out"));
        assert!(
            Page::Invalid
                .html()
                .contains("This sign-out link is not valid")
        );
        assert_eq!(Page::Invalid.status(), 400);
    }

    #[test]
    fn errors_have_stable_codes() {
        assert_eq!(
            LogoutError::HintRefused(TokenError::BadSignature).code(),
            "hint_invalid"
        );
        assert_eq!(
            LogoutError::HintRefused(TokenError::BadSignature).to_string(),
            "the id_token_hint does not verify (bad_signature)"
        );
        assert_eq!(LogoutError::StateReplayed.code(), "state_replayed");
    }
}
