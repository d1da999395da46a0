//! Logout CSRF: `LOGOUT_CONFIRM` and the confirmation page.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;
use signout::logout::CONFIRM_COOKIE;

const CONFIRM_CLEARED: &str = "__Host-signout_confirm=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";

/// The confirmation page's (cookie, CSRF token), after checking the page.
fn asked(a: &Answer, case: &str) -> (String, String) {
    assert_eq!(a.status, 200, "{case}: {}", a.text);
    let csp = assert_html_page(a, case);
    assert!(csp.contains("frame-ancestors 'none'"), "{case}: {csp}");
    assert_eq!(a.header("x-frame-options"), Some("DENY"), "{case}");
    let cookies = a.set_cookies();
    assert_eq!(
        cookies.len(),
        1,
        "{case}: only the confirmation cookie: {cookies:?}"
    );
    let c = Cookie::parse(cookies[0].clone()).unwrap();
    assert_eq!(c.name(), CONFIRM_COOKIE, "{case}");
    assert_eq!(c.same_site(), Some(cookie::SameSite::Strict), "{case}");
    assert!(
        c.secure() == Some(true) && c.http_only() == Some(true),
        "{case}"
    );
    let token = a
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the form")
        .to_owned();
    assert_eq!(
        a.text,
        signout::logout::page::confirm_html(&token),
        "{case}"
    );
    (c.value().to_owned(), token)
}

fn post(format: Format, cookie: Option<&str>, body: &str) -> Value {
    let cookies: Vec<String> = cookie
        .map(|v| format!("{CONFIRM_COOKIE}={v}"))
        .into_iter()
        .chain(["app_session=abc".to_owned()])
        .collect();
    Call::browser(format, "POST", "/logout")
        .form(body)
        .cookies(&cookies)
        .event()
}

#[tokio::test]
async fn without_a_hint_the_user_is_asked_and_nothing_is_done_until_the_click() {
    // GIVEN the default setting
    let h = harness(&[("LOGOUT_CONFIRM", "auto")]).await;
    let client = h.f.client_id.as_str();
    let t = h.f.sign_in(&h.f.username).await;
    for format in FORMATS {
        // WHEN a link without a hint arrives
        let a = send(
            &h,
            &logout(
                format,
                &[
                    ("client_id", client),
                    ("logout_uri", TARGET),
                    ("state", TRICKY_STATE),
                ],
                &["app_session=abc".into()],
            ),
        )
        .await;
        // THEN a page asks, reflecting nothing, and no app cookie is touched
        let (cookie, token) = asked(&a, &format!("{format:?}"));
        assert!(!a.text.contains("af0ifjsldkj") && !a.text.contains(client));
        // AND a POST without the token, with another token, or without the cookie does nothing
        for (c, body) in [
            (Some(cookie.as_str()), String::new()),
            (Some(cookie.as_str()), "csrf=AAAA".to_owned()),
            (None, format!("csrf={token}")),
            (Some("forged.value"), format!("csrf={token}")),
        ] {
            let r = send(&h, &post(format, c, &body)).await;
            assert_page(&r, 400, page::INVALID);
            assert!(
                r.set_cookies().iter().all(|s| s == CONFIRM_CLEARED),
                "{:?}",
                r.set_cookies()
            );
        }
        // WHEN the user clicks (cookie and token)
        let r = send(&h, &post(format, Some(&cookie), &format!("csrf={token}"))).await;
        // THEN the sign-out happens as without the page, and the confirmation cookie is cleared
        assert_confirmed_hop(&r, client);
        let r2 = send(&h, &callback(format, &r.state_cookie())).await;
        assert_eq!(
            r2.location(),
            Some(
                format!(
                    "{TARGET}?state={}",
                    url::form_urlencoded::byte_serialize(TRICKY_STATE.as_bytes())
                        .collect::<String>()
                )
                .as_str()
            )
        );
        // AND the same click again is refused
        let again = send(&h, &post(format, Some(&cookie), &format!("csrf={token}"))).await;
        assert_page(&again, 400, page::INVALID);
    }
    // AND the session was never recorded (no hint): the token still passes
    assert_eq!(verdict(&h, &t.access).await, Verdict::Active);
}

#[tokio::test]
async fn with_a_valid_hint_auto_signs_out_at_once_and_always_asks_first() {
    let auto = harness(&[("LOGOUT_CONFIRM", "auto")]).await;
    let t = auto.f.sign_in(&auto.f.username).await;
    let q = |id: &str| -> Vec<(String, String)> {
        vec![
            ("post_logout_redirect_uri".to_owned(), TARGET.to_owned()),
            ("id_token_hint".to_owned(), id.to_owned()),
        ]
    };
    let a = send(&auto, &logout(Format::V2, &pairs(&q(&t.id)), &[])).await;
    assert_cognito_hop(&a, &auto.f.client_id);
    assert!(matches!(
        verdict(&auto, &t.access).await,
        Verdict::Revoked(_)
    ));

    // GIVEN always: the page first, the hinted session recorded after the click
    let always = harness_on(auto.f, &[("LOGOUT_CONFIRM", "always")]).await;
    let t = always.f.sign_in(&always.f.username).await;
    let a = send(&always, &logout(Format::V2, &pairs(&q(&t.id)), &[])).await;
    let (cookie, token) = asked(&a, "always");
    assert!(!a.text.contains(&t.id[..16]), "the hint is not in the page");
    assert_eq!(verdict(&always, &t.access).await, Verdict::Active);
    let r = send(
        &always,
        &post(Format::V2, Some(&cookie), &format!("csrf={token}")),
    )
    .await;
    assert_confirmed_hop(&r, &always.f.client_id);
    assert!(matches!(
        verdict(&always, &t.access).await,
        Verdict::Revoked(_)
    ));

    // AND never: no page without a hint either
    let never = harness_on(always.f, &[("LOGOUT_CONFIRM", "never")]).await;
    let a = send(
        &never,
        &logout(
            Format::V1,
            &[
                ("client_id", never.f.client_id.as_str()),
                ("logout_uri", TARGET),
            ],
            &[],
        ),
    )
    .await;
    assert_cognito_hop(&a, &never.f.client_id);
}

#[tokio::test]
async fn a_refused_link_gets_no_page_and_no_cookie() {
    let h = harness(&[("LOGOUT_CONFIRM", "always")]).await;
    let a = send(
        &h,
        &logout(
            Format::V2,
            &[
                ("client_id", h.f.client_id.as_str()),
                ("logout_uri", "https://evil.example.net/"),
            ],
            &[],
        ),
    )
    .await;
    assert_refused(&a, "hostile target, always");
}

fn pairs(q: &[(String, String)]) -> Vec<(&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The sign-out a click gives: Cognito's hop, the app cookies expired, the
/// state cookie set, and the confirmation cookie cleared.
fn assert_confirmed_hop(a: &Answer, client: &str) {
    assert_eq!(a.status, 302, "{}", a.text);
    assert_eq!(
        a.location(),
        Some(format!("{DOMAIN}/logout?client_id={client}&{COGNITO_HOP_QUERY}").as_str())
    );
    let cookies = a.set_cookies();
    assert_eq!(&cookies[..4], EXPIRED, "every app cookie expired");
    assert!(cookies[4].starts_with(&format!("{STATE_COOKIE}=")));
    assert_eq!(cookies[5], CONFIRM_CLEARED);
    assert_eq!(cookies.len(), 6);
}
