//! The verified-token cache: what a token's signature check concluded, kept
//! so the same token presented again skips the RSA check and the decoding.
//!
//! * **Keys: the whole token, in two tiers.** Every cached token is in the
//!   *main* tier, keyed by SHA-256 of the whole token string (header, payload
//!   and signature, as presented): 32 bytes a key, so `TOKEN_CACHE_BYTES`
//!   holds thousands of tokens. The tokens presented lately are also in a
//!   small *hot* tier keyed by the token string itself, compared in full on a
//!   hit and hashed by the table with rapidhash (randomly seeded, already in
//!   the tree under `metrics`): a hit there costs about 0.15 µs where SHA-256
//!   of a 970-byte token costs 0.7 µs. Either way two tokens share an entry
//!   only if they are the same bytes (short of a SHA-256 collision); never
//!   by `kid`, `jti` or the signature alone, so a tampered copy of a cached
//!   token (one byte changed anywhere) is a miss and goes through the full
//!   check. Only tokens whose signature verified are inserted, so no one can
//!   choose the keys. Keying the main tier by the token too (tried on
//!   2026-12-02) fitted a third as many tokens: on a Zipf stream of 10,000
//!   users the hit rate fell from over 95% to 85% and throughput by half.
//! * **Value: the verification result** ([`Verified`]: typed claims, issuer,
//!   `nbf`, the key that verified it), shared by `Arc` between the tiers: a
//!   hit clones no claim. What depends on the clock or the caller (`exp`,
//!   `nbf`, `iat`, token use, client, issuer) is checked again on every hit
//!   by the same function as on a miss ([`super::Verifier`]'s `admit`); the
//!   cache only answers "this exact string was signed by key K".
//! * **Key removal.** An entry records the key's fingerprint and the key set
//!   generation it was last seen in; when a JWKS fetch replaced the key set,
//!   the next hit looks the `kid` up again, and an entry whose key left the
//!   JWKS (or whose `kid` now names other material) is dropped from both
//!   tiers and the token checked afresh, which refuses it.
//! * **Bounds, both at once.** `TOKEN_CACHE_ENTRIES` and `TOKEN_CACHE_BYTES`,
//!   shared by the tiers (the hot one gets a sixteenth of each): each entry
//!   weighs its estimated heap and inline size (the hot tier's, the token's
//!   length too), but at least `bytes / entries`, and each tier holds at
//!   most its share of `bytes` of weight; so the cache never holds more than
//!   `entries` entries nor more than `bytes` bytes. 0 in either disables it.
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

use std::hash::BuildHasher;

use aws_lc_rs::digest;
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

use super::Verified;

/// The hot tier's key: the whole token string as presented.
type TokenKey = Box<str>;

/// The main tier's key: SHA-256 of the whole token string.
type TokenHash = [u8; 32];

fn hash(token: &str) -> TokenHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

/// What each entry costs besides its value (and, in the hot tier, the
/// token's bytes): the key, the `Arc` header, the cache's own slot and index.
pub(super) const ENTRY_OVERHEAD_BYTES: usize = 32 + 16 + 64;

/// The hot tier's share of both bounds.
const HOT_SHARE: usize = 16;

/// How the cache is doing (for tests, benchmarks and logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache (the token was then checked against
    /// the clock and the caller's expectations, but not its signature).
    pub hits: u64,
    /// Lookups that went through the full check.
    pub misses: u64,
    /// Tokens held now (the main tier's entries; the hot tier holds copies
    /// of the latest of them, within its own share of the bounds).
    pub entries: usize,
    /// Bytes held now, both tiers (the entries' weights, an upper estimate).
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

impl Weighter<TokenHash, Arc<Verified>> for ByWeight {
    fn weight(&self, _: &TokenHash, v: &Arc<Verified>) -> u64 {
        (v.bytes as u64).max(self.floor)
    }
}

type HotHasher = rapidhash::quality::RandomState;

/// A tier holding at most `entries` entries and `bytes` of weight.
fn tier<K, S>(entries: usize, bytes: u64, hasher: S) -> Option<Cache<K, Arc<Verified>, ByWeight, S>>
where
    K: Eq + std::hash::Hash + Clone,
    S: BuildHasher + Clone,
    ByWeight: Weighter<K, Arc<Verified>>,
{
    if entries == 0 || bytes == 0 {
        return None;
    }
    let floor = bytes.div_ceil(entries as u64);
    // Shards, each with its share of both bounds: a power of two, at most 8,
    // each expected to hold at least 32 entries.
    let mut shards = 8;
    while shards > 1 && entries / shards < 32 {
        shards /= 2;
    }
    // Rounded down so the shards' capacities add up to at most `bytes`.
    let capacity = bytes / shards as u64 * shards as u64;
    let options = OptionsBuilder::new()
        .shards(shards)
        .estimated_items_capacity(entries.min((bytes / 1024).max(1) as usize))
        .weight_capacity(capacity)
        .build()
        .expect("shards, items and weight are set");
    Some(Cache::with_options(
        options,
        ByWeight { floor },
        hasher,
        Default::default(),
    ))
}

struct Tiers {
    /// The tokens presented lately, by the token itself (a fast hash and one
    /// comparison); absent when the bounds are too small to share.
    hot: Option<Cache<TokenKey, Arc<Verified>, ByWeight, HotHasher>>,
    /// Every cached token, by SHA-256 of the token.
    main: Cache<TokenHash, Arc<Verified>, ByWeight, DefaultHashBuilder>,
}

/// What a lookup found: the entry, or what the insert after the full check
/// needs (the token's SHA-256, computed once).
pub(super) enum Lookup {
    Hit(Arc<Verified>),
    Miss(Option<TokenHash>),
}

/// Verified tokens by the whole token. `None` inside when disabled.
pub(super) struct VerifiedCache {
    tiers: Option<Tiers>,
    max_entries: usize,
    max_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl VerifiedCache {
    pub(super) fn new(max_entries: usize, max_bytes: u64) -> Self {
        let (hot_entries, hot_bytes) = (max_entries / HOT_SHARE, max_bytes / HOT_SHARE as u64);
        let tiers = tier(
            max_entries - hot_entries,
            max_bytes - hot_bytes,
            DefaultHashBuilder::default(),
        )
        .map(|main| Tiers {
            hot: tier(hot_entries, hot_bytes, HotHasher::new()),
            main,
        });
        VerifiedCache {
            tiers,
            max_entries,
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The entry for `token`, counting a hit or a miss: the hot tier first,
    /// then the main one (a main hit is copied into the hot tier).
    pub(super) fn get(&self, token: &str) -> Lookup {
        let Some(t) = &self.tiers else {
            return Lookup::Miss(None);
        };
        if let Some(v) = t.hot.as_ref().and_then(|hot| hot.get(token)) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Lookup::Hit(v);
        }
        let key = hash(token);
        match t.main.get(&key) {
            Some(v) => {
                if let Some(hot) = &t.hot {
                    hot.insert(token.into(), Arc::clone(&v));
                }
                self.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(v)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(Some(key))
            }
        }
    }

    /// Caches a token that just passed the full check, in both tiers.
    pub(super) fn insert(&self, token: &str, key: Option<TokenHash>, value: Arc<Verified>) {
        if let (Some(t), Some(key)) = (&self.tiers, key) {
            if let Some(hot) = &t.hot {
                hot.insert(token.into(), Arc::clone(&value));
            }
            t.main.insert(key, value);
        }
    }

    /// Forgets `token` in both tiers; its key, for the insert that may follow.
    pub(super) fn remove(&self, token: &str) -> Option<TokenHash> {
        let t = self.tiers.as_ref()?;
        if let Some(hot) = &t.hot {
            hot.remove(token);
        }
        let key = hash(token);
        t.main.remove(&key);
        Some(key)
    }

    pub(super) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.tiers.as_ref().map_or(0, |t| t.main.len()),
            bytes: self.tiers.as_ref().map_or(0, |t| {
                t.main.weight() + t.hot.as_ref().map_or(0, Cache::weight)
            }),
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
        }
    }
}
