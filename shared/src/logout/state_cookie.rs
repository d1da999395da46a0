//! The state cookie: what the callback needs, signed and short-lived.
//!
//! Value: `base64url(JSON payload) "." base64url(HMAC-SHA256(key, context || payload))`.
//! The payload carries a version, an expiry and a random nonce besides the
//! flow. Base64url and `.` are all valid cookie octets, so the value needs
//! no further encoding.
//!
//! Replay: the callback clears the cookie in its answer, so a browser does
//! not present it twice, and a nonce this process has already accepted is
//! refused ([`SeenNonces`]). A copy replayed at another Lambda instance
//! within its five minutes would pass, and gains nothing: the callback
//! revokes nothing and only redirects to an allow-listed target or a
//! configured IdP, where a fresh `GET /logout` leads anyway. Recording
//! nonces in the store would close that gap at the price of a DynamoDB
//! write per sign-out and a new way for the last hop to fail; not worth it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use super::{LogoutError, STATE_LIFETIME_SECS};

/// Shortest `LOGOUT_STATE_KEY`: HMAC-SHA256's output size.
pub const MIN_KEY_BYTES: usize = 32;
const VERSION: u8 = 1;
/// Domain separation: this key signs nothing else, but the tag still says what it signs.
const CONTEXT: &[u8] = b"signout/logout-state/v1\n";
const NONCE_BYTES: usize = 16;
/// Longest value accepted; browsers keep at most about 4 KB per cookie.
pub const MAX_VALUE_BYTES: usize = 4000;
/// Nonces remembered per process (five minutes of callbacks is far fewer).
const SEEN_CAPACITY: usize = 10_000;
/// Clock leeway for a state that seems to come from the future.
const FUTURE_LEEWAY_SECS: u64 = 60;

/// The HMAC-SHA256 key that signs the state cookie. Never printed.
#[derive(Clone)]
pub struct StateKey(hmac::Key);

impl StateKey {
    /// A value that decodes as base64 (standard or URL-safe, padded or
    /// not) to at least 32 bytes is used decoded; otherwise its raw bytes,
    /// if there are at least 32. (Base64 of a shorter key, 44 characters
    /// for 31 bytes, is then taken raw: still 32 bytes or more of key.)
    pub fn from_setting(raw: &str) -> Option<Self> {
        let decoded = [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(raw).ok())
            .filter(|k| k.len() >= MIN_KEY_BYTES);
        let bytes = match decoded {
            Some(k) => k,
            None if raw.len() >= MIN_KEY_BYTES => raw.as_bytes().to_vec(),
            None => return None,
        };
        Some(StateKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }
}

impl StateKey {
    /// The HMAC key, for the other values this key signs (`confirm`).
    pub(super) fn hmac(&self) -> &hmac::Key {
        &self.0
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(<redacted>)")
    }
}

/// What travels from `GET /logout` to the callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The client's own `state` parameter, echoed at the end (the cookie
    /// keeps the field name `state`, so cookies in flight survive a deploy).
    #[serde(default, rename = "state", skip_serializing_if = "Option::is_none")]
    pub client_state: Option<String>,
    /// Provider name; its endpoint is looked up in the settings again, so
    /// the cookie can only ever name a configured IdP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

/// A state cookie after its signature verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub v: u8,
    pub exp: u64,
    pub nonce: String,
    pub flow: FlowState,
}

fn mac_input(payload: &str) -> Vec<u8> {
    [CONTEXT, payload.as_bytes()].concat()
}

/// Seals `flow` at `now` (epoch seconds), valid for [`STATE_LIFETIME_SECS`].
pub fn seal(key: &StateKey, flow: &FlowState, now: u64) -> String {
    let mut nonce = [0u8; NONCE_BYTES];
    aws_lc_rs::rand::fill(&mut nonce).expect("the system random source works");
    let sealed = Sealed {
        v: VERSION,
        exp: now.saturating_add(STATE_LIFETIME_SECS),
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        flow: flow.clone(),
    };
    let json = serde_json::to_vec(&sealed).expect("plain data serialises");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = hmac::sign(&key.0, &mac_input(&payload));
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Whether `flow`, sealed, stays within [`MAX_VALUE_BYTES`], so that the
/// callback can open what [`seal`] gives. A `state` within
/// [`MAX_STATE_PARAM_BYTES`](super::MAX_STATE_PARAM_BYTES) need not: JSON
/// writes a control character as six bytes, and base64 adds a third.
pub fn fits(flow: &FlowState) -> bool {
    // The longest expiry and a nonce of its fixed length: an upper bound.
    let sealed = Sealed {
        v: VERSION,
        exp: u64::MAX,
        nonce: URL_SAFE_NO_PAD.encode([0u8; NONCE_BYTES]),
        flow: flow.clone(),
    };
    let json = serde_json::to_vec(&sealed).expect("plain data serialises");
    let tag_len = hmac::HMAC_SHA256.digest_algorithm().output_len;
    // Padded base64 length: at least the unpadded one.
    let len = |bytes: usize| bytes.div_ceil(3) * 4;
    len(json.len()) + 1 + len(tag_len) <= MAX_VALUE_BYTES
}

/// Opens a state cookie value: signature first (constant time), then
/// content, then expiry.
pub fn open(key: &StateKey, value: &str, now: u64) -> Result<Sealed, LogoutError> {
    let invalid = LogoutError::StateInvalid;
    if value.len() > MAX_VALUE_BYTES {
        return Err(invalid);
    }
    let (payload, tag) = value.split_once('.').ok_or(invalid.clone())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid.clone())?;
    hmac::verify(&key.0, &mac_input(payload), &tag).map_err(|_| invalid.clone())?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid.clone())?;
    let sealed: Sealed = serde_json::from_slice(&json).map_err(|_| invalid.clone())?;
    let nonce_ok = URL_SAFE_NO_PAD
        .decode(&sealed.nonce)
        .is_ok_and(|n| n.len() == NONCE_BYTES);
    if sealed.v != VERSION || !nonce_ok {
        return Err(invalid);
    }
    if sealed.exp <= now {
        return Err(LogoutError::StateExpired);
    }
    if sealed.exp > now + STATE_LIFETIME_SECS + FUTURE_LEEWAY_SECS {
        return Err(invalid);
    }
    Ok(sealed)
}

/// Nonces of state cookies this process accepted, until they expire.
#[derive(Default)]
pub struct SeenNonces {
    seen: Mutex<HashMap<String, u64>>,
}

impl SeenNonces {
    /// Records `nonce` (valid until `exp`); false when it was seen before.
    pub fn first_use(&self, nonce: &str, exp: u64, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains_key(nonce) {
            return false;
        }
        if seen.len() >= SEEN_CAPACITY {
            seen.retain(|_, until| *until > now);
            if seen.len() >= SEEN_CAPACITY {
                // Only a flood of valid states gets here; forgetting them
                // costs the replay check on this instance, not correctness
                // of the redirect (see the module comment).
                tracing::warn!(code = "nonce_cache_full", "forgetting seen sign-out states");
                seen.clear();
            }
        }
        seen.insert(nonce.to_owned(), exp);
        true
    }

    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logout::MAX_STATE_PARAM_BYTES;
    use crate::logout::testing::KEY;

    fn key(byte: u8) -> StateKey {
        StateKey::from_setting(&String::from_utf8(vec![byte; 32]).unwrap()).unwrap()
    }

    fn flow() -> FlowState {
        FlowState {
            client: "abc123".into(),
            target: Some("https://app.example.com/bye".into()),
            client_state: Some("a b&c=d/é+%20".into()),
            idp: Some("Okta".into()),
        }
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn state_keys_are_base64_or_raw_and_at_least_32_bytes() {
        let b64 = STANDARD.encode([7u8; 32]);
        let url_safe = URL_SAFE_NO_PAD.encode([0xfbu8; 40]);
        assert!(StateKey::from_setting(&b64).is_some());
        assert!(StateKey::from_setting(&url_safe).is_some());
        assert!(StateKey::from_setting(KEY).is_some(), "32 raw bytes");
        // base64 of 16 bytes is 24 characters: too short either way.
        assert!(StateKey::from_setting(&STANDARD.encode([7u8; 16])).is_none());
        assert!(StateKey::from_setting("x".repeat(31).as_str()).is_none());
        // base64 of 31 bytes is 44 characters, taken raw: still 248 bits of key material.
        assert!(StateKey::from_setting(&STANDARD.encode([7u8; 31])).is_some());
        // Same bytes, same key: base64 of the raw key signs like the raw key.
        let mac = |k: &StateKey| hmac::sign(&k.0, b"m").as_ref().to_vec();
        let raw = StateKey::from_setting(KEY).unwrap();
        let encoded = StateKey::from_setting(&STANDARD.encode(KEY)).unwrap();
        assert_eq!(mac(&raw), mac(&encoded));
    }

    #[test]
    fn a_sealed_state_opens_with_its_key_until_it_expires() {
        let k = key(b'k');
        let v = seal(&k, &flow(), NOW);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        let s = open(&k, &v, NOW).unwrap();
        assert_eq!(s.flow, flow());
        assert_eq!(s.exp, NOW + STATE_LIFETIME_SECS);
        assert_eq!(
            open(&k, &v, NOW + STATE_LIFETIME_SECS - 1).unwrap().flow,
            flow()
        );
        assert_eq!(
            open(&k, &v, NOW + STATE_LIFETIME_SECS),
            Err(LogoutError::StateExpired)
        );
        assert_eq!(
            open(&k, &v, NOW - 3600),
            Err(LogoutError::StateInvalid),
            "from the future"
        );
        assert_ne!(
            open(&k, &seal(&k, &flow(), NOW), NOW).unwrap().nonce,
            s.nonce
        );
    }

    #[test]
    fn tampered_foreign_or_malformed_states_are_invalid() {
        let k = key(b'k');
        let v = seal(&k, &flow(), NOW);
        let (payload, tag) = v.split_once('.').unwrap();
        let mut forged =
            serde_json::from_slice::<Sealed>(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        forged.flow.target = Some("https://evil.example.net/".into());
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let flip = |s: &str| {
            let mut b = s.as_bytes().to_vec();
            b[3] = if b[3] == b'A' { b'B' } else { b'A' };
            String::from_utf8(b).unwrap()
        };
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{}.{tag}", flip(payload)),
            format!("{payload}.{}", flip(tag)),
            format!("{payload}."),
            format!(".{tag}"),
            payload.to_owned(),
            format!("{payload}.{tag}.x"),
            String::new(),
            "not a state".into(),
            format!("{payload}.{tag}{}", "A".repeat(MAX_VALUE_BYTES)),
        ] {
            assert_eq!(open(&k, &bad, NOW), Err(LogoutError::StateInvalid), "{bad}");
        }
        assert_eq!(
            open(&key(b'o'), &v, NOW),
            Err(LogoutError::StateInvalid),
            "another key"
        );
    }

    #[test]
    fn a_flow_that_would_not_open_at_the_callback_does_not_fit() {
        let k = key(b'k');
        let mut f = flow();
        f.client_state = Some("s".repeat(MAX_STATE_PARAM_BYTES));
        assert!(fits(&f));
        assert!(open(&k, &seal(&k, &f, NOW), NOW).is_ok());
        // As long, but each byte is `\u0001` in the JSON: the sealed value
        // outgrows what `open` (and a browser) accepts.
        f.client_state = Some("\u{1}".repeat(MAX_STATE_PARAM_BYTES));
        let v = seal(&k, &f, NOW);
        assert!(v.len() > MAX_VALUE_BYTES);
        assert_eq!(open(&k, &v, NOW), Err(LogoutError::StateInvalid));
        assert!(!fits(&f));
        // An upper bound, and a close one, across the limit.
        let mut outcomes = [false; 2];
        for n in (2_000..3_200).step_by(7) {
            f.client_state = Some("s".repeat(n));
            let len = seal(&k, &f, NOW).len();
            assert!(!fits(&f) || len <= MAX_VALUE_BYTES, "{n}: {len}");
            assert!(fits(&f) || len + 32 > MAX_VALUE_BYTES, "{n}: {len}");
            outcomes[usize::from(fits(&f))] = true;
        }
        assert_eq!(outcomes, [true, true]);
    }

    #[test]
    fn a_nonce_is_accepted_once() {
        let seen = SeenNonces::default();
        assert!(seen.first_use("n1", NOW + 10, NOW));
        assert!(!seen.first_use("n1", NOW + 10, NOW));
        assert!(seen.first_use("n2", NOW + 10, NOW));
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn a_full_nonce_cache_drops_expired_entries_first() {
        let seen = SeenNonces::default();
        for i in 0..SEEN_CAPACITY {
            seen.first_use(&format!("old{i}"), NOW - 1, NOW - 300);
        }
        seen.first_use("live", NOW + 100, NOW - 300);
        assert!(seen.first_use("new", NOW + 300, NOW));
        assert_eq!(seen.len(), 2, "expired entries pruned, the live one kept");
        assert!(!seen.first_use("live", NOW + 100, NOW));
    }
}
