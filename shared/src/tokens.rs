//! Cognito JWT verification: RS256 only, keys from the pool's JWKS.
//!
//! Written on aws-lc-rs directly (already in the tree through the SDK's TLS
//! stack) rather than through a general JWT crate: Cognito access tokens carry
//! `client_id` instead of `aud`, and every rejection needs its own stable code,
//! which general crates fold together.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::model::{ClientId, EpochMs, OriginJti, Sub, TokenUse};

mod cache;
#[cfg(test)]
mod cache_tests;
mod keys;
mod parse;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod signer;

pub use cache::CacheStats;
use cache::VerifiedCache;
use keys::{Fingerprint, Keys};
pub use keys::{JWKS_REFETCH_INTERVAL, JWKS_RETRY_INTERVAL, KeySet, MAX_JWKS_BYTES};
use parse::{Payload, Scalar};

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

/// What a signature check concluded about one token: its claims and what
/// is checked again on every use. Shared (by `Arc`) between the verified-token
/// cache and every [`VerifiedToken`] handed out for the same token.
#[derive(Debug)]
pub struct Verified {
    pub claims: Claims,
    /// The verifier's own issuer, shared: not a copy per cached entry.
    issuer: std::sync::Arc<str>,
    nbf: Option<u64>,
    kid: Box<str>,
    key: Fingerprint,
    /// The key set generation in which `kid` was last seen naming `key`.
    key_generation: AtomicU64,
    /// Estimated size in memory, for the cache's byte bound.
    bytes: usize,
}

impl Verified {
    fn estimate_bytes(&mut self) {
        let c = &self.claims;
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        let strings = |v: &Vec<String>| {
            v.capacity() * std::mem::size_of::<String>()
                + v.iter().map(String::capacity).sum::<usize>()
        };
        self.bytes = std::mem::size_of::<Verified>()
            + cache::ENTRY_OVERHEAD_BYTES
            + c.sub.0.capacity()
            + c.client_id.0.capacity()
            + opt(&c.jti)
            + c.origin_jti.as_ref().map_or(0, |o| o.as_str().len())
            + opt(&c.username)
            + opt(&c.scope)
            + strings(&c.groups)
            + strings(&c.identity_providers)
            // `issuer` is shared with the verifier: no bytes of its own.
            + self.kid.len();
    }
}

/// A token whose signature and claims have been verified. Cheap to clone:
/// the verification result is shared, never copied.
#[derive(Clone, Debug)]
pub struct VerifiedToken(Arc<Verified>);

impl std::ops::Deref for VerifiedToken {
    type Target = Verified;
    fn deref(&self) -> &Verified {
        &self.0
    }
}

impl VerifiedToken {
    /// The claims, owned (a copy when the cache or another caller shares them).
    pub fn into_claims(self) -> Claims {
        Arc::try_unwrap(self.0).map_or_else(|shared| shared.claims.clone(), |v| v.claims)
    }
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
    issuer: std::sync::Arc<str>,
    clients: BTreeSet<String>,
    leeway: u64,
    stamp_claim: String,
    keys: Keys,
    cache: VerifiedCache,
    signature_checks: AtomicU64,
}

impl Verifier {
    /// A verifier that fetches the JWKS from `config.jwks_url` on first use,
    /// or, with `JWKS_JSON`, trusts exactly the keys given there and never
    /// fetches (no HTTP client is built: a faster cold start).
    pub fn from_config(config: &Config) -> Self {
        let keys = match &config.jwks_json {
            // Validated with the configuration.
            Some(doc) => Keys::fixed(KeySet::from_json(doc.as_bytes()).unwrap_or_default()),
            None => Keys::from_url(config.jwks_url.clone()),
        };
        Self::build(config, keys)
    }

    /// A verifier with fixed keys (benchmarks, offline tools).
    pub fn with_keys(config: &Config, keys: KeySet) -> Self {
        Self::build(config, Keys::fixed(keys))
    }

    fn build(config: &Config, keys: Keys) -> Self {
        Verifier {
            issuer: config.issuer.as_str().into(),
            clients: config.app_client_ids.clone(),
            leeway: config.leeway.as_secs(),
            stamp_claim: config.stamp_claim.clone(),
            keys,
            cache: VerifiedCache::new(config.token_cache_entries, config.token_cache_bytes),
            signature_checks: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was fetched (for tests and benchmarks).
    pub fn jwks_fetches(&self) -> u64 {
        self.keys.fetches()
    }

    /// How many RSA signature checks this verifier ran (for tests and benchmarks).
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.load(Ordering::Relaxed)
    }

    /// The verified-token cache's counters and size.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
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
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Oversized);
        }
        let key = match self.cache.get(token) {
            cache::Lookup::Hit(hit) if self.key_still_trusted(&hit) => {
                self.admit(&hit, expect, now)?;
                return Ok(VerifiedToken(hit));
            }
            cache::Lookup::Hit(_) => {
                // The key left the JWKS (or changed): forget, and check afresh.
                self.cache.remove(token)
            }
            cache::Lookup::Miss(key) => key,
        };
        let verified = Arc::new(self.check_signature(token).await?);
        self.admit(&verified, expect, now)?;
        self.cache.insert(token, key, Arc::clone(&verified));
        Ok(VerifiedToken(verified))
    }

    /// Whether the key that verified a cached token is still in the JWKS:
    /// one atomic read while the key set has not changed since.
    fn key_still_trusted(&self, v: &Verified) -> bool {
        let now = self.keys.generation();
        if v.key_generation.load(Ordering::Acquire) == now {
            return true;
        }
        let held = self.keys.still_holds(&v.kid, &v.key);
        if held {
            v.key_generation.store(now, Ordering::Release);
        }
        held
    }

    /// The full check of a token not in the cache: structure, key, RSA
    /// signature, then the claims that do not depend on the clock or the caller.
    async fn check_signature(&self, token: &str) -> Result<Verified, TokenError> {
        let parts = parse::split(token)?;
        // Read before the key: a fetch inside `get` raises it, and the key
        // may come from that set, so the entry is rechecked on its next hit.
        let generation = self.keys.generation();
        let key = self.keys.get(&parts.kid).await?;
        self.signature_checks.fetch_add(1, Ordering::Relaxed);
        if !key.verify(parts.signed, parts.signature()) {
            return Err(TokenError::BadSignature);
        }
        let p = parse::read_payload(&parts.payload, &self.stamp_claim)?;
        let (claims, nbf) = self.read_claims(p)?;
        let mut v = Verified {
            claims,
            issuer: self.issuer.clone(),
            nbf,
            kid: parts.kid.into_boxed_str(),
            key: *key.fingerprint(),
            key_generation: AtomicU64::new(generation),
            bytes: 0,
        };
        v.estimate_bytes();
        Ok(v)
    }

    /// The claims, typed, and `nbf`; refuses what no caller could accept
    /// (another issuer or client, a missing or mistyped claim).
    fn read_claims(&self, p: Payload<'_>) -> Result<(Claims, Option<u64>), TokenError> {
        let s = Payload::str;
        let n = Payload::num;
        if s(&p.iss) != Some(&*self.issuer) {
            return Err(TokenError::WrongIssuer);
        }
        let token_use = match s(&p.token_use) {
            Some("access") => TokenUse::Access,
            Some("id") => TokenUse::Id,
            _ => return Err(TokenError::WrongTokenUse),
        };
        let client = match token_use {
            TokenUse::Access => s(&p.client_id),
            TokenUse::Id => s(&p.aud),
        }
        .ok_or(TokenError::MissingClaim)?;
        if !self.clients.contains(client) {
            return Err(TokenError::WrongClient);
        }
        let sub = s(&p.sub)
            .filter(|v| !v.is_empty())
            .ok_or(TokenError::MissingClaim)?;
        let exp = n(&p.exp).ok_or(TokenError::MissingClaim)?;
        let iat = n(&p.iat).ok_or(TokenError::MissingClaim)?;
        let nbf = match &p.nbf {
            None => None,
            Some(v) => Some(v.as_u64().ok_or(TokenError::MissingClaim)?),
        };
        let claims = Claims {
            sub: Sub(sub.to_owned()),
            token_use,
            client_id: ClientId(client.to_owned()),
            iat,
            exp,
            auth_time: n(&p.auth_time),
            jti: s(&p.jti).map(str::to_owned),
            origin_jti: s(&p.origin_jti).map(OriginJti::from),
            username: s(&p.username)
                .or_else(|| s(&p.cognito_username))
                .map(str::to_owned),
            scope: s(&p.scope).map(str::to_owned),
            stamp: p.stamp.as_ref().and_then(Scalar::as_stamp),
            groups: p.groups,
            identity_providers: p.identity_providers,
        };
        Ok((claims, nbf))
    }

    /// What is checked on every use of a verified token, cached or not:
    /// issuer, the caller's token use, our client, `exp`, `nbf`, `iat`.
    fn admit(&self, v: &Verified, expect: Expect, now: u64) -> Result<(), TokenError> {
        let c = &v.claims;
        if *v.issuer != *self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if expect.token_use.is_some_and(|t| t != c.token_use) {
            return Err(TokenError::WrongTokenUse);
        }
        if !self.clients.contains(c.client_id.as_str()) {
            return Err(TokenError::WrongClient);
        }
        if !expect.allow_expired && now >= c.exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        if v.nbf
            .is_some_and(|nbf| nbf > now.saturating_add(self.leeway))
        {
            return Err(TokenError::NotYetValid);
        }
        if c.iat > now.saturating_add(self.leeway) {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
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
/// diagnostics (never for a decision), and to show every claim of a token
/// that [`Verifier::verify`] has just accepted (introspection): the verified
/// result keeps only the typed claims.
pub fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    serde_json::from_slice(&payload).ok()
}

#[cfg(test)]
mod tests {
    use super::parse::{Scalar, split};
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
        let stamp = |json: &str| serde_json::from_str::<Scalar>(json).unwrap().as_stamp();
        assert_eq!(stamp("12"), Some(EpochMs(12)));
        assert_eq!(stamp(r#""34""#), Some(EpochMs(34)));
        assert_eq!(stamp(r#""x""#), None);
        assert_eq!(stamp("-1"), None);
        assert_eq!(stamp("1.5"), None);
    }
}
