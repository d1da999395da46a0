//! The /signout JSON body, the /revoke and /introspect forms, Basic client
//! credentials: raw bytes under each content type.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use signout::http as h;

fuzz_target!(|data: &[u8]| {
    for content_type in ["application/json", "application/x-www-form-urlencoded"] {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(content_type));
        let _ = h::json_object(&headers, data);
        let _ = h::form(&headers, data);
    }
    if let Ok(v) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", v);
        let _ = h::basic_credentials(&headers);
        let _ = h::bearer_token(&headers);
    }
});
