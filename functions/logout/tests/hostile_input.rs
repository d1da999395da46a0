//! Hostile input: redirect targets that must never be followed, ambiguous or
//! misattributed requests, and markup the error page must not reflect.
//!
//! The logout function through its handler, with real tokens from the
//! emulator, its DynamoDB as the store and its Cognito for `RevokeToken`.

mod common;

use common::*;

/// Targets that must never be redirected to (the client allows exactly
/// `TARGET` and `TARGET_WITH_QUERY`): elsewhere outright, userinfo tricks,
/// look-alike hosts and suffixes, IDN look-alikes and punycode, ports,
/// schemes, case, path/query/fragment variants of an allowed URL, encodings,
/// whitespace, invisible and null characters, IP literals
/// (`hostile_targets.json`, shared with the browser suite, which maps
/// `app.example.com` and `evil.example.net` to its own sites), and another
/// client's target.
fn hostile_targets() -> Vec<String> {
    let mut all: Vec<String> = serde_json::from_str(include_str!("hostile_targets.json"))
        .expect("hostile_targets.json is a JSON array of strings");
    all.push(OTHER_CLIENT_TARGET.to_owned());
    all
}

#[tokio::test]
async fn hostile_targets_are_refused_without_redirect_or_cookie() {
    // GIVEN a client whose allow-list is TARGET and TARGET_WITH_QUERY
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    let hostile = hostile_targets();
    assert!(hostile.len() >= 40);
    for format in FORMATS {
        for allowed in [TARGET, TARGET_WITH_QUERY] {
            let ok = send(
                &h,
                &logout(
                    format,
                    &[("client_id", client), ("logout_uri", allowed)],
                    &[],
                ),
            )
            .await;
            assert_eq!(ok.status, 302, "control: {allowed} is allowed ({format:?})");
        }
    }

    // WHEN each hostile target arrives under either name, in either payload format
    for target in &hostile {
        let target = target.as_str();
        for name in ["logout_uri", "post_logout_redirect_uri"] {
            for format in FORMATS {
                let a = send(
                    &h,
                    &logout(
                        format,
                        &[("client_id", client), (name, target), ("state", "s")],
                        &["app_session=abc".into()],
                    ),
                )
                .await;
                // THEN 400, no Location, and no cookie touched
                assert_refused(&a, &format!("{format:?} {name}={target:?}"));
            }
        }
    }

    // AND ambiguous or misattributed requests are refused the same way
    let upper = client.to_uppercase();
    let spaced = format!("{client} ");
    let ambiguous: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "target repeated, second hostile",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("logout_uri", "https://evil.example.net/"),
            ],
        ),
        (
            "target repeated, same value",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("logout_uri", TARGET),
            ],
        ),
        (
            "client repeated",
            vec![
                ("client_id", client),
                ("client_id", client),
                ("logout_uri", TARGET),
            ],
        ),
        (
            "state repeated",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("state", "a"),
                ("state", "b"),
            ],
        ),
        (
            "both target names",
            vec![
                ("client_id", client),
                ("logout_uri", TARGET),
                ("post_logout_redirect_uri", TARGET),
            ],
        ),
        (
            "unknown client",
            vec![("client_id", "unknownclient123"), ("logout_uri", TARGET)],
        ),
        (
            "client in another case",
            vec![("client_id", upper.as_str()), ("logout_uri", TARGET)],
        ),
        (
            "client with a trailing space",
            vec![("client_id", spaced.as_str()), ("logout_uri", TARGET)],
        ),
        ("no client", vec![("logout_uri", TARGET)]),
        ("nothing at all", vec![]),
        (
            "another client's target",
            vec![
                ("client_id", h.f.secret_client_id.as_str()),
                ("logout_uri", TARGET),
            ],
        ),
    ];
    for (case, query) in &ambiguous {
        for format in FORMATS {
            assert_refused(
                &send(&h, &logout(format, query, &[])).await,
                &format!("{case}, {format:?}"),
            );
        }
    }
    // AND a repeat is caught in the raw query even when API Gateway's own map would hide it
    let raw = format!(
        "client_id={client}&logout_uri=https%3A%2F%2Fapp.example.com%2Fsigned-out&logout_uri=https%3A%2F%2Fevil.example.net%2F"
    );
    let mut e = v2_raw("GET", "/logout", &raw, &[], "$default");
    e["queryStringParameters"] = json!({"client_id": client, "logout_uri": TARGET});
    assert_refused(&send(&h, &e).await, "raw repeat");
    // AND a double-encoded allowed target is decoded once, so it does not match
    let raw =
        format!("client_id={client}&logout_uri=https%253A%252F%252Fapp.example.com%252Fsigned-out");
    assert_refused(
        &send(&h, &v2_raw("GET", "/logout", &raw, &[], "$default")).await,
        "double encoded",
    );
}

const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><svg onload=alert(1)>",
    "'><img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "<iframe src=javascript:alert(1)>",
    "javascript:alert(1)",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "<!--<script>alert(1)//-->",
    "\u{0}<script>alert(1)</script>",
    "\r\nSet-Cookie: pwned=1\r\nX-Injected: 1",
];

#[tokio::test]
async fn the_error_page_reflects_nothing_of_the_input() {
    // GIVEN hostile markup in every place a request carries input
    let h = harness(&[]).await;
    let client = h.f.client_id.as_str();
    for &payload in XSS {
        let target_with = format!("{TARGET}?x={payload}");
        let requests = [
            logout(
                Format::V2,
                &[("client_id", client), ("logout_uri", payload)],
                &[],
            ),
            logout(
                Format::V1,
                &[
                    ("client_id", client),
                    ("post_logout_redirect_uri", target_with.as_str()),
                ],
                &[],
            ),
            logout(
                Format::V2,
                &[("client_id", payload), ("logout_uri", TARGET)],
                &[],
            ),
            logout(
                Format::V1,
                &[
                    ("client_id", client),
                    ("logout_uri", payload),
                    ("state", payload),
                ],
                &[],
            ),
            logout(
                Format::V2,
                &[("id_token_hint", payload), ("logout_uri", TARGET)],
                &[],
            ),
            logout(
                Format::V1,
                &[
                    (payload, payload),
                    ("client_id", client),
                    ("logout_uri", payload),
                ],
                &[],
            ),
        ];
        for (i, req) in requests.iter().enumerate() {
            // WHEN it is sent THEN the answer is the fixed page, and no header carries any of it
            let a = send(&h, req).await;
            assert_refused(&a, &format!("request {i} with {payload:?}"));
            assert_reflects_nothing(&a, payload);
        }
        // AND parameters we ignore are ignored safely: a valid sign-out, nothing of them echoed
        let ignored = logout(
            Format::V2,
            &[
                (payload, payload),
                ("client_id", client),
                ("logout_uri", TARGET),
                ("ui_locales", payload),
                ("logout_hint", payload),
            ],
            &[],
        );
        let a = send(&h, &ignored).await;
        assert_cognito_hop_for(&a, client, &format!("ignored parameters with {payload:?}"));
        assert_reflects_nothing(&a, payload);
        // AND the callback, with the payload as its state cookie (header-safe payloads only)
        if !payload.contains(['\r', '\n', '\u{0}']) {
            let a = send(&h, &callback(Format::V2, payload)).await;
            assert_eq!(a.text, page::INVALID, "state cookie {payload:?}");
            assert_reflects_nothing(&a, payload);
        }
    }
}

fn assert_reflects_nothing(a: &Answer, payload: &str) {
    assert!(!a.text.contains(payload), "{payload:?} in body");
    for marker in ["alert", "onerror", "onload", "pwned", "X-Injected", "49"] {
        assert!(!a.text.contains(marker), "{payload:?}: {marker} in body");
    }
    for (name, value) in &a.headers {
        let v = value.to_str().unwrap();
        assert!(!v.contains(payload), "{payload:?}: {name}: {v}");
        for marker in ["alert", "script", "onerror", "pwned", "7*7"] {
            assert!(!v.contains(marker), "{payload:?}: {name}: {v}");
        }
        assert!(name.as_str() != "x-injected", "{payload:?}: {name}");
    }
}
