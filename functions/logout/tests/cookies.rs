//! The configured app cookies expired attribute by attribute, and the state
//! cookie's own attributes.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

#[tokio::test]
async fn app_cookies_are_expired_attribute_by_attribute() {
    // GIVEN four configured cookies: __Host-, __Secure- with a domain, SameSite=None, and a plain one
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();

    // WHEN a Cognito-style sign-out arrives (no hint, no cookie sent)
    let out = send(
        &h,
        &logout(
            Format::V2,
            &[("client_id", client), ("logout_uri", TARGET)],
            &[],
        ),
    )
    .await;

    // THEN each is expired with the attributes it was set with
    assert_cognito_hop(&out, client);
    let set = out.set_cookies();
    assert_eq!(&set[..4], EXPIRED);
    let expected = [
        (
            "__Host-session",
            None,
            "/",
            true,
            true,
            Some(cookie::SameSite::Lax),
        ),
        (
            "__Secure-prefs",
            Some("example.com"),
            "/app",
            true,
            false,
            Some(cookie::SameSite::Strict),
        ),
        (
            "refresh_token",
            Some("api.example.com"),
            "/logout",
            true,
            true,
            Some(cookie::SameSite::None),
        ),
        ("app_session", None, "/", false, false, None),
    ];
    for (raw, (name, domain, path, secure, http_only, same_site)) in set.iter().zip(expected) {
        let c = Cookie::parse(raw.as_str()).unwrap();
        assert_eq!(c.name(), name);
        assert_eq!(c.value(), "", "{name}");
        assert_eq!(c.domain(), domain, "{name}");
        assert_eq!(c.path(), Some(path), "{name}");
        assert_eq!(c.secure().unwrap_or(false), secure, "{name}");
        assert_eq!(c.http_only().unwrap_or(false), http_only, "{name}");
        assert_eq!(c.same_site(), same_site, "{name}");
        assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO), "{name}");
        let expires = c.expires_datetime().expect("Expires");
        assert!(expires < cookie::time::OffsetDateTime::now_utc(), "{name}");
    }

    // AND the state cookie is __Host- (Secure, Path=/, no Domain), HttpOnly, Lax, five minutes
    let state = Cookie::parse(set[4].as_str()).unwrap();
    assert_eq!(state.name(), STATE_COOKIE);
    assert!(!state.value().is_empty());
    assert_eq!(
        (
            state.secure(),
            state.http_only(),
            state.same_site(),
            state.path(),
            state.domain()
        ),
        (
            Some(true),
            Some(true),
            Some(cookie::SameSite::Lax),
            Some("/"),
            None
        )
    );
    assert_eq!(state.max_age(), Some(cookie::time::Duration::seconds(300)));
    assert!(!set[4].contains("Domain="));
}
