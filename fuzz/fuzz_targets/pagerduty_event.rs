//! PagerDuty Events API v2 decoding (`/v2/enqueue`, `/v2/change/enqueue`): never panics, a
//! rejected event always says why, and an accepted one honours the documented limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_incident::pagerduty::{Action, decode, decode_change};

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(event) => {
            assert!(!event.routing_key.trim().is_empty());
            assert!(event.dedup_key.as_ref().is_none_or(|k| k.chars().count() <= 255));
            if event.action == Action::Trigger {
                let payload = event.payload.expect("a trigger has a payload");
                assert!(payload.summary.chars().count() <= 1024);
                assert!(!payload.source.trim().is_empty());
            } else {
                assert!(event.dedup_key.is_some());
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
    if let Err(errors) = decode_change(data) {
        assert!(!errors.is_empty());
    }
});
