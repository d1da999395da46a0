//! The shared crate against the local emulator (moto + RevokeToken) over HTTP.
//! Each test has its own table, user pool, clients and user.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use signout::Verdict::Active;
use signout::app::App;
use signout::check::{Decision, Revoked, Verdict};
use signout::model::{ClientId, EpochMs, OriginJti, Source, Sub};
use signout::store::{Consistency, Lookup};
use signout::tokens::{Expect, TokenError};
use testkit::Fixture;

async fn app(f: &Fixture, extra: &[(&str, &str)]) -> Arc<App> {
    f.app(extra).await
}

fn sub_of(token: &str) -> Sub {
    let claims = signout::tokens::peek_claims(token).unwrap();
    Sub(claims["sub"].as_str().unwrap().to_owned())
}

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
    let exp = app
        .verifier
        .verify(&t.id, Expect::ID)
        .await
        .unwrap()
        .claims
        .exp;
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
    let iat = app
        .verifier
        .verify(&t.id, Expect::ID)
        .await
        .unwrap()
        .claims
        .iat;
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

#[tokio::test]
async fn fifty_concurrent_cutoff_writes_leave_the_maximum() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let sub = Sub::from("concurrent-user");
    let base = EpochMs::now().0;
    let mut tasks = Vec::new();
    // Interleave values so later tasks often write smaller ones.
    for i in 0..50u64 {
        let app = app.clone();
        let sub = sub.clone();
        let v = base + (i * 37) % 50;
        tasks.push(tokio::spawn(async move {
            app.store()
                .raise_user_cutoff(&sub, EpochMs(v), Source::Admin)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let state = app
        .store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.user_not_before, Some(EpochMs(base + 49)));

    // A later smaller write does not move it back
    app.store()
        .raise_user_cutoff(&sub, EpochMs(base), Source::Admin)
        .await
        .unwrap();
    let state = app
        .store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.user_not_before, Some(EpochMs(base + 49)));

    // And the item carries a TTL that outlives every refresh token issued before it
    let item = f
        .ddb
        .get_item()
        .table_name(&f.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(signout::store::keys::user_cutoff(
                testkit::REGION,
                &sub,
            )),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let ttl: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let c = &app.config;
    assert!(
        ttl >= (base + 49) / 1000
            + c.refresh_token_lifetime.as_secs()
            + c.max_token_lifetime.as_secs(),
        "TTL covers the refresh and token lifetimes"
    );
}

#[tokio::test]
async fn concurrent_session_revocations_are_never_lost() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let sub = Sub::from("many-sessions");
    let until = EpochMs::now().secs() + 3600;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let app = app.clone();
        let sub = sub.clone();
        tasks.push(tokio::spawn(async move {
            app.store()
                .revoke_session(
                    &sub,
                    &OriginJti(format!("session-{i}")),
                    until + i,
                    Source::Revoke,
                )
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for i in 0..30u64 {
        let jti = OriginJti(format!("session-{i}"));
        let state = app
            .store()
            .load(Lookup::session(&sub, &jti), Consistency::Strong)
            .await
            .unwrap();
        assert_eq!(state.session_revoked_until, Some(until + i), "session-{i}");
    }
    // An entry is never shortened
    app.store()
        .revoke_session(
            &sub,
            &OriginJti("session-5".into()),
            until - 100,
            Source::Revoke,
        )
        .await
        .unwrap();
    let jti = OriginJti("session-5".into());
    let state = app
        .store()
        .load(Lookup::session(&sub, &jti), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.session_revoked_until, Some(until + 5));
}

#[tokio::test]
async fn global_sign_out_revokes_earlier_tokens_and_accepts_later_sign_ins() {
    // GIVEN a signed-in user
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let before = f.sign_in(&f.username).await;
    let v_access = app
        .verifier
        .verify(&before.access, Expect::ACCESS)
        .await
        .unwrap();
    let v_id = app.verifier.verify(&before.id, Expect::ID).await.unwrap();
    assert_eq!(app.checker.check(&v_access.claims).await.unwrap(), Active);

    // WHEN the user signs out globally (cutoff recorded, then Cognito told)
    let cutoff = EpochMs::now();
    app.store()
        .raise_user_cutoff(&v_access.claims.sub, cutoff, Source::SelfService)
        .await
        .unwrap();
    app.cognito.global_sign_out(&before.access).await.unwrap();

    // THEN the earlier access and ID tokens are revoked downstream and at Cognito
    assert_eq!(
        app.checker.check(&v_access.claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
    assert_eq!(
        app.checker.check(&v_id.claims).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
    assert!(!f.cognito_accepts(&before.access).await);
    assert!(f.refresh(before.refresh.as_deref().unwrap()).await.is_err());

    // AND a sign-in that begins in a later second is accepted (unstamped tokens
    // fall back to iat; same-second exactness needs the trigger's stamp)
    let next_second = (cutoff.secs() + 1) * 1000;
    tokio::time::sleep(Duration::from_millis(
        next_second.saturating_sub(EpochMs::now().0) + 5,
    ))
    .await;
    let after = f.sign_in(&f.username).await;
    let v_after = app
        .verifier
        .verify(&after.access, Expect::ACCESS)
        .await
        .unwrap();
    assert_eq!(app.checker.check(&v_after.claims).await.unwrap(), Active);
}

#[tokio::test]
async fn revoking_one_session_leaves_the_other_session_valid() {
    // GIVEN two sessions of one user
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let one = f.sign_in(&f.username).await;
    let two = f.sign_in(&f.username).await;
    let c1 = app
        .verifier
        .verify(&one.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;
    let c2 = app
        .verifier
        .verify(&two.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;
    assert_ne!(c1.origin_jti, c2.origin_jti);

    // WHEN session one is revoked, at Cognito (RevokeToken, our emulator extension) and in the store
    app.cognito
        .revoke_refresh_token(
            one.refresh.as_deref().unwrap(),
            &ClientId(f.client_id.clone()),
        )
        .await
        .unwrap();
    app.store()
        .revoke_session(
            &c1.sub,
            c1.origin_jti.as_ref().unwrap(),
            c1.exp,
            Source::Revoke,
        )
        .await
        .unwrap();

    // THEN session one is rejected downstream and by Cognito, session two works everywhere
    assert_eq!(
        app.checker.check(&c1).await.unwrap(),
        Verdict::Revoked(Revoked::Session)
    );
    assert_eq!(app.checker.check(&c2).await.unwrap(), Active);
    assert!(!f.cognito_accepts(&one.access).await);
    assert!(f.cognito_accepts(&two.access).await);
    assert!(f.refresh(one.refresh.as_deref().unwrap()).await.is_err());
    assert!(f.refresh(two.refresh.as_deref().unwrap()).await.is_ok());
    // ID tokens of the revoked session carry the same origin_jti and are rejected too
    let id1 = app
        .verifier
        .verify(&one.id, Expect::ID)
        .await
        .unwrap()
        .claims;
    assert_eq!(
        app.checker.check(&id1).await.unwrap(),
        Verdict::Revoked(Revoked::Session)
    );
}

#[tokio::test]
async fn revoke_token_at_the_emulator_behaves_as_aws_documents() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let t = f.sign_in(&f.username).await;
    let public = ClientId(f.client_id.clone());
    // An access token is not a refresh token
    let e = app
        .cognito
        .revoke_refresh_token(&t.access, &public)
        .await
        .unwrap_err();
    assert_eq!(e.code, "unsupported_token_type");
    // Another client's refresh token is refused
    let secret_client = ClientId(f.secret_client_id.clone());
    let mut secrets = HashMap::new();
    secrets.insert(secret_client.clone(), f.secret_client_secret.clone());
    let with_secret = signout::cognito::Cognito::new(
        aws_sdk_cognitoidentityprovider::Client::new(&f.sdk),
        f.pool_id.clone(),
        secrets,
    );
    let e = with_secret
        .revoke_refresh_token(t.refresh.as_deref().unwrap(), &secret_client)
        .await
        .unwrap_err();
    assert_eq!(e.code, "unauthorized_client");
    // A confidential client's token needs its secret, which the proxy adds
    let conf = f.sign_in_with(&f.username, &f.secret_client_id).await;
    let no_secret = signout::cognito::Cognito::new(
        aws_sdk_cognitoidentityprovider::Client::new(&f.sdk),
        f.pool_id.clone(),
        HashMap::new(),
    );
    let e = no_secret
        .revoke_refresh_token(conf.refresh.as_deref().unwrap(), &secret_client)
        .await
        .unwrap_err();
    assert_eq!(e.code, "not_authorized");
    with_secret
        .revoke_refresh_token(conf.refresh.as_deref().unwrap(), &secret_client)
        .await
        .unwrap();
    // Unknown and already revoked tokens answer success (RFC 7009)
    app.cognito
        .revoke_refresh_token("no-such-token", &public)
        .await
        .unwrap();
    app.cognito
        .revoke_refresh_token(t.refresh.as_deref().unwrap(), &public)
        .await
        .unwrap();
    app.cognito
        .revoke_refresh_token(t.refresh.as_deref().unwrap(), &public)
        .await
        .unwrap();
}

#[tokio::test]
async fn client_and_pool_cutoffs_revoke_every_older_token_of_their_scope() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let public = f.sign_in(&f.username).await;
    let conf = f.sign_in_with(&f.username, &f.secret_client_id).await;
    let cp = app
        .verifier
        .verify(&public.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;
    let cc = app
        .verifier
        .verify(&conf.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;

    app.store()
        .raise_client_cutoff(
            &ClientId(f.client_id.clone()),
            EpochMs::now(),
            Source::IncidentResponse,
        )
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&cp).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
    assert_eq!(
        app.checker.check(&cc).await.unwrap(),
        Active,
        "other client untouched"
    );

    app.store()
        .raise_pool_cutoff(EpochMs::now(), Source::IncidentResponse)
        .await
        .unwrap();
    assert_eq!(
        app.checker.check(&cc).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn admin_resolution_finds_the_sub_by_username_and_by_alias() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let t = f.sign_in(&f.username).await;
    let by_name = app.cognito.resolve_user(&f.username).await.unwrap();
    assert_eq!(by_name.sub, sub_of(&t.access));
    let by_alias = app.cognito.resolve_user(&f.email).await.unwrap();
    assert_eq!(by_alias.sub, by_name.sub);
    let missing = app.cognito.resolve_user("nobody-here").await.unwrap_err();
    assert_eq!(missing.code, "user_not_found");
    app.cognito
        .admin_global_sign_out(&f.username)
        .await
        .unwrap();
    assert!(!f.cognito_accepts(&t.access).await);
}

#[tokio::test]
async fn an_unreachable_store_makes_the_check_deny_unless_fail_open() {
    // GIVEN a verified token and an emulator that then goes away
    let emu = testkit::start_emulator();
    let f = Fixture::on(&emu.endpoint).await;
    let closed = app(&f, &[("SDK_OPERATION_TIMEOUT_MS", "500")]).await;
    let open = app(
        &f,
        &[
            ("SDK_OPERATION_TIMEOUT_MS", "500"),
            ("AUTHORIZER_FAIL_OPEN", "true"),
        ],
    )
    .await;
    let t = f.sign_in(&f.username).await;
    let claims = closed
        .verifier
        .verify(&t.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;
    assert_eq!(closed.checker.decide(&claims).await, Decision::Allow);
    emu.kill();

    // WHEN the check runs THEN it denies (fail closed), and allows only when configured
    let started = std::time::Instant::now();
    let d = closed.checker.decide(&claims).await;
    assert!(
        matches!(d, Decision::DenyUnavailable(ref e) if e.retryable()),
        "{d:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the SDK timeout"
    );
    assert!(matches!(
        open.checker.decide(&claims).await,
        Decision::AllowFailOpen(_)
    ));
}

#[tokio::test]
async fn the_verdict_cache_serves_hits_without_the_store_until_its_ttl_passes() {
    let f = Fixture::new().await;
    let app = app(&f, &[("REVOCATION_CACHE_MS", "3000")]).await;
    let t = f.sign_in(&f.username).await;
    let c = app
        .verifier
        .verify(&t.access, Expect::ACCESS)
        .await
        .unwrap()
        .claims;
    let cached_at = std::time::Instant::now();
    assert_eq!(app.checker.check(&c).await.unwrap(), Active);
    app.store()
        .raise_user_cutoff(&c.sub, EpochMs::now(), Source::Admin)
        .await
        .unwrap();
    // Within the TTL the cached verdict stands (the accepted revocation delay);
    // checked only while surely inside it, so a slow machine cannot make this flaky.
    let cached = app.checker.check(&c).await.unwrap();
    if cached_at.elapsed() < Duration::from_millis(2_500) {
        assert_eq!(cached, Active);
    }
    tokio::time::sleep(Duration::from_millis(3_100).saturating_sub(cached_at.elapsed())).await;
    assert_eq!(
        app.checker.check(&c).await.unwrap(),
        Verdict::Revoked(Revoked::SignedOut)
    );
}

#[tokio::test]
async fn secrets_come_from_secrets_manager_when_an_arn_is_set() {
    let f = Fixture::new().await;
    let sm = aws_sdk_secretsmanager::Client::new(&f.sdk);
    let name = testkit::unique("client-secrets-");
    let value = format!(
        r#"{{"{}":"{}"}}"#,
        f.secret_client_id, f.secret_client_secret
    );
    let arn = sm
        .create_secret()
        .name(&name)
        .secret_string(&value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let get = |k: &str| match k {
        "APP_CLIENT_SECRETS_ARN" => Some(arn.clone()),
        "APP_CLIENT_SECRETS" => Some("{}".to_owned()),
        _ => None,
    };
    let got = signout::secrets::resolve_with(&f.sdk, "APP_CLIENT_SECRETS", get)
        .await
        .unwrap();
    assert_eq!(
        got.as_deref(),
        Some(value.as_str()),
        "the ARN wins over the plain variable"
    );
    let parsed = signout::cognito::Cognito::parse_secrets(got.as_deref()).unwrap();
    assert_eq!(
        parsed[&ClientId(f.secret_client_id.clone())],
        f.secret_client_secret
    );

    let plain = signout::secrets::resolve_with(&f.sdk, "APP_CLIENT_SECRETS", |k| {
        (k == "APP_CLIENT_SECRETS").then(|| "{}".to_owned())
    })
    .await
    .unwrap();
    assert_eq!(plain.as_deref(), Some("{}"));
    let missing = signout::secrets::resolve_with(&f.sdk, "APP_CLIENT_SECRETS", |k| {
        (k == "APP_CLIENT_SECRETS_ARN")
            .then(|| "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope".to_owned())
    })
    .await
    .unwrap_err();
    assert_eq!(missing.variable, "APP_CLIENT_SECRETS_ARN");
    assert!(signout::cognito::Cognito::parse_secrets(Some("not json")).is_err());
}
