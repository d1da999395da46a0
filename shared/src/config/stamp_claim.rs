//! `SIGNOUT_CLAIM`: the name of the claim the Pre Token Generation trigger
//! stamps, and every check trusts to say when a token was minted.
//!
//! The stamp is only worth what its writer is: a claim a user can set (a
//! custom attribute, a standard attribute they may update themselves) would
//! let them stamp their own tokens with a future instant and outlive every
//! sign-out; a claim Cognito or a client sets would be overwritten, or read
//! as ours when it is not. So the name must be none of these:
//!
//! * an attribute Cognito copies from the user's profile into ID tokens:
//!   `custom:*` (custom attributes, user-writable unless the app client says
//!   otherwise), `dev:*` (developer-only attributes), and the standard OIDC
//!   attributes (`email`, `name`, `phone_number`, `address`, ...);
//! * a claim Cognito sets itself: `cognito:*` and the registered and
//!   Cognito-specific claims (`iss`, `sub`, `aud`, `exp`, `iat`, `jti`,
//!   `origin_jti`, `token_use`, `auth_time`, `client_id`, `scope`,
//!   `username`, `event_id`, `nonce`, `at_hash`, `identities`, ...).
//!
//! Names are compared without regard to ASCII case, so `Email` or
//! `CUSTOM:x` are refused too: refusing a harmless name costs a renamed
//! setting, accepting a writable one costs every sign-out.

use super::{DEFAULT_STAMP_CLAIM, Reader};

/// Prefixes of claims that come from user attributes or from Cognito.
const FORBIDDEN_PREFIXES: &[(&str, &str)] = &[
    ("custom:", "a custom attribute, which users can write"),
    (
        "dev:",
        "a developer-only attribute copied from the user's profile",
    ),
    ("cognito:", "a claim Cognito sets itself"),
];

/// The standard attributes of OpenID Connect Core 1.0 section 5.1, which
/// Cognito keeps for every user pool and copies into ID tokens.
const USER_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

/// Claims that JWT (RFC 7519), OpenID Connect or Cognito set on its tokens.
const TOKEN_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "c_hash",
    "client_id",
    "device_key",
    "event_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "scope",
    "sid",
    "sub",
    "token_use",
    "username",
    "version",
];

/// Why `name` cannot carry the stamp, or `None` when it can.
pub fn forbidden(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if let Some((_, why)) = FORBIDDEN_PREFIXES
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
    {
        return Some(why);
    }
    if USER_ATTRIBUTES.contains(&lower.as_str()) {
        return Some("a standard attribute copied from the user's profile, which users can update");
    }
    if TOKEN_CLAIMS.contains(&lower.as_str()) {
        return Some("a claim Cognito or the client sets");
    }
    None
}

/// Reads `SIGNOUT_CLAIM` (default [`DEFAULT_STAMP_CLAIM`]), reporting a name
/// that is not a plain claim name or that someone else can write.
pub(super) fn read<F: Fn(&str) -> Option<String>>(r: &mut Reader<'_, F>) -> String {
    let name = r
        .raw("SIGNOUT_CLAIM")
        .unwrap_or_else(|| DEFAULT_STAMP_CLAIM.to_owned());
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        r.problem(
            "SIGNOUT_CLAIM",
            "must be letters, digits, '_' or ':'",
            DEFAULT_STAMP_CLAIM,
        );
    } else if let Some(why) = forbidden(&name) {
        r.problem(
            "SIGNOUT_CLAIM",
            format!(
                "{name} is {why}: the stamp must be a claim only the Pre Token Generation trigger writes"
            ),
            DEFAULT_STAMP_CLAIM,
        );
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn problems_for(name: &str) -> Vec<String> {
        let env = [
            ("AWS_REGION", "eu-west-1"),
            ("USER_POOL_ID", "eu-west-1_AbC123"),
            ("SIGNOUT_TABLE", "revocations"),
            ("APP_CLIENT_IDS", "abc123"),
            ("SIGNOUT_CLAIM", name),
        ];
        let lookup = |k: &str| {
            env.iter()
                .find(|(ek, _)| *ek == k)
                .map(|(_, v)| v.to_string())
        };
        match Config::from_lookup(lookup) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    fn assert_refused(name: &str, why: &str) {
        let lines = problems_for(name);
        assert_eq!(lines.len(), 1, "{name}: {lines:?}");
        assert!(
            lines[0].starts_with("SIGNOUT_CLAIM: "),
            "{name}: {}",
            lines[0]
        );
        assert!(lines[0].contains(why), "{name}: {}", lines[0]);
        assert!(
            lines[0].ends_with("(example: SIGNOUT_CLAIM=signout_epoch)"),
            "{name}: {}",
            lines[0]
        );
    }

    #[test]
    fn custom_attributes_which_users_can_write_are_refused() {
        for name in [
            "custom:signout_epoch",
            "custom:x",
            "Custom:tenant",
            "CUSTOM:a",
        ] {
            assert_refused(name, "a custom attribute, which users can write");
        }
    }

    #[test]
    fn developer_only_attributes_are_refused() {
        for name in ["dev:custom:stamp", "dev:x", "DEV:y"] {
            assert_refused(name, "developer-only attribute");
        }
    }

    #[test]
    fn standard_user_attributes_are_refused() {
        for name in USER_ATTRIBUTES {
            assert_refused(name, "a standard attribute copied from the user's profile");
        }
        assert_refused("Email", "a standard attribute");
        assert_refused("PHONE_NUMBER", "a standard attribute");
    }

    #[test]
    fn claims_cognito_sets_are_refused() {
        for name in [
            "cognito:groups",
            "cognito:username",
            "cognito:roles",
            "cognito:x",
        ] {
            assert_refused(name, "a claim Cognito sets itself");
        }
    }

    #[test]
    fn registered_and_cognito_token_claims_are_refused() {
        for name in TOKEN_CLAIMS {
            assert_refused(name, "a claim Cognito or the client sets");
        }
        assert_refused("IAT", "a claim Cognito or the client sets");
    }

    #[test]
    fn the_default_and_other_private_names_are_accepted() {
        for name in [
            "signout_epoch",
            "acme_signout_ms",
            "signout:epoch",
            "emailish",
            "sub_stamp",
        ] {
            assert_eq!(problems_for(name), Vec::<String>::new(), "{name}");
            assert_eq!(forbidden(name), None, "{name}");
        }
    }

    #[test]
    fn names_that_are_not_claim_names_are_refused_as_before() {
        let lines = problems_for("signout epoch");
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("must be letters, digits, '_' or ':'"));
    }
}
