//! Authorizer event shape detection and the bearer parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = authorizer::detect(&event);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = signout::authz::bearer(s);
    }
});
