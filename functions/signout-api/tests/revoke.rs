//! `POST /revoke` (RFC 7009) judges a token by what it is, whatever its
//! `token_type_hint` says, and says in its answer what it could not revoke.

mod common;

use base64::Engine;
use common::{Call, CallExt, Format};
use serde_json::json;
use signout::{Revoked, Verdict};
use signout_api::REFRESH_NOTE;
use testkit::verdict;
use testkit::{Fixture, Tokens};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Access,
    Id,
    Refresh,
}

fn token_of(t: &Tokens, kind: Kind) -> &str {
    match kind {
        Kind::Access => &t.access,
        Kind::Id => &t.id,
        Kind::Refresh => t.refresh.as_deref().unwrap(),
    }
}

/// Every value a client may send: none, the three we know, and unknown ones.
const HINTS: [Option<&str>; 6] = [
    None,
    Some("access_token"),
    Some("id_token"),
    Some("refresh_token"),
    Some("saml"),
    Some("urn:ietf:params:oauth:token-type:jwt"),
];

fn form(token: &str, hint: Option<&str>, client: &str) -> String {
    match hint {
        None => format!("token={token}&client_id={client}"),
        Some(h) => format!("token={token}&token_type_hint={h}&client_id={client}"),
    }
}

#[tokio::test]
async fn every_hint_with_every_token_type_revokes_what_the_token_is() {
    // GIVEN a user with a session that nothing below touches
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let bystander = f.sign_in(&f.username).await;
    for kind in [Kind::Access, Kind::Id, Kind::Refresh] {
        for hint in HINTS {
            let case = format!("{kind:?} token, hint {hint:?}");
            // WHEN a fresh session's token is revoked with this hint
            let t = f.sign_in(&f.username).await;
            let r = Call::new(Format::V2, "POST", "/revoke")
                .form(&form(token_of(&t, kind), hint, &f.client_id))
                .send(&app)
                .await;
            assert_eq!(r.status, 200, "{case}: {}", r.text);
            match kind {
                Kind::Access | Kind::Id => {
                    // THEN its session is rejected downstream, both tokens
                    assert_eq!(r.json, json!({"session_tokens_listed": true}), "{case}");
                    assert_eq!(
                        verdict(&app, &t.access).await,
                        Verdict::Revoked(Revoked::Session),
                        "{case}"
                    );
                    assert_eq!(
                        verdict(&app, &t.id).await,
                        Verdict::Revoked(Revoked::Session),
                        "{case}"
                    );
                }
                Kind::Refresh => {
                    // THEN Cognito refuses the refresh token (it was not sent
                    // down the JWT path and dropped), and the answer says the
                    // session's access and ID tokens were not listed
                    assert!(
                        f.refresh(t.refresh.as_deref().unwrap()).await.is_err(),
                        "{case}: the refresh token still works at Cognito"
                    );
                    assert_eq!(
                        r.json,
                        json!({"session_tokens_listed": false, "note": REFRESH_NOTE}),
                        "{case}"
                    );
                }
            }
        }
    }
    // AND the other session was never touched
    assert_eq!(verdict(&app, &bystander.access).await, Verdict::Active);
    assert!(
        f.refresh(bystander.refresh.as_deref().unwrap())
            .await
            .is_ok()
    );
}

/// REFRESH_TOKEN_AUTH on the confidential client (with its SECRET_HASH).
async fn refreshes_confidential(f: &Fixture, refresh: &str) -> bool {
    f.idp
        .initiate_auth()
        .client_id(&f.secret_client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", refresh)
        .auth_parameters(
            "SECRET_HASH",
            testkit::secret_hash(&f.username, &f.secret_client_id, &f.secret_client_secret),
        )
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_revoked_whatever_the_hint() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", f.secret_client_id, f.secret_client_secret));
    for hint in ["access_token", "id_token", "saml"] {
        let c = f.sign_in_with(&f.username, &f.secret_client_id).await;
        assert!(refreshes_confidential(&f, c.refresh.as_deref().unwrap()).await);
        let r = Call::new(Format::V1, "POST", "/revoke")
            .header("authorization", &format!("Basic {basic}"))
            .form(&format!(
                "token={}&token_type_hint={hint}",
                c.refresh.as_deref().unwrap()
            ))
            .send(&app)
            .await;
        assert_eq!(r.status, 200, "{hint}: {}", r.text);
        assert_eq!(r.json["session_tokens_listed"], false, "{hint}");
        assert!(
            !refreshes_confidential(&f, c.refresh.as_deref().unwrap()).await,
            "{hint}: the refresh token still works at Cognito"
        );
    }
}

#[tokio::test]
async fn only_tokens_we_cannot_revoke_get_unsupported_token_type_whatever_the_hint() {
    // GIVEN a verified access token without origin_jti (no session to name),
    // such as a client-credentials token
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let sessionless = f.remint(&t.access, json!({"origin_jti": null}));
    for hint in HINTS {
        // WHEN it is revoked with any hint
        let r = Call::new(Format::V2, "POST", "/revoke")
            .form(&form(&sessionless, hint, &f.client_id))
            .send(&app)
            .await;
        // THEN the answer is unsupported_token_type, and nothing else is
        assert_eq!(
            (r.status, r.json["error"].as_str()),
            (400, Some("unsupported_token_type")),
            "hint {hint:?}: {}",
            r.text
        );
    }
    assert_eq!(verdict(&app, &t.access).await, Verdict::Active);
    // AND an unknown hint on a token we can revoke is not an error
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&form(&t.access, Some("saml"), &f.client_id))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        verdict(&app, &t.access).await,
        Verdict::Revoked(Revoked::Session)
    );
}

#[tokio::test]
async fn a_refresh_token_revoked_here_says_its_sessions_access_and_id_tokens_were_not_listed() {
    // GIVEN a session
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let refresh = t.refresh.as_deref().unwrap();

    // WHEN its refresh token is revoked through /revoke
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&form(refresh, Some("refresh_token"), &f.client_id))
        .send(&app)
        .await;

    // THEN the answer is still an RFC 7009 200 with a JSON object, which says
    // machine-readably that the session's tokens were not listed, and how to
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["session_tokens_listed"], false, "{}", r.text);
    let note = r.json["note"].as_str().expect("a note");
    assert!(note.contains("POST /signout"), "{note}");
    assert!(note.contains("\"scope\": \"session\""), "{note}");
    assert!(!r.text.contains(refresh), "the token is not echoed");
    // AND so it is: Cognito refuses the refresh token, our checks still accept
    // the session's access token (a refresh token does not name its session)
    assert!(f.refresh(refresh).await.is_err());
    assert_eq!(verdict(&app, &t.access).await, Verdict::Active);

    // AND the way the note points to revokes both
    let t = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&t.access)
        .json(json!({"scope": "session", "refresh_token": t.refresh}))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(f.refresh(t.refresh.as_deref().unwrap()).await.is_err());
    assert_eq!(
        verdict(&app, &t.access).await,
        Verdict::Revoked(Revoked::Session)
    );
}
