//! Test signing keys: RS256 tokens and JWKS documents made in process, so
//! the verifier's and the cache's unit tests need no emulator.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::config::Config;

pub const POOL: &str = "eu-west-1_Test1";
pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test1";
pub const CLIENT: &str = "client1";

/// One RSA signing key and its `kid`.
pub struct Signer {
    pub kid: String,
    pair: KeyPair,
}

impl Signer {
    pub fn new(kid: &str) -> Self {
        Signer {
            kid: kid.to_owned(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("an RSA key"),
        }
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        let c = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e),
        })
    }

    /// `claims` signed with RS256 under this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signed.as_bytes(),
                &mut sig,
            )
            .expect("signs");
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// A JWKS document of `signers`.
pub fn jwks(signers: &[&Signer]) -> Vec<u8> {
    let keys: Vec<Value> = signers.iter().map(|s| s.jwk()).collect();
    json!({ "keys": keys }).to_string().into_bytes()
}

/// The claims of a Cognito access token of `sub` to [`CLIENT`], issued at `iat`, valid an hour.
pub fn access(sub: &str, iat: u64) -> Value {
    json!({
        "iss": ISSUER, "token_use": "access", "client_id": CLIENT, "sub": sub,
        "iat": iat, "auth_time": iat, "exp": iat + 3600,
        "jti": format!("jti-{sub}-{iat}"), "origin_jti": format!("ojti-{sub}"),
        "username": sub, "scope": "aws.cognito.signin.user.admin",
    })
}

/// A configuration for the test pool (clients `client1`, `client2`) with `extra` settings.
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut env: Vec<(String, String)> = [
        ("AWS_REGION", "eu-west-1"),
        ("USER_POOL_ID", POOL),
        ("SIGNOUT_TABLE", "revocations"),
        ("APP_CLIENT_IDS", "client1,client2"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.reverse(); // later settings win
    Config::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("valid test configuration")
}

/// A loopback HTTP server answering every request with the current JWKS
/// (replace it through the returned handle). Runs until the process ends.
pub fn jwks_server(doc: Vec<u8>) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let current = Arc::new(Mutex::new(doc));
    let served = Arc::clone(&current);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let body = served.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (url, current)
}
