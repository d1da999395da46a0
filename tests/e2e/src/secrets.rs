//! Everything a test used that must never reach the log, and the search
//! for it.

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use testkit::Tokens;

/// Everything that must never reach the log.
#[derive(Default)]
pub struct Secrets {
    /// Searched whole and by every 16-character fragment.
    pub tokens: BTreeSet<String>,
    /// Searched whole (cookie values, secrets, header values).
    pub values: BTreeSet<String>,
}

/// Shorter values cannot be searched for without false alarms; every secret
/// this test chooses itself is longer.
pub const MIN_VALUE_LEN: usize = 8;
pub const FRAGMENT: usize = 16;

impl Secrets {
    pub fn token(&mut self, t: &str) {
        if t.len() >= FRAGMENT {
            self.tokens.insert(t.to_owned());
        }
    }

    pub fn tokens(&mut self, t: &Tokens) {
        self.token(&t.access);
        self.token(&t.id);
        if let Some(r) = &t.refresh {
            self.token(r);
        }
    }

    pub fn value(&mut self, v: &str) {
        let v = v.trim();
        if v.len() >= MIN_VALUE_LEN {
            self.values.insert(v.to_owned());
        }
    }

    /// A `Cookie` header value: the whole value and each cookie's value.
    pub fn cookie_header(&mut self, header: &str) {
        self.value(header);
        for pair in header.split(';') {
            if let Some((_, v)) = pair.split_once('=') {
                self.value(v);
            }
        }
    }

    /// Every credential an event carries: `Authorization` (and Basic
    /// credentials decoded), cookies, session tokens, authorizer tokens.
    pub fn event(&mut self, e: &Value) {
        match e {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = k.to_ascii_lowercase();
                    let strings: Vec<&str> = match v {
                        Value::String(s) => vec![s.as_str()],
                        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    match key.as_str() {
                        "authorization" | "authorizationtoken" | "identitysource" => {
                            for s in strings {
                                self.authorization(s);
                            }
                        }
                        "cookie" | "cookies" => {
                            for s in strings {
                                self.cookie_header(s);
                            }
                        }
                        "x-amz-security-token" => {
                            for s in strings {
                                self.value(s);
                            }
                        }
                        _ => {}
                    }
                    self.event(v);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.event(v)),
            _ => {}
        }
    }

    pub fn authorization(&mut self, value: &str) {
        self.value(value);
        for part in value.split(',') {
            self.value(part);
        }
        if let Some((scheme, rest)) = value.trim().split_once(' ') {
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("basic") {
                self.value(rest);
                if let Ok(decoded) = STANDARD.decode(rest)
                    && let Ok(text) = String::from_utf8(decoded)
                {
                    self.value(&text);
                    if let Some((_, secret)) = text.split_once(':') {
                        self.value(secret);
                    }
                }
            } else if scheme.eq_ignore_ascii_case("bearer") {
                self.token(rest);
            }
        } else {
            self.token(value);
        }
    }

    /// What of the secrets the log contains, described without the secret.
    pub fn found_in(&self, log: &str) -> Vec<String> {
        let mut found = Vec::new();
        for v in &self.values {
            if log.contains(v.as_str()) {
                found.push(format!(
                    "a value starting {:?} ({} chars)",
                    &v[..4],
                    v.len()
                ));
            }
        }
        let mut fragments: HashMap<&[u8], usize> = HashMap::new();
        for (i, t) in self.tokens.iter().enumerate() {
            for w in t.as_bytes().windows(FRAGMENT) {
                fragments.entry(w).or_insert(i);
            }
        }
        let mut hit = HashSet::new();
        for w in log.as_bytes().windows(FRAGMENT) {
            if let Some(i) = fragments.get(w)
                && hit.insert(*i)
            {
                found.push(format!(
                    "a 16-character fragment of token #{i} ({:?}...)",
                    String::from_utf8_lossy(&w[..4])
                ));
            }
        }
        found
    }
}
