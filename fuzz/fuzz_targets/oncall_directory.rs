//! Any bytes as an on-call directory file: an error with a location, or a directory whose
//! schedules answer `who` and `shifts` for a week without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_oncall::Directory;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(directory) = Directory::from_files(&[("fuzz.yml".to_owned(), text.to_owned())])
    {
        let from = jiff::Timestamp::from_second(1_774_000_000).unwrap_or_default();
        let to = jiff::Timestamp::from_second(1_774_604_800).unwrap_or_default();
        for schedule in directory.schedules.values() {
            let _ = schedule.who(from);
            if let Ok(shifts) = schedule.shifts(from, to) {
                for pair in shifts.windows(2) {
                    assert!(pair[0].end <= pair[1].start, "overlapping shifts: {pair:?}");
                }
            }
        }
    }
});
