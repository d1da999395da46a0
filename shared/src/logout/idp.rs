//! Federated IdPs' logout: `IDP_LOGOUT_ENDPOINTS` and the URL that sends the
//! browser to a provider's `end_session_endpoint`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::target::web_url;
use crate::config::ConfigError;

const IDPS_EXAMPLE: &str = r#"{"Okta":{"end_session_endpoint":"https://example.okta.com/oauth2/v1/logout","client_id":"0oa1example"}}"#;

/// A federated IdP's logout endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpLogout {
    pub end_session_endpoint: Url,
    /// Sent as `client_id` (our client at the IdP), when the IdP wants it.
    pub client_id: Option<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdp {
    end_session_endpoint: String,
    #[serde(default)]
    client_id: Option<String>,
}

pub(super) fn idp_endpoints(json: &str, p: &mut ConfigError) -> BTreeMap<String, IdpLogout> {
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
    use crate::logout::LogoutSettings;
    use crate::logout::testing::{lookup, problems, with};

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
    fn idp_logout_urls_keep_the_endpoint_query_and_encode_values() {
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
    }
}
