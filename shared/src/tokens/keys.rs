//! The pool's signing keys: the JWKS parsed once ([`KeySet`]) and the cache
//! that fetches it ([`Keys`]).
//!
//! The JWKS is fetched lazily at first use, and again for a `kid` the cache
//! does not know, at most once per [`JWKS_REFETCH_INTERVAL`] (one fetch at a
//! time), so a flood of invented `kid`s cannot hammer the endpoint.
//!
//! A fetch that fails (transport error, timeout, non-2xx, a body that is not
//! a JWKS, a JWKS without one usable key) says nothing about any token: until
//! a fetch succeeds, a `kid` the cache does not know is answered with
//! [`TokenError::JwksUnavailable`] (transient: the API answers 503 with
//! `Retry-After`, the authorizer denies), never with
//! [`TokenError::UnknownKid`], which blames the token. After a failure the
//! next fetch may start [`JWKS_RETRY_INTERVAL`] later; keys fetched before
//! the failure stay in use.
//!
//! Each successful fetch raises the key set's generation ([`Keys::generation`]),
//! so the verified-token cache (`tokens::cache`) can tell, with one atomic
//! read, whether a cached token's key may have left the JWKS since it was
//! checked, and only then look the key up again ([`Keys::still_holds`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::TokenError;
use crate::outbound::Outbound;

/// Least time between two JWKS fetches triggered by unknown `kid`s.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Least time between a failed JWKS fetch and the next one.
pub const JWKS_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct JwkDoc {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
}

/// One signing key, parsed once, and a fingerprint of its material (SHA-256
/// of `n` and `e`): a cached token stays trusted only while its `kid` still
/// names the same key material.
pub(super) struct Key {
    parsed: ParsedPublicKey,
    fingerprint: Fingerprint,
}

/// SHA-256 over a key's modulus and exponent.
pub(super) type Fingerprint = [u8; 32];

impl Key {
    pub(super) fn verify(&self, signed: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(signed, signature).is_ok()
    }

    pub(super) fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

fn fingerprint(n: &[u8], e: &[u8]) -> Fingerprint {
    let mut ctx = digest::Context::new(&digest::SHA256);
    // Lengths first, so no split of the same bytes between n and e collides.
    ctx.update(&(n.len() as u64).to_be_bytes());
    ctx.update(n);
    ctx.update(e);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The signing keys of a pool, parsed once.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<Key>>,
}

impl KeySet {
    /// Parses a JWKS document. RSA signing keys with a `kid` are kept; other
    /// keys are skipped, since Cognito signs with RS256 only.
    pub fn from_json(doc: &[u8]) -> Result<Self, TokenError> {
        if doc.len() > MAX_JWKS_BYTES {
            return Err(TokenError::JwksUnavailable);
        }
        let doc: JwkDoc = serde_json::from_slice(doc).map_err(|_| TokenError::JwksUnavailable)?;
        let mut keys = HashMap::new();
        for k in doc.keys {
            let usable = k.kty == "RSA"
                && k.alg.as_deref().is_none_or(|a| a == "RS256")
                && k.use_.as_deref().is_none_or(|u| u == "sig");
            let (Some(kid), Some(n), Some(e), true) = (k.kid, k.n, k.e, usable) else {
                continue;
            };
            let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
                continue;
            };
            let components = RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            };
            if let Ok(parsed) = components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256) {
                let fingerprint = fingerprint(&n, &e);
                keys.insert(
                    kid,
                    Arc::new(Key {
                        parsed,
                        fingerprint,
                    }),
                );
            }
        }
        Ok(KeySet { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn get(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.get(kid).cloned()
    }
}

/// Where keys come from: a URL fetched lazily, or a fixed set.
enum KeySource {
    Url { url: url::Url, http: Outbound },
    Fixed,
}

struct KeyCache {
    keys: KeySet,
    last_fetch: Option<Instant>,
    /// Whether the last fetch failed: until one succeeds, an unknown `kid`
    /// is our failure, not the token's.
    last_failed: bool,
}

/// The key cache of one verifier. Build once per cold start and share.
pub(super) struct Keys {
    source: KeySource,
    cache: RwLock<KeyCache>,
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    /// Raised each time a fetched key set replaces the one in use.
    generation: AtomicU64,
}

impl Keys {
    /// Keys fetched from `url` on first use.
    pub(super) fn from_url(url: url::Url) -> Self {
        Self::build(
            KeySource::Url {
                url,
                http: Outbound::new(JWKS_FETCH_TIMEOUT),
            },
            KeySet::default(),
        )
    }

    /// A fixed set (benchmarks, offline tools): an unknown `kid` is the token's fault.
    pub(super) fn fixed(keys: KeySet) -> Self {
        Self::build(KeySource::Fixed, keys)
    }

    fn build(source: KeySource, keys: KeySet) -> Self {
        Keys {
            source,
            cache: RwLock::new(KeyCache {
                keys,
                last_fetch: None,
                last_failed: false,
            }),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was fetched (for tests and benchmarks).
    pub(super) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Moves the last fetch `by` into the past, as if that time had passed
    /// (tests of key rotation, which would otherwise wait out the interval).
    #[cfg(test)]
    pub(super) fn backdate_last_fetch(&self, by: Duration) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.last_fetch = cache.last_fetch.and_then(|t| t.checked_sub(by));
    }

    /// Which key set is in use: changes whenever a fetch replaces it.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether `kid` still names the key material `fingerprint` (no fetch).
    pub(super) fn still_holds(&self, kid: &str, fingerprint: &Fingerprint) -> bool {
        self.cached(kid)
            .is_some_and(|k| k.fingerprint() == fingerprint)
    }

    /// Puts a fetched key set in use, in place of the previous one.
    fn install(cache: &mut KeyCache, generation: &AtomicU64, keys: KeySet) {
        cache.keys = keys;
        generation.fetch_add(1, Ordering::Release);
    }

    /// The key named `kid`: from the cache, or after a fetch when allowed.
    pub(super) async fn get(&self, kid: &str) -> Result<Arc<Key>, TokenError> {
        match self.cached(kid) {
            Some(k) => Ok(k),
            None => self.refresh_for(kid).await,
        }
    }

    fn cached(&self, kid: &str) -> Option<Arc<Key>> {
        self.cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .get(kid)
    }

    /// Fetches the JWKS unless a fetch happened within the interval, then looks `kid` up again.
    async fn refresh_for(&self, kid: &str) -> Result<Arc<Key>, TokenError> {
        let KeySource::Url { url, http } = &self.source else {
            return Err(TokenError::UnknownKid);
        };
        let _one_at_a_time = self.fetch_lock.lock().await;
        // Another task may have fetched while we waited.
        if let Some(k) = self.cached(kid) {
            return Ok(k);
        }
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            let wait = if cache.last_failed {
                JWKS_RETRY_INTERVAL
            } else {
                JWKS_REFETCH_INTERVAL
            };
            if cache.last_fetch.is_some_and(|t| t.elapsed() < wait) {
                return Err(if cache.last_failed {
                    TokenError::JwksUnavailable
                } else {
                    TokenError::UnknownKid
                });
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = fetch_jwks(http, url).await;
        crate::metrics::jwks_fetch(fetched.is_ok());
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.last_fetch = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                Self::install(&mut cache, &self.generation, keys);
                cache.last_failed = false;
                cache.keys.get(kid).ok_or(TokenError::UnknownKid)
            }
            Err(e) => {
                // Keys fetched earlier stay: a failed fetch takes nothing away.
                cache.last_failed = true;
                tracing::warn!(code = e.code(), "JWKS fetch failed");
                Err(e)
            }
        }
    }
}

/// Longest a JWKS fetch may take, connection and body included.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// One fetch; a document without a single usable key counts as a failure
/// (a pool always has keys: an empty set is an upstream or configuration
/// problem, and would otherwise refuse every token as `kid_unknown`).
async fn fetch_jwks(http: &Outbound, url: &url::Url) -> Result<KeySet, TokenError> {
    let mut span = crate::xray::remote("JWKS", "GET", url.as_str());
    let Ok(answer) = http.get(url, "application/json", MAX_JWKS_BYTES).await else {
        span.unanswered();
        return Err(TokenError::JwksUnavailable);
    };
    span.answered(answer.status);
    if !(200..300).contains(&answer.status) {
        return Err(TokenError::JwksUnavailable);
    }
    let body = answer.body;
    let keys = KeySet::from_json(&body)?;
    if keys.is_empty() {
        return Err(TokenError::JwksUnavailable);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_keeps_only_usable_rsa_signing_keys() {
        let doc = br#"{"keys":[
            {"kty":"EC","kid":"ec","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bad","n":"!!","e":"AQAB"}
        ]}"#;
        assert_eq!(KeySet::from_json(doc).unwrap().len(), 0);
        assert!(KeySet::from_json(b"not json").is_err());
        assert!(KeySet::from_json(br#"{"keys":{}}"#).is_err());
        assert!(KeySet::from_json(&vec![b' '; MAX_JWKS_BYTES + 1]).is_err());
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_our_failure_for_every_token_until_a_fetch_succeeds() {
        // GIVEN a cold cache whose JWKS URL refuses connections
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let keys = Keys::from_url(
            format!("http://127.0.0.1:{port}/jwks.json")
                .parse()
                .unwrap(),
        );
        // WHEN tokens arrive, the first fetching, the next ones inside the retry interval
        for kid in ["a", "b", "a", "c"] {
            // THEN each is told the keys are unavailable, never that its kid is unknown
            assert_eq!(
                keys.get(kid).await.err(),
                Some(TokenError::JwksUnavailable),
                "{kid}"
            );
        }
        assert_eq!(keys.fetches(), 1, "one fetch inside the retry interval");
        // AND after the retry interval the next token fetches again
        tokio::time::sleep(JWKS_RETRY_INTERVAL + Duration::from_millis(50)).await;
        assert_eq!(keys.get("a").await.err(), Some(TokenError::JwksUnavailable));
        assert_eq!(keys.fetches(), 2);
    }

    #[tokio::test]
    async fn fixed_keys_never_fetch_and_blame_an_unknown_kid_on_the_token() {
        let keys = Keys::fixed(KeySet::default());
        assert_eq!(keys.get("x").await.err(), Some(TokenError::UnknownKid));
        assert_eq!(keys.fetches(), 0);
    }
}
