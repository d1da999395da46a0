//! Every sample event of events/logout/ through the handler, with its
//! documented status.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

#[tokio::test]
async fn every_sample_event_gets_its_documented_status() {
    // GIVEN the function configured as events/README.md assumes
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    let samples = testkit::sample_events("logout");
    assert!(!samples.is_empty());
    for (name, text) in samples {
        // GIVEN a fresh session, and for callbacks a state cookie from a real first hop
        let tokens = h.f.sign_in(&h.f.username).await;
        let sub = testkit::sub_of(&tokens.access);
        let mut filled = h.f.fill(&text, Some(&tokens), &sub);
        if filled.contains("PLACEHOLDER") {
            let q = [
                ("client_id", client),
                ("logout_uri", TARGET),
                ("state", "sample"),
            ];
            let first = send(&h, &logout(Format::V2, &q, &[])).await;
            filled = filled.replace("PLACEHOLDER", &first.state_cookie());
        }
        let event: Value = serde_json::from_str(&filled).unwrap();

        // WHEN it goes through the handler
        let a = send(&h, &event).await;

        // THEN its documented status
        if name.contains("hostile") {
            assert_refused(&a, &name);
        } else if name.contains("callback") {
            assert_eq!(
                a.location(),
                Some(format!("{TARGET}?state=sample").as_str()),
                "{name}"
            );
        } else {
            assert_cognito_hop_for(&a, client, &name);
        }
        if name.contains("oidc") {
            assert_eq!(
                verdict(&h, &tokens.access).await,
                Verdict::Revoked(Revoked::Session),
                "{name}"
            );
            assert!(
                h.f.refresh(tokens.refresh.as_deref().unwrap())
                    .await
                    .is_err(),
                "{name}"
            );
        }
    }
}
