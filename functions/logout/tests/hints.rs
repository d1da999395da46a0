//! What an `id_token_hint` may and may not do: a hint that cannot be
//! verified because our keys are down, a hint too old to name a session that
//! can still exist, and a hint already signed out.

mod common;

use common::*;
use testkit::{Fault, FaultProxy};

/// Unavailable: the fixed 503 page, `Retry-After`, no redirect and no cookie.
fn assert_unavailable(a: &Answer, case: &str) {
    assert_eq!(a.status, 503, "{case}: {}", a.body);
    assert_page(a, 503, page::UNAVAILABLE);
    assert_eq!(a.header("retry-after"), Some("1"), "{case}");
    assert!(a.set_cookies().is_empty(), "{case}: {:?}", a.set_cookies());
}

// ---------------------------------------------------------------- keys down

#[tokio::test]
async fn jwks_down_at_cold_start_never_blames_the_hint() {
    // GIVEN a cold start whose JWKS endpoint fails
    let f = Fixture::new().await;
    let proxy = FaultProxy::start(&f.endpoint);
    let jwks = format!("{}/{}/.well-known/jwks.json", proxy.endpoint, f.pool_id);
    proxy.set(Fault::Error(500, "InternalError"));
    let h = harness_on(f, &[("JWKS_URL", jwks.as_str())]).await;
    let t = h.f.sign_in(&h.f.username).await;
    let client = h.f.client_id.clone();

    // WHEN browsers come with valid hints, again and again (the later ones
    // inside the window in which the verifier does not fetch again)
    for round in 0..3 {
        for format in FORMATS {
            let case = format!("round {round}, {format:?}");
            // THEN with client_id the browser is still signed out (cookies,
            // Cognito's hop), never refused as if the link were bad
            let a = send(
                &h,
                &logout(
                    format,
                    &[
                        ("client_id", client.as_str()),
                        ("id_token_hint", t.id.as_str()),
                        ("logout_uri", TARGET),
                    ],
                    &[],
                ),
            )
            .await;
            assert_cognito_hop(&a, &client);
            // AND without client_id (no allow-list to check the target
            // against) it gets "try again", not "this link is not valid"
            let a = send(
                &h,
                &logout(
                    format,
                    &[
                        ("id_token_hint", t.id.as_str()),
                        ("post_logout_redirect_uri", TARGET),
                    ],
                    &[],
                ),
            )
            .await;
            assert_unavailable(&a, &case);
        }
    }
    // AND the hinted session was not named (the hint could not be verified)
    assert_eq!(listed_until(&h, &t.access).await, None);

    // WHEN the keys can be fetched again THEN the hint names its session
    proxy.set(Fault::Pass);
    tokio::time::sleep(signout::tokens::JWKS_RETRY_INTERVAL + Duration::from_millis(100)).await;
    let a = send(
        &h,
        &logout(
            Format::V2,
            &[("id_token_hint", t.id.as_str()), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;
    assert_cognito_hop(&a, &client);
    assert!(listed_until(&h, &t.access).await.is_some());
}
