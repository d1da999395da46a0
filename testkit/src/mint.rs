//! Tokens the emulator cannot mint itself (expired, stamped at a chosen
//! instant), signed with its key by `tools/mint_token.py`; and unverified
//! peeks at claims, for tests.

use std::process::{Command, Stdio};

use crate::Fixture;
use crate::emulator::{python, root};

/// The `sub` claim of a token (unverified; tests only).
pub fn sub_of(token: &str) -> String {
    signout::tokens::peek_claims(token).unwrap()["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs `claims` with the emulator's key (`tools/mint_token.py`), for tokens
/// the emulator cannot mint itself (expired, stamped at a chosen instant).
pub fn mint(claims: &serde_json::Value) -> String {
    mint_with_header(None, claims)
}

pub fn mint_with_header(header: Option<&serde_json::Value>, claims: &serde_json::Value) -> String {
    use std::io::Write;
    let mut child = Command::new(python())
        .arg(root().join("tools/mint_token.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tools/mint_token.py");
    let spec = serde_json::json!({"header": header, "claims": claims});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "mint_token.py failed");
    String::from_utf8(out.stdout).unwrap()
}

impl Fixture {
    /// The claims of `token` with `changes` applied, re-signed with the emulator's key.
    pub fn remint(&self, token: &str, changes: serde_json::Value) -> String {
        let mut claims = serde_json::Value::Object(signout::tokens::peek_claims(token).unwrap());
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        mint(&claims)
    }
}

/// The claims of a token as JSON (unverified; walkthrough and tests only).
pub fn signout_claims(token: &str) -> serde_json::Value {
    serde_json::Value::Object(signout::tokens::peek_claims(token).unwrap_or_default())
}
