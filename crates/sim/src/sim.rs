//! The driver: scrapes the simulated fleet at its interval and writes every sample into any
//! [`Appendable`], in real time, accelerated, or as fast as it can (backfill).

use tocsin_model::Timestamp;
use tocsin_model::storage::Appendable;

use crate::emit::{Appended, InstanceSeries};
use crate::error::{Error, Result};
use crate::fault::{Fault, FaultKind, FaultStatus, Mitigation};
use crate::fleet::{CORES, Fleet, Role};
use crate::physics::{Applied, Effects, FaultEntry, Flow, flows};
use crate::rng::SimRng;

/// Upper bounds of the latency histograms (Prometheus's default buckets).
const BUCKETS: [(f64, &str); 11] = [
    (0.005, "0.005"),
    (0.01, "0.01"),
    (0.025, "0.025"),
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (5.0, "5"),
    (10.0, "10"),
];

/// Share of requests answered 404 (clients asking for what does not exist).
const NOT_FOUND_RATIO: f64 = 0.003;

/// What a call to [`Simulator::step`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Scrapes of the whole fleet simulated.
    pub scrapes: u64,
    /// Samples the store accepted.
    pub samples: u64,
    /// Samples the store refused (out of order, too old; each logged at DEBUG).
    pub refused: u64,
}

/// How simulated time follows the wall clock: `sim = sim_origin + (wall - wall_origin) ×
/// speed`. Speed 1 is real time; 60 runs an hour a minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    sim_origin: Timestamp,
    wall_origin: Timestamp,
    speed: f64,
}

impl Pace {
    /// Simulated time starts at `sim_origin` when the wall clock reads `wall_origin`.
    pub fn new(sim_origin: Timestamp, wall_origin: Timestamp, speed: f64) -> Result<Self> {
        if !(speed.is_finite() && speed > 0.0 && speed <= 100_000.0) {
            return Err(Error::Config(format!(
                "speed {speed} must be above 0 and at most 100000 (1 is real time)"
            )));
        }
        Ok(Self {
            sim_origin,
            wall_origin,
            speed,
        })
    }

    /// Real time from now: simulated and wall time agree.
    pub fn real_time(now: Timestamp) -> Self {
        Self {
            sim_origin: now,
            wall_origin: now,
            speed: 1.0,
        }
    }

    /// Simulated time when the wall clock reads `wall`.
    pub fn sim_time(&self, wall: Timestamp) -> Timestamp {
        let elapsed = (wall - self.wall_origin).max(0) as f64 * self.speed;
        self.sim_origin.saturating_add(elapsed as i64)
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

/// A running simulation of a [`Fleet`].
#[derive(Debug)]
pub struct Simulator {
    fleet: Fleet,
    rng: SimRng,
    interval: i64,
    next: Timestamp,
    last: Option<Timestamp>,
    faults: Vec<FaultEntry>,
    applied: Vec<Applied>,
    /// Traffic noise per service and region (AR(1), unit variance).
    noise_z: Vec<f64>,
    queue_depth: Vec<f64>,
    instances: Vec<InstanceSeries>,
    /// One noise stream per instance: a fault on one instance (a down target draws nothing)
    /// leaves every other instance's samples unchanged.
    instance_rng: Vec<SimRng>,
    store: Option<usize>,
}

impl Simulator {
    /// A simulation of `fleet` whose first scrape is at `start` (ms).
    pub fn new(fleet: Fleet, start: Timestamp) -> Self {
        let regions = fleet.regions().len();
        let per = fleet.config().instances_per_region;
        let mut instances = Vec::with_capacity(fleet.services().len() * regions * per);
        for (s, svc) in fleet.services().iter().enumerate() {
            for r in 0..regions {
                for i in 0..per {
                    // Processes were started at staggered times before the simulation.
                    let started =
                        start / 1000 - 86_400 - ((s * 31 + r * 7 + i * 3) % 600) as i64 * 60;
                    instances.push(InstanceSeries::new(
                        &svc.name,
                        fleet.instance_name(s, r, i),
                        &fleet.regions()[r],
                        started as f64,
                    ));
                }
            }
        }
        let n = fleet.services().len() * regions;
        let seed = fleet.config().seed;
        let instance_rng = (0..instances.len() as u64)
            .map(|k| SimRng::new(seed ^ (k + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        Self {
            rng: SimRng::new(fleet.config().seed),
            interval: fleet.config().scrape_interval_ms,
            next: start,
            last: None,
            faults: Vec::new(),
            applied: Vec::new(),
            noise_z: vec![0.0; n],
            queue_depth: vec![0.0; n],
            instances,
            instance_rng,
            store: None,
            fleet,
        }
    }

    /// The fleet.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Time of the next scrape (ms).
    pub fn next_scrape(&self) -> Timestamp {
        self.next
    }

    /// Time of the last scrape written, if any (ms).
    pub fn last_scrape(&self) -> Option<Timestamp> {
        self.last
    }

    /// Series written so far (every instance's, including `up` and `build_info`).
    pub fn series(&self) -> usize {
        self.instances.iter().map(InstanceSeries::series).sum()
    }

    /// Injects a fault; returns its id (its index in [`Simulator::faults`]). The fault's
    /// targets must exist and its parameters be in range.
    pub fn add_fault(&mut self, fault: Fault) -> Result<usize> {
        let entry = self.resolve_fault(fault)?;
        self.faults.push(entry);
        Ok(self.faults.len() - 1)
    }

    /// The faults injected, with when each was mitigated.
    pub fn faults(&self) -> impl Iterator<Item = (&Fault, Option<Timestamp>)> {
        self.faults.iter().map(|f| (&f.fault, f.mitigated_at))
    }

    /// Where fault `id` stands at `t`.
    pub fn fault_status(&self, id: usize, t: Timestamp) -> Option<FaultStatus> {
        let f = self.faults.get(id)?;
        Some(match f.mitigated_at {
            Some(m) if m <= t => FaultStatus::Mitigated(m),
            _ if t < f.fault.start => FaultStatus::Pending,
            _ if f.fault.end().is_some_and(|e| e <= t) => FaultStatus::Over,
            _ => FaultStatus::Active,
        })
    }

    /// Mitigations applied so far, with their times.
    pub fn mitigations(&self) -> impl Iterator<Item = (Timestamp, &Mitigation)> {
        self.applied.iter().map(|a| (a.at, &a.mitigation))
    }

    /// Applies `mitigation` at `at` (after the last scrape written). Returns the ids of the
    /// faults it ended; a mitigation that fixes nothing still has its effect (a rollback
    /// still restarts, a scale-out still adds capacity).
    pub fn apply(&mut self, mitigation: Mitigation, at: Timestamp) -> Result<Vec<usize>> {
        if let Some(last) = self.last
            && at <= last
        {
            return Err(Error::InThePast { at, last });
        }
        let applied = self.resolve_mitigation(mitigation, at)?;
        let mut ended = Vec::new();
        for (id, f) in self.faults.iter_mut().enumerate() {
            if f.mitigated_at.is_some() || f.fault.end().is_some_and(|e| e <= at) {
                continue;
            }
            if f.fault.kind.mitigated_by(&applied.mitigation) {
                f.mitigated_at = Some(at.max(f.fault.start));
                ended.push(id);
            }
        }
        tracing::info!(
            mitigation = applied.mitigation.name(),
            target = %applied.mitigation.describe(),
            at,
            faults_ended = ended.len(),
            "simulated mitigation applied"
        );
        self.applied.push(applied);
        Ok(ended)
    }

    /// Writes every scrape up to and including `to` (ms) into `store`, one committed batch
    /// per scrape. Calling it with the same `to` again writes nothing.
    pub fn step(&mut self, to: Timestamp, store: &dyn Appendable) -> Result<StepReport> {
        // Refs belong to one store: another store must be told the labels again.
        let id = std::ptr::from_ref(store).cast::<()>() as usize;
        if self.store != Some(id) {
            self.instances
                .iter_mut()
                .for_each(InstanceSeries::forget_refs);
            self.store = Some(id);
        }
        let mut report = StepReport::default();
        while self.next <= to {
            let t = self.next;
            let mut n = Appended::default();
            self.scrape(t, store, &mut n)?;
            report.scrapes += 1;
            report.samples += n.samples;
            report.refused += n.refused;
            self.last = Some(t);
            self.next = t + self.interval;
        }
        if report.refused > 0 {
            tracing::warn!(
                refused = report.refused,
                samples = report.samples,
                "the store refused simulated samples; is it already holding newer data for these series?"
            );
        }
        Ok(report)
    }

    /// Steps to the simulated time `pace` gives for the wall-clock time `wall` (real-time and
    /// accelerated modes: call it every second or so).
    pub fn step_paced(
        &mut self,
        pace: &Pace,
        wall: Timestamp,
        store: &dyn Appendable,
    ) -> Result<StepReport> {
        self.step(pace.sim_time(wall), store)
    }

    /// One scrape of every target; like Prometheus's scrape loops, each target's samples are
    /// one committed batch.
    fn scrape(&mut self, t: Timestamp, store: &dyn Appendable, n: &mut Appended) -> Result<()> {
        let fleet = &self.fleet;
        let effects = Effects::at(fleet, &self.faults, &self.applied, t);
        for z in &mut self.noise_z {
            *z = 0.9 * *z + 0.435_9 * self.rng.normal();
        }
        let noise: Vec<f64> = self
            .noise_z
            .iter()
            .map(|z| (1.0 + 0.04 * z).max(0.5))
            .collect();
        let flows = flows(fleet, &effects, t, &noise);
        let regions = fleet.regions().len();
        let per = fleet.config().instances_per_region;
        let dt = self.interval as f64 / 1000.0;
        let prev = t - self.interval;
        for (s, svc) in fleet.services().iter().enumerate() {
            let version = effects.version[s].as_deref().unwrap_or(&svc.version);
            for r in 0..regions {
                let flow = &flows[s * regions + r];
                if svc.role == Role::Queue {
                    let k = s * regions + r;
                    let capacity =
                        flow.healthy as f64 * svc.capacity_rps * effects.capacity_factor[s];
                    self.queue_depth[k] =
                        (self.queue_depth[k] + (flow.rps - capacity) * dt).max(0.0);
                }
                for i in 0..per {
                    let k = effects.inst(s, r, i);
                    let inst = &mut self.instances[k];
                    let mut app = store.appender();
                    if effects.down[k] {
                        inst.append_down(app.as_mut(), t, n);
                        app.commit()?;
                        continue;
                    }
                    inst.stale = false;
                    let epoch = epoch(fleet, &effects, s, i, k, t);
                    if epoch != inst.epoch {
                        inst.epoch = epoch;
                        inst.reset(t as f64 / 1000.0);
                    }
                    let ctx = Ctx {
                        fleet,
                        effects: &effects,
                        flows: &flows,
                        s,
                        r,
                        i,
                        k,
                        t,
                        prev,
                        dt,
                        queue_depth: self.queue_depth[s * regions + r],
                        applied: &self.applied,
                    };
                    instance_scrape(&ctx, inst, &mut self.instance_rng[k]);
                    inst.append_all(app.as_mut(), t, version, n);
                    app.commit()?;
                }
            }
        }
        Ok(())
    }

    fn resolve_fault(&self, fault: Fault) -> Result<FaultEntry> {
        let fleet = &self.fleet;
        let kind_name = fault.kind.name();
        let bad = |reason: String| Error::InvalidFault {
            kind: kind_name,
            target: fault.kind.target(),
            reason,
        };
        if fault.duration_ms.is_some_and(|d| d <= 0) {
            return Err(bad(
                "duration must be positive; leave it out for a fault that lasts until mitigated"
                    .to_owned(),
            ));
        }
        let service = fault
            .kind
            .service()
            .map(|s| fleet.service_index(s))
            .transpose()?;
        let ratio = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) && v.is_finite() {
                Ok(())
            } else {
                Err(bad(format!("{name} {v} must be between 0 and 1")))
            }
        };
        let (mut region, mut instance) = (None, None);
        match &fault.kind {
            FaultKind::BadDeploy {
                error_ratio,
                version,
                ..
            }
            | FaultKind::SlowBurn {
                error_ratio,
                version,
                ..
            } => {
                ratio("error_ratio", *error_ratio)?;
                check_version(version).map_err(bad)?;
            }
            FaultKind::MemoryLeak {
                version,
                bytes_per_second,
                ..
            } => {
                check_version(version).map_err(bad)?;
                if !(bytes_per_second.is_finite() && *bytes_per_second > 0.0) {
                    return Err(bad(format!(
                        "bytes_per_second {bytes_per_second} must be positive"
                    )));
                }
            }
            FaultKind::CpuSaturation { demand_factor, .. } => {
                if !(demand_factor.is_finite() && *demand_factor > 1.0 && *demand_factor <= 100.0) {
                    return Err(bad(format!(
                        "demand_factor {demand_factor} must be above 1 and at most 100"
                    )));
                }
            }
            FaultKind::IntermittentErrors {
                service: svc,
                region: reg,
                instance: idx,
                error_ratio,
            } => {
                ratio("error_ratio", *error_ratio)?;
                (region, instance) = self.resolve_instance(svc, reg, *idx)?;
            }
            FaultKind::DiskFill {
                service: svc,
                region: reg,
                instance: idx,
                bytes_per_second,
            } => {
                if !(bytes_per_second.is_finite() && *bytes_per_second > 0.0) {
                    return Err(bad(format!(
                        "bytes_per_second {bytes_per_second} must be positive"
                    )));
                }
                (region, instance) = self.resolve_instance(svc, reg, *idx)?;
            }
            FaultKind::TargetDown {
                service: svc,
                region: reg,
                instance: idx,
            } => (region, instance) = self.resolve_instance(svc, reg, *idx)?,
            FaultKind::PoolExhaustion {
                max_connections, ..
            } => {
                let svc =
                    &fleet.services()[service.expect("invariant: pool faults name a service")];
                if !svc.has_pool() {
                    let with: Vec<&str> = fleet
                        .services()
                        .iter()
                        .filter(|s| s.has_pool())
                        .map(|s| s.name.as_str())
                        .collect();
                    return Err(bad(format!(
                        "{} has no connection pool; data-access services do: {}",
                        svc.name,
                        with.join(", ")
                    )));
                }
                if *max_connections == 0 {
                    return Err(bad("max_connections must be at least 1".to_owned()));
                }
            }
            FaultKind::DnsFailures { failure_ratio, .. } => ratio("failure_ratio", *failure_ratio)?,
            FaultKind::RegionalOutage { region: reg } => region = Some(fleet.region_index(reg)?),
            FaultKind::TrafficSurge {
                peak_multiple,
                ramp_ms,
                ..
            } => {
                if !(peak_multiple.is_finite() && *peak_multiple > 1.0 && *peak_multiple <= 50.0) {
                    return Err(bad(format!(
                        "peak_multiple {peak_multiple} must be above 1 and at most 50"
                    )));
                }
                if *ramp_ms < 0 {
                    return Err(bad(format!("ramp {ramp_ms}ms must not be negative")));
                }
            }
        }
        Ok(FaultEntry {
            fault,
            mitigated_at: None,
            service,
            region,
            instance,
        })
    }

    fn resolve_instance(
        &self,
        service: &str,
        region: &str,
        index: usize,
    ) -> Result<(Option<usize>, Option<usize>)> {
        let r = self.fleet.region_index(region)?;
        let count = self.fleet.config().instances_per_region;
        if index >= count {
            return Err(Error::UnknownInstance {
                service: service.to_owned(),
                region: region.to_owned(),
                index,
                count,
            });
        }
        Ok((Some(r), Some(index)))
    }

    fn resolve_mitigation(&self, mitigation: Mitigation, at: Timestamp) -> Result<Applied> {
        let fleet = &self.fleet;
        let (mut service, mut region, mut instance) = (None, None, None);
        match &mitigation {
            Mitigation::Rollback { service: s } | Mitigation::RestoreDnsConfig { service: s } => {
                service = Some(fleet.service_index(s)?);
            }
            Mitigation::ScaleOut { service: s, factor } => {
                service = Some(fleet.service_index(s)?);
                if !(factor.is_finite() && *factor > 1.0 && *factor <= 100.0) {
                    return Err(Error::InvalidMitigation {
                        kind: "scale_out",
                        target: s.clone(),
                        reason: format!("factor {factor} must be above 1 and at most 100"),
                    });
                }
            }
            Mitigation::RaisePoolSize { service: s, .. } => {
                let idx = fleet.service_index(s)?;
                if !fleet.services()[idx].has_pool() {
                    return Err(Error::InvalidMitigation {
                        kind: "raise_pool_size",
                        target: s.clone(),
                        reason: "the service has no connection pool".to_owned(),
                    });
                }
                service = Some(idx);
            }
            Mitigation::RestartInstance {
                service: s,
                region: reg,
                instance: i,
            }
            | Mitigation::FreeDisk {
                service: s,
                region: reg,
                instance: i,
            } => {
                service = Some(fleet.service_index(s)?);
                (region, instance) = self.resolve_instance(s, reg, *i)?;
            }
            Mitigation::FailOverRegion { region: reg } => {
                let r = fleet.region_index(reg)?;
                if fleet.regions().len() < 2 {
                    return Err(Error::InvalidMitigation {
                        kind: "fail_over_region",
                        target: reg.clone(),
                        reason: "the fleet runs in one region; there is nowhere to fail over to"
                            .to_owned(),
                    });
                }
                region = Some(r);
            }
        }
        Ok(Applied {
            at,
            mitigation,
            service,
            region,
            instance,
        })
    }
}

fn check_version(v: &str) -> std::result::Result<(), String> {
    if v.is_empty() || v.len() > 64 || v.chars().any(char::is_whitespace) {
        Err(format!(
            "version {v:?} must be 1 to 64 characters without spaces (for example 2.4.1)"
        ))
    } else {
        Ok(())
    }
}

/// Restarts of an instance so far: deploys, rollbacks and restarts, then OOM kills since the
/// latest of those. Any change means the process restarted.
fn epoch(fleet: &Fleet, e: &Effects, s: usize, i: usize, k: usize, t: Timestamp) -> (u32, u64) {
    let (manual, last) = e.restarts[k];
    let ooms = match e.leak[s] {
        Some((rate, since)) => {
            let svc = &fleet.services()[s];
            let rate = rate * leak_skew(i);
            let room = svc.memory_total_bytes * 0.95 - svc.memory_base_bytes * 1.1;
            let from = since.max(last);
            if room <= 0.0 || t < from {
                0
            } else {
                let period_s = room / rate;
                ((t - from) as f64 / 1000.0 / period_s) as u64
            }
        }
        None => 0,
    };
    (manual, ooms)
}

/// Instances leak at slightly different speeds, so OOM kills do not line up.
fn leak_skew(instance: usize) -> f64 {
    1.0 + 0.15 * instance as f64
}

struct Ctx<'a> {
    fleet: &'a Fleet,
    effects: &'a Effects,
    flows: &'a [Flow],
    s: usize,
    r: usize,
    i: usize,
    k: usize,
    t: Timestamp,
    prev: Timestamp,
    dt: f64,
    queue_depth: f64,
    applied: &'a [Applied],
}

/// Computes one instance's scrape: every series, in a fixed order.
fn instance_scrape(c: &Ctx<'_>, inst: &mut InstanceSeries, rng: &mut SimRng) {
    let fleet = c.fleet;
    let e = c.effects;
    let svc = &fleet.services()[c.s];
    let regions = fleet.regions().len();
    let flow = &c.flows[c.s * regions + c.r];
    let healthy = flow.healthy.max(1) as f64;
    let rps = flow.rps / healthy;
    let dt = c.dt;

    // Transient state first (it is not part of the series).
    let intermittent = e.intermittent[c.k];
    if intermittent > 0.0 {
        if rng.uniform() < 0.35 {
            inst.burst = !inst.burst;
        }
    } else {
        inst.burst = false;
    }
    let freed = c.applied.iter().any(|a| {
        matches!(a.mitigation, Mitigation::FreeDisk { .. })
            && a.service == Some(c.s)
            && a.region == Some(c.r)
            && a.instance == Some(c.i)
            && a.at > c.prev
            && a.at <= c.t
    });
    if freed {
        inst.disk_extra = 0.0;
    }
    inst.disk_extra += e.disk_fill[c.k] * dt;
    let base_used = svc.disk_size_bytes * svc.disk_used_ratio;
    inst.disk_extra = inst
        .disk_extra
        .min(svc.disk_size_bytes * 0.999 - base_used)
        .max(0.0);
    let disk_used = base_used + inst.disk_extra + (c.t as f64 / 86_400_000.0).fract() * 1e8;
    let disk_full = disk_used / svc.disk_size_bytes > 0.99;

    let util_noise = 1.0 + 0.03 * rng.normal();
    let util = (flow.util * util_noise).max(0.0);
    let burst_errors = if inst.burst { intermittent } else { 0.0 };

    let start_time_s = inst.start_time_s;
    let mut w = inst.writer();
    let mut total = 0.0;
    for route in &svc.routes {
        let n = rng.round(rps * route.share * dt);
        total += n;
        let mut p500 = flow.err500 + burst_errors;
        if route.writes {
            p500 += e.write_error_ratio[c.s] + if disk_full { 0.3 } else { 0.0 };
        }
        let p500 = p500.min(1.0);
        let n500 = rng.round(n * p500).min(n);
        let n503 = rng.round(n * flow.err503.min(1.0 - p500)).min(n - n500);
        let n404 = rng.round(n * NOT_FOUND_RATIO).min(n - n500 - n503);
        let n200 = n - n500 - n503 - n404;
        let path = route.path.as_str();
        for (code, count) in [("200", n200), ("404", n404), ("500", n500), ("503", n503)] {
            w.add(
                "http_requests_total",
                &[("code", code), ("method", route.method), ("route", path)],
                count,
            );
        }
        let u = rng.uniform();
        for (le, text) in BUCKETS {
            w.add(
                "http_request_duration_seconds_bucket",
                &[("le", text), ("method", route.method), ("route", path)],
                (n * flow.cdf(le) + u).floor().min(n),
            );
        }
        w.add(
            "http_request_duration_seconds_bucket",
            &[("le", "+Inf"), ("method", route.method), ("route", path)],
            n,
        );
        w.add(
            "http_request_duration_seconds_sum",
            &[("method", route.method), ("route", path)],
            n * flow.mean(),
        );
        w.add(
            "http_request_duration_seconds_count",
            &[("method", route.method), ("route", path)],
            n,
        );
    }

    // CPU: busy share of each core (idle, user, system, iowait per core).
    let busy = (util.min(1.0) * 0.97 + 0.02).min(1.0);
    w.add("process_cpu_seconds_total", &[], busy * CORES as f64 * dt);
    for cpu in ["0", "1"] {
        for (mode, share) in [
            ("idle", 1.0 - busy),
            ("iowait", busy * 0.05),
            ("system", busy * 0.25),
            ("user", busy * 0.7),
        ] {
            w.add(
                "node_cpu_seconds_total",
                &[("cpu", cpu), ("mode", mode)],
                share * dt,
            );
        }
    }

    // Memory: working set grows with load, plus any leak since the last (OOM) restart.
    let leak = match e.leak[c.s] {
        Some((rate, since)) => {
            let rate = rate * leak_skew(c.i);
            let room = svc.memory_total_bytes * 0.95 - svc.memory_base_bytes * 1.1;
            let from = since.max(e.restarts[c.k].1);
            let secs = (c.t - from).max(0) as f64 / 1000.0;
            if room > 0.0 {
                (secs * rate) % room
            } else {
                0.0
            }
        }
        None => 0.0,
    };
    let rss = svc.memory_base_bytes * (1.0 + 0.1 * util.min(1.0) + 0.005 * rng.normal()) + leak;
    w.set("process_resident_memory_bytes", &[], rss.round());
    w.set("node_memory_MemTotal_bytes", &[], svc.memory_total_bytes);
    w.set(
        "node_memory_MemAvailable_bytes",
        &[],
        (svc.memory_total_bytes * 0.92 - rss).max(0.0).round(),
    );
    w.set("process_start_time_seconds", &[], start_time_s);

    let fs = [
        ("device", "/dev/nvme1n1"),
        ("fstype", "ext4"),
        ("mountpoint", "/data"),
    ];
    w.set("node_filesystem_size_bytes", &fs, svc.disk_size_bytes);
    w.set(
        "node_filesystem_avail_bytes",
        &fs,
        (svc.disk_size_bytes - disk_used).max(0.0).round(),
    );

    if !svc.deps.is_empty() {
        let lookups = rng.round((svc.deps.len() as f64 * 0.5 + rps * 0.02) * dt);
        let failed = rng.round(lookups * e.dns_failure[c.s]).min(lookups);
        w.add("dns_lookups_total", &[], lookups);
        w.add("dns_lookup_failures_total", &[], failed);
        for d in &svc.deps {
            let dep_flow = &c.flows[d.service * regions + c.r];
            let name = fleet.services()[d.service].name.as_str();
            let calls = rng.round(total * d.calls_per_request);
            let fail = (dep_flow.call_failure() + e.dns_failure[c.s] * 0.5).min(1.0);
            let errors = rng.round(calls * fail).min(calls);
            w.add("dependency_requests_total", &[("dependency", name)], calls);
            w.add("dependency_errors_total", &[("dependency", name)], errors);
        }
    }
    if svc.has_pool() {
        let pool = [("pool", "primary")];
        let jitter = (1.0 + 0.05 * rng.normal()).max(0.0);
        let in_use = rng.round(flow.pool_in_use * jitter).min(flow.pool_max);
        w.set("db_pool_connections_in_use", &pool, in_use);
        w.set("db_pool_connections_max", &pool, flow.pool_max);
        w.add(
            "db_pool_wait_seconds_total",
            &pool,
            total * flow.pool_waiting * flow.pool_wait_s,
        );
    }
    if svc.role == Role::Queue {
        let in_flight = rps * 0.2 * (1.0 + 0.1 * rng.normal()).max(0.0);
        w.set(
            "queue_depth",
            &[("queue", svc.name.as_str())],
            (c.queue_depth / healthy + in_flight).round(),
        );
    }
}
