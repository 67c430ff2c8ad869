//! The drill catalogue: named fault schedules for a fleet, each with a briefing, the answer
//! key (faulty service and cause), the mitigation that ends it, and what a strong responder
//! would check. Targets are chosen from the fleet's shape, so a scenario works on any fleet
//! and the same fleet seed always gives the same answer key.

use tocsin_model::Timestamp;

use crate::error::{Error, Result};
use crate::fault::{Fault, FaultKind, Mitigation};
use crate::fleet::{Fleet, Role};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Faults start this long after the drill's start, so there is a normal baseline to compare.
pub const BASELINE_MS: i64 = 10 * MINUTE;

/// A catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioInfo {
    /// Name for `tocsin drill run NAME`.
    pub name: &'static str,
    /// One line.
    pub title: &'static str,
}

/// The catalogue, in the order `tocsin drill list` shows it.
pub const CATALOGUE: &[ScenarioInfo] = &[
    ScenarioInfo {
        name: "intermittent-500s",
        title: "Intermittent 500s from one instance",
    },
    ScenarioInfo {
        name: "cpu-100",
        title: "CPU at 100% on a core service",
    },
    ScenarioInfo {
        name: "dns-failures",
        title: "DNS resolution failures",
    },
    ScenarioInfo {
        name: "misconfigured-pool",
        title: "Latency spike traced through 5 layers to a misconfigured connection pool",
    },
    ScenarioInfo {
        name: "disk-over-80",
        title: "Database disk filling past 80%",
    },
    ScenarioInfo {
        name: "budget-before-launch",
        title: "Error budget exhausted before a launch",
    },
    ScenarioInfo {
        name: "peak-event-capacity",
        title: "Traffic surge ahead of a sale event",
    },
    ScenarioInfo {
        name: "bad-deploy",
        title: "A release fails requests",
    },
    ScenarioInfo {
        name: "memory-leak",
        title: "A release leaks memory into a crash loop",
    },
    ScenarioInfo {
        name: "metric-gap",
        title: "A scrape target goes dark",
    },
    ScenarioInfo {
        name: "regional-outage",
        title: "A region's data tier becomes unreachable",
    },
];

/// What a strong responder would look at, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Why this query matters.
    pub why: String,
    /// PromQL over the simulated series.
    pub query: String,
}

/// The answer a trainee should reach.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerKey {
    /// The faulty service (none for a regional outage).
    pub service: Option<String>,
    /// Instance or region, where the fault is that narrow (`eu-west/1`, `us-east`).
    pub location: Option<String>,
    /// The cause in words.
    pub cause: String,
    /// The fault's kind (`pool_exhaustion`, …).
    pub kind: &'static str,
}

/// A scenario built for a fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Catalogue name.
    pub name: &'static str,
    /// One line.
    pub title: &'static str,
    /// What the on-call is told when the drill starts (symptoms, never the cause).
    pub briefing: String,
    /// The fault schedule.
    pub faults: Vec<Fault>,
    /// The answer key.
    pub answer: AnswerKey,
    /// The mitigation that ends the fault.
    pub mitigation: Mitigation,
    /// What a strong responder would check.
    pub checks: Vec<Check>,
    /// How much history to simulate before the drill's start (backfill), so windows and
    /// budgets have data.
    pub history_ms: i64,
}

/// Builds scenario `name` for `fleet`, with the drill starting at `start` (ms).
pub fn build(name: &str, fleet: &Fleet, start: Timestamp) -> Result<Scenario> {
    let info = CATALOGUE
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::UnknownScenario {
            name: name.to_owned(),
            known: CATALOGUE
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let at = start + BASELINE_MS;
    let region = fleet.regions()[0].clone();
    let last = fleet.config().instances_per_region - 1;
    let svc = |i: usize| fleet.services()[i].name.clone();
    let busiest = |role: Role| busiest_of(fleet, role);
    let mut history_ms = HOUR;
    let (kind, briefing, cause, location, checks) = match info.name {
        "intermittent-500s" => {
            let s = svc(busiest(Role::Domain));
            let kind = FaultKind::IntermittentErrors {
                service: s.clone(),
                region: region.clone(),
                instance: last,
                error_ratio: 0.4,
            };
            (
                kind,
                "Customers report occasional \"something went wrong\" pages; retrying usually works.".to_owned(),
                format!("instance {last} of {s} in {region} fails requests in bursts (a bad host); the other instances are healthy"),
                Some(format!("{region}/{last}")),
                vec![
                    check("Which services return 5xx?", "topk(5, sum by (service) (rate(http_requests_total{code=~\"5..\"}[5m])))"),
                    check("Is it one instance or all of them?", &format!("sum by (instance) (rate(http_requests_total{{service=\"{s}\",code=\"500\"}}[5m])) / sum by (instance) (rate(http_requests_total{{service=\"{s}\"}}[5m]))")),
                    check("Did a deploy happen?", &format!("count by (version) (build_info{{service=\"{s}\"}})")),
                ],
            )
        }
        "cpu-100" => {
            let i = busiest(Role::Core);
            let s = svc(i);
            // Enough extra work per request to pin CPU even at night.
            let factor = (1.6 / (fleet.services()[i].peak_utilisation * 0.35)).clamp(2.0, 100.0);
            let kind = FaultKind::CpuSaturation {
                service: s.clone(),
                demand_factor: (factor * 10.0).round() / 10.0,
            };
            (
                kind,
                "Checkout pages are slow and some requests fail with 503.".to_owned(),
                format!(
                    "{s} needs several times more CPU per request (an expensive query pattern) and is pinned at 100%, shedding load"
                ),
                None,
                vec![
                    check(
                        "Where is CPU saturated?",
                        "topk(5, 1 - avg by (service) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
                    ),
                    check(
                        "Which services shed load (503)?",
                        "sum by (service) (rate(http_requests_total{code=\"503\"}[5m]))",
                    ),
                    check(
                        "Did traffic change, or cost per request?",
                        &format!(
                            "sum(rate(http_requests_total{{service=\"{s}\"}}[5m])) and sum(rate(process_cpu_seconds_total{{service=\"{s}\"}}[5m]))"
                        ),
                    ),
                ],
            )
        }
        "dns-failures" => {
            let s = svc(busiest(Role::Api));
            let kind = FaultKind::DnsFailures {
                service: s.clone(),
                failure_ratio: 0.5,
            };
            (
                kind,
                "Error rates on the public API rose; nothing was deployed.".to_owned(),
                format!(
                    "{s} fails half its DNS lookups after a resolver configuration change, so calls to its dependencies fail and it answers 503"
                ),
                None,
                vec![
                    check(
                        "Which service fails, and with which code?",
                        "sum by (service, code) (rate(http_requests_total{code=~\"5..\"}[5m]))",
                    ),
                    check(
                        "Are its dependencies failing, or its calls to them?",
                        &format!(
                            "sum by (dependency) (rate(dependency_errors_total{{service=\"{s}\"}}[5m]))"
                        ),
                    ),
                    check(
                        "Does name resolution fail?",
                        &format!(
                            "rate(dns_lookup_failures_total{{service=\"{s}\"}}[5m]) / rate(dns_lookups_total{{service=\"{s}\"}}[5m])"
                        ),
                    ),
                ],
            )
        }
        "misconfigured-pool" => {
            let i = deepest_pool(fleet);
            let s = svc(i);
            let path: Vec<String> = fleet.strongest_path_to(i).into_iter().map(svc).collect();
            let max = ((fleet.services()[i].pool_peak_demand * 0.15).floor() as u32).max(1);
            let kind = FaultKind::PoolExhaustion {
                service: s.clone(),
                max_connections: max,
            };
            let top = path.first().cloned().unwrap_or_else(|| s.clone());
            let mut checks = vec![check(
                "How slow is the frontend, at the tail?",
                &format!(
                    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{service=\"{top}\"}}[5m])))"
                ),
            )];
            for w in path.windows(2) {
                checks.push(check(
                    &format!("{} is slow because of which dependency? ({} is next)", w[0], w[1]),
                    &format!("histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{{service=~\"{}|{}\"}}[5m])))", w[0], w[1]),
                ));
            }
            checks.push(check(
                "Is the connection pool exhausted?",
                &format!("db_pool_connections_in_use{{service=\"{s}\"}} / db_pool_connections_max{{service=\"{s}\"}} and rate(db_pool_wait_seconds_total{{service=\"{s}\"}}[5m])"),
            ));
            (
                kind,
                format!("{top} p99 latency alerts are firing; its own CPU and errors look normal."),
                format!(
                    "the connection pool of {s} was set to {max} connections; requests queue for a connection and the wait propagates up {} ({} layers)",
                    path.join(" → "),
                    path.len()
                ),
                None,
                checks,
            )
        }
        "disk-over-80" => {
            let i = fleet
                .services()
                .iter()
                .position(|s| s.role == Role::Database)
                .unwrap_or(fleet.services().len() - 1);
            let s = &fleet.services()[i];
            // Crosses 80% about 15 minutes after the start.
            let rate = ((0.8 - s.disk_used_ratio) * s.disk_size_bytes / 900.0).max(1e6);
            let name = s.name.clone();
            let kind = FaultKind::DiskFill {
                service: name.clone(),
                region: region.clone(),
                instance: 0,
                bytes_per_second: rate.round(),
            };
            (
                kind,
                "A disk usage ticket fired for a database host.".to_owned(),
                format!("runaway logging on {name} {region}/0 fills its data filesystem"),
                Some(format!("{region}/0")),
                vec![
                    check(
                        "Which filesystem, how full?",
                        "topk(5, 1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)",
                    ),
                    check(
                        "When will it be full?",
                        &format!(
                            "predict_linear(node_filesystem_avail_bytes{{service=\"{name}\"}}[30m], 4 * 3600)"
                        ),
                    ),
                ],
            )
        }
        "budget-before-launch" => {
            let s = svc(busiest(Role::Api));
            history_ms = 4 * DAY;
            let kind = FaultKind::SlowBurn {
                service: s.clone(),
                version: "3.0.0-rc1".to_owned(),
                error_ratio: 0.05,
            };
            let fault = Fault::new(kind, start - 3 * DAY - 12 * HOUR);
            return Ok(finish(
                info,
                vec![fault.clone()],
                format!("The {s} team wants to launch a new feature today. Is it safe?"),
                AnswerKey {
                    service: Some(s.clone()),
                    location: None,
                    cause: format!(
                        "release 3.0.0-rc1 of {s}, out for three and a half days, fails 5% of writes; the 30-day error budget is spent, so the launch should wait"
                    ),
                    kind: fault.kind.name(),
                },
                vec![
                    check(
                        "How much error budget is left?",
                        &format!(
                            "1 - (sum(increase(http_requests_total{{service=\"{s}\",code=~\"5..\"}}[30d])) / sum(increase(http_requests_total{{service=\"{s}\"}}[30d]))) / 0.001"
                        ),
                    ),
                    check(
                        "Since when, and which requests?",
                        &format!(
                            "sum by (route, method) (rate(http_requests_total{{service=\"{s}\",code=\"500\"}}[1h]))"
                        ),
                    ),
                    check(
                        "Which release?",
                        &format!("count by (version) (build_info{{service=\"{s}\"}})"),
                    ),
                ],
                history_ms,
            ));
        }
        "peak-event-capacity" => {
            let i = hottest(fleet);
            let s = svc(i);
            let multiple = (1.35 / fleet.services()[i].peak_utilisation).clamp(1.5, 10.0);
            let kind = FaultKind::TrafficSurge {
                service: s.clone(),
                peak_multiple: (multiple * 100.0).round() / 100.0,
                ramp_ms: 10 * MINUTE,
            };
            (
                kind,
                "Marketing launched the sale early; traffic is climbing fast.".to_owned(),
                format!(
                    "traffic at {multiple:.2}× the daily peak exceeds the capacity of {s}, the least provisioned service; it sheds load"
                ),
                None,
                vec![
                    check(
                        "How much traffic, compared to yesterday?",
                        "sum(rate(http_requests_total{service=~\".+\"}[5m])) / sum(rate(http_requests_total[5m] offset 1d))",
                    ),
                    check(
                        "Which service runs out of CPU first?",
                        "topk(5, 1 - avg by (service) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
                    ),
                    check(
                        "Who sheds load?",
                        "sum by (service) (rate(http_requests_total{code=\"503\"}[5m]))",
                    ),
                ],
            )
        }
        "bad-deploy" => {
            let s = svc(busiest(Role::Domain));
            let kind = FaultKind::BadDeploy {
                service: s.clone(),
                version: "2.0.0".to_owned(),
                error_ratio: 0.2,
            };
            (
                kind,
                "Error rate alerts fired right after the afternoon release train.".to_owned(),
                format!("release 2.0.0 of {s} fails a fifth of requests"),
                None,
                vec![
                    check(
                        "Which service fails?",
                        "topk(5, sum by (service) (rate(http_requests_total{code=\"500\"}[5m])))",
                    ),
                    check(
                        "Did the version change when errors began?",
                        &format!("count by (version) (build_info{{service=\"{s}\"}})"),
                    ),
                ],
            )
        }
        "memory-leak" => {
            let i = busiest(Role::Core);
            let s = svc(i);
            let svc_ref = &fleet.services()[i];
            // An OOM kill about every 20 minutes.
            let rate =
                (svc_ref.memory_total_bytes * 0.95 - svc_ref.memory_base_bytes * 1.1) / 1200.0;
            let kind = FaultKind::MemoryLeak {
                service: s.clone(),
                version: "4.2.0".to_owned(),
                bytes_per_second: rate.round(),
            };
            (
                kind,
                "A crash-loop alert fired; requests in flight during restarts fail.".to_owned(),
                format!("release 4.2.0 of {s} leaks memory until each instance is OOM-killed"),
                None,
                vec![
                    check(
                        "Which processes restart?",
                        "changes(process_start_time_seconds[30m]) > 0",
                    ),
                    check(
                        "Does memory climb before each restart?",
                        &format!("process_resident_memory_bytes{{service=\"{s}\"}}"),
                    ),
                    check(
                        "Which release?",
                        &format!("count by (version) (build_info{{service=\"{s}\"}})"),
                    ),
                ],
            )
        }
        "metric-gap" => {
            let s = svc(busiest(Role::Api));
            let kind = FaultKind::TargetDown {
                service: s.clone(),
                region: region.clone(),
                instance: 0,
            };
            (
                kind,
                "Dashboards for one API show a gap; users have not complained.".to_owned(),
                format!(
                    "instance 0 of {s} in {region} hung: scrapes fail and the load balancer routes around it"
                ),
                Some(format!("{region}/0")),
                vec![
                    check("Which targets are down?", "up == 0"),
                    check(
                        "Did the others pick up its traffic?",
                        &format!(
                            "sum by (instance) (rate(http_requests_total{{service=\"{s}\"}}[5m]))"
                        ),
                    ),
                ],
            )
        }
        "regional-outage" => {
            let kind = FaultKind::RegionalOutage {
                region: region.clone(),
            };
            (
                kind,
                format!("Every SLO in {region} is burning at once."),
                format!("the data tier of {region} (databases, caches, queues) is unreachable"),
                Some(region),
                vec![
                    check(
                        "Which region fails?",
                        "sum by (region) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (region) (rate(http_requests_total[5m]))",
                    ),
                    check(
                        "Which targets are down?",
                        "count by (region, service) (up == 0)",
                    ),
                ],
            )
        }
        other => {
            // A catalogue entry without a builder: report it rather than panic.
            return Err(Error::UnknownScenario {
                name: other.to_owned(),
                known: "a catalogue entry without a builder (a bug in tocsin-sim)".to_owned(),
            });
        }
    };
    let fault = Fault::new(kind, at);
    let answer = AnswerKey {
        service: fault.kind.service().map(str::to_owned),
        location,
        cause,
        kind: fault.kind.name(),
    };
    Ok(finish(
        info,
        vec![fault],
        briefing,
        answer,
        checks,
        history_ms,
    ))
}

fn finish(
    info: &ScenarioInfo,
    faults: Vec<Fault>,
    briefing: String,
    answer: AnswerKey,
    checks: Vec<Check>,
    history_ms: i64,
) -> Scenario {
    let mitigation = faults[0].kind.right_mitigation();
    Scenario {
        name: info.name,
        title: info.title,
        briefing,
        faults,
        answer,
        mitigation,
        checks,
        history_ms,
    }
}

fn check(why: &str, query: &str) -> Check {
    Check {
        why: why.to_owned(),
        query: query.to_owned(),
    }
}

/// The service of `role` with the most peak traffic.
fn busiest_of(fleet: &Fleet, role: Role) -> usize {
    let rps = fleet.peak_rps();
    (0..fleet.services().len())
        .filter(|&i| fleet.services()[i].role == role)
        .max_by(|a, b| rps[*a].total_cmp(&rps[*b]))
        .expect("invariant: every fleet has every layer")
}

/// The data-access service whose slowness reaches a frontend most strongly.
fn deepest_pool(fleet: &Fleet) -> usize {
    (0..fleet.services().len())
        .filter(|&i| fleet.services()[i].has_pool())
        .max_by(|a, b| {
            let reach = |i: usize| {
                let path = fleet.strongest_path_to(i);
                let strength: f64 = path
                    .windows(2)
                    .map(|w| {
                        fleet.services()[w[0]]
                            .deps
                            .iter()
                            .find(|d| d.service == w[1])
                            .map_or(0.0, |d| d.calls_per_request.min(1.0))
                    })
                    .product();
                (path.len(), strength)
            };
            let (la, sa) = reach(*a);
            let (lb, sb) = reach(*b);
            la.cmp(&lb).then(sa.total_cmp(&sb))
        })
        .expect("invariant: every fleet has a data-access layer")
}

/// The service with the highest CPU at the daily peak.
fn hottest(fleet: &Fleet) -> usize {
    (0..fleet.services().len())
        .max_by(|a, b| {
            fleet.services()[*a]
                .peak_utilisation
                .total_cmp(&fleet.services()[*b].peak_utilisation)
        })
        .expect("invariant: a fleet has services")
}
