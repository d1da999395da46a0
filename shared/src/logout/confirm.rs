//! Logout CSRF: the confirmation step.
//!
//! Any site can make a browser request `GET /logout` (a link, an `<img>`, an
//! iframe, a top-level redirect). OpenID Connect RP-Initiated Logout 1.0
//! (section 2) says the provider should ask the user to confirm when it
//! cannot be sure the request came from the relying party; a valid
//! `id_token_hint` is that assurance. So, per `LOGOUT_CONFIRM`:
//!
//! | value | a valid hint | no valid hint |
//! | --- | --- | --- |
//! | `auto` (default) | signed out at once | confirmation page |
//! | `always` | confirmation page | confirmation page |
//! | `never` | signed out at once | signed out at once (logout CSRF possible) |
//!
//! The page is fixed HTML with one form (`POST` to `logout`, relative, so a
//! stage prefix is kept) whose only field is a CSRF token; it reflects no
//! input and needs no script. `GET /logout` validates everything first (a
//! refused link never gets a page) and then changes nothing but this:
//! it seals the request's known parameters (`client_id`, the target,
//! `state`, `id_token_hint`) in [`CONFIRM_COOKIE`], a signed, ten-minute,
//! `HttpOnly`, `SameSite=Strict`, `__Host-` cookie, and the token is an
//! HMAC of that cookie's nonce under the same key with another context. The
//! `POST` signs out only with both: the cookie (which a cross-site request
//! never carries, being `Strict`) and the token that matches it (which only
//! our page holds); then it runs the request again, every check included,
//! as if it had come with no page. Each cookie is good for one sign-out.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::LogoutError;
use super::state_cookie::{MAX_VALUE_BYTES, StateKey};
use crate::config::ConfigError;

/// `LOGOUT_CONFIRM`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Confirm {
    /// Ask only when no valid `id_token_hint` came with the request.
    #[default]
    Auto,
    Always,
    Never,
}

impl Confirm {
    /// Whether a request with (`hinted`) or without a valid hint is asked.
    pub fn asks(self, hinted: bool) -> bool {
        match self {
            Confirm::Auto => !hinted,
            Confirm::Always => true,
            Confirm::Never => false,
        }
    }

    pub(super) fn from_setting(raw: Option<&str>, p: &mut ConfigError) -> Self {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            None | Some("auto") => Confirm::Auto,
            Some("always") => Confirm::Always,
            Some("never") => Confirm::Never,
            Some(_) => {
                p.add("LOGOUT_CONFIRM", "must be auto, always or never", "auto");
                Confirm::Auto
            }
        }
    }
}

/// The cookie that holds a sign-out waiting for the user's click.
pub const CONFIRM_COOKIE: &str = "__Host-signout_confirm";
/// How long the page may wait for the click.
pub const CONFIRM_LIFETIME_SECS: u64 = 600;
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The query parameters a confirmed sign-out runs with again.
const KEPT: [&str; 5] = [
    "client_id",
    "logout_uri",
    "post_logout_redirect_uri",
    "state",
    "id_token_hint",
];
const VERSION: u8 = 1;
const COOKIE_CONTEXT: &[u8] = b"signout/logout-confirm/v1\n";
const TOKEN_CONTEXT: &[u8] = b"signout/logout-csrf/v1\n";
const NONCE_BYTES: usize = 16;
const FUTURE_LEEWAY_SECS: u64 = 60;

/// What waits in [`CONFIRM_COOKIE`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub v: u8,
    pub exp: u64,
    pub nonce: String,
    /// The request's known parameters, as (name, value).
    pub query: Vec<(String, String)>,
}

/// The parameters of `query` a confirmed sign-out needs; nothing else is kept.
pub fn kept(query: &[(String, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .filter(|(k, _)| KEPT.contains(&k.as_str()))
        .cloned()
        .collect()
}

fn tag(key: &StateKey, context: &[u8], data: &str) -> String {
    let t = hmac::sign(key.hmac(), &[context, data.as_bytes()].concat());
    URL_SAFE_NO_PAD.encode(t.as_ref())
}

fn verify(key: &StateKey, context: &[u8], data: &str, tag: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(tag)
        .is_ok_and(|t| hmac::verify(key.hmac(), &[context, data.as_bytes()].concat(), &t).is_ok())
}

/// Seals `query` at `now`: (the cookie's value, the form's CSRF token), or
/// [`LogoutError::StateTooLarge`] when it would not fit in a cookie.
pub fn seal(
    key: &StateKey,
    query: &[(String, String)],
    now: u64,
) -> Result<(String, String), LogoutError> {
    let mut nonce = [0u8; NONCE_BYTES];
    aws_lc_rs::rand::fill(&mut nonce).expect("the system random source works");
    let pending = Pending {
        v: VERSION,
        exp: now.saturating_add(CONFIRM_LIFETIME_SECS),
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        query: kept(query),
    };
    let json = serde_json::to_vec(&pending).expect("plain data serialises");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let value = format!("{payload}.{}", tag(key, COOKIE_CONTEXT, &payload));
    if value.len() > MAX_VALUE_BYTES {
        return Err(LogoutError::StateTooLarge);
    }
    Ok((value, tag(key, TOKEN_CONTEXT, &pending.nonce)))
}

/// Opens the cookie's `value` and checks the form's `token` against it:
/// signature (constant time), content, expiry, then the token.
pub fn open(key: &StateKey, value: &str, token: &str, now: u64) -> Result<Pending, LogoutError> {
    let invalid = LogoutError::ConfirmInvalid;
    if value.len() > MAX_VALUE_BYTES {
        return Err(invalid);
    }
    let (payload, t) = value.split_once('.').ok_or(invalid.clone())?;
    if !verify(key, COOKIE_CONTEXT, payload, t) {
        return Err(invalid);
    }
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid.clone())?;
    let pending: Pending = serde_json::from_slice(&json).map_err(|_| invalid.clone())?;
    if pending.v != VERSION || pending.exp > now + CONFIRM_LIFETIME_SECS + FUTURE_LEEWAY_SECS {
        return Err(invalid);
    }
    if pending.exp <= now {
        return Err(LogoutError::ConfirmExpired);
    }
    if !verify(key, TOKEN_CONTEXT, &pending.nonce, token) {
        return Err(LogoutError::CsrfMismatch);
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logout::testing::KEY;

    const NOW: u64 = 1_800_000_000;

    fn key() -> StateKey {
        StateKey::from_setting(KEY).unwrap()
    }

    fn query() -> Vec<(String, String)> {
        [
            ("client_id", "abc123"),
            ("logout_uri", "https://app.example.com/bye"),
            ("state", "a b&c"),
            ("ui_locales", "<script>"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[test]
    fn who_is_asked_depends_on_the_setting_and_the_hint() {
        assert!(Confirm::Auto.asks(false) && !Confirm::Auto.asks(true));
        assert!(Confirm::Always.asks(false) && Confirm::Always.asks(true));
        assert!(!Confirm::Never.asks(false) && !Confirm::Never.asks(true));
        assert_eq!(Confirm::default(), Confirm::Auto);
    }

    #[test]
    fn a_sealed_request_opens_with_its_own_token_only() {
        let (value, token) = seal(&key(), &query(), NOW).unwrap();
        let pending = open(&key(), &value, &token, NOW + 1).unwrap();
        assert_eq!(pending.query.len(), 3, "only the known parameters are kept");
        assert!(!value.contains("script") && !token.contains('.'));
        let (other_value, other_token) = seal(&key(), &query(), NOW).unwrap();
        assert_eq!(
            open(&key(), &value, &other_token, NOW),
            Err(LogoutError::CsrfMismatch)
        );
        assert_eq!(
            open(&key(), &other_value, &token, NOW),
            Err(LogoutError::CsrfMismatch)
        );
        assert_eq!(
            open(&key(), &value, "", NOW),
            Err(LogoutError::CsrfMismatch)
        );
        assert_eq!(
            open(&key(), &value, &token, NOW + CONFIRM_LIFETIME_SECS),
            Err(LogoutError::ConfirmExpired)
        );
        let other_key = StateKey::from_setting(&"k".repeat(32)).unwrap();
        assert_eq!(
            open(&other_key, &value, &token, NOW),
            Err(LogoutError::ConfirmInvalid)
        );
        let tampered = value.replacen('.', "x.", 1);
        assert_eq!(
            open(&key(), &tampered, &token, NOW),
            Err(LogoutError::ConfirmInvalid)
        );
    }

    #[test]
    fn a_state_cookie_is_no_confirmation_cookie() {
        // Same key, other context: neither cookie opens as the other.
        let flow = crate::logout::FlowState {
            client: "abc123".into(),
            target: None,
            client_state: None,
            idp: None,
        };
        let state = crate::logout::state_cookie::seal(&key(), &flow, NOW);
        assert_eq!(
            open(&key(), &state, "x", NOW),
            Err(LogoutError::ConfirmInvalid)
        );
    }

    #[test]
    fn the_setting_is_auto_always_or_never() {
        let mut p = ConfigError::default();
        assert_eq!(Confirm::from_setting(None, &mut p), Confirm::Auto);
        assert_eq!(
            Confirm::from_setting(Some("Always"), &mut p),
            Confirm::Always
        );
        assert_eq!(Confirm::from_setting(Some("never"), &mut p), Confirm::Never);
        assert!(p.is_empty());
        Confirm::from_setting(Some("sometimes"), &mut p);
        assert_eq!(p.problems.len(), 1);
    }
}
