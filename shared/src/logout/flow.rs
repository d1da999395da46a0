//! [`Logout`]: the two hops of a browser sign-out, as the module doc of
//! [`logout`](super) describes them, and the [`LogoutResponse`] each gives.

use url::Url;

use super::confirm::{self, CONFIRM_COOKIE, CSRF_FIELD, Pending};
use super::cookies::SetCookie;
use super::idp::idp_logout_url;
use super::page::Page;
use super::revoke::{record, revoke_refresh_tokens};
use super::settings::LogoutSettings;
use super::state_cookie::{self, FlowState, SeenNonces};
use super::target::{LogoutParams, final_url, target_allowed};
use super::{LogoutError, STATE_COOKIE};
use crate::app::App;
use crate::model::{ClientId, EpochMs};
use crate::ops::{Report, SignOutKind};
use crate::tokens::{Claims, Expect};

/// What the browser is told to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 302 to this URL: Cognito's `/logout`, a configured IdP's
    /// `end_session_endpoint`, or an allow-listed target.
    Redirect(String),
    Page(Page),
    /// 200 with the confirmation page ([`page::confirm_html`](super::page::confirm_html))
    /// holding this CSRF token.
    Confirm(String),
}

/// The outcome of one request, for the function crate to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutResponse {
    pub reply: Reply,
    pub set_cookies: Vec<SetCookie>,
}

impl LogoutResponse {
    /// A page and no cookie at all.
    pub fn page(page: Page) -> Self {
        LogoutResponse {
            reply: Reply::Page(page),
            set_cookies: Vec::new(),
        }
    }
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

/// The sign-out flow, built once per cold start.
pub struct Logout {
    settings: LogoutSettings,
    seen: SeenNonces,
}

/// What a valid `GET /logout` resolved to, before anything is done.
struct Plan {
    flow: FlowState,
    hint: Option<Claims>,
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
    ) -> LogoutResponse {
        let plan = match self.plan(app, query).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "logout refused");
                return LogoutResponse::page(e.page());
            }
        };
        if self.settings.confirm.asks(plan.hint.is_some()) {
            return self.ask(query);
        }
        self.sign_out(app, plan, cookies).await
    }

    /// The confirmation page instead of a sign-out: nothing revoked, no
    /// cookie expired; only the confirmation cookie set.
    fn ask(&self, query: &[(String, String)]) -> LogoutResponse {
        match confirm::seal(&self.settings.state_key, query, EpochMs::now().secs()) {
            Ok((value, token)) => {
                tracing::info!(code = "confirm_asked", "logout: asking the user to confirm");
                LogoutResponse {
                    reply: Reply::Confirm(token),
                    set_cookies: vec![SetCookie::confirm(value)],
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "logout refused");
                LogoutResponse::page(e.page())
            }
        }
    }

    /// `POST /logout`: the user's click on the confirmation page. Signs out
    /// only with the confirmation cookie and the CSRF token that matches it,
    /// running the original request again with every check; the cookie is
    /// cleared in every answer to a request that carried one.
    pub async fn confirmed(
        &self,
        app: &App,
        form: &[(String, String)],
        cookies: &[(String, String)],
    ) -> LogoutResponse {
        let presented: Vec<&str> = cookies
            .iter()
            .filter(|(n, _)| n == CONFIRM_COOKIE)
            .map(|(_, v)| v.as_str())
            .collect();
        let clear = if presented.is_empty() {
            Vec::new()
        } else {
            vec![SetCookie::clear_confirm()]
        };
        let planned = match self.reopen(&presented, form) {
            Ok(pending) => self.plan(app, &pending.query).await,
            Err(e) => Err(e),
        };
        match planned {
            Ok(plan) => {
                let mut answer = self.sign_out(app, plan, cookies).await;
                answer.set_cookies.extend(clear);
                answer
            }
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "logout confirmation refused");
                LogoutResponse {
                    reply: Reply::Page(e.page()),
                    set_cookies: clear,
                }
            }
        }
    }

    fn reopen(
        &self,
        presented: &[&str],
        form: &[(String, String)],
    ) -> Result<Pending, LogoutError> {
        let [value] = presented else {
            return Err(LogoutError::ConfirmMissing);
        };
        let tokens: Vec<&str> = form
            .iter()
            .filter(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str())
            .collect();
        let [token] = tokens[..] else {
            return Err(LogoutError::CsrfMismatch);
        };
        let now = EpochMs::now().secs();
        let pending = confirm::open(&self.settings.state_key, value, token, now)?;
        if !self.seen.first_use(&pending.nonce, pending.exp, now) {
            return Err(LogoutError::ConfirmReplayed);
        }
        Ok(pending)
    }

    /// Signs out what `plan` names and sends the browser on.
    async fn sign_out(
        &self,
        app: &App,
        plan: Plan,
        cookies: &[(String, String)],
    ) -> LogoutResponse {
        // Cognito first, then the store. The hinted session stays listed for
        // the refresh token lifetime whatever Cognito said: the cookie's
        // refresh token cannot be tied to the hint (see `record`).
        let Plan { flow, hint } = plan;
        let client = ClientId(flow.client.clone());
        let mut report = Report::default();
        revoke_refresh_tokens(app, &self.settings, &client, cookies, &mut report).await;
        // At least one presented, and every one revoked.
        let refresh_revoked = !report.steps.is_empty() && report.steps.iter().all(|s| s.ok);
        if let Some(claims) = &hint {
            record(app, self.settings.scope, claims, &mut report).await;
        }
        report.counted(SignOutKind::Logout);
        tracing::info!(
            client = %client,
            hinted = hint.is_some(),
            federated = flow.idp.is_some(),
            refresh_revoked,
            "logout"
        );

        let mut set_cookies: Vec<SetCookie> = self
            .settings
            .cookies
            .iter()
            .map(SetCookie::expire)
            .collect();
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
        LogoutResponse { reply, set_cookies }
    }

    /// `GET /logout/callback`, where Cognito's `/logout` returns the browser.
    /// The state cookie is cleared in every answer to a request that carried one.
    pub fn callback(&self, app: &App, cookies: &[(String, String)]) -> LogoutResponse {
        let presented: Vec<&str> = cookies
            .iter()
            .filter(|(n, _)| n == STATE_COOKIE)
            .map(|(_, v)| v.as_str())
            .collect();
        match self.resume(app, &presented) {
            Ok(flow) => LogoutResponse {
                reply: self.next_hop(&flow),
                set_cookies: vec![SetCookie::clear_state()],
            },
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "logout callback refused");
                LogoutResponse {
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
        state_cookie::seal(&self.settings.state_key, flow, now)
    }

    async fn plan(&self, app: &App, query: &[(String, String)]) -> Result<Plan, LogoutError> {
        let params = LogoutParams::from_pairs(query)?;
        let hint = match &params.id_token_hint {
            None => None,
            Some(token) => match app.verifier.verify(token, Expect::ID_HINT).await {
                Ok(verified) => {
                    self.hint_fresh_enough(app, &verified.claims, EpochMs::now().secs())?;
                    Some(verified.claims.clone())
                }
                // Our keys are unreachable, which says nothing about the
                // token: sign out without naming a session when the query
                // names the client, rather than trap the browser; without
                // client_id there is no allow-list to check the target
                // against, so ask the browser to come back (503), never
                // blame the link.
                Err(e) if e.is_transient() => {
                    tracing::warn!(step = "verify_hint", code = e.code(), "logout step failed");
                    if params.client_id.is_none() {
                        return Err(LogoutError::HintUnverifiable);
                    }
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
        let flow = FlowState {
            client,
            target: params.target,
            client_state: params.state,
            idp,
        };
        // Refused here, before anything is revoked, rather than at the
        // callback, where the browser would have dropped or we would refuse
        // the cookie: JSON escapes can grow a 1 KB `state` sixfold.
        if !state_cookie::fits(&flow) {
            return Err(LogoutError::StateTooLarge);
        }
        Ok(Plan { flow, hint })
    }

    /// OIDC RP-Initiated Logout lets an expired hint name a session that is
    /// current or "had a recent session"; a hint minted longer ago than the
    /// bound (default: the refresh token lifetime) came with a refresh token
    /// that has expired since, so its session is over and the hint can only
    /// be a leaked token. Measured from `iat`, the last instant the session
    /// is known to have minted tokens. Unexpired hints are valid tokens and
    /// never refused here.
    fn hint_fresh_enough(&self, app: &App, hint: &Claims, now: u64) -> Result<(), LogoutError> {
        let expired = now >= hint.exp.saturating_add(app.config.leeway.as_secs());
        let max_age = self
            .settings
            .hint_max_age
            .unwrap_or(app.config.refresh_token_lifetime)
            .as_secs();
        if expired && now.saturating_sub(hint.iat) > max_age {
            return Err(LogoutError::HintTooOld);
        }
        Ok(())
    }

    fn resume(&self, app: &App, presented: &[&str]) -> Result<FlowState, LogoutError> {
        let value = match presented {
            [] => return Err(LogoutError::StateMissing),
            [one] => *one,
            _ => return Err(LogoutError::StateDuplicated),
        };
        let now = EpochMs::now().secs();
        let sealed = state_cookie::open(&self.settings.state_key, value, now)?;
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
                flow.client_state.as_deref(),
            ));
        }
        match &flow.target {
            Some(t) => Reply::Redirect(final_url(t, flow.client_state.as_deref())),
            None => Reply::Page(Page::SignedOut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cognito_hop_encodes_the_callback() {
        let domain = Url::parse("https://auth.example.com/").unwrap();
        assert_eq!(
            cognito_logout_url(&domain, "abc123", "https://api.example.com/logout/callback"),
            "https://auth.example.com/logout?client_id=abc123&logout_uri=https%3A%2F%2Fapi.example.com%2Flogout%2Fcallback"
        );
    }
}
