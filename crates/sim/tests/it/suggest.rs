//! The suggested SLOs and rules load in tocsin's own SLO and rule loaders, and the cause
//! alerts fire on the faults they are meant for (and not before them).

use std::collections::BTreeMap;

use tocsin_rules::{RuleKind, parse_rule_file};
use tocsin_sim::{Fault, FaultKind, Role, suggest};
use tocsin_slo::{GenerateOptions, error_ratio_expr, rule_groups_yaml};

use crate::harness::*;

#[test]
fn slo_specs_load_as_sloth_and_generate_valid_rules() {
    let fleet = tocsin_sim::Fleet::build(&tocsin_sim::FleetConfig::default()).expect("fleet");
    let text = suggest::slo_specs_yaml(&fleet);
    let slos =
        tocsin_slo::load_str("fleet-slos.yml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let http = fleet
        .services()
        .iter()
        .filter(|s| s.role.serves_http())
        .count();
    let edge = fleet
        .services()
        .iter()
        .filter(|s| matches!(s.role, Role::Frontend | Role::Api))
        .count();
    assert_eq!(slos.len(), http + edge);
    let web = slos
        .iter()
        .find(|s| s.service == "web" && s.name == "requests-availability")
        .expect("web availability");
    assert!((web.objective - 99.9).abs() < 1e-9);
    let rules = rule_groups_yaml(&slos, &GenerateOptions::default());
    let groups = parse_rule_file("generated.yml", &rules).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(groups.len() >= slos.len());
}

#[test]
fn slo_error_ratios_measure_the_simulated_faults() {
    let fleet = small_fleet(1);
    let slos = tocsin_slo::load_str("s.yml", &suggest::slo_specs_yaml(&fleet)).expect("slos");
    let by_name = |service: &str, name: &str| {
        slos.iter()
            .find(|s| s.service == service && s.name == name)
            .unwrap_or_else(|| panic!("{service}/{name}"))
    };
    let start = T0 + 10 * MINUTE;
    let mut run = Run::new(
        fleet,
        vec![Fault::new(
            FaultKind::BadDeploy {
                service: "checkout".to_owned(),
                version: "2.0.0".to_owned(),
                error_ratio: 0.2,
            },
            start,
        )],
    );
    run.step(start + 10 * MINUTE);
    let availability = error_ratio_expr(&by_name("checkout", "requests-availability").sli, "5m");
    assert!(run.value(&availability, start - MINUTE) < 0.001);
    assert!(run.value(&availability, start + 10 * MINUTE) > 0.15);
    let latency = error_ratio_expr(&by_name("web", "requests-latency").sli, "5m");
    let slow = run.value(&latency, start - MINUTE);
    assert!((0.0..0.01).contains(&slow), "{slow}");
}

#[test]
fn cause_alerts_fire_for_their_faults_and_not_before() {
    let groups = parse_rule_file("fleet-rules.yml", &suggest::alert_rules_yaml())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let alerts: BTreeMap<String, String> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match &r.kind {
            RuleKind::Alerting { alert, .. } => Some((alert.clone(), r.expr.clone())),
            RuleKind::Recording { .. } => None,
        })
        .collect();
    let fleet = small_fleet(1);
    let ledger = &fleet.services()[fleet.service_index("ledger").expect("ledger")];
    let leak = (ledger.memory_total_bytes * 0.95 - ledger.memory_base_bytes * 1.1) / 400.0;
    let start = T0 + 70 * MINUTE;
    let faults = vec![
        FaultKind::TargetDown {
            service: "cart".to_owned(),
            region: "eu-west".to_owned(),
            instance: 0,
        },
        FaultKind::CpuSaturation {
            service: "fraud".to_owned(),
            demand_factor: 5.0,
        },
        FaultKind::MemoryLeak {
            service: "ledger".to_owned(),
            version: "4.2.0".to_owned(),
            bytes_per_second: leak,
        },
        FaultKind::DiskFill {
            service: "postgres-orders".to_owned(),
            region: "us-east".to_owned(),
            instance: 1,
            bytes_per_second: 400.0 * 1024.0 * 1024.0,
        },
        FaultKind::PoolExhaustion {
            service: "orders-store".to_owned(),
            max_connections: 2,
        },
        FaultKind::DnsFailures {
            service: "api-gateway".to_owned(),
            failure_ratio: 0.5,
        },
    ];
    let mut run = Run::new(
        fleet,
        faults.into_iter().map(|k| Fault::new(k, start)).collect(),
    );
    let during = start + 25 * MINUTE;
    run.step(during);
    let expect: [(&str, &str); 8] = [
        ("TargetDown", "cart-eu-west-0"),
        ("CPUSaturated", "fraud"),
        ("MemoryNearLimit", "ledger"),
        ("CrashLooping", "ledger"),
        ("DiskUsageHigh", "postgres-orders-us-east-1"),
        ("DiskWillFillIn4Hours", "postgres-orders-us-east-1"),
        ("ConnectionPoolSaturated", "orders-store"),
        ("DNSLookupFailures", "api-gateway"),
    ];
    for (alert, target) in expect {
        let expr = &alerts[alert];
        let quiet = run.query(expr, start - MINUTE);
        assert!(
            quiet.is_empty(),
            "{alert} fired before the fault: {quiet:?}"
        );
        // Memory saw-tooths between OOM kills: look for the alert over the last cycles.
        let firing: Vec<(String, f64)> = (0..40)
            .flat_map(|k| run.query(expr, during - k * 15_000))
            .collect();
        assert!(
            firing.iter().any(|(l, _)| l.contains(target)),
            "{alert} does not fire for {target}: {firing:?}"
        );
    }
    let deps = run.query(&alerts["DependencyErrors"], during);
    assert!(
        deps.iter()
            .any(|(l, _)| l.contains("service=\"api-gateway\"")),
        "{deps:?}"
    );
}
