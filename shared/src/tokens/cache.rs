//! The verified-token cache: what a token's signature check concluded, kept
//! so the same token presented again skips the RSA check and the decoding.
//!
//! * **Key: the whole token string** (header, payload and signature, as
//!   presented), compared in full on every hit: two tokens share an entry only
//!   if they are the same bytes; never by `kid`, `jti` or the signature alone,
//!   so a tampered copy of a cached token (one byte changed anywhere) is a miss
//!   and goes through the full check. The table hashes keys with rapidhash
//!   (randomly seeded, already in the tree under `metrics`): a collision only
//!   costs a string comparison, never a wrong hit, and only tokens whose
//!   signature verified are ever inserted, so no one can choose the keys. An
//!   earlier version keyed by SHA-256 of the token, which cost 620 ns per
//!   lookup of a 970-byte token (0.040× of the RSA check by itself); the
//!   token as key costs its length in memory instead of 32 bytes, so about a
//!   third as many tokens fit in `TOKEN_CACHE_BYTES`.
//! * **Value: the verification result** ([`Verified`]: typed claims, issuer,
//!   `nbf`, the key that verified it), shared by `Arc`: a hit clones no claim.
//!   What depends on the clock or the caller (`exp`, `nbf`, `iat`, token use,
//!   client, issuer) is checked again on every hit by the same function as on a
//!   miss ([`super::Verifier`]'s `admit`); the cache only answers "this exact
//!   string was signed by key K".
//! * **Key removal.** An entry records the key's fingerprint and the key set
//!   generation it was last seen in; when a JWKS fetch replaced the key set,
//!   the next hit looks the `kid` up again, and an entry whose key left the
//!   JWKS (or whose `kid` now names other material) is dropped and the token
//!   checked afresh, which refuses it.
//! * **Bounds, both at once.** `TOKEN_CACHE_ENTRIES` and `TOKEN_CACHE_BYTES`:
//!   each entry weighs its estimated heap and inline size, but at least
//!   `bytes / entries`, and the cache holds at most `bytes` of weight; so it
//!   never holds more than `entries` entries nor more than `bytes` bytes. 0 in
//!   either disables the cache.
//!
//! Built on `quick_cache` (default features off: std locks and hasher, so it
//! adds only `hashbrown` and `equivalent` to the tree): a small, maintained,
//! concurrent cache with per-entry weights and O(1) S3-FIFO eviction, which
//! also resists scans (a flood of one-time tokens does not push out the
//! tokens presented again and again). `moka` would do the same with a far
//! larger tree and a housekeeping thread; `lru` bounds entries only, behind
//! one lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};

use super::Verified;

/// A cached token: the whole string as presented.
type TokenKey = Box<str>;

/// What each entry costs besides its value and the key's bytes: the key's
/// pointer and length, the `Arc` header, the cache's own slot and index.
pub(super) const ENTRY_OVERHEAD_BYTES: usize = 16 + 16 + 64;

/// How the cache is doing (for tests, benchmarks and logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache (the token was then checked against
    /// the clock and the caller's expectations, but not its signature).
    pub hits: u64,
    /// Lookups that went through the full check.
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now (the entries' weights, an upper estimate).
    pub bytes: u64,
    pub max_entries: usize,
    pub max_bytes: u64,
}

#[derive(Clone)]
struct ByWeight {
    /// `max_bytes / max_entries`, rounded up.
    floor: u64,
}

impl Weighter<TokenKey, Arc<Verified>> for ByWeight {
    fn weight(&self, token: &TokenKey, v: &Arc<Verified>) -> u64 {
        ((v.bytes + token.len()) as u64).max(self.floor)
    }
}

type Hasher = rapidhash::quality::RandomState;

/// Verified tokens by the whole token. `None` inside when disabled.
pub(super) struct VerifiedCache {
    cache: Option<Cache<TokenKey, Arc<Verified>, ByWeight, Hasher>>,
    max_entries: usize,
    max_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl VerifiedCache {
    pub(super) fn new(max_entries: usize, max_bytes: u64) -> Self {
        let cache = (max_entries > 0 && max_bytes > 0).then(|| {
            let floor = max_bytes.div_ceil(max_entries as u64);
            // Shards, each with its share of both bounds: a power of two,
            // at most 8, each expected to hold at least 32 entries.
            let mut shards = 8;
            while shards > 1 && max_entries / shards < 32 {
                shards /= 2;
            }
            // Rounded down so the shards' capacities add up to at most max_bytes.
            let capacity = max_bytes / shards as u64 * shards as u64;
            let options = OptionsBuilder::new()
                .shards(shards)
                .estimated_items_capacity(max_entries.min((max_bytes / 1024).max(1) as usize))
                .weight_capacity(capacity)
                .build()
                .expect("shards, items and weight are set");
            Cache::with_options(
                options,
                ByWeight { floor },
                Hasher::new(),
                Default::default(),
            )
        });
        VerifiedCache {
            cache,
            max_entries,
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The entry for `token`, counting a hit or a miss.
    pub(super) fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let found = self.cache.as_ref()?.get(token);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(super) fn insert(&self, token: &str, value: Arc<Verified>) {
        if let Some(c) = &self.cache {
            c.insert(token.into(), value);
        }
    }

    pub(super) fn remove(&self, token: &str) {
        if let Some(c) = &self.cache {
            c.remove(token);
        }
    }

    pub(super) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.as_ref().map_or(0, Cache::len),
            bytes: self.cache.as_ref().map_or(0, Cache::weight),
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
        }
    }
}
