//! The corpus of settings the logout function refuses at cold start: each
//! stops it with one line naming the variable (as `main` reads them, through
//! `Config` and `LogoutSettings`).

use signout::Config;
use signout::logout::LogoutSettings;

const BASE: [(&str, &str); 7] = [
    ("AWS_REGION", "us-east-1"),
    ("USER_POOL_ID", "us-east-1_AbC123"),
    ("SIGNOUT_TABLE", "revocations"),
    ("APP_CLIENT_IDS", "abc123"),
    ("COGNITO_DOMAIN", "https://auth.example.com"),
    (
        "LOGOUT_CALLBACK_URL",
        "https://api.example.com/logout/callback",
    ),
    (
        "LOGOUT_STATE_KEY",
        "test-only state key, at least 32 bytes long",
    ),
];

/// Every problem the logout function's cold start reports for `extra`.
fn problems(extra: (&str, &str)) -> Vec<String> {
    let env: Vec<(&str, &str)> = BASE
        .iter()
        .copied()
        .filter(|(k, _)| *k != extra.0)
        .chain([extra])
        .collect();
    let get = |k: &str| {
        env.iter()
            .find(|(ek, _)| *ek == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let mut lines = Vec::new();
    if let Err(e) = Config::from_lookup(get) {
        lines.extend(e.problems.iter().map(ToString::to_string));
    }
    if let Err(e) = LogoutSettings::from_lookup(get) {
        lines.extend(e.problems.iter().map(ToString::to_string));
    }
    lines
}

#[test]
fn the_base_settings_start() {
    assert_eq!(problems(("RUST_LOG", "info")), Vec::<String>::new());
}

#[test]
fn every_forbidden_signout_claim_stops_the_cold_start_with_one_line() {
    // One name per class a user, a client or Cognito can write
    for name in [
        "custom:signout_epoch",
        "dev:custom:stamp",
        "cognito:username",
        "email",
        "preferred_username",
        "updated_at",
        "sub",
        "exp",
        "jti",
        "origin_jti",
        "aud",
        "iss",
    ] {
        let lines = problems(("SIGNOUT_CLAIM", name));
        assert_eq!(lines.len(), 1, "{name}: {lines:?}");
        assert!(
            lines[0].starts_with("SIGNOUT_CLAIM: "),
            "{name}: {}",
            lines[0]
        );
    }
}

#[test]
fn a_hint_age_bound_outside_cognitos_lifetimes_stops_the_cold_start() {
    for bad in ["0", "299", "forever", "-3600", "315360001"] {
        let lines = problems(("LOGOUT_HINT_MAX_AGE_SECONDS", bad));
        assert_eq!(lines.len(), 1, "{bad}: {lines:?}");
        assert!(
            lines[0].starts_with("LOGOUT_HINT_MAX_AGE_SECONDS: "),
            "{bad}: {}",
            lines[0]
        );
    }
    assert!(problems(("LOGOUT_HINT_MAX_AGE_SECONDS", "2592000")).is_empty());
}
