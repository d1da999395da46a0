//! The JWKS document parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = signout::tokens::KeySet::from_json(data);
});
