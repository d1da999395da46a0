//! The verified-token cache's security properties, one per test: a hit
//! skips only the signature check, never a check that depends on the token's
//! bytes, the clock, the caller or the key set, and the cache stays bounded.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;

use super::signer::{self, CLIENT, Signer, access, jwks, jwks_server};
use super::*;

/// One key for most tests (RSA key generation costs tens of milliseconds).
fn key() -> &'static Signer {
    static KEY: OnceLock<Signer> = OnceLock::new();
    KEY.get_or_init(|| Signer::new("k1"))
}

const NOW: u64 = 1_900_000_000;

fn verifier(extra: &[(&str, &str)]) -> Verifier {
    let keys = KeySet::from_json(&jwks(&[key()])).unwrap();
    Verifier::with_keys(&signer::config(extra), keys)
}

/// Verifies as of `now` on a runtime of its own.
fn check(v: &Verifier, token: &str, expect: Expect, now: u64) -> Result<VerifiedToken, TokenError> {
    block_on(v.verify_at(token, expect, now))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_hit_does_not_check_the_signature_again() {
    let v = verifier(&[]);
    let token = key().sign(&access("alice", NOW));
    for _ in 0..5 {
        check(&v, &token, Expect::ACCESS, NOW + 1).unwrap();
    }
    assert_eq!(v.signature_checks(), 1);
    let stats = v.cache_stats();
    assert_eq!((stats.misses, stats.hits, stats.entries), (1, 4, 1));
}

#[test]
fn a_hit_shares_the_verified_claims_instead_of_copying_them() {
    let v = verifier(&[]);
    let token = key().sign(&access("alice", NOW));
    let first = check(&v, &token, Expect::ACCESS, NOW).unwrap();
    let again = check(&v, &token, Expect::ACCESS, NOW).unwrap();
    assert!(Arc::ptr_eq(&first.0, &again.0));
    assert_eq!(again.claims.sub.0, "alice");
}

#[test]
fn a_tampered_copy_of_a_cached_token_is_refused() {
    let v = verifier(&[]);
    let token = key().sign(&access("alice", NOW));
    check(&v, &token, Expect::ACCESS, NOW).unwrap();
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let (p0, s0) = (h.len() + 1, h.len() + 1 + p.len() + 1);
    // First, middle and last character of the header, the payload and the signature.
    let positions = [
        0,
        h.len() / 2,
        h.len() - 1,
        p0,
        p0 + p.len() / 2,
        p0 + p.len() - 1,
        s0,
        s0 + s.len() / 2,
        s0 + s.len() - 1,
    ];
    for at in positions {
        let mut bytes = token.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        let got = check(&v, &tampered, Expect::ACCESS, NOW);
        assert!(got.is_err(), "one byte changed at {at} was accepted");
    }
    assert_eq!(v.cache_stats().hits, 0, "no tampered copy was a hit");
    assert!(check(&v, &token, Expect::ACCESS, NOW).is_ok());
}

#[test]
fn a_cached_token_is_refused_once_it_expires() {
    let v = verifier(&[]);
    let claims = access("alice", NOW);
    let token = key().sign(&claims);
    check(&v, &token, Expect::ACCESS, NOW).unwrap();
    let leeway = signer::config(&[]).leeway.as_secs();
    let expired = claims["exp"].as_u64().unwrap() + leeway;
    assert_eq!(
        check(&v, &token, Expect::ACCESS, expired).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(v.cache_stats().hits, 1, "refused on a hit");
    assert_eq!(v.signature_checks(), 1);
}

#[test]
fn a_cached_token_is_refused_before_its_nbf() {
    let v = verifier(&[]);
    let mut claims = access("alice", NOW);
    claims["nbf"] = json!(NOW + 600);
    let token = key().sign(&claims);
    check(&v, &token, Expect::ACCESS, NOW + 700).unwrap();
    assert_eq!(
        check(&v, &token, Expect::ACCESS, NOW).unwrap_err(),
        TokenError::NotYetValid
    );
    assert_eq!(v.cache_stats().hits, 1, "refused on a hit");
}

#[test]
fn a_cached_token_checked_for_another_token_use_is_refused() {
    let v = verifier(&[]);
    let token = key().sign(&access("alice", NOW));
    check(&v, &token, Expect::ACCESS, NOW).unwrap();
    assert_eq!(
        check(&v, &token, Expect::ID, NOW).unwrap_err(),
        TokenError::WrongTokenUse
    );
    assert_eq!(v.cache_stats().hits, 1, "refused on a hit");
}

#[test]
fn an_expired_hint_cached_as_a_hint_is_refused_where_expiry_counts() {
    let v = verifier(&[]);
    let mut claims = access("alice", NOW - 7200);
    claims["token_use"] = json!("id");
    claims["aud"] = json!(CLIENT);
    let token = key().sign(&claims);
    check(&v, &token, Expect::ID_HINT, NOW).unwrap();
    assert_eq!(
        check(&v, &token, Expect::ID, NOW).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(v.cache_stats().hits, 1, "refused on a hit");
}

#[test]
fn a_token_cached_for_one_client_list_is_refused_by_a_verifier_without_its_client() {
    let ours = verifier(&[]);
    let theirs = verifier(&[("APP_CLIENT_IDS", "client2")]);
    let token = key().sign(&access("alice", NOW));
    check(&ours, &token, Expect::ACCESS, NOW).unwrap();
    assert_eq!(
        check(&theirs, &token, Expect::ACCESS, NOW).unwrap_err(),
        TokenError::WrongClient
    );
}

#[test]
fn a_disabled_cache_checks_every_signature() {
    let v = verifier(&[("TOKEN_CACHE_ENTRIES", "0")]);
    let token = key().sign(&access("alice", NOW));
    for _ in 0..3 {
        check(&v, &token, Expect::ACCESS, NOW).unwrap();
    }
    assert_eq!(v.signature_checks(), 3);
    assert_eq!(v.cache_stats().entries, 0);
}

/// Verifies `tokens` in order, asserting the bounds after each.
fn flood(v: &Verifier, tokens: &[String]) {
    for t in tokens {
        check(v, t, Expect::ACCESS, NOW).unwrap();
        let s = v.cache_stats();
        assert!(s.entries <= s.max_entries, "{s:?}");
        assert!(s.bytes <= s.max_bytes, "{s:?}");
    }
}

#[test]
fn the_entry_bound_holds_under_a_flood_of_distinct_valid_tokens() {
    let v = verifier(&[("TOKEN_CACHE_ENTRIES", "64")]);
    let tokens: Vec<String> = (0..400)
        .map(|i| key().sign(&access(&format!("user-{i}"), NOW)))
        .collect();
    flood(&v, &tokens);
    let s = v.cache_stats();
    assert!(s.entries > 0 && s.entries <= 64, "{s:?}");
    assert_eq!(v.signature_checks(), 400);
}

#[test]
fn the_byte_bound_holds_under_a_flood_of_distinct_valid_tokens() {
    let v = verifier(&[("TOKEN_CACHE_BYTES", "65536")]);
    // Tokens of about 4 KB, so bytes bind long before entries.
    let groups: Vec<String> = (0..100).map(|g| format!("group-number-{g}")).collect();
    let tokens: Vec<String> = (0..300)
        .map(|i| {
            let mut c = access(&format!("user-{i}"), NOW);
            c["cognito:groups"] = json!(groups);
            key().sign(&c)
        })
        .collect();
    flood(&v, &tokens);
    let s = v.cache_stats();
    assert!(s.entries > 0 && s.bytes <= 65_536, "{s:?}");
    assert!(s.entries < 300 / 4, "bytes bound the count: {s:?}");
}

/// A verifier fetching from a loopback JWKS server that serves `first`.
fn fetching(first: &[&Signer]) -> (Verifier, Arc<std::sync::Mutex<Vec<u8>>>) {
    let (url, doc) = jwks_server(jwks(first));
    let v = Verifier::from_config(&signer::config(&[("JWKS_URL", &url)]));
    (v, doc)
}

/// Serves `next` and lets the verifier refetch as if the interval had passed;
/// a token under `trigger` (a kid it has not seen) makes it fetch.
async fn rotate(v: &Verifier, doc: &std::sync::Mutex<Vec<u8>>, next: &[&Signer], trigger: &Signer) {
    *doc.lock().unwrap() = jwks(next);
    v.keys
        .backdate_last_fetch(JWKS_REFETCH_INTERVAL + Duration::from_secs(1));
    let fresh = trigger.sign(&access("bob", NOW));
    let fetches = v.jwks_fetches();
    let _ = v.verify_at(&fresh, Expect::ACCESS, NOW).await;
    assert_eq!(v.jwks_fetches(), fetches + 1, "the rotation was fetched");
}

#[tokio::test]
async fn a_jwks_rotation_that_removes_a_key_invalidates_tokens_cached_under_it() {
    let new = Signer::new("k2");
    let (v, doc) = fetching(&[key()]);
    let token = key().sign(&access("alice", NOW));
    v.verify_at(&token, Expect::ACCESS, NOW).await.unwrap();

    rotate(&v, &doc, &[&new], &new).await;

    assert_eq!(
        v.verify_at(&token, Expect::ACCESS, NOW).await.unwrap_err(),
        TokenError::UnknownKid
    );
    assert_eq!(
        v.cache_stats().entries,
        1,
        "only the new key's token is left"
    );
}

#[tokio::test]
async fn a_kid_that_names_new_key_material_invalidates_tokens_cached_under_it() {
    let reissued = Signer::new("k1");
    let trigger = Signer::new("k3");
    let (v, doc) = fetching(&[key()]);
    let token = key().sign(&access("alice", NOW));
    v.verify_at(&token, Expect::ACCESS, NOW).await.unwrap();

    rotate(&v, &doc, &[&reissued, &trigger], &trigger).await;

    assert_eq!(
        v.verify_at(&token, Expect::ACCESS, NOW).await.unwrap_err(),
        TokenError::BadSignature
    );
}

#[tokio::test]
async fn a_jwks_rotation_that_keeps_a_key_keeps_its_tokens_cached() {
    let new = Signer::new("k2");
    let (v, doc) = fetching(&[key()]);
    let token = key().sign(&access("alice", NOW));
    v.verify_at(&token, Expect::ACCESS, NOW).await.unwrap();
    let checks = v.signature_checks();

    rotate(&v, &doc, &[key(), &new], &new).await;

    v.verify_at(&token, Expect::ACCESS, NOW).await.unwrap();
    assert_eq!(
        v.signature_checks(),
        checks + 1,
        "only the new key's token was checked"
    );
}
