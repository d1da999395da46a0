//! `LogoutSettings`: what the logout function reads beyond [`Config`](crate::config::Config).
//!
//! The entries of `LOGOUT_COOKIES` and `IDP_LOGOUT_ENDPOINTS` are checked
//! where their types live (`cookies`, `idp`); the state key in [`state`](super::state).

use std::collections::BTreeMap;
use std::time::Duration;

use super::confirm::Confirm;
use super::cookies::{AppCookie, app_cookies, valid_cookie_name};
use super::idp::{IdpLogout, idp_endpoints};
use super::state_cookie::{MIN_KEY_BYTES, StateKey};
use super::target::web_url;
use crate::config::ConfigError;

/// What a hinted sign-out revokes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The hinted session (its `origin_jti`); the user's other sessions stay.
    Session,
    /// Every token of the user minted before the sign-out.
    Global,
}

/// The logout function's own settings, validated once at cold start.
#[derive(Clone, Debug)]
pub struct LogoutSettings {
    /// `LOGOUT_CALLBACK_URL` exactly as configured: Cognito compares it
    /// byte for byte with the client's registered sign-out URLs.
    pub callback_url: String,
    pub state_key: StateKey,
    pub scope: Scope,
    /// `LOGOUT_HINT_MAX_AGE_SECONDS`: the oldest an expired `id_token_hint`
    /// may be (from its `iat`) and still be accepted; `None`: the refresh
    /// token lifetime ([`Config::refresh_token_lifetime`](crate::config::Config)).
    pub hint_max_age: Option<Duration>,
    /// `LOGOUT_REFRESH_COOKIE`: the cookie holding the refresh token.
    pub refresh_cookie: Option<String>,
    /// `LOGOUT_COOKIES`: expired on every sign-out.
    pub cookies: Vec<AppCookie>,
    /// `IDP_LOGOUT_ENDPOINTS`: provider name (as in the `identities` claim) to its logout.
    pub idps: BTreeMap<String, IdpLogout>,
    /// `LOGOUT_CONFIRM`: when the user is asked before being signed out.
    pub confirm: Confirm,
}

/// Least `LOGOUT_HINT_MAX_AGE_SECONDS`: Cognito's shortest ID token lifetime.
pub const MIN_HINT_MAX_AGE_SECONDS: u64 = 300;
/// Largest `LOGOUT_HINT_MAX_AGE_SECONDS`: Cognito's longest refresh token lifetime (10 years).
pub const MAX_HINT_MAX_AGE_SECONDS: u64 = 10 * 365 * 86_400;

impl LogoutSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the environment and the state key: from Secrets Manager
    /// (`LOGOUT_STATE_KEY_ARN`) in AWS, from `LOGOUT_STATE_KEY` locally. A
    /// secret that cannot be read is reported with every other problem.
    /// Without an SDK configuration (the shared settings were invalid) the
    /// secret is not read, and only the other settings are checked.
    pub async fn load(sdk: Option<&aws_config::SdkConfig>) -> Result<Self, ConfigError> {
        let key = match sdk {
            Some(sdk) => crate::secrets::resolve(sdk, "LOGOUT_STATE_KEY")
                .await
                .map_err(ConfigError::from),
            None => Err(ConfigError::default()),
        };
        let settings = Self::from_lookup(|name| match (name, &key) {
            ("LOGOUT_STATE_KEY", Ok(key)) => key.clone(),
            _ => std::env::var(name).ok(),
        });
        let from_arn = std::env::var_os("LOGOUT_STATE_KEY_ARN").is_some();
        match (key, settings) {
            (Ok(_), settings) => settings,
            (Err(problems), Ok(settings)) => problems.or_ok(settings),
            (Err(mut all), Err(rest)) => {
                // A key held in Secrets Manager that was not read is not "missing".
                all.problems.extend(
                    rest.problems
                        .into_iter()
                        .filter(|p| !(from_arn && p.variable == "LOGOUT_STATE_KEY")),
                );
                Err(all)
            }
        }
    }

    /// Reads settings through `get`; every problem is reported at once,
    /// one line each (variable, what is wrong, a right value).
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(get: F) -> Result<Self, ConfigError> {
        let raw = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut p = ConfigError::default();

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

        let hint_max_age = match raw("LOGOUT_HINT_MAX_AGE_SECONDS") {
            None => None,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (MIN_HINT_MAX_AGE_SECONDS..=MAX_HINT_MAX_AGE_SECONDS).contains(&n) => {
                    Some(Duration::from_secs(n))
                }
                _ => {
                    p.add(
                        "LOGOUT_HINT_MAX_AGE_SECONDS",
                        format!(
                            "must be a whole number of seconds from {MIN_HINT_MAX_AGE_SECONDS} to {MAX_HINT_MAX_AGE_SECONDS}"
                        ),
                        "2592000",
                    );
                    None
                }
            },
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

        let confirm = Confirm::from_setting(raw("LOGOUT_CONFIRM").as_deref(), &mut p);

        match (callback_url, state_key) {
            (Some(callback_url), Some(state_key)) if p.is_empty() => Ok(LogoutSettings {
                callback_url,
                state_key,
                scope,
                hint_max_age,
                refresh_cookie,
                cookies,
                idps,
                confirm,
            }),
            _ => Err(p),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logout::testing::{KEY, lookup, problems, with};

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
        let vars: Vec<_> = err.problems.iter().map(|p| p.variable.as_ref()).collect();
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
    fn the_refresh_cookie_must_be_one_of_the_expired_cookies() {
        let lines = problems(&[("LOGOUT_REFRESH_COOKIE", "rt")]);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("LOGOUT_REFRESH_COOKIE: must also be listed in LOGOUT_COOKIES")
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
    fn the_hint_age_bound_is_a_number_of_seconds_within_cognitos_lifetimes() {
        let s = LogoutSettings::from_lookup(lookup(&with(&[]))).unwrap();
        assert_eq!(s.hint_max_age, None, "default: the refresh token lifetime");
        let s =
            LogoutSettings::from_lookup(lookup(&with(&[("LOGOUT_HINT_MAX_AGE_SECONDS", "86400")])))
                .unwrap();
        assert_eq!(s.hint_max_age, Some(Duration::from_secs(86_400)));
        for bad in ["299", "-1", "1d", "315360001"] {
            let lines = problems(&[("LOGOUT_HINT_MAX_AGE_SECONDS", bad)]);
            assert_eq!(lines.len(), 1, "{bad}");
            assert!(
                lines[0].starts_with("LOGOUT_HINT_MAX_AGE_SECONDS: must be a whole number of seconds from 300 to 315360000"),
                "{bad}: {}",
                lines[0]
            );
        }
    }

    #[test]
    fn scope_is_session_or_global() {
        let s = LogoutSettings::from_lookup(lookup(&with(&[("LOGOUT_SCOPE", "Global")]))).unwrap();
        assert_eq!(s.scope, Scope::Global);
    }
}
