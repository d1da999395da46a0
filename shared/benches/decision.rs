//! Authorizer decision cost (issue 9), measured side by side:
//!
//! | benchmark | what one iteration does |
//! | --- | --- |
//! | `decision/raw_rs256_verify` | the floor: aws-lc-rs RS256 signature check of the token with a pre-parsed key and a pre-decoded signature |
//! | `decision/verify` | `Verifier::verify` of a token presented before: a verified-token cache hit (the token itself is the key), the claims rechecked against the clock and the expectations |
//! | `decision/sha256_token` | SHA-256 of the whole token: what the cache key cost until 2026-12-02, for comparison |
//! | `decision/verify_new` | `Verifier::verify` of a token not in the cache: structural checks, header and payload decoding, the signature check, claims, the cache insert and an eviction (tokens like the emulator's, other `jti`s, signed with a key of our own, 1,000 presented in turn to a cache bounded at 64 entries, so each is new to it) |
//! | `decision/verify_uncached` | `Verifier::verify` of the emulator's token with the cache disabled (`TOKEN_CACHE_ENTRIES=0`): the full check without hashing or insert |
//! | `decision/warm_path` | repeated-token warm decision: `decision/verify` plus `Checker::decide` served from the verdict cache |
//! | `decision/warm_new` | new-token warm decision: `decision/verify_new` plus `Checker::decide` served from the verdict cache (same user, client and session as the emulator's token) |
//! | `decision/authorize` | `authz::authorize`, what the authorizer function calls per event: the repeated-token warm path plus the principal and the requirements |
//! | `decision/judge` | `check::judge` alone, on a stored state with user, client and session entries |
//! | `stream/zipf_verify` | `Verifier::verify` over a stream of 10,000 users' tokens (one each, signed in process with a key of our own), presented with Zipf-distributed reuse (exponent 1), default cache bounds: one iteration is one presentation |
//!
//! Setup, not measured: the emulator is started, a user signs in (a real
//! RS256 access token from moto), the JWKS is fetched once and parsed
//! (`KeySet::from_json`), the user gets an earlier cutoff, a revoked other
//! session and a client cutoff in DynamoDB (so the cached state is not empty),
//! and one `decide` call fills the cache (TTL one hour). Every measured future
//! is polled once and must be ready: the measured path cannot wait on the
//! network, or the bench stops.
//!
//! After criterion, the ratios of the four decision paths to the raw check
//! are measured once more interleaved (`interleaved`), so both sides of a
//! ratio ran under the same load.
//!
//! With `BENCH_OUT=<dir>`, the token and the JWKS are written to
//! `<dir>/tokens.json` and `<dir>/jwks.json`, and the Zipf stream (its tokens,
//! key set and order of presentation) to `<dir>/stream.json`, so
//! `bench/node/verify.mjs` and `bench/node/stream.mjs` measure aws-jwt-verify
//! on the same inputs in the same `make bench` run.
//!
//! Run: `cargo bench -p signout --bench decision` (or `make bench` for the whole report).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput};
use serde_json::{Value, json};
use signout::authz::{Access, Requirements, authorize};
use signout::check::{Checker, Decision, judge};
use signout::model::{EpochMs, OriginJti, Source, TokenUse};
use signout::store::{RevocationState, Store};
use signout::tokens::{Claims, Expect, KeySet, Verifier};
use signout::{Config, Verdict};
use testkit::Fixture;

/// How long the verdict cache keeps the warmed-up state: far longer than the run.
const CACHE_TTL: Duration = Duration::from_secs(3600);

/// Polls `fut` once. The warm path must complete without waiting on anything;
/// a pending future means it went to the network, which this bench must not measure.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => {
            panic!("the measured path waited (network?): it must be served from memory")
        }
    }
}

struct Setup {
    token: String,
    verifier: Verifier,
    checker: Checker,
    requirements: Requirements,
    /// The floor's inputs: the key parsed once, the signed bytes and the decoded signature.
    raw_key: ParsedPublicKey,
    signed: Vec<u8>,
    signature: Vec<u8>,
    claims: Claims,
    state: RevocationState,
    /// The Zipf stream: a verifier trusting our own key, every user's token,
    /// and the order they are presented in (indices into `users`).
    zipf: Verifier,
    users: Vec<String>,
    stream: Vec<u32>,
    /// New tokens: a verifier trusting our key with a cache of 64 entries,
    /// and 1,000 tokens of the emulator's user it sees in turn.
    fresh: Verifier,
    fresh_tokens: Vec<String>,
    /// The emulator's keys with the cache disabled.
    uncached: Verifier,
    // The SDK client inside `checker` was built on this runtime; keep it alive.
    _rt: tokio::runtime::Runtime,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (f, token, jwks) = rt.block_on(async {
        let f = Fixture::new().await;
        let token = f.sign_in(&f.username).await.access;
        let url = format!("{}/{}/.well-known/jwks.json", f.endpoint, f.pool_id);
        let url = url::Url::parse(&url).expect("JWKS URL");
        let answer = signout::outbound::Outbound::new(std::time::Duration::from_secs(5))
            .get(&url, "application/json", signout::tokens::MAX_JWKS_BYTES)
            .await
            .expect("JWKS from the emulator");
        assert_eq!(answer.status, 200, "JWKS from the emulator");
        let jwks = answer.body;
        (f, token, jwks)
    });

    let config = Config::from_lookup(Fixture::lookup(f.env())).expect("valid configuration");
    let keys = KeySet::from_json(&jwks).expect("the emulator's JWKS parses");
    let verifier = Verifier::with_keys(&config, keys);
    let store = Store::from_config(aws_sdk_dynamodb::Client::new(&f.sdk), &config);
    let checker = Checker::new(store, CACHE_TTL, false);
    let requirements = Requirements {
        token_use: Some(TokenUse::Access),
        ..Requirements::default()
    };

    // A user with history: an earlier global sign-out, another session revoked,
    // a client cutoff. The token itself is newer than all of it, so it is allowed.
    let claims = rt.block_on(async {
        let claims = verifier
            .verify(&token, Expect::ACCESS)
            .await
            .expect("the emulator's token verifies")
            .claims
            .clone();
        let earlier = EpochMs(EpochMs::now().0 - 3_600_000);
        let store = checker.store();
        store
            .raise_user_cutoff(&claims.sub, earlier, Source::SelfService)
            .await
            .expect("user cutoff");
        store
            .revoke_session(
                &claims.sub,
                &OriginJti::from("another-session"),
                claims.exp,
                Source::Revoke,
            )
            .await
            .expect("revoked session");
        store
            .raise_client_cutoff(&claims.client_id, earlier, Source::IncidentResponse)
            .await
            .expect("client cutoff");
        // The one store read: it fills the cache the measured path is served from.
        assert_eq!(checker.decide(&claims).await, Decision::Allow);
        claims
    });
    // From here on, nothing may wait.
    assert!(matches!(
        ready(authorize(&verifier, &checker, &token, &requirements)),
        Access::Allow(_)
    ));
    let state = ready(checker.state_for(&claims)).expect("cached state");
    assert!(state.user_not_before.is_some() && !state.session_revoked());
    assert!(state.client_not_before.is_some());
    assert_eq!(
        judge(&claims, &state, EpochMs::now()),
        Verdict::Active,
        "the token is newer than every cutoff"
    );

    let (raw_key, signed, signature) = floor_inputs(&token, &jwks);
    if let Some(dir) = std::env::var_os("BENCH_OUT") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("BENCH_OUT directory");
        let tokens = json!({
            "user_pool_id": f.pool_id,
            "client_id": f.client_id,
            "issuer": config.issuer,
            "tokens": [token],
        });
        std::fs::write(dir.join("tokens.json"), tokens.to_string()).expect("write tokens.json");
        std::fs::write(dir.join("jwks.json"), &jwks).expect("write jwks.json");
    }

    let minter = Minter::new();
    let (zipf, users, stream) = zipf_stream(&minter, &config, &f.client_id);
    if let Some(dir) = std::env::var_os("BENCH_OUT") {
        // The same stream for aws-jwt-verify (bench/node/stream.mjs).
        let doc = json!({
            "issuer": config.issuer, "client_id": f.client_id, "jwks": minter.jwks(),
            "tokens": users, "stream": stream,
        });
        let path = std::path::Path::new(&dir).join("stream.json");
        std::fs::write(path, doc.to_string()).expect("write stream.json");
    }
    let small = Config::from_lookup(Fixture::lookup(
        f.env_with(&[("TOKEN_CACHE_ENTRIES", "64")]),
    ))
    .expect("valid configuration");
    let fresh = Verifier::with_keys(&small, minter.keys());
    let emulator_claims = signout::tokens::peek_claims(&token).expect("claims");
    let fresh_tokens: Vec<String> = (0..1_000)
        .map(|i| {
            let mut c = emulator_claims.clone();
            c.insert("jti".into(), json!(format!("bench-new-{i:08}")));
            minter.sign(&Value::Object(c))
        })
        .collect();
    let off = Config::from_lookup(Fixture::lookup(f.env_with(&[("TOKEN_CACHE_ENTRIES", "0")])))
        .expect("valid configuration");
    let uncached = Verifier::with_keys(&off, KeySet::from_json(&jwks).expect("JWKS"));
    eprintln!("the emulator's access token: {} bytes", token.len());
    Setup {
        token,
        verifier,
        checker,
        requirements,
        raw_key,
        signed,
        signature,
        claims,
        state,
        zipf,
        users,
        stream,
        fresh,
        fresh_tokens,
        uncached,
        _rt: rt,
    }
}

/// Users in the stream, each with one access token.
const ZIPF_USERS: usize = 10_000;
/// Presentations in the stream (cycled through by the measurement).
const ZIPF_LENGTH: usize = 200_000;

/// A signing key of our own (kid `bench`), for tokens the emulator would
/// take too long to mint.
struct Minter {
    pair: KeyPair,
    header: String,
    rng: SystemRandom,
}

impl Minter {
    fn new() -> Self {
        Minter {
            pair: KeyPair::generate(KeySize::Rsa2048).expect("an RSA key"),
            header: URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"bench","typ":"JWT"}"#),
            rng: SystemRandom::new(),
        }
    }

    fn jwks(&self) -> Value {
        let c = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "bench",
            "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e),
        }]})
    }

    fn keys(&self) -> KeySet {
        KeySet::from_json(self.jwks().to_string().as_bytes()).expect("our JWKS parses")
    }

    fn sign(&self, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, signed.as_bytes(), &mut sig)
            .expect("signs");
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// A verifier trusting `minter`'s key, a token of each of [`ZIPF_USERS`]
/// users signed with it, and a stream of presentations in which user `k`
/// (ranked from 1) appears with probability proportional to `1 / k`.
fn zipf_stream(
    minter: &Minter,
    config: &Config,
    client_id: &str,
) -> (Verifier, Vec<String>, Vec<u32>) {
    let verifier = Verifier::with_keys(config, minter.keys());
    let now = EpochMs::now().secs();
    let users: Vec<String> = (0..ZIPF_USERS)
        .map(|i| {
            minter.sign(&json!({
                "iss": config.issuer, "token_use": "access", "client_id": client_id,
                "sub": format!("00000000-0000-4000-8000-{i:012}"),
                "iat": now, "auth_time": now, "exp": now + 3600,
                "jti": format!("jti-{i}"), "origin_jti": format!("origin-{i}"),
                "username": format!("user-{i}"), "scope": "aws.cognito.signin.user.admin",
                "event_id": format!("event-{i}"), "version": 2,
            }))
        })
        .collect();
    // Inverse CDF of the Zipf distribution, drawn with a fixed xorshift.
    let mut cdf = Vec::with_capacity(ZIPF_USERS);
    let mut total = 0.0;
    for k in 1..=ZIPF_USERS {
        total += 1.0 / k as f64;
        cdf.push(total);
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let stream = (0..ZIPF_LENGTH)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64 * total;
            cdf.partition_point(|&c| c < u).min(ZIPF_USERS - 1) as u32
        })
        .collect();
    (verifier, users, stream)
}

/// The key of the token's `kid`, parsed from the JWKS by hand (not through
/// `KeySet`), the signed bytes and the decoded signature.
fn floor_inputs(token: &str, jwks: &[u8]) -> (ParsedPublicKey, Vec<u8>, Vec<u8>) {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
    let (signed, sig) = token.rsplit_once('.').expect("a JWT");
    let header: Value = serde_json::from_slice(&b64(signed.split('.').next().unwrap())).unwrap();
    let doc: Value = serde_json::from_slice(jwks).unwrap();
    let jwk = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is in the JWKS");
    let (n, e) = (
        b64(jwk["n"].as_str().unwrap()),
        b64(jwk["e"].as_str().unwrap()),
    );
    let key = RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("an RSA key");
    let signature = b64(sig);
    key.verify_sig(signed.as_bytes(), &signature)
        .expect("the floor verifies the same token");
    (key, signed.as_bytes().to_vec(), signature)
}

fn benches(c: &mut Criterion, s: &Setup) {
    let mut g = c.benchmark_group("decision");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_rs256_verify", |b| {
        b.iter(|| {
            s.raw_key
                .verify_sig(black_box(&s.signed), black_box(&s.signature))
                .expect("valid signature")
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| ready(s.verifier.verify(black_box(&s.token), Expect::ACCESS)).expect("valid"))
    });
    g.bench_function("sha256_token", |b| {
        b.iter(|| digest::digest(&digest::SHA256, black_box(s.token.as_bytes())))
    });
    let mut next = 0usize;
    let mut fresh = || {
        next += 1;
        &s.fresh_tokens[next % s.fresh_tokens.len()]
    };
    g.bench_function("verify_new", |b| {
        b.iter(|| ready(s.fresh.verify(black_box(fresh()), Expect::ACCESS)).expect("valid"))
    });
    g.bench_function("warm_new", |b| {
        b.iter(|| {
            let v = ready(s.fresh.verify(black_box(fresh()), Expect::ACCESS)).expect("valid");
            ready(s.checker.decide(&v.claims))
        })
    });
    g.bench_function("verify_uncached", |b| {
        b.iter(|| ready(s.uncached.verify(black_box(&s.token), Expect::ACCESS)).expect("valid"))
    });
    g.bench_function("warm_path", |b| {
        b.iter(|| {
            let v = ready(s.verifier.verify(black_box(&s.token), Expect::ACCESS)).expect("valid");
            ready(s.checker.decide(&v.claims))
        })
    });
    g.bench_function("authorize", |b| {
        b.iter(|| {
            ready(authorize(
                &s.verifier,
                &s.checker,
                black_box(&s.token),
                &s.requirements,
            ))
        })
    });
    let now = EpochMs::now();
    g.bench_function("judge", |b| {
        b.iter(|| judge(black_box(&s.claims), black_box(&s.state), black_box(now)))
    });
    g.finish();

    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    let before = s.zipf.cache_stats();
    g.bench_function("zipf_verify", |b| {
        b.iter(|| {
            let user = s.stream[next % s.stream.len()] as usize;
            next += 1;
            ready(s.zipf.verify(black_box(&s.users[user]), Expect::ACCESS)).expect("valid")
        })
    });
    g.finish();
    let after = s.zipf.cache_stats();
    let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
    if hits + misses > 0 {
        eprintln!(
            "stream/zipf_verify: {} presentations, hit rate {:.1}%, {} entries, {} bytes held (bounds {} / {})",
            hits + misses,
            100.0 * hits as f64 / (hits + misses) as f64,
            after.entries,
            after.bytes,
            after.max_entries,
            after.max_bytes
        );
    }
}

/// The ratios to the raw RS256 check, measured interleaved: each round times
/// a batch of raw checks, then a batch of each path, back to back, and the
/// ratio is taken within the round; the medians over the rounds are printed.
/// On a shared machine whose load changes from one criterion benchmark to the
/// next, this keeps both sides of each ratio under the same load.
fn interleaved(s: &Setup) {
    const ROUNDS: usize = 1_000;
    const SLOW: u32 = 10;
    const FAST: u32 = 200;
    let mut next = 0usize;
    let per = |n: u32, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_nanos() as f64 / f64::from(n)
    };
    let names = [
        "repeated-token verify",
        "repeated-token warm decision",
        "new-token verify",
        "new-token warm decision",
        "verify with the cache disabled",
        "SHA-256 of the token",
    ];
    let mut ratios: [Vec<f64>; 6] = Default::default();
    for _ in 0..ROUNDS {
        let raw = per(SLOW, &mut || {
            s.raw_key
                .verify_sig(black_box(&s.signed), black_box(&s.signature))
                .expect("valid signature")
        });
        let hit = per(FAST, &mut || {
            ready(s.verifier.verify(black_box(&s.token), Expect::ACCESS)).expect("valid");
        });
        let warm = per(FAST, &mut || {
            let v = ready(s.verifier.verify(black_box(&s.token), Expect::ACCESS)).expect("valid");
            ready(s.checker.decide(&v.claims));
        });
        let mut fresh = || {
            next += 1;
            &s.fresh_tokens[next % s.fresh_tokens.len()]
        };
        let new = per(SLOW, &mut || {
            ready(s.fresh.verify(black_box(fresh()), Expect::ACCESS)).expect("valid");
        });
        let warm_new = per(SLOW, &mut || {
            let v = ready(s.fresh.verify(black_box(fresh()), Expect::ACCESS)).expect("valid");
            ready(s.checker.decide(&v.claims));
        });
        let uncached = per(SLOW, &mut || {
            ready(s.uncached.verify(black_box(&s.token), Expect::ACCESS)).expect("valid");
        });
        let sha = per(FAST, &mut || {
            black_box(digest::digest(
                &digest::SHA256,
                black_box(s.token.as_bytes()),
            ));
        });
        for (r, x) in ratios
            .iter_mut()
            .zip([hit, warm, new, warm_new, uncached, sha])
        {
            r.push(x / raw);
        }
    }
    for (name, mut r) in names.into_iter().zip(ratios) {
        r.sort_by(f64::total_cmp);
        eprintln!(
            "interleaved: {name} / raw RS256 verify = {:.3}x (median of {ROUNDS} rounds; quartiles {:.3}-{:.3})",
            r[ROUNDS / 2],
            r[ROUNDS / 4],
            r[3 * ROUNDS / 4]
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let s = setup();
    benches(&mut c, &s);
    c.final_summary();
    interleaved(&s);
}
