//! The access decision downstream authorizers make: verify, check, then
//! optional scope and group requirements.

use std::collections::BTreeMap;

use crate::check::{Checker, Decision};
use crate::config::ConfigError;
use crate::metrics;
use crate::model::TokenUse;
use crate::tokens::{Expect, VerifiedToken, Verifier};

/// What a caller must present, beyond a valid, unrevoked token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    /// `None` accepts access and ID tokens.
    pub token_use: Option<TokenUse>,
    /// Every one of these scopes (access tokens' `scope` claim).
    pub scopes: Vec<String>,
    /// At least one of these groups (`cognito:groups`), when not empty.
    pub groups: Vec<String>,
}

impl Requirements {
    /// Reads `AUTHORIZER_TOKEN_USE` (access | id | any, default access),
    /// `REQUIRED_SCOPES` and `REQUIRED_GROUPS` (space or comma lists).
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(get: F) -> Result<Self, ConfigError> {
        let list = |k: &str| -> Vec<String> {
            get(k)
                .unwrap_or_default()
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let token_use = match get("AUTHORIZER_TOKEN_USE").as_deref().map(str::trim) {
            None | Some("") | Some("access") => Some(TokenUse::Access),
            Some("id") => Some(TokenUse::Id),
            Some("any") => None,
            Some(_) => {
                return Err(ConfigError::one(
                    "AUTHORIZER_TOKEN_USE",
                    "must be access, id or any",
                    "access",
                ));
            }
        };
        Ok(Requirements {
            token_use,
            scopes: list("REQUIRED_SCOPES"),
            groups: list("REQUIRED_GROUPS"),
        })
    }
}

/// Who the caller is, as the authorizer passes it on (all strings: API Gateway's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub groups: String,
    pub origin_jti: String,
    pub token_use: String,
}

impl Principal {
    fn of(t: &VerifiedToken) -> Self {
        let c = &t.claims;
        Principal {
            sub: c.sub.to_string(),
            username: c.username.clone().unwrap_or_default(),
            client_id: c.client_id.to_string(),
            scope: c.scope.clone().unwrap_or_default(),
            groups: c.groups.join(","),
            origin_jti: c
                .origin_jti
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            token_use: c.token_use.as_str().to_owned(),
        }
    }

    /// The context map handed to the integration.
    pub fn context(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("sub", self.sub.clone()),
            ("username", self.username.clone()),
            ("client_id", self.client_id.clone()),
            ("scope", self.scope.clone()),
            ("groups", self.groups.clone()),
            ("origin_jti", self.origin_jti.clone()),
            ("token_use", self.token_use.clone()),
        ])
    }
}

/// The authorizer's answer, before it is shaped for a platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Allow(Principal),
    /// 401: no token, invalid, expired, revoked, or the store failed (fail closed).
    Unauthorized(&'static str),
    /// 403: a valid token without a required scope or group.
    Forbidden(&'static str, Principal),
}

/// The token of an `Authorization` value: `Bearer <token>`, scheme case-insensitive.
pub fn bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Verifies `token`, checks revocation and requirements; counted in the
/// `Decisions` metric.
pub async fn authorize(
    verifier: &Verifier,
    checker: &Checker,
    token: &str,
    req: &Requirements,
) -> Access {
    let access = decide(verifier, checker, token, req).await;
    match &access {
        Access::Allow(_) => {}
        Access::Unauthorized(code) => metrics::decision("unauthorized", code),
        Access::Forbidden(code, _) => metrics::decision("forbidden", code),
    }
    access
}

async fn decide(verifier: &Verifier, checker: &Checker, token: &str, req: &Requirements) -> Access {
    let expect = Expect {
        token_use: req.token_use,
        allow_expired: false,
    };
    let verified = match verifier.verify(token, expect).await {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(code = e.code(), "denied: token refused");
            return Access::Unauthorized(e.code());
        }
    };
    let principal = Principal::of(&verified);
    if verified.claims.stamp.is_none() {
        metrics::unstamped_token();
    }
    let allowed_as = match checker.decide(&verified.claims).await {
        Decision::Allow => "active",
        Decision::AllowFailOpen(e) => {
            tracing::warn!(code = e.code(), sub = %principal.sub, "allowed without a revocation check (fail open)");
            metrics::fail_open_allow();
            "fail_open"
        }
        Decision::Deny(r) => {
            tracing::info!(code = r.code(), sub = %principal.sub, "denied: revoked");
            return Access::Unauthorized(r.code());
        }
        Decision::DenyUnavailable(e) => return Access::Unauthorized(e.code()),
    };
    let scopes: Vec<&str> = verified
        .claims
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .collect();
    if !req.scopes.iter().all(|s| scopes.contains(&s.as_str())) {
        return Access::Forbidden("insufficient_scope", principal);
    }
    if !req.groups.is_empty()
        && !req
            .groups
            .iter()
            .any(|g| verified.claims.groups.contains(g))
    {
        return Access::Forbidden("insufficient_group", principal);
    }
    metrics::decision("allowed", allowed_as);
    Access::Allow(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer a b"), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn requirements_parse_lists_and_token_use() {
        let r = Requirements::from_lookup(|k| match k {
            "REQUIRED_SCOPES" => Some("openid, email profile".into()),
            "REQUIRED_GROUPS" => Some("admins".into()),
            "AUTHORIZER_TOKEN_USE" => Some("any".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(r.scopes, ["openid", "email", "profile"]);
        assert_eq!(r.groups, ["admins"]);
        assert_eq!(r.token_use, None);
        assert_eq!(
            Requirements::from_lookup(|_| None).unwrap().token_use,
            Some(TokenUse::Access)
        );
        assert!(
            Requirements::from_lookup(|k| (k == "AUTHORIZER_TOKEN_USE").then(|| "both".into()))
                .is_err()
        );
    }
}
