//! The issuer metadata document of sign-out events, served by the sign-out
//! API at `GET /.well-known/ssf-configuration` beside the JWKS at
//! `GET /.well-known/jwks.json`.
//!
//! It is the Shared Signals Framework's transmitter configuration (SSF 1.0
//! §7.1: `spec_version`, `issuer`, `jwks_uri`, `delivery_methods_supported`)
//! with the two OpenID discovery members of Back-Channel Logout 1.0 §2.1.
//! We are not the OpenID Provider (Cognito is), so nothing is served at
//! `/.well-known/openid-configuration`: a relying party configures our
//! issuer and JWKS for logout tokens beside Cognito's for ID tokens.

use serde_json::{Value, json};

/// Where the keys are published, under `issuer` (the sign-out API's base URL).
pub fn jwks_uri(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// The metadata document of `issuer`.
pub fn document(issuer: &str) -> Value {
    json!({
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": jwks_uri(issuer),
        "delivery_methods_supported": ["urn:ietf:rfc:8935"],
        "events_supported": [super::tokens::CAEP_SESSION_REVOKED],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwks_uri_is_under_the_issuer_with_or_without_a_trailing_slash() {
        assert_eq!(
            jwks_uri("https://a.example/prod"),
            "https://a.example/prod/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_uri("https://a.example/"),
            "https://a.example/.well-known/jwks.json"
        );
        assert_eq!(document("https://a.example")["issuer"], "https://a.example");
    }
}
