//! Fixtures shared by the unit tests of the `logout` submodules.

use std::collections::HashMap;

use crate::config::Config;

use super::LogoutSettings;

/// A raw state key of exactly 32 bytes.
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

/// The minimal valid logout environment, with `extra` added or replacing.
pub fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("COGNITO_DOMAIN", "https://auth.example.com"),
        (
            "LOGOUT_CALLBACK_URL",
            "https://api.example.com/logout/callback",
        ),
        ("LOGOUT_STATE_KEY", KEY),
    ];
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k, v));
    }
    env
}

/// The problems `with(extra)` is refused for, one line each.
pub fn problems(extra: &[(&'static str, &'static str)]) -> Vec<String> {
    LogoutSettings::from_lookup(lookup(&with(extra)))
        .unwrap_err()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect()
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A `Config` with one client, `abc123`, and two allowed targets.
pub fn config() -> Config {
    let env: HashMap<&str, &str> = [
        ("AWS_REGION", "eu-west-1"),
        ("USER_POOL_ID", "eu-west-1_AbC123"),
        ("SIGNOUT_TABLE", "revocations"),
        ("APP_CLIENT_IDS", "abc123"),
        ("LOGOUT_URLS", r#"{"abc123":["https://app.example.com/bye","https://app.example.com/bye?from=logout"]}"#),
    ]
    .into_iter()
    .collect();
    Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap()
}
