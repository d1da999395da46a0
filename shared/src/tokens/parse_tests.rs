//! The borrowed payload reader reads every claim as a `serde_json::Value`
//! tree read with `Map::get` did (the reader it replaced), on payloads that
//! stress the difference: repeated members, escapes, every JSON type where a
//! string or a number is expected, odd `cognito:groups` and `identities`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::parse::{Payload, Scalar, read_payload};

const STAMP: &str = "signout_epoch";

/// What the replaced reader saw for `name`.
fn reference(raw: &Map<String, Value>, name: &str) -> Option<Scalar<'static>> {
    raw.get(name).map(|v| match v {
        Value::String(s) => Scalar::Str(Cow::Owned(s.clone())),
        v => v.as_u64().map_or(Scalar::Other, Scalar::Num),
    })
}

fn reference_groups(raw: &Map<String, Value>) -> Vec<String> {
    match raw.get("cognito:groups") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn reference_providers(raw: &Map<String, Value>) -> Vec<String> {
    match raw.get("identities") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|i| i.get("providerName").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn fields<'p, 'a>(p: &'p Payload<'a>) -> [(&'static str, &'p Option<Scalar<'a>>); 15] {
    [
        ("iss", &p.iss),
        ("token_use", &p.token_use),
        ("client_id", &p.client_id),
        ("aud", &p.aud),
        ("sub", &p.sub),
        ("exp", &p.exp),
        ("iat", &p.iat),
        ("nbf", &p.nbf),
        ("auth_time", &p.auth_time),
        ("jti", &p.jti),
        ("origin_jti", &p.origin_jti),
        ("username", &p.username),
        ("cognito:username", &p.cognito_username),
        ("scope", &p.scope),
        (STAMP, &p.stamp),
    ]
}

#[test]
fn the_payload_reader_reads_claims_as_a_json_value_tree_did() {
    let payloads = [
        r#"{"iss":"https://issuer","sub":"abc","exp":1900000000,"iat":1800000000,"token_use":"access","client_id":"c1"}"#,
        r#"{"sub":"first","sub":"second","exp":1,"exp":"2","nbf":null,"iat":-5,"auth_time":1.5}"#,
        r#"{"\u0073ub":"escaped-name","iss":"a\"quote\u00e9","jti":"x\/y","scope":"a b"}"#,
        r#"{"exp":18446744073709551615,"iat":18446744073709551616,"nbf":0,"auth_time":true}"#,
        r#"{"sub":["a"],"client_id":{"x":1},"aud":["c1"],"token_use":false,"username":null}"#,
        r#"{"cognito:groups":["a",1,"b",null,["c"],{"d":"e"}],"identities":[{"providerName":"Google"},{"providerName":3},"x",{"a":[1,{"providerName":"no"}]},{"providerName":"a","providerName":"SAML"}]}"#,
        r#"{"cognito:groups":"admins","identities":{"providerName":"Google"}}"#,
        r#"{"cognito:groups":["a"],"cognito:groups":5,"identities":[],"identities":[{"providerName":"late"}]}"#,
        r#"{"signout_epoch":"1700000000123","cognito:username":"bob","username":"alice"}"#,
        r#"{"signout_epoch":1700000000123,"origin_jti":"o","nested":{"sub":"not-me","exp":3}}"#,
        r#"{}"#,
    ];
    for json in payloads {
        let raw: Map<String, Value> = serde_json::from_str(json).unwrap();
        let p = read_payload(json.as_bytes(), STAMP).unwrap();
        for (name, got) in fields(&p) {
            assert_eq!(*got, reference(&raw, name), "{name} of {json}");
        }
        assert_eq!(p.groups, reference_groups(&raw), "groups of {json}");
        assert_eq!(
            p.identity_providers,
            reference_providers(&raw),
            "identities of {json}"
        );
    }
}

#[test]
fn a_payload_that_is_not_one_json_object_is_not_json() {
    for json in [
        "[1]",
        "\"sub\"",
        "{\"sub\":\"a\"} x",
        "{\"sub\":}",
        "{\"sub\":\"a\",}",
        "",
    ] {
        assert!(read_payload(json.as_bytes(), STAMP).is_err(), "{json}");
    }
}
