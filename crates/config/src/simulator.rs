//! `simulator:`: a simulated fleet whose metrics the server writes into its own store (the
//! demo and drills). Fault kinds and their fields mirror `tocsin_sim::FaultKind`; this crate
//! depends on no other tocsin crate, so it checks names and ranges here and the server checks
//! that services, regions and instances exist in the fleet when it builds it.

use serde::{Deserialize, Serialize};

use crate::Duration;

/// The fault kinds the simulator knows, with the fields each takes (besides `kind`, `after`
/// and `duration`), in the order the docs list them.
pub const FAULT_KINDS: [(&str, &[&str]); 11] = [
    ("bad_deploy", &["service", "version", "error_ratio"]),
    ("cpu_saturation", &["service", "demand_factor"]),
    (
        "intermittent_errors",
        &["service", "region", "instance", "error_ratio"],
    ),
    ("pool_exhaustion", &["service", "max_connections"]),
    ("dns_failures", &["service", "failure_ratio"]),
    (
        "disk_fill",
        &["service", "region", "instance", "bytes_per_second"],
    ),
    ("memory_leak", &["service", "version", "bytes_per_second"]),
    ("target_down", &["service", "region", "instance"]),
    ("regional_outage", &["region"]),
    ("traffic_surge", &["service", "peak_multiple", "ramp"]),
    ("slow_burn", &["service", "version", "error_ratio"]),
];

/// Most simulated history the server backfills at start (a week of the default fleet is
/// about 620 million samples; more is a mistake, not a demo).
pub const MAX_HISTORY: Duration = Duration::from_millis(7 * 24 * 3600 * 1000);

/// Most faults one configuration schedules.
pub const MAX_FAULTS: usize = 100;

/// `simulator:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSimulatorConfig")]
pub struct SimulatorConfig {
    /// Seeds the fleet's shape and every sample's noise.
    pub seed: u64,
    /// Services in the fleet (at least 6).
    pub services: usize,
    /// Regions every service runs in.
    pub regions: Vec<String>,
    /// Instances of each service per region (1 to 16).
    pub instances_per_region: usize,
    /// Time between two simulated scrapes (at least 1s).
    pub scrape_interval: Duration,
    /// Simulated history written at start, before real time.
    pub history: Duration,
    /// Faults, scheduled relative to the server's start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultConfig>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            services: 50,
            regions: ["eu-west", "us-east", "ap-south"]
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            instances_per_region: 2,
            scrape_interval: Duration::from_secs(15),
            history: Duration::from_secs(2 * 3600),
            faults: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimulatorConfig {
    seed: Option<u64>,
    services: Option<usize>,
    regions: Option<Vec<String>>,
    instances_per_region: Option<usize>,
    scrape_interval: Option<Duration>,
    history: Option<Duration>,
    #[serde(default)]
    faults: Vec<FaultConfig>,
}

impl TryFrom<RawSimulatorConfig> for SimulatorConfig {
    type Error = String;

    fn try_from(raw: RawSimulatorConfig) -> Result<Self, Self::Error> {
        let defaults = Self::default();
        let services = raw.services.unwrap_or(defaults.services);
        if !(6..=1000).contains(&services) {
            return Err(format!(
                "simulator: services is {services}; use 6 (one per layer) to 1000"
            ));
        }
        let regions = raw.regions.unwrap_or(defaults.regions);
        if regions.is_empty() {
            return Err("simulator: regions is empty; name at least one region".to_owned());
        }
        for (i, region) in regions.iter().enumerate() {
            if region.is_empty() || region.chars().any(char::is_whitespace) {
                return Err(format!(
                    "simulator: region {region:?} must be non-empty and without spaces (it is a label value)"
                ));
            }
            if regions[..i].contains(region) {
                return Err(format!("simulator: region {region:?} is listed twice"));
            }
        }
        let instances_per_region = raw
            .instances_per_region
            .unwrap_or(defaults.instances_per_region);
        if !(1..=16).contains(&instances_per_region) {
            return Err(format!(
                "simulator: instances_per_region is {instances_per_region}; use 1 to 16"
            ));
        }
        let scrape_interval = raw.scrape_interval.unwrap_or(defaults.scrape_interval);
        if scrape_interval < Duration::from_secs(1) {
            return Err(format!(
                "simulator: scrape_interval {scrape_interval} is below 1s; use 1s or more"
            ));
        }
        let history = raw.history.unwrap_or(defaults.history);
        if history > MAX_HISTORY {
            return Err(format!(
                "simulator: history {history} is more than {MAX_HISTORY}; backfill at most a week"
            ));
        }
        if raw.faults.len() > MAX_FAULTS {
            return Err(format!(
                "simulator: {} faults; schedule at most {MAX_FAULTS}",
                raw.faults.len()
            ));
        }
        Ok(Self {
            seed: raw.seed.unwrap_or(defaults.seed),
            services,
            regions,
            instances_per_region,
            scrape_interval,
            history,
            faults: raw.faults,
        })
    }
}

/// One scheduled fault: its `kind` (a `tocsin_sim::FaultKind` name), when it starts and ends,
/// and the kind's fields (only those; see [`FAULT_KINDS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawFaultConfig")]
pub struct FaultConfig {
    /// The kind, as `FaultKind::name()` spells it (`bad_deploy`, …).
    pub kind: String,
    /// Start, after the server starts.
    pub after: Duration,
    /// How long it lasts; absent: until mitigated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// The service at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The region (instance faults, regional outages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The instance index within its service and region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<usize>,
    /// The version a deploy fault rolls out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Share of requests failing (0..1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_ratio: Option<f64>,
    /// CPU cost per request relative to normal (> 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demand_factor: Option<f64>,
    /// The misconfigured pool size (≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Share of DNS lookups failing (0..1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ratio: Option<f64>,
    /// Growth of disk use or memory (bytes per second, > 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<f64>,
    /// External traffic as a multiple of the daily peak (> 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_multiple: Option<f64>,
    /// Time a traffic surge takes to reach its peak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp: Option<Duration>,
}

// Every float is checked finite when loaded, so equality is an equivalence.
impl Eq for FaultConfig {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaultConfig {
    kind: String,
    after: Option<Duration>,
    duration: Option<Duration>,
    service: Option<String>,
    region: Option<String>,
    instance: Option<usize>,
    version: Option<String>,
    error_ratio: Option<f64>,
    demand_factor: Option<f64>,
    max_connections: Option<u32>,
    failure_ratio: Option<f64>,
    bytes_per_second: Option<f64>,
    peak_multiple: Option<f64>,
    ramp: Option<Duration>,
}

impl TryFrom<RawFaultConfig> for FaultConfig {
    type Error = String;

    fn try_from(raw: RawFaultConfig) -> Result<Self, Self::Error> {
        let Some((kind, fields)) = FAULT_KINDS.iter().find(|(k, _)| *k == raw.kind) else {
            let known: Vec<&str> = FAULT_KINDS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "simulator fault kind {:?} is unknown; use one of: {}",
                raw.kind,
                known.join(", ")
            ));
        };
        let given: [(&str, bool); 11] = [
            ("service", raw.service.is_some()),
            ("region", raw.region.is_some()),
            ("instance", raw.instance.is_some()),
            ("version", raw.version.is_some()),
            ("error_ratio", raw.error_ratio.is_some()),
            ("demand_factor", raw.demand_factor.is_some()),
            ("max_connections", raw.max_connections.is_some()),
            ("failure_ratio", raw.failure_ratio.is_some()),
            ("bytes_per_second", raw.bytes_per_second.is_some()),
            ("peak_multiple", raw.peak_multiple.is_some()),
            ("ramp", raw.ramp.is_some()),
        ];
        let wanted = fields.join(", ");
        for (field, present) in given {
            let needed = fields.contains(&field);
            if present && !needed {
                return Err(format!(
                    "simulator fault {kind}: field {field} does not apply to it; its fields are {wanted}"
                ));
            }
            if needed && !present {
                return Err(format!(
                    "simulator fault {kind}: field {field} is missing; its fields are {wanted}"
                ));
            }
        }
        let ratio = |name: &str, v: Option<f64>| match v {
            Some(r) if !(r.is_finite() && r > 0.0 && r <= 1.0) => Err(format!(
                "simulator fault {kind}: {name} {r} must be above 0 and at most 1"
            )),
            _ => Ok(()),
        };
        ratio("error_ratio", raw.error_ratio)?;
        ratio("failure_ratio", raw.failure_ratio)?;
        let above = |name: &str, v: Option<f64>, min: f64| match v {
            Some(x) if !(x.is_finite() && x > min) => Err(format!(
                "simulator fault {kind}: {name} {x} must be a number above {min}"
            )),
            _ => Ok(()),
        };
        above("demand_factor", raw.demand_factor, 1.0)?;
        above("peak_multiple", raw.peak_multiple, 1.0)?;
        above("bytes_per_second", raw.bytes_per_second, 0.0)?;
        if raw.max_connections == Some(0) {
            return Err(format!(
                "simulator fault {kind}: max_connections must be at least 1"
            ));
        }
        for (name, value) in [("service", &raw.service), ("version", &raw.version)] {
            if value.as_deref().is_some_and(str::is_empty) {
                return Err(format!("simulator fault {kind}: {name} is empty"));
            }
        }
        if raw.duration.is_some_and(Duration::is_zero) {
            return Err(format!(
                "simulator fault {kind}: duration is 0; leave it out to last until mitigated"
            ));
        }
        Ok(Self {
            kind: (*kind).to_owned(),
            after: raw.after.unwrap_or_default(),
            duration: raw.duration,
            service: raw.service,
            region: raw.region,
            instance: raw.instance,
            version: raw.version,
            error_ratio: raw.error_ratio,
            demand_factor: raw.demand_factor,
            max_connections: raw.max_connections,
            failure_ratio: raw.failure_ratio,
            bytes_per_second: raw.bytes_per_second,
            peak_multiple: raw.peak_multiple,
            ramp: raw.ramp,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn a_full_section_loads_with_defaults_filled_in() {
        let config = Config::parse(
            "t.yml",
            "simulator:\n  seed: 7\n  history: 30m\n  faults:\n    - kind: bad_deploy\n      after: 30s\n      service: checkout-api\n      version: v2.4.1\n      error_ratio: 0.6\n",
        )
        .unwrap();
        let sim = config.simulator.unwrap();
        assert_eq!(sim.seed, 7);
        assert_eq!(sim.services, 50);
        assert_eq!(sim.regions.len(), 3);
        assert_eq!(sim.history.as_millis(), 30 * 60 * 1000);
        assert_eq!(sim.faults[0].kind, "bad_deploy");
        assert_eq!(sim.faults[0].after.as_millis(), 30_000);
        assert_eq!(sim.faults[0].duration, None);
        assert_eq!(sim.faults[0].error_ratio, Some(0.6));
    }

    #[test]
    fn absent_section_means_no_simulator() {
        assert!(Config::parse("t.yml", "").unwrap().simulator.is_none());
    }

    #[test]
    fn an_unknown_kind_lists_the_valid_ones_with_its_location() {
        let err = Config::parse(
            "t.yml",
            "simulator:\n  faults:\n    - kind: meteor\n      after: 1m\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("t.yml:3:"), "{text}");
        assert!(text.contains("\"meteor\" is unknown"), "{text}");
        assert!(text.contains("bad_deploy, cpu_saturation"), "{text}");
        assert!(text.contains("slow_burn"), "{text}");
    }

    #[test]
    fn fields_must_fit_the_kind() {
        let missing = Config::parse(
            "t.yml",
            "simulator:\n  faults:\n    - {kind: bad_deploy, service: web, error_ratio: 0.5}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("field version is missing"), "{missing}");
        assert!(
            missing.contains("service, version, error_ratio"),
            "{missing}"
        );
        let foreign = Config::parse(
            "t.yml",
            "simulator:\n  faults:\n    - {kind: regional_outage, region: eu-west, service: web}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            foreign.contains("field service does not apply"),
            "{foreign}"
        );
        let unknown = Config::parse(
            "t.yml",
            "simulator:\n  faults:\n    - {kind: regional_outage, region: eu-west, colour: red}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("colour"), "{unknown}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for (yaml, expected) in [
            (
                "simulator:\n  faults:\n    - {kind: dns_failures, service: web, failure_ratio: 1.5}\n",
                "failure_ratio 1.5 must be above 0 and at most 1",
            ),
            ("simulator:\n  services: 3\n", "services is 3"),
            ("simulator:\n  instances_per_region: 0\n", "use 1 to 16"),
            ("simulator:\n  scrape_interval: 500ms\n", "below 1s"),
            ("simulator:\n  history: 8d\n", "at most a week"),
            ("simulator:\n  regions: [a, a]\n", "listed twice"),
            (
                "simulator:\n  faults:\n    - {kind: cpu_saturation, service: web, demand_factor: 0.5}\n",
                "demand_factor 0.5 must be a number above 1",
            ),
        ] {
            let err = Config::parse("t.yml", yaml).unwrap_err().to_string();
            assert!(err.contains(expected), "{yaml}: {err}");
        }
    }
}
