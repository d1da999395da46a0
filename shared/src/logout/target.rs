//! Where the browser may be sent at the end: the query's parameters, read
//! without ambiguity, the client's exact-match allow-list, and the final URL.

use std::collections::HashSet;

use url::Url;

use super::{LogoutError, MAX_PARAMETERS, MAX_STATE_PARAM_BYTES};
use crate::config::Config;

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

/// An absolute https URL (http only for a loopback host), without
/// userinfo or fragment.
pub(super) fn web_url(raw: &str) -> Result<Url, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logout::testing::{config, pairs};

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
    fn the_final_url_appends_state_encoded_to_the_unchanged_target() {
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
}
