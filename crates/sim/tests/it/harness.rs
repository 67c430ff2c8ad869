//! Runs a simulation into `MemStorage` and queries it.

use tocsin_model::storage::mem::MemStorage;
use tocsin_promql::{Engine, EngineOptions, QueryLimits, Value};
use tocsin_sim::{Fault, Fleet, FleetConfig, Mitigation, Simulator};

pub(crate) const MINUTE: i64 = 60_000;
/// 2026-03-02T12:00:00Z: afternoon in eu-west, so traffic is near its peak.
pub(crate) const T0: i64 = 1_772_452_800_000;

/// A small fleet that keeps all six layers: fast enough for debug-build tests.
pub(crate) fn small_config(seed: u64) -> FleetConfig {
    FleetConfig {
        seed,
        services: 18,
        regions: vec!["eu-west".to_owned(), "us-east".to_owned()],
        instances_per_region: 2,
        ..FleetConfig::default()
    }
}

pub(crate) fn small_fleet(seed: u64) -> Fleet {
    Fleet::build(&small_config(seed)).expect("valid fleet")
}

/// A simulation with `faults`, stepped to `until`, with `mitigations` applied on the way.
pub(crate) struct Run {
    pub(crate) sim: Simulator,
    pub(crate) store: MemStorage,
    engine: Engine,
}

impl Run {
    pub(crate) fn new(fleet: Fleet, faults: Vec<Fault>) -> Self {
        let mut sim = Simulator::new(fleet, T0);
        for f in faults {
            sim.add_fault(f).expect("valid fault");
        }
        Self {
            sim,
            store: MemStorage::new(),
            engine: Engine::new(QueryLimits::default(), EngineOptions::default()),
        }
    }

    pub(crate) fn step(&mut self, to: i64) -> &mut Self {
        let report = self.sim.step(to, &self.store).expect("step");
        assert_eq!(report.refused, 0);
        self
    }

    pub(crate) fn apply(&mut self, m: Mitigation, at: i64) -> Vec<usize> {
        self.step(at - 1);
        self.sim.apply(m, at).expect("valid mitigation")
    }

    /// An instant query's samples: labels as text and value.
    pub(crate) fn query(&self, q: &str, t: i64) -> Vec<(String, f64)> {
        let result = self
            .engine
            .instant_query(&self.store, q, t)
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        match result.value {
            Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
            Value::Scalar(p) => vec![(String::new(), p.v)],
            other => panic!("{q}: unexpected {}", other.type_name()),
        }
    }

    /// A query that must return exactly one number.
    pub(crate) fn value(&self, q: &str, t: i64) -> f64 {
        let v = self.query(q, t);
        assert_eq!(v.len(), 1, "{q} at {t}: {v:?}");
        v[0].1
    }
}
