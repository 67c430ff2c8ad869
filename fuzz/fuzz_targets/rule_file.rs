//! Any bytes as a rule file, a promtool unit-test file, or promtool series notation: an error
//! or a value, never a panic, a hang or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(groups) = tocsin_rules::parse_rule_file("fuzz.yml", text) {
                for group in &groups {
                    assert!(!group.name.is_empty());
                }
            }
        }
        1 => {
            let _ = tocsin_config::yaml::from_str::<tocsin_rules::unittest::UnitTestFile>(
                "fuzz.yml", text,
            );
        }
        _ => {
            if let Ok(points) = tocsin_rules::series::parse_points(text) {
                assert!(points.len() <= tocsin_rules::series::MAX_POINTS);
            }
            let _ = tocsin_rules::series::parse_metric(text);
        }
    }
});
