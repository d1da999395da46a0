//! Browser sign-out: `GET /logout` and `GET /logout/callback`.
//!
//! The browser arrives with Cognito's parameters (`client_id`, `logout_uri`)
//! or OpenID Connect RP-Initiated Logout's (`client_id`,
//! `post_logout_redirect_uri`, `id_token_hint`, `state`; `logout_hint` and
//! `ui_locales` are accepted and ignored). [`Logout::start`]:
//!
//! 1. refuses anything ambiguous (a repeated parameter, both target names),
//!    an unknown client, a hint that does not verify or names another client,
//!    an expired hint older than `LOGOUT_HINT_MAX_AGE_SECONDS`,
//!    a target that is not byte for byte an entry of the client's
//!    `LOGOUT_URLS`, and a `state` too large to carry in the state cookie:
//!    a fixed 400 page, no redirect, no cookie, nothing revoked (a fixed 503
//!    page instead when the keys to verify a hint could not be fetched and
//!    no `client_id` was given: our failure, not the link's);
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
//! Nothing here speaks HTTP: the function crate turns an [`LogoutResponse`] into a
//! response (security headers, `Set-Cookie` built with the `cookie` crate).
//!
//! | module | owns |
//! | --- | --- |
//! | [`settings`] | `LogoutSettings`, read and validated once at cold start |
//! | `cookies` | the cookies we expire or set, their attributes and prefix rules |
//! | `idp` | federated IdPs' `end_session_endpoint`s and the URL to them |
//! | `target` | the query's parameters, the exact-match allow-list, the final URL |
//! | [`state_cookie`] | the signed state cookie, its key, nonces and replay |
//! | `flow` | [`Logout`]: the two hops, and the [`LogoutResponse`] each gives |
//! | `revoke` | the side effects of `GET /logout`: Cognito and the store |
//! | [`page`] | the fixed HTML pages |
//! | [`confirm`] | logout CSRF: `LOGOUT_CONFIRM`, the confirmation cookie and its CSRF token |

pub mod confirm;
mod cookies;
mod flow;
mod idp;
pub mod page;
mod revoke;
pub mod settings;
pub mod state_cookie;
mod target;
#[cfg(test)]
mod testing;

use crate::tokens::TokenError;

pub use confirm::{CONFIRM_COOKIE, CSRF_FIELD, Confirm};
pub use cookies::{AppCookie, Lifetime, SameSite, SetCookie};
pub use flow::{Logout, LogoutResponse, Reply, cognito_logout_url};
pub use idp::{IdpLogout, idp_logout_url};
pub use page::Page;
pub use settings::{LogoutSettings, Scope};
pub use state_cookie::{FlowState, SeenNonces, StateKey};
pub use target::{LogoutParams, final_url, target_allowed};

/// The cookie that carries the flow across Cognito's hop. `__Host-`: only
/// this exact host can set or read it (Secure, `Path=/`, no `Domain`).
pub const STATE_COOKIE: &str = "__Host-signout_state";
/// How long a browser has to come back from Cognito's `/logout`.
pub const STATE_LIFETIME_SECS: u64 = 300;
/// Longest `state` echoed; it travels in a cookie, which browsers cap at 4 KB.
pub const MAX_STATE_PARAM_BYTES: usize = 1024;
/// More parameters than any legitimate sign-out link carries.
pub const MAX_PARAMETERS: usize = 32;

/// Why a sign-out request was refused. Each has a stable code for logs; the
/// browser only ever sees a fixed page ([`LogoutError::page`]).
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
    #[error("the sign-out state would not fit in its cookie")]
    StateTooLarge,
    #[error("no client_id and no verified id_token_hint")]
    ClientMissing,
    #[error("client_id is not a configured app client")]
    UnknownClient,
    #[error("the id_token_hint was issued to another client than client_id")]
    HintClientMismatch,
    #[error("the id_token_hint does not verify ({})", .0.code())]
    HintRefused(TokenError),
    #[error(
        "the keys to verify the id_token_hint could not be fetched, and no client_id was given"
    )]
    HintUnverifiable,
    #[error("the id_token_hint has expired and is older than LOGOUT_HINT_MAX_AGE_SECONDS")]
    HintTooOld,
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
    #[error("no sign-out confirmation cookie, or more than one")]
    ConfirmMissing,
    #[error("the sign-out confirmation is malformed or its signature does not verify")]
    ConfirmInvalid,
    #[error("the sign-out confirmation has expired")]
    ConfirmExpired,
    #[error("the sign-out confirmation was already used")]
    ConfirmReplayed,
    #[error("the CSRF token does not match the sign-out confirmation")]
    CsrfMismatch,
}

impl LogoutError {
    /// The page the browser gets: [`Page::Unavailable`] (503) for our own
    /// transient failure, [`Page::Invalid`] (400) for everything refused.
    pub fn page(&self) -> Page {
        match self {
            LogoutError::HintUnverifiable => Page::Unavailable,
            _ => Page::Invalid,
        }
    }

    /// Stable code, safe to log.
    pub fn code(&self) -> &'static str {
        match self {
            LogoutError::DuplicateParameter => "duplicate_parameter",
            LogoutError::TooManyParameters => "too_many_parameters",
            LogoutError::ConflictingTargets => "conflicting_targets",
            LogoutError::StateTooLong => "state_too_long",
            LogoutError::StateTooLarge => "state_too_large",
            LogoutError::ClientMissing => "client_missing",
            LogoutError::UnknownClient => "unknown_client",
            LogoutError::HintClientMismatch => "hint_client_mismatch",
            LogoutError::HintRefused(_) => "hint_invalid",
            LogoutError::HintUnverifiable => "hint_unverifiable",
            LogoutError::HintTooOld => "hint_too_old",
            LogoutError::TargetNotAllowed => "target_not_allowed",
            LogoutError::StateMissing => "state_missing",
            LogoutError::StateDuplicated => "state_duplicated",
            LogoutError::StateInvalid => "state_invalid",
            LogoutError::StateExpired => "state_expired",
            LogoutError::StateReplayed => "state_replayed",
            LogoutError::ConfirmMissing => "confirm_missing",
            LogoutError::ConfirmInvalid => "confirm_invalid",
            LogoutError::ConfirmExpired => "confirm_expired",
            LogoutError::ConfirmReplayed => "confirm_replayed",
            LogoutError::CsrfMismatch => "csrf_mismatch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(LogoutError::StateTooLarge.code(), "state_too_large");
        assert_eq!(LogoutError::HintTooOld.code(), "hint_too_old");
        assert_eq!(LogoutError::HintTooOld.page(), Page::Invalid);
        assert_eq!(LogoutError::HintUnverifiable.page(), Page::Unavailable);
    }
}
