//! Reading a compact JWS: each part decoded once, header and payload read
//! straight into small borrowed structs (no `serde_json::Value` tree, no
//! `String` per key), only the claims the checks need kept.
//!
//! The reading rules are those of a JSON object read with last-wins for a
//! repeated member (as `serde_json::Map` does, so introspection through
//! [`super::peek_claims`] shows what was judged): a string claim is a JSON string, a number claim a
//! whole non-negative JSON number, anything else counts as present but of the
//! wrong type.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{MAX_TOKEN_BYTES, TokenError};
use crate::model::EpochMs;

/// Longest signature decoded: RS256 with an 8192-bit key (the largest
/// `RSA_PKCS1_2048_8192_SHA256` accepts) signs 1024 bytes.
const MAX_SIGNATURE_BYTES: usize = 1024;

/// A token split and decoded, before any key is touched.
pub(super) struct Parts<'a> {
    pub kid: String,
    /// The decoded payload (JSON): the claims are read from it once the
    /// signature verifies.
    pub payload: Vec<u8>,
    /// `header.payload`, the bytes the signature covers.
    pub signed: &'a [u8],
    signature: [u8; MAX_SIGNATURE_BYTES],
    signature_len: usize,
}

impl Parts<'_> {
    pub fn signature(&self) -> &[u8] {
        &self.signature[..self.signature_len]
    }
}

/// Structural checks before any key is touched.
pub(super) fn split(token: &str) -> Result<Parts<'_>, TokenError> {
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
    let header = b64(h)?;
    let Header { alg, kid } = read_header(&header)?;
    match alg.as_ref().and_then(Scalar::as_str) {
        Some("RS256") => {}
        Some(a) if a.eq_ignore_ascii_case("none") => return Err(TokenError::AlgNone),
        Some(a) if a.starts_with("HS") => return Err(TokenError::AlgHmac),
        _ => return Err(TokenError::AlgUnsupported),
    }
    let kid = match kid {
        Some(Scalar::Str(k)) if !k.is_empty() => k.into_owned(),
        _ => return Err(TokenError::MissingKid),
    };
    if s.is_empty() {
        return Err(TokenError::BadSignature);
    }
    let mut signature = [0u8; MAX_SIGNATURE_BYTES];
    let signature_len = match URL_SAFE_NO_PAD.decode_slice(s, &mut signature) {
        Ok(n) => n,
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
            // Longer than any key we accept signs: it cannot verify.
            return Err(TokenError::BadSignature);
        }
        Err(base64::DecodeSliceError::DecodeError(_)) => return Err(TokenError::NotBase64Url),
    };
    // Decode the payload now too, so a token that cannot be read never costs a signature check.
    if p.is_empty() {
        return Err(TokenError::NotBase64Url);
    }
    let payload = b64(p)?;
    Ok(Parts {
        kid,
        payload,
        signed: &token.as_bytes()[..h.len() + 1 + p.len()],
        signature,
        signature_len,
    })
}

fn b64(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::NotBase64Url)
}

/// A JSON value as the checks read it.
#[derive(Debug, PartialEq)]
pub(super) enum Scalar<'a> {
    Str(Cow<'a, str>),
    /// A whole non-negative number that fits in `u64`.
    Num(u64),
    /// Anything else: negative or fractional numbers, booleans, null, arrays, objects.
    Other,
}

impl Scalar<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The Pre Token Generation trigger can only add string claims to ID
    /// tokens in V1, so the stamp may arrive as a number or a decimal string.
    pub fn as_stamp(&self) -> Option<EpochMs> {
        match self {
            Scalar::Num(n) => Some(EpochMs(*n)),
            Scalar::Str(s) => s.parse().ok().map(EpochMs),
            Scalar::Other => None,
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(u64::try_from(v).map_or(Scalar::Other, Scalar::Num))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// An object member's name, borrowed from the input unless it had escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses `bytes` as one JSON object with `visitor`; anything else is `NotJson`.
fn read_object<'de, V: Visitor<'de>>(bytes: &'de [u8], visitor: V) -> Result<V::Value, TokenError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = de
        .deserialize_map(visitor)
        .map_err(|_| TokenError::NotJson)?;
    de.end().map_err(|_| TokenError::NotJson)?;
    Ok(v)
}

struct Header<'a> {
    alg: Option<Scalar<'a>>,
    kid: Option<Scalar<'a>>,
}

fn read_header(bytes: &[u8]) -> Result<Header<'_>, TokenError> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Header<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JOSE header")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut h = Header {
                alg: None,
                kid: None,
            };
            while let Some(Name(k)) = a.next_key()? {
                match &*k {
                    "alg" => h.alg = Some(a.next_value()?),
                    "kid" => h.kid = Some(a.next_value()?),
                    _ => {
                        a.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(h)
        }
    }
    read_object(bytes, V)
}

/// The claims the checks read, as sent (absent: `None`).
#[derive(Default)]
pub(super) struct Payload<'a> {
    pub iss: Option<Scalar<'a>>,
    pub token_use: Option<Scalar<'a>>,
    pub client_id: Option<Scalar<'a>>,
    pub aud: Option<Scalar<'a>>,
    pub sub: Option<Scalar<'a>>,
    pub exp: Option<Scalar<'a>>,
    pub iat: Option<Scalar<'a>>,
    pub nbf: Option<Scalar<'a>>,
    pub auth_time: Option<Scalar<'a>>,
    pub jti: Option<Scalar<'a>>,
    pub origin_jti: Option<Scalar<'a>>,
    pub username: Option<Scalar<'a>>,
    pub cognito_username: Option<Scalar<'a>>,
    pub scope: Option<Scalar<'a>>,
    pub stamp: Option<Scalar<'a>>,
    /// The strings of `cognito:groups` when it is an array.
    pub groups: Vec<String>,
    /// `providerName` of each object of `identities` when it is an array.
    pub identity_providers: Vec<String>,
}

impl Payload<'_> {
    pub fn str<'s>(field: &'s Option<Scalar<'_>>) -> Option<&'s str> {
        field.as_ref().and_then(Scalar::as_str)
    }

    pub fn num(field: &Option<Scalar<'_>>) -> Option<u64> {
        field.as_ref().and_then(Scalar::as_u64)
    }
}

/// Reads the payload's claims; `stamp_claim` names the trigger's stamp.
/// The configuration refuses a stamp name that is a claim read here
/// (`config::stamp_claim`); were it one, the stamp would read as absent,
/// which judges by `iat` (the conservative side).
pub(super) fn read_payload<'a>(
    bytes: &'a [u8],
    stamp_claim: &str,
) -> Result<Payload<'a>, TokenError> {
    struct V<'s> {
        stamp_claim: &'s str,
    }
    impl<'de> Visitor<'de> for V<'_> {
        type Value = Payload<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JWT claims set")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut p = Payload::default();
            while let Some(Name(k)) = a.next_key()? {
                let slot = match &*k {
                    "iss" => &mut p.iss,
                    "token_use" => &mut p.token_use,
                    "client_id" => &mut p.client_id,
                    "aud" => &mut p.aud,
                    "sub" => &mut p.sub,
                    "exp" => &mut p.exp,
                    "iat" => &mut p.iat,
                    "nbf" => &mut p.nbf,
                    "auth_time" => &mut p.auth_time,
                    "jti" => &mut p.jti,
                    "origin_jti" => &mut p.origin_jti,
                    "username" => &mut p.username,
                    "cognito:username" => &mut p.cognito_username,
                    "scope" => &mut p.scope,
                    "cognito:groups" => {
                        p.groups = a.next_value::<Strings>()?.0;
                        continue;
                    }
                    "identities" => {
                        p.identity_providers = a.next_value::<Providers>()?.0;
                        continue;
                    }
                    other if other == self.stamp_claim => &mut p.stamp,
                    _ => {
                        a.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                *slot = Some(a.next_value()?);
            }
            Ok(p)
        }
    }
    read_object(bytes, V { stamp_claim })
}

/// Visitor methods for the JSON values a visitor does not read: each
/// answers `$v` (arrays and objects are read through and dropped).
macro_rules! otherwise {
    ($v:expr, $($skip:ident),*) => {
        fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($v)
        }
        $(otherwise!(@$skip, $v);)*
    };
    (@seq, $v:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
    (@map, $v:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
}

/// The string members of an array (anything else: none).
struct Strings(Vec<String>);

impl<'de> de::Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = a.next_element::<Scalar>()? {
                    if let Scalar::Str(s) = s {
                        out.push(s.into_owned());
                    }
                }
                Ok(Strings(out))
            }
            otherwise!(Strings(Vec::new()), map);
        }
        d.deserialize_any(V)
    }
}

/// `providerName` of each member of `identities` that is an object with a
/// string there (anything else: none).
struct Providers(Vec<String>);

impl<'de> de::Deserialize<'de> for Providers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Providers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of identities")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = a.next_element::<ProviderName>()? {
                    out.extend(p.0);
                }
                Ok(Providers(out))
            }
            otherwise!(Providers(Vec::new()), map);
        }
        d.deserialize_any(V)
    }
}

/// One member of `identities`: its `providerName` when it is an object with a string there.
struct ProviderName(Option<String>);

impl<'de> de::Deserialize<'de> for ProviderName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProviderName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an identity")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut name = Scalar::Other;
                while let Some(Name(k)) = a.next_key()? {
                    if k == "providerName" {
                        name = a.next_value()?;
                    } else {
                        a.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ProviderName(match name {
                    Scalar::Str(s) => Some(s.into_owned()),
                    _ => None,
                }))
            }
            otherwise!(ProviderName(None), seq);
        }
        d.deserialize_any(V)
    }
}
