//! The logout function's inputs: the query (as pairs, repeats kept), the
//! signed state cookie, and the final URL built from a target and `state`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signout::logout::state_cookie::{StateKey, open};
use signout::logout::{LogoutParams, final_url};

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let _ = LogoutParams::from_pairs(&pairs);
    if let Ok(text) = std::str::from_utf8(data) {
        let key = StateKey::from_setting("fuzzing-state-key-fuzzing-state-key-0123").unwrap();
        // Opening a cookie we did not seal would be an HMAC forgery.
        assert!(open(&key, text, 1_800_000_000).is_err());
        let _ = final_url("https://app.example.com/bye", Some(text));
    }
});
