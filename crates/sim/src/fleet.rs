//! The fleet: services in six layers (frontends → APIs → domain → core → data access →
//! databases, caches and queues), each running in every region, built deterministically
//! from a seed. Every frontend reaches a store through five calls, so trouble at the bottom
//! shows at the top.

use crate::error::{Error, Result};
use crate::rng::SimRng;

/// The regions of the default fleet.
pub const DEFAULT_REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

/// Default scrape interval (milliseconds).
pub const DEFAULT_SCRAPE_INTERVAL_MS: i64 = 15_000;

/// What builds a fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    /// Seeds the fleet's shape and every sample's noise.
    pub seed: u64,
    /// Services in the fleet (at least 6: one per layer).
    pub services: usize,
    /// Regions every service runs in (Prometheus label values; at least one).
    pub regions: Vec<String>,
    /// Instances of each service in each region (1 to 16).
    pub instances_per_region: usize,
    /// External requests per second reaching each region at its daily peak.
    pub peak_rps_per_region: f64,
    /// Time between two scrapes of a target (milliseconds, at least 1000).
    pub scrape_interval_ms: i64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            services: 50,
            regions: DEFAULT_REGIONS.iter().map(|r| (*r).to_owned()).collect(),
            instances_per_region: 2,
            peak_rps_per_region: 2_000.0,
            scrape_interval_ms: DEFAULT_SCRAPE_INTERVAL_MS,
        }
    }
}

/// A service's place in the call graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Receives external traffic (layer 0).
    Frontend,
    /// Public or internal API (layer 1).
    Api,
    /// Business logic (layer 2).
    Domain,
    /// Shared core services (layer 3).
    Core,
    /// Owns a connection pool to a store (layer 4).
    DataAccess,
    /// A database (layer 5).
    Database,
    /// A cache (layer 5).
    Cache,
    /// A message queue (layer 5).
    Queue,
}

impl Role {
    /// Depth in the call graph: 0 for frontends, 5 for stores.
    pub fn layer(self) -> usize {
        match self {
            Self::Frontend => 0,
            Self::Api => 1,
            Self::Domain => 2,
            Self::Core => 3,
            Self::DataAccess => 4,
            Self::Database | Self::Cache | Self::Queue => 5,
        }
    }

    /// Whether it serves HTTP (and so emits `http_requests_total` and latency histograms).
    pub fn serves_http(self) -> bool {
        self.layer() < 5
    }

    /// The role as a word (the `tier` of the generated rules' labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Frontend => "frontend",
            Self::Api => "api",
            Self::Domain => "domain",
            Self::Core => "core",
            Self::DataAccess => "data",
            Self::Database => "database",
            Self::Cache => "cache",
            Self::Queue => "queue",
        }
    }
}

/// One HTTP route of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Route template (the `route` label).
    pub path: String,
    /// Share of the service's requests (routes of a service sum to 1).
    pub share: f64,
    /// Whether it writes (slow-burn faults hit writes only).
    pub writes: bool,
}

/// A call from one service to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    /// Index of the called service in [`Fleet::services`].
    pub service: usize,
    /// Calls made per request served.
    pub calls_per_request: f64,
}

/// One service, identical in every region.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Name (the `service` and `job` labels).
    pub name: String,
    /// Place in the call graph.
    pub role: Role,
    /// Services it calls (all one layer deeper).
    pub deps: Vec<Dependency>,
    /// HTTP routes (empty for stores).
    pub routes: Vec<Route>,
    /// Median time of its own work per request, idle (seconds).
    pub own_latency_s: f64,
    /// Requests per second one instance serves at 100% CPU.
    pub capacity_rps: f64,
    /// Share of external traffic (frontends only; 0 otherwise).
    pub external_share: f64,
    /// Version it runs before any deploy (`build_info{version}`).
    pub version: String,
    /// Connection pool size (data-access services only; 0 otherwise).
    pub pool_max: u32,
    /// Connections in use at the daily peak with the default pool (data access only).
    pub pool_peak_demand: f64,
    /// Resident memory of a fresh process (bytes).
    pub memory_base_bytes: f64,
    /// Memory of the instance's machine (bytes; the OOM limit).
    pub memory_total_bytes: f64,
    /// Size of the data filesystem (bytes).
    pub disk_size_bytes: f64,
    /// Share of that filesystem in use at start.
    pub disk_used_ratio: f64,
    /// CPU utilisation at the daily peak with default capacity (0..1).
    pub peak_utilisation: f64,
    /// Share of requests failing with 500 on a good day (a few in ten thousand).
    pub background_error_ratio: f64,
}

impl Service {
    /// Whether it holds a connection pool.
    pub fn has_pool(&self) -> bool {
        self.pool_max > 0
    }
}

/// Cores of each simulated instance (`node_cpu_seconds_total{cpu}` has one series per core).
pub const CORES: usize = 2;

/// The simulated fleet: services, regions and the call graph.
#[derive(Debug, Clone)]
pub struct Fleet {
    config: FleetConfig,
    services: Vec<Service>,
    utc_offsets_h: Vec<f64>,
}

const FRONTENDS: &[&str] = &["web", "mobile-bff", "partner-gateway", "admin-console"];
const APIS: &[&str] = &[
    "api-gateway",
    "checkout-api",
    "catalog-api",
    "account-api",
    "search-api",
    "orders-api",
    "payments-api",
];
const DOMAINS: &[&str] = &[
    "checkout",
    "cart",
    "catalog",
    "pricing",
    "inventory",
    "orders",
    "payments",
    "shipping",
    "accounts",
    "search",
    "recommendations",
    "promotions",
    "reviews",
    "notifications",
    "loyalty",
];
const CORES_NAMES: &[&str] = &[
    "ledger",
    "fraud",
    "tax",
    "identity",
    "fulfillment",
    "warehouse",
    "rating",
    "sessions",
    "media",
    "geo",
    "email",
    "sms",
];
const DATA: &[&str] = &[
    "orders-store",
    "ledger-store",
    "catalog-store",
    "inventory-store",
    "accounts-store",
    "session-store",
    "payments-store",
    "pricing-store",
    "media-store",
    "search-indexer",
    "events-writer",
    "audit-store",
];
const DATABASES: &[&str] = &[
    "postgres-orders",
    "postgres-ledger",
    "postgres-catalog",
    "postgres-accounts",
    "postgres-inventory",
    "postgres-payments",
];
const CACHES: &[&str] = &["redis-sessions", "redis-cache", "memcached-catalog"];
const QUEUES: &[&str] = &["kafka-events", "rabbitmq-jobs"];

/// Share of services in each layer (frontend … stores); 50 services give 3/5/12/10/10/10.
const LAYER_WEIGHTS: [f64; 6] = [0.06, 0.10, 0.24, 0.20, 0.20, 0.20];

fn layer_sizes(n: usize) -> [usize; 6] {
    let mut sizes = LAYER_WEIGHTS.map(|w| ((n as f64 * w) as usize).max(1));
    let mut total: usize = sizes.iter().sum();
    let mut i = 2;
    while total < n {
        sizes[i] += 1;
        total += 1;
        i = if i == 5 { 2 } else { i + 1 };
    }
    while total > n {
        // Shrink the largest deep layer; every layer keeps one service.
        let (idx, _) = sizes
            .iter()
            .enumerate()
            .skip(1)
            .max_by_key(|(_, s)| **s)
            .expect("invariant: six layers");
        if sizes[idx] == 1 {
            break;
        }
        sizes[idx] -= 1;
        total -= 1;
    }
    sizes
}

fn pick_name(list: &[&str], i: usize) -> String {
    let base = list[i % list.len()];
    match i / list.len() {
        0 => base.to_owned(),
        round => format!("{base}-{}", round + 1),
    }
}

fn known_offset(region: &str) -> Option<f64> {
    Some(match region {
        "eu-west" | "eu-central" => 0.0,
        "us-east" => -5.0,
        "us-west" => -8.0,
        "ap-south" => 5.5,
        "ap-northeast" => 9.0,
        "sa-east" => -3.0,
        _ => return None,
    })
}

fn valid_label_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Fleet {
    /// Builds the fleet `config` describes; the same config always gives the same fleet.
    pub fn build(config: &FleetConfig) -> Result<Self> {
        if config.services < 6 {
            return Err(Error::Config(format!(
                "services is {}; a fleet needs at least 6 (one per layer: frontend, api, domain, core, data access, store)",
                config.services
            )));
        }
        if config.services > 2_000 {
            return Err(Error::Config(format!(
                "services is {}; the simulator supports at most 2000",
                config.services
            )));
        }
        if config.regions.is_empty() {
            return Err(Error::Config(
                "regions is empty; name at least one region (for example eu-west)".to_owned(),
            ));
        }
        for (i, r) in config.regions.iter().enumerate() {
            if !valid_label_value(r) {
                return Err(Error::Config(format!(
                    "region {r:?} must be 1 to 64 letters, digits, '-' or '_'"
                )));
            }
            if config.regions[..i].contains(r) {
                return Err(Error::Config(format!("region {r:?} is listed twice")));
            }
        }
        if !(1..=16).contains(&config.instances_per_region) {
            return Err(Error::Config(format!(
                "instances_per_region is {}; use 1 to 16",
                config.instances_per_region
            )));
        }
        if !(config.peak_rps_per_region.is_finite() && config.peak_rps_per_region > 0.0) {
            return Err(Error::Config(format!(
                "peak_rps_per_region is {}; use a positive number of requests per second",
                config.peak_rps_per_region
            )));
        }
        if config.scrape_interval_ms < 1_000 {
            return Err(Error::Config(format!(
                "scrape_interval is {}ms; use at least 1s",
                config.scrape_interval_ms
            )));
        }
        // The shape has its own stream so that changing how samples draw noise never moves
        // the fleet's shape for a seed.
        let mut rng = SimRng::new(config.seed ^ 0x5eed_f1ee_7000_0000);
        let sizes = layer_sizes(config.services);
        let mut services = Vec::with_capacity(config.services);
        let mut layer_start = [0usize; 7];
        for layer in 0..6 {
            layer_start[layer] = services.len();
            for i in 0..sizes[layer] {
                let (role, name) = match layer {
                    0 => (Role::Frontend, pick_name(FRONTENDS, i)),
                    1 => (Role::Api, pick_name(APIS, i)),
                    2 => (Role::Domain, pick_name(DOMAINS, i)),
                    3 => (Role::Core, pick_name(CORES_NAMES, i)),
                    4 => (Role::DataAccess, pick_name(DATA, i)),
                    _ => match i % 4 {
                        0 | 2 => (Role::Database, pick_name(DATABASES, i / 2)),
                        1 => (Role::Cache, pick_name(CACHES, i / 4)),
                        _ => (Role::Queue, pick_name(QUEUES, i / 4)),
                    },
                };
                services.push(new_service(name, role, &mut rng));
            }
        }
        layer_start[6] = services.len();
        // Names must be unique: a generated suffix could collide with a listed name.
        for i in 0..services.len() {
            let mut n = 2;
            while services[..i].iter().any(|s| s.name == services[i].name) {
                services[i].name = format!("{}-x{n}", services[i].name);
                n += 1;
            }
        }
        wire(&mut services, &layer_start, &mut rng);
        let utc_offsets_h = config
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| {
                known_offset(r).unwrap_or(-(i as f64) * 24.0 / config.regions.len() as f64)
            })
            .collect();
        let mut fleet = Self {
            config: config.clone(),
            services,
            utc_offsets_h,
        };
        fleet.size_capacity(&mut rng);
        Ok(fleet)
    }

    /// The settings it was built from.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// Services in layer order (callers before the services they call).
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Regions.
    pub fn regions(&self) -> &[String] {
        &self.config.regions
    }

    /// Index of the service named `name`.
    pub fn service_index(&self, name: &str) -> Result<usize> {
        self.services
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| Error::UnknownService {
                name: name.to_owned(),
                known: self
                    .services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Index of the region named `name`.
    pub fn region_index(&self, name: &str) -> Result<usize> {
        self.config
            .regions
            .iter()
            .position(|r| r == name)
            .ok_or_else(|| Error::UnknownRegion {
                name: name.to_owned(),
                known: self.config.regions.join(", "),
            })
    }

    /// The `instance` label of an instance.
    pub fn instance_name(&self, service: usize, region: usize, index: usize) -> String {
        format!(
            "{}-{}-{index}:8080",
            self.services[service].name, self.config.regions[region]
        )
    }

    /// Hours east of UTC of a region (daily seasonality follows local time).
    pub fn utc_offset_hours(&self, region: usize) -> f64 {
        self.utc_offsets_h[region]
    }

    /// Daily traffic shape of a region at `t` (ms): 1.0 at 15:00 local, 0.35 at 03:00.
    pub fn diurnal(&self, region: usize, t: i64) -> f64 {
        let hours = t as f64 / 3_600_000.0 + self.utc_offsets_h[region];
        0.675 + 0.325 * (std::f64::consts::TAU * (hours - 9.0) / 24.0).sin()
    }

    /// Callers of a service.
    pub fn callers(&self, service: usize) -> impl Iterator<Item = (usize, &Dependency)> {
        self.services.iter().enumerate().flat_map(move |(i, s)| {
            s.deps
                .iter()
                .filter(move |d| d.service == service)
                .map(move |d| (i, d))
        })
    }

    /// The call path from a frontend down to `service` along which a slowdown of `service`
    /// shows most (highest product of calls per request), frontend first.
    pub fn strongest_path_to(&self, service: usize) -> Vec<usize> {
        // Best product of calls per request from `service` up to each caller, callers have
        // lower indices, so one backward pass suffices.
        let n = self.services.len();
        let mut best = vec![0.0f64; n];
        let mut next = vec![usize::MAX; n];
        best[service] = 1.0;
        for i in (0..service).rev() {
            for d in &self.services[i].deps {
                let v = best[d.service] * d.calls_per_request.min(1.0);
                if v > best[i] {
                    best[i] = v;
                    next[i] = d.service;
                }
            }
        }
        let start = (0..n)
            .filter(|&i| self.services[i].role == Role::Frontend && best[i] > 0.0)
            .max_by(|a, b| best[*a].total_cmp(&best[*b]));
        let Some(mut at) = start else {
            return vec![service];
        };
        let mut path = vec![at];
        while at != service {
            at = next[at];
            path.push(at);
        }
        path
    }

    /// Requests per second each service receives in a region with diurnal factor 1 and no
    /// noise (the daily peak), by service index.
    pub(crate) fn peak_rps(&self) -> Vec<f64> {
        let mut rps = vec![0.0; self.services.len()];
        for (i, s) in self.services.iter().enumerate() {
            if s.role == Role::Frontend {
                rps[i] += self.config.peak_rps_per_region * s.external_share;
            }
            for d in &s.deps {
                rps[d.service] += rps[i] * d.calls_per_request;
            }
        }
        rps
    }

    fn size_capacity(&mut self, rng: &mut SimRng) {
        let rps = self.peak_rps();
        let per_instance = self.config.instances_per_region as f64;
        // One domain service runs hotter than the rest: the one a traffic surge tips over.
        let domains: Vec<usize> = (0..self.services.len())
            .filter(|&i| self.services[i].role == Role::Domain)
            .collect();
        let hot = domains[rng.below(domains.len())];
        for (i, (s, rps)) in self.services.iter_mut().zip(&rps).enumerate() {
            let util = if i == hot { 0.6 } else { rng.range(0.2, 0.4) };
            let inst_rps = rps / per_instance;
            s.peak_utilisation = util;
            s.capacity_rps = (inst_rps / util).max(1.0);
            if s.role == Role::DataAccess {
                // A connection is held for the service's own work plus the store's reply.
                let hold = s.own_latency_s * 4.0 + 0.01;
                s.pool_peak_demand = inst_rps * hold;
                s.pool_max = ((s.pool_peak_demand / 0.35).ceil() as u32).max(10);
            }
        }
    }
}

fn new_service(name: String, role: Role, rng: &mut SimRng) -> Service {
    let own = match role {
        Role::Frontend => 0.012,
        Role::Api => 0.006,
        Role::Domain => 0.008,
        Role::Core => 0.005,
        Role::DataAccess => 0.004,
        Role::Database => 0.003,
        Role::Cache => 0.0006,
        Role::Queue => 0.0015,
    } * rng.range(0.7, 1.4);
    let resource = name
        .trim_end_matches("-api")
        .trim_end_matches("-store")
        .to_owned();
    let routes = if role.serves_http() {
        vec![
            Route {
                method: "GET",
                path: format!("/v1/{resource}/{{id}}"),
                share: 0.8,
                writes: false,
            },
            Route {
                method: "POST",
                path: format!("/v1/{resource}"),
                share: 0.2,
                writes: true,
            },
        ]
    } else {
        Vec::new()
    };
    let gib = 1024.0 * 1024.0 * 1024.0;
    let store = !role.serves_http();
    Service {
        version: format!("1.{}.{}", rng.below(20) + 1, rng.below(10)),
        own_latency_s: own,
        routes,
        deps: Vec::new(),
        capacity_rps: 0.0,
        external_share: 0.0,
        pool_max: 0,
        pool_peak_demand: 0.0,
        memory_base_bytes: (rng.range(200.0, 800.0) * 1024.0 * 1024.0).round()
            * if store { 4.0 } else { 1.0 },
        memory_total_bytes: if store { 16.0 * gib } else { 2.0 * gib },
        disk_size_bytes: if store { 500.0 * gib } else { 100.0 * gib },
        disk_used_ratio: rng.range(0.25, 0.55),
        peak_utilisation: 0.0,
        background_error_ratio: rng.range(0.000_05, 0.000_4),
        name,
        role,
    }
}

/// Wires each layer to the next: every service calls 1 to 3 services one layer down and every
/// service below the frontends has at least one caller. Data-access services call one
/// database and sometimes a cache or a queue.
fn wire(services: &mut [Service], start: &[usize; 7], rng: &mut SimRng) {
    for layer in 0..5 {
        let (lo, mid, hi) = (start[layer], start[layer + 1], start[layer + 2]);
        let next: Vec<usize> = (mid..hi).collect();
        for i in lo..mid {
            let mut chosen: Vec<usize> = Vec::new();
            if layer == 4 {
                let dbs: Vec<usize> = next
                    .iter()
                    .copied()
                    .filter(|&j| services[j].role == Role::Database)
                    .collect();
                let pool = if dbs.is_empty() { &next } else { &dbs };
                chosen.push(pool[rng.below(pool.len())]);
                for role in [Role::Cache, Role::Queue] {
                    let of: Vec<usize> = next
                        .iter()
                        .copied()
                        .filter(|&j| services[j].role == role)
                        .collect();
                    if !of.is_empty() && rng.uniform() < 0.4 {
                        chosen.push(of[rng.below(of.len())]);
                    }
                }
            } else {
                let k = 1 + rng.below(3.min(next.len()));
                while chosen.len() < k {
                    let j = next[rng.below(next.len())];
                    if !chosen.contains(&j) {
                        chosen.push(j);
                    }
                }
            }
            for j in chosen {
                let calls = rng.range(0.4, 1.2);
                services[i].deps.push(Dependency {
                    service: j,
                    calls_per_request: calls,
                });
            }
        }
        // Orphans get a caller, so every service carries traffic.
        for j in mid..hi {
            let called = (lo..mid).any(|i| services[i].deps.iter().any(|d| d.service == j));
            if !called {
                let i = lo + rng.below(mid - lo);
                let calls = rng.range(0.4, 1.2);
                services[i].deps.push(Dependency {
                    service: j,
                    calls_per_request: calls,
                });
            }
        }
    }
    let frontends = start[1] - start[0];
    for s in &mut services[start[0]..start[1]] {
        s.external_share = 1.0 / frontends as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fleet_has_fifty_services_in_six_layers_and_depth_five() {
        let fleet = Fleet::build(&FleetConfig::default()).expect("valid");
        assert_eq!(fleet.services().len(), 50);
        let per_layer: Vec<usize> = (0..6)
            .map(|l| {
                fleet
                    .services()
                    .iter()
                    .filter(|s| s.role.layer() == l)
                    .count()
            })
            .collect();
        assert_eq!(per_layer, [3, 5, 12, 10, 10, 10]);
        for (i, s) in fleet.services().iter().enumerate() {
            for d in &s.deps {
                assert_eq!(fleet.services()[d.service].role.layer(), s.role.layer() + 1);
            }
            if s.role != Role::Frontend {
                assert!(
                    fleet.callers(i).next().is_some(),
                    "{} has no caller",
                    s.name
                );
            }
        }
        let db = fleet
            .services()
            .iter()
            .position(|s| s.role == Role::DataAccess)
            .expect("a data-access service");
        let path = fleet.strongest_path_to(db);
        assert_eq!(path.len(), 5, "{path:?}");
        assert_eq!(fleet.services()[path[0]].role, Role::Frontend);
        let mut names: Vec<&str> = fleet.services().iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 50);
    }

    #[test]
    fn same_seed_same_fleet_other_seed_other_graph() {
        let a = Fleet::build(&FleetConfig::default()).expect("valid");
        let b = Fleet::build(&FleetConfig::default()).expect("valid");
        assert_eq!(a.services(), b.services());
        let c = Fleet::build(&FleetConfig {
            seed: 2,
            ..FleetConfig::default()
        })
        .expect("valid");
        assert_ne!(a.services(), c.services());
    }

    #[test]
    fn small_and_odd_sizes_keep_every_layer() {
        for n in [6, 7, 11, 19, 101] {
            let fleet = Fleet::build(&FleetConfig {
                services: n,
                ..FleetConfig::default()
            })
            .expect("valid");
            assert_eq!(fleet.services().len(), n);
            for layer in 0..6 {
                assert!(fleet.services().iter().any(|s| s.role.layer() == layer));
            }
        }
    }

    #[test]
    fn bad_settings_say_what_to_change() {
        let cases: [(FleetConfig, &str); 5] = [
            (
                FleetConfig {
                    services: 3,
                    ..FleetConfig::default()
                },
                "services is 3; a fleet needs at least 6",
            ),
            (
                FleetConfig {
                    regions: vec![],
                    ..FleetConfig::default()
                },
                "regions is empty",
            ),
            (
                FleetConfig {
                    regions: vec!["eu west".to_owned()],
                    ..FleetConfig::default()
                },
                "region \"eu west\" must be",
            ),
            (
                FleetConfig {
                    instances_per_region: 0,
                    ..FleetConfig::default()
                },
                "instances_per_region is 0; use 1 to 16",
            ),
            (
                FleetConfig {
                    scrape_interval_ms: 10,
                    ..FleetConfig::default()
                },
                "scrape_interval is 10ms; use at least 1s",
            ),
        ];
        for (config, want) in cases {
            let err = Fleet::build(&config).expect_err("invalid").to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn diurnal_peaks_in_the_afternoon_local_time() {
        let fleet = Fleet::build(&FleetConfig::default()).expect("valid");
        let eu = fleet.region_index("eu-west").expect("region");
        let h = 3_600_000;
        assert!((fleet.diurnal(eu, 15 * h) - 1.0).abs() < 1e-9);
        assert!((fleet.diurnal(eu, 3 * h) - 0.35).abs() < 1e-9);
        let us = fleet.region_index("us-east").expect("region");
        assert!((fleet.diurnal(us, 20 * h) - 1.0).abs() < 1e-9);
    }
}
