//! Any bytes given as tocsin.yml: an error or a config, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = tocsin_config::Config::parse("fuzz.yml", text) {
            // Whatever parses must also be showable.
            let _ = config.to_redacted_yaml();
        }
    }
});
