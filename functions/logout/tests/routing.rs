//! Routing: unknown paths, other methods, HTTP API stages in the raw path.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

#[tokio::test]
async fn routes_methods_and_stages() {
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    let q = [("client_id", client), ("logout_uri", TARGET)];

    // GIVEN an unknown path THEN 404 page
    assert_page(
        &send(&h, &event(Format::V2, "GET", "/nope", &q, &[])).await,
        404,
        page::NOT_FOUND,
    );
    // GIVEN another method THEN 405 page with Allow, and nothing done
    for format in FORMATS {
        let a = send(&h, &event(format, "PUT", "/logout", &q, &[])).await;
        assert_page(&a, 405, page::METHOD_NOT_ALLOWED);
        assert_eq!(a.header("allow"), Some("GET, POST"));
        assert!(a.set_cookies().is_empty());
        let a = send(&h, &event(format, "POST", "/logout/callback", &[], &[])).await;
        assert_page(&a, 405, page::METHOD_NOT_ALLOWED);
        assert_eq!(a.header("allow"), Some("GET"));
        assert!(a.set_cookies().is_empty());
        // AND POST /logout without a confirmation is refused, nothing done
        let a = send(&h, &event(format, "POST", "/logout", &q, &[])).await;
        assert_refused(&a, &format!("POST without confirmation, {format:?}"));
    }
    // GIVEN an HTTP API stage in the raw path THEN it is routed
    let raw = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish();
    let a = send(&h, &v2_raw("GET", "/live/logout", &raw, &[], "live")).await;
    assert_cognito_hop(&a, client);
    let a = send(
        &h,
        &v2_raw(
            "GET",
            "/live/logout/callback",
            "",
            &[format!("{STATE_COOKIE}={}", a.state_cookie())],
            "live",
        ),
    )
    .await;
    assert_eq!(a.location(), Some(TARGET));
}
