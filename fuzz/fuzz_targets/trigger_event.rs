//! The tolerant Pre Token Generation event model: parse, then stamp.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signout::model::EpochMs;
use signout::trigger;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(req) = trigger::parse(&event) {
        let out = trigger::apply_stamp(event.clone(), &req, "signout_epoch", EpochMs(42));
        // Only `response` may change.
        let (mut a, mut b) = (out, event);
        if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object_mut()) {
            a.remove("response");
            b.remove("response");
        }
        assert_eq!(a, b);
    }
});
