//! Any text as an Alertmanager matcher list (`{a="b", c=~"d"}`): an error or matchers whose
//! printed form parses back to the same matchers, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_alerting::matcher::{matchers_to_string, parse_matchers};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(matchers) = parse_matchers(text)
    {
        // Printing uses Go's %q, whose \xNN and \uNNNN escapes the matcher syntax does not
        // read back (as in Alertmanager); round-trip only what both agree on.
        let plain = matchers
            .iter()
            .all(|m| m.value.chars().all(|c| c == '\n' || (c.is_ascii() && !c.is_ascii_control())));
        if !plain {
            return;
        }
        let shown = matchers_to_string(&matchers);
        let again = parse_matchers(&shown).expect("printed matchers parse");
        assert_eq!(again, matchers, "{shown}");
    }
});
