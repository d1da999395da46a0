//! The public documents of sign-out events: the JWKS (KMS `GetPublicKey` of
//! the configured keys, on the emulator's KMS) and the issuer metadata.

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use signout::events::kms::jwk_of_der;
use testkit::Fixture;

mod common;
use common::{Call, CallExt, Format};

const ISSUER: &str = "https://signout.example.com";

async fn key(f: &Fixture, spec: KeySpec, usage: KeyUsageType) -> String {
    let out = aws_sdk_kms::Client::new(&f.sdk)
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .expect("create a key");
    out.key_metadata().unwrap().key_id().to_owned()
}

#[tokio::test]
async fn without_signing_keys_the_events_documents_are_not_found() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    for path in ["/.well-known/jwks.json", "/.well-known/ssf-configuration"] {
        let a = Call::new(Format::V2, "GET", path).send(&app).await;
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_jwks_publishes_both_configured_keys_by_their_thumbprints() {
    // GIVEN two RSA signing keys in KMS, the first signing
    let f = Fixture::new().await;
    let (a, b) = (
        key(&f, KeySpec::Rsa2048, KeyUsageType::SignVerify).await,
        key(&f, KeySpec::Rsa2048, KeyUsageType::SignVerify).await,
    );
    let keys = format!("{a},{b}");
    let app = f
        .app(&[("EVENTS_ISSUER", ISSUER), ("EVENTS_SIGNING_KEYS", &keys)])
        .await;
    // WHEN the JWKS is asked for
    let answer = Call::new(Format::V2, "GET", "/.well-known/jwks.json")
        .send(&app)
        .await;
    // THEN both public keys are there, each under its RFC 7638 thumbprint, cacheable
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));
    let kms = aws_sdk_kms::Client::new(&f.sdk);
    let mut expected = Vec::new();
    for id in [&a, &b] {
        let der = kms.get_public_key().key_id(id).send().await.unwrap();
        expected.push(
            jwk_of_der(id, der.public_key().unwrap().as_ref())
                .unwrap()
                .jwk,
        );
    }
    assert_eq!(answer.json["keys"], serde_json::Value::Array(expected));
}

#[tokio::test]
async fn the_metadata_names_the_issuer_and_where_its_keys_are() {
    let f = Fixture::new().await;
    let k = key(&f, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let app = f
        .app(&[("EVENTS_ISSUER", ISSUER), ("EVENTS_SIGNING_KEYS", &k)])
        .await;
    let a = Call::new(Format::V1, "GET", "/.well-known/ssf-configuration")
        .send(&app)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["issuer"], ISSUER);
    assert_eq!(
        a.json["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    assert_eq!(a.json["delivery_methods_supported"][0], "urn:ietf:rfc:8935");
}

#[tokio::test]
async fn a_key_that_cannot_sign_rs256_is_unavailable_and_never_published() {
    let f = Fixture::new().await;
    let symmetric = key(&f, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let app = f
        .app(&[
            ("EVENTS_ISSUER", ISSUER),
            ("EVENTS_SIGNING_KEYS", &symmetric),
        ])
        .await;
    let a = Call::new(Format::V2, "GET", "/.well-known/jwks.json")
        .send(&app)
        .await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert_eq!(a.json["error"], "temporarily_unavailable");
}
