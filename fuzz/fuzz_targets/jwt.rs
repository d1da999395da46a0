//! The JWT front end and verification: structure, header, base64url, JSON,
//! signature and claims, against the emulator's public keys.
#![no_main]

use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use signout::Config;
use signout::tokens::{Expect, KeySet, Verifier};

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let config = Config::from_lookup(|k| match k {
            "AWS_REGION" => Some("us-east-1".into()),
            "USER_POOL_ID" => Some("us-east-1_fuzz".into()),
            "SIGNOUT_TABLE" => Some("fuzz".into()),
            "APP_CLIENT_IDS" => Some("fuzzclient".into()),
            _ => None,
        })
        .unwrap();
        let keys = KeySet::from_json(include_bytes!("../seeds/jwks-public.json")).unwrap();
        Verifier::with_keys(&config, keys)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    // Fixed keys: verification never waits on I/O, so one poll completes it.
    for expect in [Expect::ANY, Expect::ACCESS, Expect::ID_HINT] {
        let mut fut = std::pin::pin!(verifier().verify_at(token, expect, 1_800_000_000));
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(_) => {}
            Poll::Pending => panic!("verification with fixed keys must not wait"),
        }
    }
    let _ = signout::tokens::peek_claims(token);
    let _ = signout::authz::bearer(token);
});
