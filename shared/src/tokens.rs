//! Cognito JWT verification: RS256 only, keys from the pool's JWKS.
//!
//! Written on aws-lc-rs directly (already in the tree through the SDK's TLS
//! stack) rather than through a general JWT crate: Cognito access tokens carry
//! `client_id` instead of `aud`, and every rejection needs its own stable code,
//! which general crates fold together.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::model::{ClientId, EpochMs, OriginJti, Sub, TokenUse};

mod keys;

use keys::Keys;
pub use keys::{JWKS_REFETCH_INTERVAL, JWKS_RETRY_INTERVAL, KeySet, MAX_JWKS_BYTES};

/// Longest token accepted. Cognito tokens are 1-4 KB; groups and custom claims
/// can grow them, so leave room, but refuse anything that could be abuse.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was refused. Each has a stable code for logs and responses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is empty")]
    Empty,
    #[error("token is larger than {MAX_TOKEN_BYTES} bytes")]
    Oversized,
    #[error("token is not three dot-separated parts")]
    Malformed,
    #[error("token part is not base64url")]
    NotBase64Url,
    #[error("token part is not a JSON object")]
    NotJson,
    #[error("alg none is refused")]
    AlgNone,
    #[error("HMAC algorithms are refused")]
    AlgHmac,
    #[error("only RS256 is accepted")]
    AlgUnsupported,
    #[error("token header has no kid")]
    MissingKid,
    #[error("no key in the JWKS has this kid")]
    UnknownKid,
    #[error("signature does not verify")]
    BadSignature,
    #[error("issuer is not this user pool")]
    WrongIssuer,
    #[error("token was issued to another client")]
    WrongClient,
    #[error("token_use is not the one expected")]
    WrongTokenUse,
    #[error("a required claim is missing or has the wrong type")]
    MissingClaim,
    #[error("token has expired")]
    Expired,
    #[error("token is not yet valid")]
    NotYetValid,
    #[error("the JWKS could not be fetched")]
    JwksUnavailable,
}

impl TokenError {
    /// Stable code, safe to log and to return.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Empty => "token_empty",
            TokenError::Oversized => "token_oversized",
            TokenError::Malformed => "token_malformed",
            TokenError::NotBase64Url => "token_not_base64url",
            TokenError::NotJson => "token_not_json",
            TokenError::AlgNone => "alg_none",
            TokenError::AlgHmac => "alg_hmac",
            TokenError::AlgUnsupported => "alg_unsupported",
            TokenError::MissingKid => "kid_missing",
            TokenError::UnknownKid => "kid_unknown",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongClient => "wrong_client",
            TokenError::WrongTokenUse => "wrong_token_use",
            TokenError::MissingClaim => "claim_missing",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::JwksUnavailable => "jwks_unavailable",
        }
    }

    /// True when the failure is ours (keys unreachable), not the token's.
    pub fn is_transient(&self) -> bool {
        matches!(self, TokenError::JwksUnavailable)
    }
}

/// The claims a revocation decision and the functions need, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    pub sub: Sub,
    pub token_use: TokenUse,
    pub client_id: ClientId,
    pub iat: u64,
    pub exp: u64,
    pub auth_time: Option<u64>,
    pub jti: Option<String>,
    pub origin_jti: Option<OriginJti>,
    pub username: Option<String>,
    pub scope: Option<String>,
    pub groups: Vec<String>,
    /// The Pre Token Generation stamp (epoch ms), when present.
    pub stamp: Option<EpochMs>,
    /// Provider names from the ID token's `identities` claim (federated users).
    pub identity_providers: Vec<String>,
}

/// A token whose signature and claims have been verified.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub claims: Claims,
    /// Every claim as sent, for introspection.
    pub raw: Map<String, Value>,
}

/// What the caller expects of a token.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    pub token_use: Option<TokenUse>,
    /// Accept expired but otherwise valid tokens (`id_token_hint`).
    pub allow_expired: bool,
}

impl Expect {
    pub const ACCESS: Expect = Expect {
        token_use: Some(TokenUse::Access),
        allow_expired: false,
    };
    pub const ID: Expect = Expect {
        token_use: Some(TokenUse::Id),
        allow_expired: false,
    };
    pub const ANY: Expect = Expect {
        token_use: None,
        allow_expired: false,
    };
    pub const ID_HINT: Expect = Expect {
        token_use: Some(TokenUse::Id),
        allow_expired: true,
    };
}

/// Verifies Cognito tokens of one pool. Build once per cold start and share.
pub struct Verifier {
    issuer: String,
    clients: BTreeSet<String>,
    leeway: u64,
    stamp_claim: String,
    keys: Keys,
}

impl Verifier {
    /// A verifier that fetches the JWKS from `config.jwks_url` on first use.
    pub fn from_config(config: &Config) -> Self {
        Self::build(config, Keys::from_url(config.jwks_url.clone()))
    }

    /// A verifier with fixed keys (benchmarks, offline tools).
    pub fn with_keys(config: &Config, keys: KeySet) -> Self {
        Self::build(config, Keys::fixed(keys))
    }

    fn build(config: &Config, keys: Keys) -> Self {
        Verifier {
            issuer: config.issuer.clone(),
            clients: config.app_client_ids.clone(),
            leeway: config.leeway.as_secs(),
            stamp_claim: config.stamp_claim.clone(),
            keys,
        }
    }

    /// How many times the JWKS was fetched (for tests and benchmarks).
    pub fn jwks_fetches(&self) -> u64 {
        self.keys.fetches()
    }

    /// Whether `client` is one of ours.
    pub fn knows_client(&self, client: &str) -> bool {
        self.clients.contains(client)
    }

    /// Verifies `token` now.
    pub async fn verify(&self, token: &str, expect: Expect) -> Result<VerifiedToken, TokenError> {
        self.verify_at(token, expect, EpochMs::now().secs()).await
    }

    /// Verifies `token` as of `now` (epoch seconds).
    pub async fn verify_at(
        &self,
        token: &str,
        expect: Expect,
        now: u64,
    ) -> Result<VerifiedToken, TokenError> {
        let parts = split(token)?;
        let key = self.keys.get(&parts.kid).await?;
        key.verify_sig(parts.signed.as_bytes(), &parts.signature)
            .map_err(|_| TokenError::BadSignature)?;
        let raw = decode_json(parts.payload)?;
        let claims = self.check_claims(&raw, expect, now)?;
        Ok(VerifiedToken { claims, raw })
    }

    fn check_claims(
        &self,
        raw: &Map<String, Value>,
        expect: Expect,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let s = |k: &str| raw.get(k).and_then(Value::as_str);
        let n = |k: &str| raw.get(k).and_then(Value::as_u64);

        if s("iss") != Some(self.issuer.as_str()) {
            return Err(TokenError::WrongIssuer);
        }
        let token_use = match s("token_use") {
            Some("access") => TokenUse::Access,
            Some("id") => TokenUse::Id,
            _ => return Err(TokenError::WrongTokenUse),
        };
        if expect.token_use.is_some_and(|t| t != token_use) {
            return Err(TokenError::WrongTokenUse);
        }
        let client = match token_use {
            TokenUse::Access => s("client_id"),
            TokenUse::Id => s("aud"),
        }
        .ok_or(TokenError::MissingClaim)?;
        if !self.clients.contains(client) {
            return Err(TokenError::WrongClient);
        }
        let sub = s("sub")
            .filter(|v| !v.is_empty())
            .ok_or(TokenError::MissingClaim)?;
        let exp = n("exp").ok_or(TokenError::MissingClaim)?;
        let iat = n("iat").ok_or(TokenError::MissingClaim)?;
        if !expect.allow_expired && now >= exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = raw.get("nbf") {
            let nbf = nbf.as_u64().ok_or(TokenError::MissingClaim)?;
            if nbf > now.saturating_add(self.leeway) {
                return Err(TokenError::NotYetValid);
            }
        }
        if iat > now.saturating_add(self.leeway) {
            return Err(TokenError::NotYetValid);
        }
        let groups = match raw.get("cognito:groups") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let identity_providers = match raw.get("identities") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|i| i.get("providerName").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Claims {
            sub: Sub(sub.to_owned()),
            token_use,
            client_id: ClientId(client.to_owned()),
            iat,
            exp,
            auth_time: n("auth_time"),
            jti: s("jti").map(str::to_owned),
            origin_jti: s("origin_jti").map(OriginJti::from),
            username: s("username")
                .or_else(|| s("cognito:username"))
                .map(str::to_owned),
            scope: s("scope").map(str::to_owned),
            groups,
            stamp: stamp_value(raw.get(&self.stamp_claim)),
            identity_providers,
        })
    }
}

/// Cognito's Pre Token Generation trigger can only add string claims to ID
/// tokens in V1, so the stamp may arrive as a number or a decimal string.
fn stamp_value(v: Option<&Value>) -> Option<EpochMs> {
    match v? {
        Value::Number(n) => n.as_u64().map(EpochMs),
        Value::String(s) => s.parse().ok().map(EpochMs),
        _ => None,
    }
}

struct Parts<'a> {
    kid: String,
    payload: &'a str,
    signed: &'a str,
    signature: Vec<u8>,
}

/// Structural checks before any key is touched.
fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Oversized);
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed);
    };
    let header = decode_json(h)?;
    match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(a) if a.eq_ignore_ascii_case("none") => return Err(TokenError::AlgNone),
        Some(a) if a.starts_with("HS") => return Err(TokenError::AlgHmac),
        _ => return Err(TokenError::AlgUnsupported),
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or(TokenError::MissingKid)?
        .to_owned();
    if s.is_empty() {
        return Err(TokenError::BadSignature);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::NotBase64Url)?;
    // Decode the payload now too, so a token that cannot be read never costs a signature check.
    if p.is_empty() || URL_SAFE_NO_PAD.decode(p).is_err() {
        return Err(TokenError::NotBase64Url);
    }
    Ok(Parts {
        kid,
        payload: p,
        signed: &token[..h.len() + 1 + p.len()],
        signature,
    })
}

fn decode_json(part: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::NotBase64Url)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(TokenError::NotJson),
    }
}

/// What a presented token is, by its form alone: no key, no network. Used to
/// route a token to the check that can judge it (RFC 7009 section 2.1: a
/// `token_type_hint` only speeds the search up), never to accept one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenForm {
    /// Three dot-separated parts, as a JWS compact serialization has:
    /// Cognito's access and ID tokens, or something posing as one, which
    /// verification then refuses. No Cognito refresh token has this form.
    Jws,
    /// Anything else. Cognito's refresh tokens are JWE compact serializations
    /// (five parts, encrypted to Cognito, unreadable to us); the emulator's
    /// are UUIDs. Only Cognito can judge these.
    Opaque,
}

impl TokenForm {
    pub fn of(token: &str) -> Self {
        if token.split('.').count() == 3 {
            TokenForm::Jws
        } else {
            TokenForm::Opaque
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenForm::Jws => "jws",
            TokenForm::Opaque => "opaque",
        }
    }
}

/// Reads the claims of a token without verifying it. Only for routing and
/// diagnostics (never for a decision).
pub fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    decode_json(token.split('.').nth(1)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn structural_rejections_have_their_own_codes() {
        let body = b64(r#"{"sub":"x"}"#);
        let cases: Vec<(String, TokenError)> = vec![
            (String::new(), TokenError::Empty),
            ("a".repeat(MAX_TOKEN_BYTES + 1), TokenError::Oversized),
            ("abc".into(), TokenError::Malformed),
            ("a.b.c.d".into(), TokenError::Malformed),
            ("!!!.b.c".into(), TokenError::NotBase64Url),
            (format!("{}.{body}.c2ln", b64("[1]")), TokenError::NotJson),
            (
                format!("{}.{body}.", b64(r#"{"alg":"none"}"#)),
                TokenError::AlgNone,
            ),
            (
                format!("{}.{body}.c2ln", b64(r#"{"alg":"NONE"}"#)),
                TokenError::AlgNone,
            ),
            (
                format!("{}.{body}.c2ln", b64(r#"{"alg":"HS256","kid":"k"}"#)),
                TokenError::AlgHmac,
            ),
            (
                format!("{}.{body}.c2ln", b64(r#"{"alg":"ES256","kid":"k"}"#)),
                TokenError::AlgUnsupported,
            ),
            (
                format!("{}.{body}.c2ln", b64(r#"{"kid":"k"}"#)),
                TokenError::AlgUnsupported,
            ),
            (
                format!("{}.{body}.c2ln", b64(r#"{"alg":"RS256"}"#)),
                TokenError::MissingKid,
            ),
            (
                format!("{}.{body}.c2ln", b64(r#"{"alg":"RS256","kid":""}"#)),
                TokenError::MissingKid,
            ),
            (
                format!("{}.{body}.", b64(r#"{"alg":"RS256","kid":"k"}"#)),
                TokenError::BadSignature,
            ),
            (
                format!("{}.{body}.*", b64(r#"{"alg":"RS256","kid":"k"}"#)),
                TokenError::NotBase64Url,
            ),
            (
                format!("{}.%%.c2ln", b64(r#"{"alg":"RS256","kid":"k"}"#)),
                TokenError::NotBase64Url,
            ),
        ];
        for (token, want) in cases {
            let got = split(&token).err();
            assert_eq!(
                got.as_ref(),
                Some(&want),
                "{}",
                &token[..token.len().min(60)]
            );
        }
    }

    #[test]
    fn token_forms_are_told_apart_by_shape_alone() {
        let payload = b64(r#"{"sub":"x"}"#);
        let jws = format!("{}.{payload}.c2ln", b64(r#"{"alg":"RS256","kid":"k"}"#));
        // Forgeries and garbage of three parts are JWS-shaped: verification
        // refuses them (RFC 7009: 200, nothing revoked), Cognito is not asked.
        let none = format!("{}.{payload}.", b64(r#"{"alg":"none"}"#));
        for three in [jws.as_str(), none.as_str(), "a.b.c", ".."] {
            assert_eq!(TokenForm::of(three), TokenForm::Jws, "{three}");
        }
        // Cognito's refresh tokens: JWE compact serialization, five parts.
        let jwe = format!(
            "{}.{}.{}.{}.{}",
            b64(r#"{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}"#),
            "a".repeat(342),
            "aXYxMjM0NTY3ODkw",
            "Y2lwaGVydGV4dA",
            "dGFnMTIzNDU2Nzg5MA"
        );
        for other in [
            jwe.as_str(),
            "8a6d8bd5-3f6e-4c43-9d8b-3f0d4c1a2b3c",
            "no-such-token",
            "",
            "a.b",
            "a.b.c.d",
        ] {
            assert_eq!(TokenForm::of(other), TokenForm::Opaque, "{other}");
        }
    }

    #[test]
    fn stamps_accept_numbers_and_decimal_strings() {
        assert_eq!(stamp_value(Some(&Value::from(12u64))), Some(EpochMs(12)));
        assert_eq!(stamp_value(Some(&Value::from("34"))), Some(EpochMs(34)));
        assert_eq!(stamp_value(Some(&Value::from("x"))), None);
        assert_eq!(stamp_value(Some(&Value::from(-1))), None);
        assert_eq!(stamp_value(None), None);
    }
}
