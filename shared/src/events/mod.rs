//! Sign-out events: every fact the store records, read back from the
//! table's stream and announced to the configured receivers, at least once
//! (invariant 9).
//!
//! | module | owns |
//! | --- | --- |
//! | [`fact`] | a DynamoDB Streams record read back into the fact it recorded (or why not) |
//! | [`settings`] | the receivers' registrations and the signing keys, validated at cold start |
//! | [`tokens`] | the claims of logout tokens and CAEP SETs, and their compact JWS |
//! | [`kms`] | signing with KMS (the key never leaves it) and the published JWKS |
//! | [`deliver`] | HTTP delivery: back-channel logout and RFC 8935 push |
//! | [`bus`] | the EventBridge event of each fact |
//! | [`announce`] | a batch of records announced, and the partial batch response |
//! | [`metadata`] | the issuer metadata document relying parties discover keys by |

pub mod announce;
pub mod bus;
pub mod deliver;
pub mod fact;
pub mod kms;
pub mod metadata;
pub mod settings;
pub mod tokens;

pub use announce::{AnnounceError, Announcer, Outcome};
pub use fact::{Actor, DecodeError, Fact, Recorded, Skip, decode};
pub use settings::{EventsSettings, Registration, Signing, SsfReceiver};

use aws_lc_rs::digest::{SHA256, digest};

/// A stable identifier of `parts`: the first 128 bits of their SHA-256, hex.
/// Each part is length-prefixed, so no two lists of parts share an input.
pub(crate) fn digest_id(parts: &[&str]) -> String {
    let mut input = Vec::new();
    for p in parts {
        input.extend_from_slice(&(p.len() as u64).to_be_bytes());
        input.extend_from_slice(p.as_bytes());
    }
    digest(&SHA256, &input).as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
