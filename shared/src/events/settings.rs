//! What the events function reads beyond [`Config`](crate::config::Config),
//! validated once at cold start; and [`Signing`], which the shared
//! configuration reads (the sign-out API publishes the keys too).
//!
//! | variable | what |
//! | --- | --- |
//! | `EVENT_BUS_NAME` | EventBridge bus receiving one event per fact; unset: none |
//! | `EVENTS_ISSUER` | `iss` of logout tokens and SETs: the sign-out API's base URL |
//! | `EVENTS_SIGNING_KEYS` | KMS keys (id, ARN or alias), comma-separated: the first signs, all are published |
//! | `BACKCHANNEL_LOGOUT` | per app client, its relying party's back-channel logout registration (JSON) |
//! | `SSF_RECEIVERS` | Shared Signals receivers pushed a CAEP `session-revoked` SET (JSON) |

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use url::Url;

use crate::config::ConfigError;
use crate::model::ClientId;

/// One relying party's registration, as OpenID Connect Back-Channel Logout
/// 1.0 §2.2 names its client metadata.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub backchannel_logout_uri: Url,
    /// Whether the relying party needs `sid` in a logout token to find its
    /// session: every logout token we send for one session carries it anyway;
    /// with `true`, facts that name no session (a user's cutoff or block) are
    /// still sent with `sub` alone, since the table keeps no list of a user's
    /// sessions (docs/DEPLOY.md).
    #[serde(default = "yes")]
    pub backchannel_logout_session_required: bool,
}

fn yes() -> bool {
    true
}

/// One Shared Signals receiver (RFC 8935 push delivery).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsfReceiver {
    /// Where SETs are POSTed.
    pub endpoint_url: Url,
    /// The receiver's `aud`.
    pub aud: String,
}

/// The signing side: who signs and with which keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signing {
    /// `EVENTS_ISSUER`, exactly as configured (the `iss` relying parties compare).
    pub issuer: String,
    /// `EVENTS_SIGNING_KEYS`: the first signs, every one is published.
    pub keys: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsSettings {
    pub bus: Option<String>,
    pub backchannel: BTreeMap<ClientId, Registration>,
    pub ssf: Vec<SsfReceiver>,
}

/// Whether `url` may receive events: https, or http on loopback (local
/// relying parties and the tests), never with a fragment (§2.2) or credentials.
fn deliverable(url: &Url) -> bool {
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    (url.scheme() == "https" || (url.scheme() == "http" && loopback))
        && url.host().is_some()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
}

fn raw(get: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    get(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Signing {
    /// `EVENTS_ISSUER` and `EVENTS_SIGNING_KEYS`; `None` when both are unset.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>, e: &mut ConfigError) -> Option<Self> {
        let issuer = raw(get, "EVENTS_ISSUER");
        let keys: Vec<String> = raw(get, "EVENTS_SIGNING_KEYS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        match (issuer, keys.is_empty()) {
            (None, true) => None,
            (Some(issuer), false) => {
                match Url::parse(&issuer) {
                    Ok(u) if deliverable(&u) && u.query().is_none() => {}
                    _ => e.add(
                        "EVENTS_ISSUER",
                        "must be an https URL without query or fragment (the sign-out API's base URL)",
                        "https://signout.example.com",
                    ),
                }
                if keys.len() > 2 {
                    e.add(
                        "EVENTS_SIGNING_KEYS",
                        "lists at most two keys (the one that signs, and one being rotated in or out)",
                        "alias/signout-events",
                    );
                }
                Some(Signing { issuer, keys })
            }
            (None, false) => {
                e.add(
                    "EVENTS_ISSUER",
                    "is required with EVENTS_SIGNING_KEYS",
                    "https://signout.example.com",
                );
                None
            }
            (Some(_), true) => {
                e.add(
                    "EVENTS_SIGNING_KEYS",
                    "is required with EVENTS_ISSUER",
                    "alias/signout-events",
                );
                None
            }
        }
    }

    /// The key that signs.
    pub fn active_key(&self) -> &str {
        &self.keys[0]
    }
}

impl EventsSettings {
    pub fn from_env(app_clients: &BTreeSet<String>, signs: bool) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok(), app_clients, signs)
    }

    /// Reads every variable; every problem at once. `app_clients` is
    /// `APP_CLIENT_IDS`: a registration must name one of them. `signs`:
    /// whether signing keys are configured ([`Signing`]), which receivers need.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        app_clients: &BTreeSet<String>,
        signs: bool,
    ) -> Result<Self, ConfigError> {
        let mut e = ConfigError::default();
        let bus = raw(&get, "EVENT_BUS_NAME");
        if let Some(b) = &bus
            && (b.len() > 1600 || b.chars().any(char::is_whitespace))
        {
            e.add(
                "EVENT_BUS_NAME",
                "must be a bus name or ARN",
                "signout-events",
            );
        }
        let backchannel = registrations(&get, app_clients, &mut e);
        let ssf = ssf_receivers(&get, &mut e);
        // Set at all, valid or not: either way the tokens would need a key.
        let receivers =
            raw(&get, "BACKCHANNEL_LOGOUT").is_some() || raw(&get, "SSF_RECEIVERS").is_some();
        if !signs && receivers {
            e.add(
                "EVENTS_SIGNING_KEYS",
                "is required when BACKCHANNEL_LOGOUT or SSF_RECEIVERS is set (tokens are signed)",
                "alias/signout-events",
            );
        }
        e.or_ok(EventsSettings {
            bus,
            backchannel,
            ssf,
        })
    }
}

const BACKCHANNEL_EXAMPLE: &str = r#"{"1example23456789":{"backchannel_logout_uri":"https://app.example.com/backchannel-logout"}}"#;
const SSF_EXAMPLE: &str =
    r#"[{"endpoint_url":"https://ssf.example.com/events","aud":"https://ssf.example.com"}]"#;

fn registrations(
    get: &impl Fn(&str) -> Option<String>,
    app_clients: &BTreeSet<String>,
    e: &mut ConfigError,
) -> BTreeMap<ClientId, Registration> {
    let Some(text) = raw(get, "BACKCHANNEL_LOGOUT") else {
        return BTreeMap::new();
    };
    let parsed: BTreeMap<String, Registration> = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(err) => {
            // serde's message names the field and position, never the value.
            e.add(
                "BACKCHANNEL_LOGOUT",
                format!("must be a JSON object of client id to registration ({err})"),
                BACKCHANNEL_EXAMPLE,
            );
            return BTreeMap::new();
        }
    };
    let mut out = BTreeMap::new();
    for (client, reg) in parsed {
        if !app_clients.contains(&client) {
            e.add(
                "BACKCHANNEL_LOGOUT",
                format!("names client {client}, which is not in APP_CLIENT_IDS"),
                BACKCHANNEL_EXAMPLE,
            );
        } else if !deliverable(&reg.backchannel_logout_uri) {
            e.add(
                "BACKCHANNEL_LOGOUT",
                format!(
                    "backchannel_logout_uri of client {client} must be https (http only on loopback), without fragment or credentials"
                ),
                BACKCHANNEL_EXAMPLE,
            );
        } else {
            out.insert(ClientId(client), reg);
        }
    }
    out
}

fn ssf_receivers(get: &impl Fn(&str) -> Option<String>, e: &mut ConfigError) -> Vec<SsfReceiver> {
    let Some(text) = raw(get, "SSF_RECEIVERS") else {
        return Vec::new();
    };
    match serde_json::from_str::<Vec<SsfReceiver>>(&text) {
        Ok(list) => {
            let bad = list
                .iter()
                .any(|r| !deliverable(&r.endpoint_url) || r.aud.trim().is_empty());
            if bad {
                e.add(
                    "SSF_RECEIVERS",
                    "every endpoint_url must be https (http only on loopback) and every aud non-empty",
                    SSF_EXAMPLE,
                );
                Vec::new()
            } else {
                list
            }
        }
        Err(err) => {
            e.add(
                "SSF_RECEIVERS",
                format!("must be a JSON array of receivers ({err})"),
                SSF_EXAMPLE,
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<EventsSettings, ConfigError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let clients = BTreeSet::from(["c1".to_owned(), "c2".to_owned()]);
        let mut e = ConfigError::default();
        let signing = Signing::from_lookup(&|k: &str| vars.get(k).cloned(), &mut e);
        let settings =
            EventsSettings::from_lookup(|k| vars.get(k).cloned(), &clients, signing.is_some());
        match (settings, e.is_empty()) {
            (Ok(s), true) => Ok(s),
            (s, _) => {
                e.problems.extend(s.err().unwrap_or_default().problems);
                Err(e)
            }
        }
    }

    fn signing(vars: &[(&str, &str)]) -> Option<Signing> {
        let vars: BTreeMap<&str, &str> = vars.iter().copied().collect();
        Signing::from_lookup(
            &|k: &str| vars.get(k).map(|v| (*v).to_owned()),
            &mut ConfigError::default(),
        )
    }

    fn variables(e: ConfigError) -> Vec<String> {
        e.problems
            .into_iter()
            .map(|p| p.variable.into_owned())
            .collect()
    }

    #[test]
    fn nothing_configured_announces_nowhere() {
        assert_eq!(read(&[]).unwrap(), EventsSettings::default());
    }

    #[test]
    fn a_registration_is_read_per_client_with_session_required_by_default() {
        let s = read(&[
            ("EVENTS_ISSUER", "https://signout.example.com"),
            ("EVENTS_SIGNING_KEYS", "alias/a, alias/b"),
            (
                "BACKCHANNEL_LOGOUT",
                r#"{"c1":{"backchannel_logout_uri":"https://rp.example.com/bcl"}}"#,
            ),
        ])
        .unwrap();
        let reg = &s.backchannel[&ClientId::from("c1")];
        assert_eq!(
            reg.backchannel_logout_uri.as_str(),
            "https://rp.example.com/bcl"
        );
        assert!(reg.backchannel_logout_session_required);
        let keys = signing(&[
            ("EVENTS_ISSUER", "https://signout.example.com"),
            ("EVENTS_SIGNING_KEYS", "alias/a, alias/b"),
        ]);
        assert_eq!(keys.unwrap().keys, ["alias/a", "alias/b"]);
    }

    #[test]
    fn receivers_without_a_signing_key_are_refused() {
        let e = read(&[(
            "BACKCHANNEL_LOGOUT",
            r#"{"c1":{"backchannel_logout_uri":"https://rp.example.com/bcl"}}"#,
        )])
        .unwrap_err();
        assert_eq!(variables(e), ["EVENTS_SIGNING_KEYS"]);
    }

    #[test]
    fn every_bad_registration_is_reported_at_once() {
        let e = read(&[
            ("EVENTS_ISSUER", "https://signout.example.com"),
            ("EVENTS_SIGNING_KEYS", "alias/a,alias/b,alias/c"),
            (
                "BACKCHANNEL_LOGOUT",
                r#"{"nope":{"backchannel_logout_uri":"https://rp.example.com/bcl"},
                    "c2":{"backchannel_logout_uri":"http://rp.example.com/bcl#x"}}"#,
            ),
            ("SSF_RECEIVERS", r#"[{"endpoint_url":"ftp://x","aud":"a"}]"#),
        ])
        .unwrap_err();
        assert_eq!(
            variables(e),
            [
                "EVENTS_SIGNING_KEYS",
                "BACKCHANNEL_LOGOUT",
                "BACKCHANNEL_LOGOUT",
                "SSF_RECEIVERS"
            ]
        );
    }

    #[test]
    fn http_is_accepted_only_on_loopback() {
        let ok = |u: &str| deliverable(&Url::parse(u).unwrap());
        assert!(ok("http://127.0.0.1:8080/bcl"));
        assert!(ok("http://localhost/bcl"));
        assert!(!ok("http://rp.example.com/bcl"));
        assert!(!ok("https://user:pw@rp.example.com/bcl"));
    }

    #[test]
    fn an_unknown_member_is_a_problem_not_ignored() {
        let e = read(&[
            ("EVENTS_ISSUER", "https://signout.example.com"),
            ("EVENTS_SIGNING_KEYS", "alias/a"),
            (
                "BACKCHANNEL_LOGOUT",
                r#"{"c1":{"backchannel_logout_url":"https://rp.example.com/bcl"}}"#,
            ),
        ])
        .unwrap_err();
        assert_eq!(variables(e), ["BACKCHANNEL_LOGOUT"]);
    }
}
