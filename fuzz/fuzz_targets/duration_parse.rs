//! Durations and sizes: parse never panics, and what parses prints back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_config::{ByteSize, Duration};

fuzz_target!(|text: &str| {
    if let Ok(duration) = text.parse::<Duration>() {
        assert_eq!(duration.to_string().parse::<Duration>().ok(), Some(duration));
    }
    if let Ok(size) = text.parse::<ByteSize>() {
        assert_eq!(size.to_string().parse::<ByteSize>().ok(), Some(size));
    }
});
