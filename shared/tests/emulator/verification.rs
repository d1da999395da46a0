//! Verification against the emulator's JWKS: tampered, foreign, expired
//! tokens, and how often the keys are fetched.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use signout::tokens::{Expect, TokenError};
use testkit::Fixture;

use super::app;

#[tokio::test]
async fn emulator_tokens_verify_against_its_jwks_and_tampered_ones_do_not() {
    // GIVEN a user signed in at the emulator
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let t = f.sign_in(&f.username).await;

    // WHEN the tokens are verified THEN both verify with their own token use
    let access = app
        .verifier
        .verify(&t.access, Expect::ACCESS)
        .await
        .unwrap();
    assert_eq!(access.claims.client_id.as_str(), f.client_id);
    assert!(access.claims.origin_jti.is_some());
    let id = app.verifier.verify(&t.id, Expect::ID).await.unwrap();
    assert_eq!(id.claims.sub, access.claims.sub);
    assert_eq!(
        app.verifier
            .verify(&t.id, Expect::ACCESS)
            .await
            .unwrap_err(),
        TokenError::WrongTokenUse
    );

    // AND a token whose payload was changed does not verify
    let mut parts: Vec<String> = t.access.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = "someone-else".into();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");
    assert_eq!(
        app.verifier
            .verify(&tampered, Expect::ACCESS)
            .await
            .unwrap_err(),
        TokenError::BadSignature
    );

    // AND an HS256 token "signed" with the public key is refused before any key use
    let hs = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"dummy"}"#),
        parts[1],
        parts[2]
    );
    assert_eq!(
        app.verifier.verify(&hs, Expect::ACCESS).await.unwrap_err(),
        TokenError::AlgHmac
    );
}

#[tokio::test]
async fn wrong_client_and_wrong_issuer_are_refused() {
    let f = Fixture::new().await;
    let t = f.sign_in(&f.username).await;
    let other_client = app(&f, &[("APP_CLIENT_IDS", "someotherclient")]).await;
    assert_eq!(
        other_client
            .verifier
            .verify(&t.access, Expect::ACCESS)
            .await
            .unwrap_err(),
        TokenError::WrongClient
    );
    assert_eq!(
        other_client
            .verifier
            .verify(&t.id, Expect::ID)
            .await
            .unwrap_err(),
        TokenError::WrongClient
    );
    let other_issuer = app(&f, &[("TOKEN_ISSUER", "https://issuer.example.com/pool")]).await;
    assert_eq!(
        other_issuer
            .verifier
            .verify(&t.access, Expect::ACCESS)
            .await
            .unwrap_err(),
        TokenError::WrongIssuer
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_unless_the_hint_mode_allows_them() {
    let f = Fixture::new().await;
    let app = app(&f, &[("TOKEN_LEEWAY_SECONDS", "0")]).await;
    let t = f.sign_in(&f.username).await;
    let exp = testkit::claims_as(&app, &t.id, Expect::ID).await.exp;
    let later = exp + 10;
    assert_eq!(
        app.verifier
            .verify_at(&t.id, Expect::ID, later)
            .await
            .unwrap_err(),
        TokenError::Expired
    );
    assert!(
        app.verifier
            .verify_at(&t.id, Expect::ID_HINT, later)
            .await
            .is_ok()
    );
    // Not yet valid: checked as of an hour before it was issued.
    let iat = testkit::claims_as(&app, &t.id, Expect::ID).await.iat;
    assert_eq!(
        app.verifier
            .verify_at(&t.id, Expect::ID, iat - 3600)
            .await
            .unwrap_err(),
        TokenError::NotYetValid
    );
}

#[tokio::test]
async fn the_jwks_is_fetched_once_and_not_again_for_every_unknown_kid() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let t = f.sign_in(&f.username).await;
    app.verifier
        .verify(&t.access, Expect::ACCESS)
        .await
        .unwrap();
    app.verifier.verify(&t.id, Expect::ID).await.unwrap();
    assert_eq!(app.verifier.jwks_fetches(), 1, "one fetch at first use");

    // 20 tokens naming unknown kids within the 10-second window
    let parts: Vec<&str> = t.access.split('.').collect();
    for i in 0..20 {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"rotated-{i}"}}"#));
        let forged = format!("{header}.{}.{}", parts[1], parts[2]);
        assert_eq!(
            app.verifier
                .verify(&forged, Expect::ACCESS)
                .await
                .unwrap_err(),
            TokenError::UnknownKid
        );
    }
    assert_eq!(
        app.verifier.jwks_fetches(),
        1,
        "no refetch inside the window"
    );
}

/// The pool's JWKS document, fetched once by the test itself.
async fn jwks_document(f: &Fixture) -> String {
    let url = format!("{}/{}/.well-known/jwks.json", f.endpoint, f.pool_id);
    let (status, body) = tokio::task::spawn_blocking(move || testkit::http_get(&url))
        .await
        .unwrap();
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn with_the_key_set_in_configuration_tokens_verify_without_any_fetch() {
    // GIVEN JWKS_JSON set, and the JWKS URL pointing at a closed port
    let f = Fixture::new().await;
    let doc = jwks_document(&f).await;
    let closed = "http://127.0.0.1:9/jwks.json";
    let config = signout::Config::from_lookup(Fixture::lookup(
        f.env_with(&[("JWKS_JSON", &doc), ("JWKS_URL", closed)]),
    ))
    .unwrap();
    let verifier = signout::tokens::Verifier::from_config(&config);
    let t = f.sign_in(&f.username).await;

    // WHEN a token is verified THEN it is, and nothing was fetched
    verifier.verify(&t.access, Expect::ACCESS).await.unwrap();
    assert_eq!(verifier.jwks_fetches(), 0);
    // AND a key the configuration does not hold is the token's fault, not an outage
    let header = serde_json::json!({"alg": "RS256", "kid": "not-in-the-set"});
    let claims = serde_json::Value::Object(signout::tokens::peek_claims(&t.access).unwrap());
    let foreign = testkit::mint_with_header(Some(&header), &claims);
    assert_eq!(
        verifier.verify(&foreign, Expect::ACCESS).await.unwrap_err(),
        TokenError::UnknownKid
    );
}

#[tokio::test]
async fn a_jwks_json_without_a_usable_signing_key_is_refused_at_cold_start() {
    let f = Fixture::new().await;
    for doc in [
        r#"{"keys":[]}"#,
        "not json",
        r#"{"keys":[{"kty":"EC","kid":"e"}]}"#,
    ] {
        let env = f.env_with(&[("JWKS_JSON", doc)]);
        let err = signout::Config::from_lookup(Fixture::lookup(env)).unwrap_err();
        assert!(err.to_string().contains("JWKS_JSON"), "{doc}: {err}");
    }
}
