//! What the fleet does at one scrape time: which faults and mitigations are in force
//! ([`Effects`]), then traffic from the frontends down and latency and errors from the stores
//! up ([`Flow`] per service and region).

use tocsin_model::Timestamp;

use crate::fault::{Fault, FaultKind, Mitigation};
use crate::fleet::{Fleet, Role};

/// A fault and, once applied, the time of the mitigation that ended it.
#[derive(Debug, Clone)]
pub(crate) struct FaultEntry {
    pub(crate) fault: Fault,
    pub(crate) mitigated_at: Option<Timestamp>,
    /// Resolved indices: service, region, instance (where the kind names them).
    pub(crate) service: Option<usize>,
    pub(crate) region: Option<usize>,
    pub(crate) instance: Option<usize>,
}

impl FaultEntry {
    pub(crate) fn active(&self, t: Timestamp) -> bool {
        t >= self.fault.start
            && self.fault.end().is_none_or(|e| t < e)
            && self.mitigated_at.is_none_or(|m| t < m)
    }
}

/// A mitigation with its resolved indices.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub(crate) at: Timestamp,
    pub(crate) mitigation: Mitigation,
    pub(crate) service: Option<usize>,
    pub(crate) region: Option<usize>,
    pub(crate) instance: Option<usize>,
}

/// Seconds a request waits for a pooled connection before timing out.
const POOL_TIMEOUT_S: f64 = 2.0;

/// Everything faults and mitigations change at one time, by index.
#[derive(Debug)]
pub(crate) struct Effects {
    regions: usize,
    instances: usize,
    /// Running version per service: `None` is the fleet's own version.
    pub(crate) version: Vec<Option<String>>,
    /// Share of all requests failing with 500 (bad deploy).
    pub(crate) error_ratio: Vec<f64>,
    /// Share of writes failing with 500 (slow burn).
    pub(crate) write_error_ratio: Vec<f64>,
    pub(crate) cpu_factor: Vec<f64>,
    pub(crate) capacity_factor: Vec<f64>,
    pub(crate) pool_max: Vec<u32>,
    pub(crate) dns_failure: Vec<f64>,
    /// Leak per service: (rate bytes/s, since).
    pub(crate) leak: Vec<Option<(f64, Timestamp)>>,
    /// Per instance (service, region, index).
    pub(crate) intermittent: Vec<f64>,
    pub(crate) disk_fill: Vec<f64>,
    pub(crate) down: Vec<bool>,
    /// Per instance: restarts by deploys, rollbacks and restart mitigations so far, and the
    /// time of the latest.
    pub(crate) restarts: Vec<(u32, Timestamp)>,
    pub(crate) region_down: Vec<bool>,
    pub(crate) region_drained: Vec<bool>,
    /// External traffic as a multiple of the peak, when a surge is on.
    pub(crate) surge: Option<f64>,
}

impl Effects {
    pub(crate) fn inst(&self, s: usize, r: usize, i: usize) -> usize {
        (s * self.regions + r) * self.instances + i
    }

    pub(crate) fn at(
        fleet: &Fleet,
        faults: &[FaultEntry],
        applied: &[Applied],
        t: Timestamp,
    ) -> Self {
        let n = fleet.services().len();
        let regions = fleet.regions().len();
        let instances = fleet.config().instances_per_region;
        let per_inst = n * regions * instances;
        let mut e = Self {
            regions,
            instances,
            version: vec![None; n],
            error_ratio: vec![0.0; n],
            write_error_ratio: vec![0.0; n],
            cpu_factor: vec![1.0; n],
            capacity_factor: vec![1.0; n],
            pool_max: fleet.services().iter().map(|s| s.pool_max).collect(),
            dns_failure: vec![0.0; n],
            leak: vec![None; n],
            intermittent: vec![0.0; per_inst],
            disk_fill: vec![0.0; per_inst],
            down: vec![false; per_inst],
            restarts: vec![(0, i64::MIN); per_inst],
            region_down: vec![false; regions],
            region_drained: vec![false; regions],
            surge: None,
        };
        // Versions and restarts: deploys and rollbacks in time order, latest wins.
        let mut version_at: Vec<Timestamp> = vec![i64::MIN; n];
        let restart_service = |e: &mut Self, s: usize, at: Timestamp| {
            for r in 0..regions {
                for i in 0..instances {
                    let k = e.inst(s, r, i);
                    e.restarts[k].0 += 1;
                    e.restarts[k].1 = e.restarts[k].1.max(at);
                }
            }
        };
        for f in faults {
            let (Some(s), Some(v)) = (f.service, f.fault.kind.deployed_version()) else {
                continue;
            };
            if f.fault.start <= t {
                restart_service(&mut e, s, f.fault.start);
                if f.fault.start >= version_at[s] {
                    version_at[s] = f.fault.start;
                    e.version[s] = Some(v.to_owned());
                }
            }
        }
        for a in applied.iter().filter(|a| a.at <= t) {
            match (&a.mitigation, a.service, a.region, a.instance) {
                (Mitigation::Rollback { .. }, Some(s), ..) => {
                    restart_service(&mut e, s, a.at);
                    if a.at >= version_at[s] {
                        version_at[s] = a.at;
                        e.version[s] = None;
                    }
                }
                (Mitigation::RestartInstance { .. }, Some(s), Some(r), Some(i)) => {
                    let k = e.inst(s, r, i);
                    e.restarts[k].0 += 1;
                    e.restarts[k].1 = e.restarts[k].1.max(a.at);
                }
                (Mitigation::ScaleOut { factor, .. }, Some(s), ..) => {
                    e.capacity_factor[s] *= factor;
                }
                (
                    Mitigation::RaisePoolSize {
                        max_connections, ..
                    },
                    Some(s),
                    ..,
                ) => {
                    e.pool_max[s] = if *max_connections == 0 {
                        fleet.services()[s].pool_max
                    } else {
                        *max_connections
                    };
                }
                (Mitigation::FailOverRegion { .. }, _, Some(r), _) => e.region_drained[r] = true,
                _ => {}
            }
        }
        for f in faults.iter().filter(|f| f.active(t)) {
            let elapsed = t - f.fault.start;
            let inst = match (f.service, f.region, f.instance) {
                (Some(s), Some(r), Some(i)) => Some(e.inst(s, r, i)),
                _ => None,
            };
            match (&f.fault.kind, f.service) {
                (FaultKind::BadDeploy { error_ratio, .. }, Some(s)) => {
                    e.error_ratio[s] += error_ratio;
                }
                (FaultKind::SlowBurn { error_ratio, .. }, Some(s)) => {
                    e.write_error_ratio[s] += error_ratio;
                }
                (FaultKind::CpuSaturation { demand_factor, .. }, Some(s)) => {
                    e.cpu_factor[s] *= demand_factor;
                }
                (
                    FaultKind::PoolExhaustion {
                        max_connections, ..
                    },
                    Some(s),
                ) => e.pool_max[s] = *max_connections,
                (FaultKind::DnsFailures { failure_ratio, .. }, Some(s)) => {
                    e.dns_failure[s] = e.dns_failure[s].max(*failure_ratio);
                }
                (
                    FaultKind::MemoryLeak {
                        bytes_per_second, ..
                    },
                    Some(s),
                ) => e.leak[s] = Some((*bytes_per_second, f.fault.start)),
                (FaultKind::IntermittentErrors { error_ratio, .. }, _) => {
                    if let Some(k) = inst {
                        e.intermittent[k] = *error_ratio;
                    }
                }
                (
                    FaultKind::DiskFill {
                        bytes_per_second, ..
                    },
                    _,
                ) => {
                    if let Some(k) = inst {
                        e.disk_fill[k] += bytes_per_second;
                    }
                }
                (FaultKind::TargetDown { .. }, _) => {
                    if let Some(k) = inst {
                        e.down[k] = true;
                    }
                }
                (FaultKind::RegionalOutage { .. }, _) => {
                    if let Some(r) = f.region {
                        e.region_down[r] = true;
                    }
                }
                (
                    FaultKind::TrafficSurge {
                        peak_multiple,
                        ramp_ms,
                        ..
                    },
                    _,
                ) => {
                    let ramp = if *ramp_ms <= 0 {
                        1.0
                    } else {
                        (elapsed as f64 / *ramp_ms as f64).min(1.0)
                    };
                    let m = 1.0 + (peak_multiple - 1.0) * ramp;
                    e.surge = Some(e.surge.map_or(m, |s: f64| s.max(m)));
                }
                _ => {}
            }
        }
        // A regional outage takes the region's stores down.
        for (s, svc) in fleet.services().iter().enumerate() {
            if svc.role.serves_http() {
                continue;
            }
            for r in (0..regions).filter(|&r| e.region_down[r]) {
                for i in 0..instances {
                    let k = e.inst(s, r, i);
                    e.down[k] = true;
                }
            }
        }
        e
    }

    pub(crate) fn healthy(&self, s: usize, r: usize) -> usize {
        (0..self.instances)
            .filter(|&i| !self.down[self.inst(s, r, i)])
            .count()
    }
}

/// Latency shape of a service: most requests log-normal around `median`, a `slow` share
/// around `median + slow_extra` (waiting for a pool, a saturated dependency).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flow {
    /// Requests per second reaching the service in the region.
    pub(crate) rps: f64,
    /// Instances serving.
    pub(crate) healthy: usize,
    /// CPU demand over capacity, per instance (may exceed 1).
    pub(crate) util: f64,
    /// Share failing with 500 (own errors).
    pub(crate) err500: f64,
    /// Share failing with 503 (dependencies, shed load).
    pub(crate) err503: f64,
    pub(crate) median: f64,
    pub(crate) slow: f64,
    pub(crate) slow_extra: f64,
    /// Connection pool: in use, size, share waiting, wait (s).
    pub(crate) pool_in_use: f64,
    pub(crate) pool_max: f64,
    pub(crate) pool_waiting: f64,
    pub(crate) pool_wait_s: f64,
}

/// Spread (log-space sigma) of normal and slow requests.
pub(crate) const SIGMA: f64 = 0.45;
pub(crate) const SIGMA_SLOW: f64 = 0.3;

impl Flow {
    /// Mean latency (s).
    pub(crate) fn mean(&self) -> f64 {
        let fast = self.median * (SIGMA * SIGMA / 2.0).exp();
        let slow = (self.median + self.slow_extra) * (SIGMA_SLOW * SIGMA_SLOW / 2.0).exp();
        (1.0 - self.slow) * fast + self.slow * slow
    }

    /// Share of requests at or under `le` seconds.
    pub(crate) fn cdf(&self, le: f64) -> f64 {
        let fast = lognormal_cdf(le, self.median, SIGMA);
        if self.slow <= 0.0 {
            return fast;
        }
        let slow = lognormal_cdf(le, self.median + self.slow_extra, SIGMA_SLOW);
        (1.0 - self.slow) * fast + self.slow * slow
    }

    /// Share of calls from a caller failing: the callee's errors (most are not retried) and
    /// no instance to answer at all.
    pub(crate) fn call_failure(&self) -> f64 {
        if self.healthy == 0 {
            1.0
        } else {
            ((self.err500 + self.err503) * 0.8).min(1.0)
        }
    }
}

fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 || median <= 0.0 {
        return 0.0;
    }
    0.5 * (1.0 + erf((x / median).ln() / (sigma * std::f64::consts::SQRT_2)))
}

/// Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7): enough for bucket counts.
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

/// Queueing slows a busy service down: ×1.14 at 50% CPU, ×2 at 80%, ×6.9 from 95% on.
fn queue_factor(util: f64) -> f64 {
    let u = util.clamp(0.0, 0.95);
    1.0 / (1.0 - u * u * u)
}

/// Traffic, CPU, errors and latency of every service in every region at one time.
/// `noise[s * regions + r]` multiplies the traffic a service receives.
pub(crate) fn flows(fleet: &Fleet, e: &Effects, t: Timestamp, noise: &[f64]) -> Vec<Flow> {
    let services = fleet.services();
    let regions = fleet.regions().len();
    let mut external: Vec<f64> = (0..regions)
        .map(|r| {
            let shape = fleet.diurnal(r, t);
            fleet.config().peak_rps_per_region * e.surge.map_or(shape, |m| m.max(shape))
        })
        .collect();
    // Traffic of drained regions goes to the others.
    let drained: f64 = (0..regions)
        .filter(|&r| e.region_drained[r])
        .map(|r| external[r])
        .sum();
    let open = (0..regions).filter(|&r| !e.region_drained[r]).count();
    for (r, x) in external.iter_mut().enumerate() {
        if e.region_drained[r] {
            *x = 0.0;
        } else if open > 0 {
            *x += drained / open as f64;
        }
    }
    let mut out = vec![Flow::default(); services.len() * regions];
    for r in 0..regions {
        for (s, svc) in services.iter().enumerate() {
            let k = s * regions + r;
            if svc.role == Role::Frontend {
                out[k].rps += external[r] * svc.external_share;
            }
            out[k].rps *= noise[k];
            let served = out[k].rps;
            for d in &svc.deps {
                out[d.service * regions + r].rps += served * d.calls_per_request;
            }
        }
        // Callees first: a service's latency and errors include its dependencies'.
        for s in (0..services.len()).rev() {
            let svc = &services[s];
            let k = s * regions + r;
            let healthy = e.healthy(s, r);
            let capacity = healthy as f64 * svc.capacity_rps * e.capacity_factor[s];
            let util = if capacity > 0.0 {
                out[k].rps * e.cpu_factor[s] / capacity
            } else {
                0.0
            };
            let shed = if util > 1.0 { 1.0 - 1.0 / util } else { 0.0 };
            let mut ok_calls = 1.0;
            let mut not_slow = 1.0;
            let mut dep_median: f64 = 0.0;
            let mut slow_extra: f64 = 0.0;
            for d in &svc.deps {
                let dep = &out[d.service * regions + r];
                let weight = d.calls_per_request.min(1.0);
                let fail = (dep.call_failure() + e.dns_failure[s] * 0.5).min(1.0);
                ok_calls *= 1.0 - fail * weight;
                not_slow *= 1.0 - dep.slow * weight;
                dep_median = dep_median.max(dep.median);
                slow_extra = slow_extra.max(dep.slow_extra);
            }
            let mut flow = Flow {
                rps: out[k].rps,
                healthy,
                util,
                ..Flow::default()
            };
            let mut own500 = e.error_ratio[s] + svc.background_error_ratio;
            let mut waiting = 0.0;
            if svc.has_pool() && healthy > 0 {
                let hold = svc.own_latency_s * 4.0 + 0.01;
                let demand = out[k].rps / healthy as f64 * hold;
                let max = f64::from(e.pool_max[s].max(1));
                let u = demand / max;
                waiting = ((u - 0.7) / 0.3).clamp(0.0, 1.0);
                let wait = if u < 1.0 {
                    hold * u / (1.0 - u).max(0.05) * 0.5
                } else {
                    hold * 20.0 * u
                }
                .min(POOL_TIMEOUT_S);
                if u > 1.0 {
                    own500 += 0.02 * (1.0 - 1.0 / u);
                }
                flow.pool_in_use = demand.min(max);
                flow.pool_max = max;
                flow.pool_waiting = waiting;
                flow.pool_wait_s = if waiting > 0.0 { wait } else { 0.0 };
                slow_extra = slow_extra.max(flow.pool_wait_s);
            }
            flow.err500 = own500.min(1.0);
            flow.err503 = (1.0 - (1.0 - shed) * ok_calls).min(1.0 - flow.err500);
            flow.median = svc.own_latency_s * queue_factor(util) + dep_median;
            flow.slow = 1.0 - (1.0 - waiting) * not_slow;
            flow.slow_extra = if flow.slow > 0.0 { slow_extra } else { 0.0 };
            out[k] = flow;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_and_cdf_are_sane() {
        assert!(erf(0.0).abs() < 1e-7);
        assert!((erf(1.0) - 0.842_700_79).abs() < 1e-6);
        assert!((erf(-1.0) + 0.842_700_79).abs() < 1e-6);
        assert!((lognormal_cdf(0.1, 0.1, SIGMA) - 0.5).abs() < 1e-6);
        let f = Flow {
            median: 0.05,
            slow: 0.1,
            slow_extra: 1.0,
            ..Flow::default()
        };
        let mut last = 0.0;
        for le in [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 10.0] {
            let c = f.cdf(le);
            assert!(c >= last && c <= 1.0);
            last = c;
        }
        assert!(f.cdf(0.5) < 0.91 && f.cdf(0.5) > 0.85, "{}", f.cdf(0.5));
        assert!(f.mean() > 0.1);
    }
}
