//! The claims of what we sign: OIDC Back-Channel Logout 1.0 logout tokens
//! (§2.4) and CAEP `session-revoked` Security Event Tokens (RFC 8417, the
//! Shared Signals Framework's subject identifiers), and the compact JWS they
//! travel in. The signature itself is KMS's ([`super::kms`]).
//!
//! `jti` is a digest of the fact's id ([`Recorded::id`]) and the receiver:
//! every delivery of one fact to one receiver, retries included, carries the
//! same `jti`, so a receiver deduplicates by it; no two facts or receivers share one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::digest_id;
use super::fact::{Actor, Fact, Recorded};
use crate::model::ClientId;

/// The `events` member of a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The CAEP event type.
pub const CAEP_SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// `typ` of a logout token (§2.4: explicit typing, RFC 8725 §3.11).
pub const LOGOUT_TYP: &str = "logout+jwt";
/// `typ` of a Security Event Token (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";
/// How long a signed token is valid: long enough for one delivery attempt,
/// short enough that a leaked one is soon worthless. A retry signs anew.
pub const TOKEN_LIFETIME_SECS: u64 = 120;

/// The claims of the logout token telling `aud`'s relying party at
/// `receiver` about `r`, or `None` when the fact names neither a user nor a
/// session: §2.4 requires `sub` or `sid`, and no claim says "every session
/// before T" (client and pool cutoffs reach receivers as CAEP SETs and
/// EventBridge events instead).
pub fn logout_claims(
    r: &Recorded,
    issuer: &str,
    aud: &ClientId,
    receiver: &str,
    now_secs: u64,
) -> Option<Value> {
    let sub = r.fact.sub()?;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(sub));
    claims.insert("aud".into(), json!(aud));
    claims.insert("iat".into(), json!(now_secs));
    claims.insert("exp".into(), json!(now_secs + TOKEN_LIFETIME_SECS));
    claims.insert(
        "jti".into(),
        json!(digest_id(&["logout", &r.id, aud.as_str(), receiver])),
    );
    claims.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    // Our session id is the `origin_jti` Cognito writes into every token of
    // the session (docs/ARCHITECTURE.md: how a relying party matches `sid`).
    if let Some(session) = r.fact.session() {
        claims.insert("sid".into(), json!(session));
    }
    Some(Value::Object(claims))
}

/// The subject of a SET, in the Shared Signals Framework's formats
/// (RFC 9493 `iss_sub` and `opaque`; SSF `complex`). `cognito_issuer` is the
/// pool's issuer (the `iss` of its tokens, whose `sub` is the user's).
pub fn subject(fact: &Fact, cognito_issuer: &str, pool_id: &str) -> Value {
    let user = |sub| json!({"format": "iss_sub", "iss": cognito_issuer, "sub": sub});
    match fact {
        Fact::UserCutoff { sub, .. } | Fact::UserBlocked { sub, .. } => user(sub),
        Fact::SessionRevoked { sub, session } => json!({
            "format": "complex",
            "user": user(sub),
            "session": {"format": "opaque", "id": session},
        }),
        Fact::ClientCutoff { client, .. } => json!({
            "format": "complex",
            "application": {"format": "opaque", "id": client},
            "tenant": {"format": "opaque", "id": pool_id},
        }),
        Fact::PoolCutoff { .. } => json!({
            "format": "complex",
            "tenant": {"format": "opaque", "id": pool_id},
        }),
    }
}

/// CAEP's `initiating_entity` for who recorded the sign-out.
fn initiating_entity(actor: Actor) -> &'static str {
    match actor {
        Actor::User | Actor::Logout => "user",
        Actor::Admin | Actor::Incident => "admin",
    }
}

/// The claims of the CAEP `session-revoked` SET for `r`, to the receiver
/// `aud` at `endpoint`.
pub fn set_claims(
    r: &Recorded,
    issuer: &str,
    aud: &str,
    endpoint: &str,
    subject: Value,
    now_secs: u64,
) -> Value {
    json!({
        "iss": issuer,
        "aud": aud,
        "iat": now_secs,
        "jti": digest_id(&["caep", &r.id, aud, endpoint]),
        "sub_id": subject,
        "events": {
            CAEP_SESSION_REVOKED: {
                "event_timestamp": r.recorded_at.secs(),
                "initiating_entity": initiating_entity(r.actor),
                "reason_admin": {"en": r.fact.kind()},
            }
        }
    })
}

/// The protected header of a token of type `typ` signed RS256 by `kid`.
pub fn header(typ: &str, kid: &str) -> Value {
    json!({"alg": "RS256", "typ": typ, "kid": kid})
}

/// The JWS signing input: `base64url(header) . base64url(claims)`.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The compact JWS of `input` and its signature.
pub fn compact(input: &str, signature: &[u8]) -> String {
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EpochMs, OriginJti, Sub};

    fn recorded(fact: Fact) -> Recorded {
        Recorded {
            fact,
            actor: Actor::Logout,
            region: "us-east-1".into(),
            recorded_at: EpochMs(1_767_225_600_125),
            id: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    fn session() -> Recorded {
        recorded(Fact::SessionRevoked {
            sub: Sub::from("u1"),
            session: OriginJti::from("oj1"),
        })
    }

    #[test]
    fn a_session_logout_token_has_exactly_the_claims_of_section_2_4() {
        let c = logout_claims(
            &session(),
            "https://iss",
            &ClientId::from("c1"),
            "https://rp/bcl",
            1000,
        )
        .unwrap();
        let mut names: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["aud", "events", "exp", "iat", "iss", "jti", "sid", "sub"]
        );
        assert_eq!(c["sid"], "oj1");
        assert_eq!(c["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
        assert_eq!(c["exp"], 1000 + TOKEN_LIFETIME_SECS);
    }

    #[test]
    fn a_user_logout_token_names_the_user_and_no_session() {
        let r = recorded(Fact::UserCutoff {
            sub: Sub::from("u1"),
            cutoff: EpochMs(5),
        });
        let c = logout_claims(
            &r,
            "https://iss",
            &ClientId::from("c1"),
            "https://rp/bcl",
            1000,
        )
        .unwrap();
        assert_eq!(c["sub"], "u1");
        assert!(c.get("sid").is_none());
        assert!(c.get("nonce").is_none());
    }

    #[test]
    fn client_and_pool_cutoffs_have_no_logout_token() {
        let pool = recorded(Fact::PoolCutoff { cutoff: EpochMs(5) });
        assert!(logout_claims(&pool, "i", &ClientId::from("c1"), "u", 1).is_none());
    }

    #[test]
    fn the_jti_repeats_per_receiver_and_differs_across_receivers() {
        let c = |aud: &str, uri: &str, now| {
            logout_claims(&session(), "i", &ClientId::from(aud), uri, now).unwrap()["jti"].clone()
        };
        assert_eq!(c("c1", "https://a", 1), c("c1", "https://a", 99));
        assert_ne!(c("c1", "https://a", 1), c("c2", "https://a", 1));
        assert_ne!(c("c1", "https://a", 1), c("c1", "https://b", 1));
    }

    #[test]
    fn a_session_set_names_user_and_session_in_a_complex_subject() {
        let r = session();
        let s = subject(&r.fact, "https://cognito", "pool");
        let c = set_claims(&r, "https://iss", "aud", "https://r", s, 1000);
        assert_eq!(c["sub_id"]["format"], "complex");
        assert_eq!(
            c["sub_id"]["user"],
            json!({"format": "iss_sub", "iss": "https://cognito", "sub": "u1"})
        );
        assert_eq!(
            c["sub_id"]["session"],
            json!({"format": "opaque", "id": "oj1"})
        );
        let event = &c["events"][CAEP_SESSION_REVOKED];
        assert_eq!(event["event_timestamp"], 1_767_225_600);
        assert_eq!(event["initiating_entity"], "user");
    }

    #[test]
    fn a_pool_set_names_the_pool_as_tenant() {
        let s = subject(&Fact::PoolCutoff { cutoff: EpochMs(1) }, "i", "us-east-1_X");
        assert_eq!(
            s,
            json!({"format": "complex", "tenant": {"format": "opaque", "id": "us-east-1_X"}})
        );
    }
}
