//! Any bytes as an SLO spec (Sloth or OpenSLO): an error or SLOs whose generated rules are
//! valid PromQL, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_slo::{GenerateOptions, load_str, rule_groups};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(slos) = load_str("fuzz.yml", text)
    {
        for group in rule_groups(&slos, &GenerateOptions::default()).groups {
            for rule in group.rules {
                // Queries were validated at load, so every generated expression must parse.
                assert!(
                    tocsin_promql::parse_expr(&rule.expr).is_ok(),
                    "generated rule does not parse: {}",
                    rule.expr
                );
            }
        }
    }
});
