//! `POST /signout` runs the full revocation check before anything: a token
//! already signed out (a thief's copy, replayed) gets 401 `invalid_token`
//! with the revocation code and cannot sign its user out again.

mod common;

use std::time::Duration;

use common::{Call, CallExt, Format};
use serde_json::json;
use signout::app::App;
use signout::store::{Consistency, Lookup};
use signout::{Revoked, Sub, Verdict};
use testkit::Fixture;
use testkit::verdict;

async fn user_cutoff(app: &App, token: &str) -> Option<u64> {
    let sub = Sub(testkit::sub_of(token));
    app.store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap()
        .user_not_before
        .map(|c| c.0)
}

fn assert_refused(r: &common::Answer, code: &str, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text);
    assert_eq!(r.json["error"], "invalid_token", "{what}");
    assert!(
        r.json["error_description"].as_str().unwrap().contains(code),
        "{what}: {}",
        r.text
    );
    assert_eq!(
        r.headers["www-authenticate"],
        format!(r#"Bearer error="invalid_token", error_description="{code}""#),
        "{what}"
    );
}

#[tokio::test]
async fn a_signed_out_access_token_cannot_sign_its_user_out_again() {
    // GIVEN a user who signed out everywhere, and whose stolen access token a thief kept
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let stolen = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&stolen.access)
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cutoff = user_cutoff(&app, &stolen.access).await;
    // AND who signed in again afterwards
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let fresh = f.sign_in(&f.username).await;
    assert_eq!(verdict(&app, &fresh.access).await, Verdict::Active);

    // WHEN the thief replays the signed-out token, globally and by session, in both formats
    for format in [Format::V2, Format::V1] {
        let r = Call::new(format, "POST", "/signout")
            .bearer(&stolen.access)
            .send(&app)
            .await;
        // THEN it is refused as revoked
        assert_refused(&r, "signed_out", &format!("{format:?} global"));
        let r = Call::new(format, "POST", "/signout")
            .bearer(&stolen.access)
            .json(json!({"scope": "session"}))
            .send(&app)
            .await;
        assert_refused(&r, "signed_out", &format!("{format:?} session"));
    }
    // AND nothing was recorded: the cutoff did not move, the new session works
    assert_eq!(user_cutoff(&app, &stolen.access).await, cutoff);
    assert_eq!(verdict(&app, &fresh.access).await, Verdict::Active);
    assert!(f.cognito_accepts(&fresh.access).await);
    assert!(f.refresh(fresh.refresh.as_deref().unwrap()).await.is_ok());
}

#[tokio::test]
async fn a_token_whose_session_was_revoked_cannot_sign_its_user_out() {
    // GIVEN a session revoked through /revoke (Cognito still accepts its token)
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let revoked = f.sign_in(&f.username).await;
    let other = f.sign_in(&f.username).await;
    let r = Call::new(Format::V2, "POST", "/revoke")
        .form(&format!(
            "token={}&client_id={}",
            revoked.access, f.client_id
        ))
        .send(&app)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(f.cognito_accepts(&revoked.access).await);

    // WHEN its token asks for a global sign-out
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&revoked.access)
        .send(&app)
        .await;

    // THEN it is refused as revoked, nothing is recorded and Cognito is not told
    assert_refused(&r, "session_revoked", "global");
    assert_eq!(user_cutoff(&app, &revoked.access).await, None);
    assert_eq!(verdict(&app, &other.access).await, Verdict::Active);
    assert!(f.cognito_accepts(&other.access).await);
    assert!(f.refresh(other.refresh.as_deref().unwrap()).await.is_ok());
}

#[tokio::test]
async fn a_blocked_users_token_cannot_sign_them_out() {
    // GIVEN a user an admin signed out and blocked for an hour
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let r = Call::new(
        Format::V2,
        "POST",
        &format!("/admin/users/{}/signout", f.username),
    )
    .iam()
    .json(json!({"block_for_seconds": 3600}))
    .send(&app)
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cutoff = user_cutoff(&app, &t.access).await;
    assert_eq!(
        verdict(&app, &t.access).await,
        Verdict::Revoked(Revoked::Blocked)
    );

    // WHEN the old token asks for a sign-out THEN it is refused with the block's code
    let r = Call::new(Format::V2, "POST", "/signout")
        .bearer(&t.access)
        .send(&app)
        .await;
    assert_refused(&r, "user_blocked", "global");
    assert_eq!(user_cutoff(&app, &t.access).await, cutoff);
}
