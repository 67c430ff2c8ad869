//! Each fault moves the signals it should, only after it starts, and its mitigation brings
//! them back: read with PromQL, as the rules and SLOs will read them.

use tocsin_sim::scenario;
use tocsin_sim::{Fault, FaultKind, FaultStatus, Mitigation};

use crate::harness::*;

const START: i64 = T0 + 10 * MINUTE;
const BEFORE: i64 = START - MINUTE;
const DURING: i64 = START + 12 * MINUTE;
const FIX: i64 = START + 13 * MINUTE;
const AFTER: i64 = FIX + 8 * MINUTE;

fn errors(service: &str) -> String {
    format!(
        "sum(rate(http_requests_total{{service=\"{service}\",code=~\"5..\"}}[5m])) / sum(rate(http_requests_total{{service=\"{service}\"}}[5m]))"
    )
}

fn cpu(service: &str) -> String {
    format!(
        "max(1 - avg by (instance) (rate(node_cpu_seconds_total{{service=\"{service}\",mode=\"idle\"}}[5m])))"
    )
}

fn p99(service: &str) -> String {
    format!(
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{service=\"{service}\"}}[5m])))"
    )
}

/// Runs `fault` from START, checks `before`/`during`, applies its right mitigation at FIX,
/// checks `after`, and returns the run for more checks.
fn fault_run(fault: FaultKind) -> Run {
    let mitigation = fault.right_mitigation();
    let mut run = Run::new(small_fleet(1), vec![Fault::new(fault, START)]);
    run.step(DURING);
    assert_eq!(run.sim.fault_status(0, BEFORE), Some(FaultStatus::Pending));
    assert_eq!(run.sim.fault_status(0, DURING), Some(FaultStatus::Active));
    let ended = run.apply(mitigation, FIX);
    assert_eq!(ended, [0]);
    run.step(AFTER);
    assert_eq!(
        run.sim.fault_status(0, AFTER),
        Some(FaultStatus::Mitigated(FIX))
    );
    run
}

#[test]
fn bad_deploy_fails_requests_after_the_version_changes_and_rollback_restores() {
    let run = fault_run(FaultKind::BadDeploy {
        service: "checkout".to_owned(),
        version: "2.0.0".to_owned(),
        error_ratio: 0.2,
    });
    let q = errors("checkout");
    assert!(run.value(&q, BEFORE) < 0.005, "{}", run.value(&q, BEFORE));
    let during = run.value(&q, DURING);
    assert!((0.15..0.3).contains(&during), "{during}");
    assert!(run.value(&q, AFTER) < 0.005);
    let versions = "count by (version) (build_info{service=\"checkout\"})";
    let before = run.query(versions, BEFORE);
    assert_eq!(before.len(), 1);
    assert!(!before[0].0.contains("2.0.0"));
    assert_eq!(
        run.query(versions, DURING),
        [("{version=\"2.0.0\"}".to_owned(), 4.0)]
    );
    assert_eq!(run.query(versions, AFTER), before);
    // The deploy and the rollback restarted every instance: two counter resets each.
    let resets = "sum(resets(http_requests_total{service=\"checkout\",code=\"200\"}[30m]))";
    assert_eq!(run.value(resets, AFTER), 2.0 * 4.0 * 2.0);
    // Callers see it as dependency errors.
    let dep = "sum(rate(dependency_errors_total{dependency=\"checkout\"}[5m]))";
    let (before, during) = (run.value(dep, BEFORE), run.value(dep, DURING));
    assert!(
        during > 1.0 && during > 20.0 * before,
        "{before} -> {during}"
    );
}

#[test]
fn cpu_saturation_pins_cpu_sheds_load_and_scale_out_restores() {
    let run = fault_run(FaultKind::CpuSaturation {
        service: "ledger".to_owned(),
        demand_factor: 5.0,
    });
    let before = run.value(&cpu("ledger"), BEFORE);
    assert!(before < 0.6, "{before}");
    let during = run.value(&cpu("ledger"), DURING);
    assert!(during > 0.95, "{during}");
    assert!(run.value(&p99("ledger"), DURING) > 2.0 * run.value(&p99("ledger"), BEFORE));
    let shed = "sum(rate(http_requests_total{service=\"ledger\",code=\"503\"}[5m]))";
    assert!(run.value(shed, DURING) > 10.0);
    assert!(run.value(&cpu("ledger"), AFTER) < 0.8);
    assert!(run.value(&errors("ledger"), AFTER) < 0.005);
}

#[test]
fn intermittent_errors_come_from_one_instance_and_restart_clears_them() {
    let run = fault_run(FaultKind::IntermittentErrors {
        service: "checkout".to_owned(),
        region: "eu-west".to_owned(),
        instance: 1,
        error_ratio: 0.4,
    });
    let by_instance = "sum by (instance) (rate(http_requests_total{service=\"checkout\",code=\"500\"}[10m])) / sum by (instance) (rate(http_requests_total{service=\"checkout\"}[10m]))";
    for (labels, ratio) in run.query(by_instance, DURING) {
        if labels.contains("checkout-eu-west-1") {
            assert!(ratio > 0.05, "{labels} {ratio}");
        } else {
            assert!(ratio < 0.005, "{labels} {ratio}");
        }
    }
    for (labels, ratio) in run.query(by_instance, BEFORE) {
        assert!(ratio < 0.005, "{labels} {ratio}");
    }
    let restarted =
        "changes(process_start_time_seconds{instance=\"checkout-eu-west-1:8080\"}[10m])";
    assert_eq!(run.value(restarted, AFTER), 1.0);
    let late = "sum(rate(http_requests_total{service=\"checkout\",code=\"500\"}[5m])) / sum(rate(http_requests_total{service=\"checkout\"}[5m]))";
    assert!(run.value(late, AFTER) < 0.005);
}

#[test]
fn pool_exhaustion_deep_down_raises_p99_five_layers_up_and_a_bigger_pool_restores() {
    let fleet = small_fleet(1);
    let s = scenario::build("misconfigured-pool", &fleet, T0).expect("scenario");
    let FaultKind::PoolExhaustion { service, .. } = &s.faults[0].kind else {
        panic!("{:?}", s.faults[0].kind)
    };
    let idx = fleet.service_index(service).expect("service");
    let path: Vec<String> = fleet
        .strongest_path_to(idx)
        .into_iter()
        .map(|i| fleet.services()[i].name.clone())
        .collect();
    assert_eq!(path.len(), 5, "{path:?}");
    let mut run = Run::new(fleet, s.faults.clone());
    run.step(DURING);
    for name in &path {
        let (before, during) = (run.value(&p99(name), BEFORE), run.value(&p99(name), DURING));
        assert!(before < 0.5, "{name} p99 before {before}");
        assert!(
            during > 1.0 && during > 4.0 * before,
            "{name} p99 {before} -> {during}"
        );
    }
    let pool = format!(
        "max(db_pool_connections_in_use{{service=\"{service}\"}} / db_pool_connections_max{{service=\"{service}\"}})"
    );
    assert!(run.value(&pool, BEFORE) < 0.7);
    assert_eq!(run.value(&pool, DURING), 1.0);
    let wait = format!("sum(rate(db_pool_wait_seconds_total{{service=\"{service}\"}}[5m]))");
    assert!(run.value(&wait, DURING) > 10.0 * run.value(&wait, BEFORE).max(0.01));
    // CPU and errors of the frontend stay unremarkable: latency is the symptom.
    assert!(run.value(&cpu(&path[0]), DURING) < 0.7);
    let errors_top = run.value(&errors(&path[0]), DURING);
    assert!(errors_top < 0.05, "{errors_top}");
    assert_eq!(run.apply(s.mitigation.clone(), FIX), [0]);
    run.step(AFTER);
    for name in &path {
        let after = run.value(&p99(name), AFTER);
        assert!(after < 0.5, "{name} p99 after {after}");
    }
}

#[test]
fn dns_failures_show_in_lookups_and_dependency_errors_until_the_config_is_restored() {
    let run = fault_run(FaultKind::DnsFailures {
        service: "api-gateway".to_owned(),
        failure_ratio: 0.5,
    });
    let failures = "sum(rate(dns_lookup_failures_total{service=\"api-gateway\"}[5m]))";
    assert_eq!(run.value(failures, BEFORE), 0.0);
    assert!(run.value(failures, DURING) > 0.1);
    let dep = "sum(rate(dependency_errors_total{service=\"api-gateway\"}[5m])) / sum(rate(dependency_requests_total{service=\"api-gateway\"}[5m]))";
    assert!(run.value(dep, DURING) > 0.15);
    let unavailable = "sum(rate(http_requests_total{service=\"api-gateway\",code=\"503\"}[5m])) / sum(rate(http_requests_total{service=\"api-gateway\"}[5m]))";
    assert!(run.value(unavailable, BEFORE) < 0.005);
    assert!(run.value(unavailable, DURING) > 0.2);
    // Its dependencies themselves are fine.
    assert!(run.value(&errors("checkout"), DURING) < 0.005);
    assert_eq!(run.value(failures, AFTER), 0.0);
    assert!(run.value(unavailable, AFTER) < 0.005);
}

#[test]
fn disk_fill_crosses_eighty_percent_and_freeing_space_brings_it_back() {
    let used = "1 - node_filesystem_avail_bytes{instance=\"postgres-orders-eu-west-0:8080\"} / node_filesystem_size_bytes{instance=\"postgres-orders-eu-west-0:8080\"}";
    let run = fault_run(FaultKind::DiskFill {
        service: "postgres-orders".to_owned(),
        region: "eu-west".to_owned(),
        instance: 0,
        bytes_per_second: 500.0 * 1024.0 * 1024.0,
    });
    let before = run.value(used, BEFORE);
    assert!(before < 0.6, "{before}");
    assert!(run.value(used, START + 3 * MINUTE) < 0.8);
    assert!(run.value(used, DURING) > 0.8);
    let other = "1 - node_filesystem_avail_bytes{instance=\"postgres-orders-eu-west-1:8080\"} / node_filesystem_size_bytes{instance=\"postgres-orders-eu-west-1:8080\"}";
    assert!(run.value(other, DURING) < 0.6);
    let after = run.value(used, AFTER);
    assert!((after - before).abs() < 0.01, "{before} -> {after}");
}

#[test]
fn memory_leak_ends_in_oom_restarts_and_rollback_stops_them() {
    let fleet = small_fleet(1);
    let ledger = &fleet.services()[fleet.service_index("ledger").expect("ledger")];
    // An OOM kill about every 4 minutes.
    let rate = (ledger.memory_total_bytes * 0.95 - ledger.memory_base_bytes * 1.1) / 240.0;
    let run = fault_run(FaultKind::MemoryLeak {
        service: "ledger".to_owned(),
        version: "4.2.0".to_owned(),
        bytes_per_second: rate,
    });
    let rss = "max(process_resident_memory_bytes{service=\"ledger\"} / node_memory_MemTotal_bytes{service=\"ledger\"})";
    assert!(run.value(rss, BEFORE) < 0.5);
    let peak = "max(max_over_time(process_resident_memory_bytes{service=\"ledger\"}[12m]) / node_memory_MemTotal_bytes{service=\"ledger\"})";
    assert!(run.value(peak, DURING) > 0.85);
    let restarts = "sum(changes(process_start_time_seconds{service=\"ledger\"}[12m]))";
    // Deploy restarts (4 instances) plus at least two OOM kills each.
    assert!(
        run.value(restarts, DURING) >= 4.0 + 8.0,
        "{}",
        run.value(restarts, DURING)
    );
    let late = "sum(changes(process_start_time_seconds{service=\"ledger\"}[7m]))";
    assert_eq!(run.value(late, AFTER), 0.0);
    assert!(run.value(rss, AFTER) < 0.5);
}

#[test]
fn target_down_leaves_a_gap_with_up_zero_and_restart_brings_it_back() {
    let run = fault_run(FaultKind::TargetDown {
        service: "api-gateway".to_owned(),
        region: "eu-west".to_owned(),
        instance: 0,
    });
    let inst = "instance=\"api-gateway-eu-west-0:8080\"";
    assert_eq!(run.value(&format!("up{{{inst}}}"), BEFORE), 1.0);
    assert_eq!(run.value(&format!("up{{{inst}}}"), DURING), 0.0);
    // Everything but `up` went stale on the first failed scrape.
    let series = format!("count({{{inst}}})");
    let before = run.value(&series, BEFORE);
    assert!(before > 40.0, "{before}");
    assert_eq!(run.value(&series, START + MINUTE), 1.0);
    // The fleet's own rule sees it.
    let down = run.query("up == 0", DURING);
    assert_eq!(down.len(), 1);
    assert!(down[0].0.contains("api-gateway-eu-west-0"));
    // The other instance in the region takes its traffic.
    let other = "sum(rate(http_requests_total{instance=\"api-gateway-eu-west-1:8080\"}[2m]))";
    assert!(run.value(other, DURING) > 1.6 * run.value(other, BEFORE));
    assert_eq!(run.value(&format!("up{{{inst}}}"), AFTER), 1.0);
    assert_eq!(run.value(&series, AFTER), before);
}

#[test]
fn regional_outage_fails_the_region_and_failover_moves_its_traffic() {
    let run = fault_run(FaultKind::RegionalOutage {
        region: "eu-west".to_owned(),
    });
    let region_errors = |r: &str| {
        format!(
            "sum(rate(http_requests_total{{service=\"web\",region=\"{r}\",code=~\"5..\"}}[5m])) / sum(rate(http_requests_total{{service=\"web\",region=\"{r}\"}}[5m]))"
        )
    };
    let traffic =
        |r: &str| format!("sum(rate(http_requests_total{{service=\"web\",region=\"{r}\"}}[2m]))");
    assert!(run.value(&region_errors("eu-west"), BEFORE) < 0.005);
    assert!(run.value(&region_errors("eu-west"), DURING) > 0.3);
    assert!(run.value(&region_errors("us-east"), DURING) < 0.005);
    assert_eq!(run.value("count(up{region=\"eu-west\"} == 0)", DURING), 6.0);
    // After failover: no traffic in eu-west, us-east carries both regions' users.
    assert!(run.value(&traffic("eu-west"), AFTER) < 1.0);
    let us_before = run.value(&traffic("us-east"), BEFORE);
    let eu_before = run.value(&traffic("eu-west"), BEFORE);
    let us_after = run.value(&traffic("us-east"), AFTER);
    assert!(
        us_after > 0.8 * (us_before + eu_before),
        "{us_before} + {eu_before} -> {us_after}"
    );
    assert!(run.value(&region_errors("us-east"), AFTER) < 0.005);
}

#[test]
fn traffic_surge_saturates_the_least_provisioned_service_and_scale_out_restores() {
    let fleet = small_fleet(1);
    let s = scenario::build("peak-event-capacity", &fleet, T0).expect("scenario");
    let hot = s.answer.service.clone().expect("a service");
    let mut run = Run::new(fleet, s.faults.clone());
    run.step(DURING);
    let rps = "sum(rate(http_requests_total{service=\"web\"}[2m]))";
    assert!(run.value(rps, DURING) > 1.4 * run.value(rps, BEFORE));
    assert!(run.value(&cpu(&hot), BEFORE) < 0.75);
    assert!(run.value(&cpu(&hot), DURING) > 0.95);
    let shed = format!("sum(rate(http_requests_total{{service=\"{hot}\",code=\"503\"}}[5m]))");
    assert!(run.value(&shed, DURING) > 10.0);
    assert_eq!(run.apply(s.mitigation, FIX), [0]);
    run.step(AFTER);
    assert!(run.value(&cpu(&hot), AFTER) < 0.8);
    assert!(run.value(&errors(&hot), AFTER) < 0.005);
}

#[test]
fn slow_burn_fails_a_small_share_of_writes_only() {
    let run = fault_run(FaultKind::SlowBurn {
        service: "api-gateway".to_owned(),
        version: "3.0.0-rc1".to_owned(),
        error_ratio: 0.05,
    });
    let overall = run.value(&errors("api-gateway"), DURING);
    assert!((0.005..0.02).contains(&overall), "{overall}");
    let by_method = "sum by (method) (rate(http_requests_total{service=\"api-gateway\",code=\"500\"}[10m])) / sum by (method) (rate(http_requests_total{service=\"api-gateway\"}[10m]))";
    for (labels, ratio) in run.query(by_method, DURING) {
        if labels.contains("POST") {
            assert!((0.03..0.08).contains(&ratio), "{ratio}");
        } else {
            assert!(ratio < 0.002, "{labels} {ratio}");
        }
    }
    assert!(run.value(&errors("api-gateway"), AFTER) < 0.005);
}

#[test]
fn a_wrong_mitigation_changes_nothing_about_the_fault() {
    let mut run = Run::new(
        small_fleet(1),
        vec![Fault::new(
            FaultKind::BadDeploy {
                service: "checkout".to_owned(),
                version: "2.0.0".to_owned(),
                error_ratio: 0.2,
            },
            START,
        )],
    );
    let ended = run.apply(
        Mitigation::Rollback {
            service: "cart".to_owned(),
        },
        FIX,
    );
    assert!(ended.is_empty());
    run.step(AFTER);
    assert!(run.value(&errors("checkout"), AFTER) > 0.15);
    assert_eq!(run.sim.fault_status(0, AFTER), Some(FaultStatus::Active));
}

#[test]
fn a_fault_with_a_duration_ends_by_itself() {
    let fault = Fault::new(
        FaultKind::DnsFailures {
            service: "api-gateway".to_owned(),
            failure_ratio: 0.5,
        },
        START,
    )
    .lasting(5 * MINUTE);
    let mut run = Run::new(small_fleet(1), vec![fault]);
    run.step(AFTER);
    let failures = "sum(rate(dns_lookup_failures_total{service=\"api-gateway\"}[1m]))";
    assert!(run.value(failures, START + 3 * MINUTE) > 0.1);
    assert_eq!(run.value(failures, START + 7 * MINUTE), 0.0);
    assert_eq!(run.sim.fault_status(0, AFTER), Some(FaultStatus::Over));
}

#[test]
fn on_the_default_fleet_the_pool_scenario_shows_at_the_frontend_through_five_layers() {
    let fleet = tocsin_sim::Fleet::build(&tocsin_sim::FleetConfig::default()).expect("fleet");
    let s = scenario::build("misconfigured-pool", &fleet, T0).expect("scenario");
    let service = s.answer.service.clone().expect("a service");
    let path = fleet.strongest_path_to(fleet.service_index(&service).expect("service"));
    assert_eq!(path.len(), 5);
    let top = fleet.services()[path[0]].name.clone();
    let mut run = Run::new(fleet, s.faults);
    let during = T0 + scenario::BASELINE_MS + 6 * MINUTE;
    run.step(during);
    let before = run.value(&p99(&top), T0 + scenario::BASELINE_MS - MINUTE);
    let after = run.value(&p99(&top), during);
    assert!(before < 0.5 && after > 1.0, "{top} p99 {before} -> {after}");
}
