//! Signing keys in AWS KMS: tokens are signed with `Sign`
//! (`RSASSA_PKCS1_V1_5_SHA_256`, RS256), so the private key never leaves
//! KMS; `GetPublicKey` gives what relying parties verify with, published as
//! a JWKS. Each key's `kid` is its RFC 7638 thumbprint, computed from the
//! public key alone, so the signer and the JWKS agree without sharing state
//! and a kid says nothing about the account or the key's ARN.
//!
//! Keys are read on first use and kept for the life of the process
//! (a public key never changes): a sign-out API whose KMS is unreachable
//! still starts and serves every other route.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rsa::{PublicKey, PublicKeyComponents};
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyUsageType, MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::tokens::{compact, header, signing_input};
use crate::aws::classify;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    #[error("KMS is unreachable or failing ({0})")]
    Unavailable(String),
    #[error("KMS refused the request ({0})")]
    Rejected(String),
    #[error("the KMS key is not an RSA signing key for RSASSA_PKCS1_V1_5_SHA_256")]
    WrongKey,
    #[error("KMS answered without a key or signature")]
    Empty,
}

impl KmsError {
    pub fn code(&self) -> &'static str {
        match self {
            KmsError::Unavailable(_) => "kms_unavailable",
            KmsError::Rejected(_) => "kms_rejected",
            KmsError::WrongKey => "kms_wrong_key",
            KmsError::Empty => "kms_empty_answer",
        }
    }

    pub fn retryable(&self) -> bool {
        matches!(self, KmsError::Unavailable(_) | KmsError::Empty)
    }

    fn from_sdk<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
        e: &aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::http::Response,
        >,
    ) -> Self {
        let f = classify(e);
        if f.retryable {
            KmsError::Unavailable(f.code)
        } else {
            KmsError::Rejected(f.code)
        }
    }
}

/// One published key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicJwk {
    /// As configured (`EVENTS_SIGNING_KEYS`): what `Sign` is called with.
    pub key_id: String,
    pub kid: String,
    pub jwk: Value,
}

/// The JWK of an RSA public key in DER (SubjectPublicKeyInfo, as
/// `GetPublicKey` returns it), with its RFC 7638 thumbprint as `kid`.
pub fn jwk_of_der(key_id: &str, der: &[u8]) -> Result<PublicJwk, KmsError> {
    let key = PublicKey::from_der(der).map_err(|_| KmsError::WrongKey)?;
    let c = PublicKeyComponents::<Vec<u8>>::from(&key);
    let (n, e) = (URL_SAFE_NO_PAD.encode(&c.n), URL_SAFE_NO_PAD.encode(&c.e));
    // RFC 7638 §3.2: the required members, lexicographic order, no white space.
    let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(digest(&SHA256, thumbprint_input.as_bytes()));
    Ok(PublicJwk {
        key_id: key_id.to_owned(),
        jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}),
        kid,
    })
}

/// The configured keys of KMS, read once.
#[derive(Debug)]
pub struct KeySet {
    kms: Client,
    key_ids: Vec<String>,
    loaded: OnceCell<Vec<PublicJwk>>,
}

impl KeySet {
    /// `key_ids`: the first signs, all are published.
    pub fn new(kms: Client, key_ids: Vec<String>) -> Self {
        KeySet {
            kms,
            key_ids,
            loaded: OnceCell::new(),
        }
    }

    async fn public_key(&self, key_id: &str) -> Result<PublicJwk, KmsError> {
        let out = self
            .kms
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| KmsError::from_sdk(&e))?;
        let signs_rs256 = out.key_usage() == Some(&KeyUsageType::SignVerify)
            && out
                .signing_algorithms()
                .contains(&SigningAlgorithmSpec::RsassaPkcs1V15Sha256);
        if !signs_rs256 {
            return Err(KmsError::WrongKey);
        }
        let der = out.public_key().ok_or(KmsError::Empty)?;
        jwk_of_der(key_id, der.as_ref())
    }

    /// Every configured key's public JWK, in configured order.
    pub async fn keys(&self) -> Result<&[PublicJwk], KmsError> {
        self.loaded
            .get_or_try_init(|| async {
                let mut out = Vec::with_capacity(self.key_ids.len());
                for id in &self.key_ids {
                    out.push(self.public_key(id).await?);
                }
                Ok(out)
            })
            .await
            .map(Vec::as_slice)
    }

    /// The JWKS document (RFC 7517 §5) of every configured key.
    pub async fn jwks(&self) -> Result<Value, KmsError> {
        let keys: Vec<&Value> = self.keys().await?.iter().map(|k| &k.jwk).collect();
        Ok(json!({ "keys": keys }))
    }

    /// `claims` as a compact JWS of type `typ`, signed RS256 by the first key.
    pub async fn sign(&self, typ: &str, claims: &Value) -> Result<String, KmsError> {
        let key = self.keys().await?.first().ok_or(KmsError::Empty)?;
        let input = signing_input(&header(typ, &key.kid), claims);
        let out = self
            .kms
            .sign()
            .key_id(&key.key_id)
            .message(Blob::new(input.as_bytes()))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| KmsError::from_sdk(&e))?;
        let signature = out.signature().ok_or(KmsError::Empty)?;
        Ok(compact(&input, signature.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;

    use super::*;

    #[test]
    fn the_jwk_of_a_der_key_carries_its_rfc7638_thumbprint() {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = pair.public_key().as_der().unwrap();
        let k = jwk_of_der("alias/x", der.as_ref()).unwrap();
        assert_eq!(k.jwk["kid"], k.kid.as_str());
        assert_eq!(k.jwk["e"], "AQAB");
        assert_eq!(k.kid.len(), 43); // 32 bytes, base64url without padding
        let again = jwk_of_der("alias/other-name", der.as_ref()).unwrap();
        assert_eq!(
            k.kid, again.kid,
            "the kid depends on the key, not on its name"
        );
    }

    #[test]
    fn a_der_that_is_no_rsa_key_is_the_wrong_key() {
        assert_eq!(jwk_of_der("k", b"not a key"), Err(KmsError::WrongKey));
    }
}
