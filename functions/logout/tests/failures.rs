//! The store and Cognito unreachable: the browser still gets its redirects.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

#[tokio::test]
async fn the_browser_still_gets_its_redirects_when_the_store_and_cognito_are_down() {
    // GIVEN a deployment on a private emulator, the JWKS already fetched
    let emu = testkit::start_emulator();
    let h = harness_on(Fixture::on(&emu.endpoint).await, &[]).await;
    let t = h.f.sign_in(&h.f.username).await;
    h.app.verifier.verify(&t.id, Expect::ID_HINT).await.unwrap();

    // WHEN the store and Cognito become unreachable and the user signs out
    emu.kill();
    let started = Instant::now();
    let first = send(
        &h,
        &logout(
            Format::V2,
            &[
                ("id_token_hint", t.id.as_str()),
                ("logout_uri", TARGET),
                ("state", "kept"),
            ],
            &[refresh_cookie(&t)],
        ),
    )
    .await;

    // THEN the browser is still sent on, with its cookies expired, and reaches the target
    assert_cognito_hop(&first, &h.f.client_id);
    let last = send(&h, &callback(Format::V2, &first.state_cookie())).await;
    assert_eq!(
        last.location(),
        Some(format!("{TARGET}?state=kept").as_str())
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
