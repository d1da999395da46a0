//! Sign-outs end what they should and nothing else: global, one session,
//! `RevokeToken` at the emulator, client and pool cutoffs, admin resolution.

use std::collections::HashMap;
use std::time::Duration;

use signout::Verdict::Active;
use signout::check::{Revoked, Verdict};
use signout::cognito::CognitoFailure;
use signout::model::{ClientId, EpochMs, Source};
use signout::tokens::Expect;
use testkit::Fixture;

use super::{app, sub_of};

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
    let c1 = testkit::claims_as(&app, &one.access, Expect::ACCESS).await;
    let c2 = testkit::claims_as(&app, &two.access, Expect::ACCESS).await;
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
    let id1 = testkit::claims_as(&app, &one.id, Expect::ID).await;
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
    assert_eq!(e.kind, CognitoFailure::UnsupportedTokenType);
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
    assert_eq!(e.kind, CognitoFailure::UnauthorizedClient);
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
    assert_eq!(e.kind, CognitoFailure::NotAuthorized);
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
    let cp = testkit::claims_as(&app, &public.access, Expect::ACCESS).await;
    let cc = testkit::claims_as(&app, &conf.access, Expect::ACCESS).await;

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
    assert_eq!(missing.kind, CognitoFailure::UserNotFound);
    app.cognito
        .admin_global_sign_out(&f.username)
        .await
        .unwrap();
    assert!(!f.cognito_accepts(&t.access).await);
}
