//! Any text as a silence recurrence (a JSON list of Alertmanager time intervals): an error or
//! intervals that answer `contains` for any instant, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_alerting::silence::Recurrence;
use tocsin_alerting::timeinterval::any_contains;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(recurrence) = Recurrence::from_json_text(text)
    {
        for at in [0, 1_795_996_800_000, -62_135_596_800_000, i64::MAX / 2] {
            let _ = any_contains(&recurrence.intervals, at);
        }
    }
});
