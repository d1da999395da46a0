//! An unreachable store (fail closed, fail open), the verdict cache, and
//! secrets from Secrets Manager.

use std::time::Duration;

use signout::Verdict::Active;
use signout::check::{Decision, Revoked, Verdict};
use signout::model::{ClientId, EpochMs, Source};
use signout::tokens::Expect;
use testkit::Fixture;

use super::app;

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
        .into_claims();
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
    let c = testkit::claims_as(&app, &t.access, Expect::ACCESS).await;
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
