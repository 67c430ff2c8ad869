//! Every scenario in the catalogue builds on any fleet, its faults and mitigation are valid
//! there, the mitigation ends the fault, and the checks are valid PromQL that return data.

use tocsin_sim::scenario::{self, BASELINE_MS, CATALOGUE};
use tocsin_sim::{Fleet, FleetConfig, Simulator};

use crate::harness::*;

#[test]
fn every_scenario_builds_on_the_default_and_a_small_fleet() {
    let default = Fleet::build(&FleetConfig::default()).expect("fleet");
    for fleet in [default, small_fleet(1), small_fleet(99)] {
        for info in CATALOGUE {
            let s = scenario::build(info.name, &fleet, T0).expect(info.name);
            assert_eq!(s.name, info.name);
            assert!(!s.briefing.is_empty() && !s.answer.cause.is_empty());
            assert!(s.checks.len() >= 2, "{}", s.name);
            for c in &s.checks {
                tocsin_promql::parse_expr(&c.query)
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", s.name, c.query));
            }
            let mut sim = Simulator::new(fleet.clone(), T0 - s.history_ms);
            for f in &s.faults {
                sim.add_fault(f.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", s.name));
                assert!(f.kind.mitigated_by(&s.mitigation), "{}", s.name);
            }
            let ended = sim
                .apply(s.mitigation.clone(), T0 + BASELINE_MS + MINUTE)
                .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert_eq!(ended, [0], "{}", s.name);
            if let Some(service) = &s.answer.service {
                fleet
                    .service_index(service)
                    .expect("answer names a service");
            }
        }
    }
}

#[test]
fn same_fleet_seed_same_answer_key() {
    for info in CATALOGUE {
        let a = scenario::build(info.name, &small_fleet(5), T0).expect("a");
        let b = scenario::build(info.name, &small_fleet(5), T0).expect("b");
        assert_eq!(a, b);
    }
}

#[test]
fn unknown_scenario_lists_the_catalogue() {
    let err = scenario::build("cpu-99", &small_fleet(1), T0)
        .expect_err("unknown")
        .to_string();
    assert!(
        err.starts_with(
            "unknown scenario \"cpu-99\"; the catalogue has: intermittent-500s, cpu-100"
        ),
        "{err}"
    );
}

#[test]
fn strong_responder_checks_return_data_during_the_fault() {
    let fleet = small_fleet(1);
    let during = T0 + BASELINE_MS + 6 * MINUTE;
    for info in CATALOGUE
        .iter()
        .filter(|i| i.name != "budget-before-launch")
    {
        let s = scenario::build(info.name, &fleet, T0).expect(info.name);
        let mut run = Run::new(fleet.clone(), s.faults.clone());
        run.step(during);
        for c in &s.checks {
            // `offset 1d` has no data in a short run; every other check must answer.
            if c.query.contains("offset") {
                continue;
            }
            let got = run.query(&c.query, during);
            assert!(!got.is_empty(), "{}: {} returned nothing", s.name, c.query);
        }
    }
}
