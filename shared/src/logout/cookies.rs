//! The cookies we expire or set: their attributes, how `LOGOUT_COOKIES`
//! describes them, and the rules (cookie-name syntax, RFC 6265bis prefixes)
//! a browser applies before it accepts a `Set-Cookie` for them.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::confirm::{CONFIRM_COOKIE, CONFIRM_LIFETIME_SECS};
use super::{STATE_COOKIE, STATE_LIFETIME_SECS};
use crate::config::ConfigError;

const COOKIES_EXAMPLE: &str = r#"[{"name":"session","domain":"example.com","path":"/","secure":true,"http_only":true,"same_site":"Lax"}]"#;

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

    /// The confirmation cookie's attributes: `Strict`, so that no request
    /// from another site ever carries it.
    pub fn confirm() -> Self {
        AppCookie {
            name: CONFIRM_COOKIE.to_owned(),
            same_site: Some(SameSite::Strict),
            ..Self::state()
        }
    }
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

    pub(super) fn state(value: String) -> Self {
        SetCookie {
            cookie: AppCookie::state(),
            value,
            lifetime: Lifetime::Seconds(STATE_LIFETIME_SECS),
        }
    }

    pub(super) fn clear_state() -> Self {
        Self::expire(&AppCookie::state())
    }

    pub(super) fn confirm(value: String) -> Self {
        SetCookie {
            cookie: AppCookie::confirm(),
            value,
            lifetime: Lifetime::Seconds(CONFIRM_LIFETIME_SECS),
        }
    }

    pub(super) fn clear_confirm() -> Self {
        Self::expire(&AppCookie::confirm())
    }
}

/// RFC 6265 cookie-name: an HTTP token.
pub(super) fn valid_cookie_name(name: &str) -> bool {
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

pub(super) fn app_cookies(json: &str, p: &mut ConfigError) -> Vec<AppCookie> {
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
        let before = p.problems.len();
        if !valid_cookie_name(&c.name) {
            p.add(
                VAR,
                format!("{at}: name must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)"),
                COOKIES_EXAMPLE,
            );
        }
        if c.name.eq_ignore_ascii_case(STATE_COOKIE) || c.name.eq_ignore_ascii_case(CONFIRM_COOKIE)
        {
            p.add(
                VAR,
                format!("{at}: {} is this function's own cookie", c.name),
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
        if p.problems.len() == before {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logout::LogoutSettings;
    use crate::logout::testing::{lookup, problems, with};

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
}
