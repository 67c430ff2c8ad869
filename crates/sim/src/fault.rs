//! Faults (what goes wrong, where, from when, for how long) and mitigations (what a responder
//! does about it). The simulator changes signals the way the real failure would, and stops
//! doing so once the right mitigation is applied.

use tocsin_model::Timestamp;

/// A failure injected into the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// What fails and how.
    pub kind: FaultKind,
    /// When it starts (ms).
    pub start: Timestamp,
    /// How long it lasts (ms); `None` until mitigated.
    pub duration_ms: Option<i64>,
}

impl Fault {
    /// A fault lasting until mitigated.
    pub fn new(kind: FaultKind, start: Timestamp) -> Self {
        Self {
            kind,
            start,
            duration_ms: None,
        }
    }

    /// The same fault ending by itself after `ms`.
    pub fn lasting(mut self, ms: i64) -> Self {
        self.duration_ms = Some(ms);
        self
    }

    /// When it ends by itself, if it does.
    pub fn end(&self) -> Option<Timestamp> {
        self.duration_ms.map(|d| self.start.saturating_add(d))
    }
}

/// The kinds of failure the simulator knows, with their parameters. Services and regions are
/// named as in the fleet; instances by index within their service and region.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// A release goes out (`build_info{version}` changes, instances restart) and fails a
    /// share of all requests with 500.
    BadDeploy {
        /// The service deployed.
        service: String,
        /// The new version.
        version: String,
        /// Share of requests failing (0..1).
        error_ratio: f64,
    },
    /// Work per request multiplies (an expensive code path): CPU pins at 100%, latency climbs,
    /// excess requests are shed with 503.
    CpuSaturation {
        /// The service.
        service: String,
        /// CPU cost per request relative to normal (> 1).
        demand_factor: f64,
    },
    /// One instance fails requests in bursts (on for a few scrapes, off for a few).
    IntermittentErrors {
        /// The service.
        service: String,
        /// The instance's region.
        region: String,
        /// The instance's index.
        instance: usize,
        /// Share of its requests failing with 500 during a burst (0..1).
        error_ratio: f64,
    },
    /// The connection pool of a data-access service is set too small: requests queue for a
    /// connection, latency rises up every caller, some time out.
    PoolExhaustion {
        /// A data-access service.
        service: String,
        /// The misconfigured pool size.
        max_connections: u32,
    },
    /// The service's name resolution fails a share of lookups; calls to its dependencies fail
    /// and it answers 503.
    DnsFailures {
        /// The service.
        service: String,
        /// Share of lookups failing (0..1).
        failure_ratio: f64,
    },
    /// Something writes to an instance's data filesystem until it is nearly full; past 99%
    /// writes fail.
    DiskFill {
        /// The service.
        service: String,
        /// The instance's region.
        region: String,
        /// The instance's index.
        instance: usize,
        /// Growth (bytes per second).
        bytes_per_second: f64,
    },
    /// A release leaks memory: resident memory grows until the machine's limit, the process is
    /// OOM-killed and restarts (counters reset), and it starts again.
    MemoryLeak {
        /// The service deployed.
        service: String,
        /// The leaking version.
        version: String,
        /// Leak rate per instance (bytes per second).
        bytes_per_second: f64,
    },
    /// An instance stops answering (hung or crashed): scrapes fail, `up` is 0, its other
    /// series go stale, and the load balancer sends its share to the others.
    TargetDown {
        /// The service.
        service: String,
        /// The instance's region.
        region: String,
        /// The instance's index.
        instance: usize,
    },
    /// A region's stores (databases, caches, queues) become unreachable: their targets are
    /// down and every call to them from the region fails.
    RegionalOutage {
        /// The region.
        region: String,
    },
    /// External traffic rises to a multiple of the daily peak (a sale event), ramping up;
    /// `service`, the least provisioned, runs out of CPU first.
    TrafficSurge {
        /// The service that runs out of capacity (the answer key).
        service: String,
        /// External traffic as a multiple of the daily peak.
        peak_multiple: f64,
        /// Time to reach the full surge (ms).
        ramp_ms: i64,
    },
    /// A release fails a small share of writes: the error budget burns slowly, below paging
    /// thresholds for hours.
    SlowBurn {
        /// The service deployed.
        service: String,
        /// The release's version.
        version: String,
        /// Share of write requests failing (0..1).
        error_ratio: f64,
    },
}

impl FaultKind {
    /// A short stable name (`bad_deploy`, `cpu_saturation`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::BadDeploy { .. } => "bad_deploy",
            Self::CpuSaturation { .. } => "cpu_saturation",
            Self::IntermittentErrors { .. } => "intermittent_errors",
            Self::PoolExhaustion { .. } => "pool_exhaustion",
            Self::DnsFailures { .. } => "dns_failures",
            Self::DiskFill { .. } => "disk_fill",
            Self::MemoryLeak { .. } => "memory_leak",
            Self::TargetDown { .. } => "target_down",
            Self::RegionalOutage { .. } => "regional_outage",
            Self::TrafficSurge { .. } => "traffic_surge",
            Self::SlowBurn { .. } => "slow_burn",
        }
    }

    /// The service at fault, if one is (a regional outage has none).
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::BadDeploy { service, .. }
            | Self::CpuSaturation { service, .. }
            | Self::IntermittentErrors { service, .. }
            | Self::PoolExhaustion { service, .. }
            | Self::DnsFailures { service, .. }
            | Self::DiskFill { service, .. }
            | Self::MemoryLeak { service, .. }
            | Self::TargetDown { service, .. }
            | Self::TrafficSurge { service, .. }
            | Self::SlowBurn { service, .. } => Some(service),
            Self::RegionalOutage { .. } => None,
        }
    }

    /// The version a deploy fault rolls out.
    pub fn deployed_version(&self) -> Option<&str> {
        match self {
            Self::BadDeploy { version, .. }
            | Self::MemoryLeak { version, .. }
            | Self::SlowBurn { version, .. } => Some(version),
            _ => None,
        }
    }

    /// Where it is, for messages: `checkout`, `checkout eu-west/1`, `region eu-west`.
    pub fn target(&self) -> String {
        match self {
            Self::IntermittentErrors {
                service,
                region,
                instance,
                ..
            }
            | Self::DiskFill {
                service,
                region,
                instance,
                ..
            }
            | Self::TargetDown {
                service,
                region,
                instance,
            } => format!("{service} {region}/{instance}"),
            Self::RegionalOutage { region } => format!("region {region}"),
            other => other.service().unwrap_or_default().to_owned(),
        }
    }

    /// The mitigation that ends it.
    pub fn right_mitigation(&self) -> Mitigation {
        match self {
            Self::BadDeploy { service, .. }
            | Self::MemoryLeak { service, .. }
            | Self::SlowBurn { service, .. } => Mitigation::Rollback {
                service: service.clone(),
            },
            Self::CpuSaturation {
                service,
                demand_factor,
            } => Mitigation::ScaleOut {
                service: service.clone(),
                // Enough instances to bring the peak back under 70% CPU.
                factor: (demand_factor * 1.5).ceil(),
            },
            Self::TrafficSurge {
                service,
                peak_multiple,
                ..
            } => Mitigation::ScaleOut {
                service: service.clone(),
                factor: (peak_multiple * 1.2).ceil(),
            },
            Self::IntermittentErrors {
                service,
                region,
                instance,
                ..
            }
            | Self::TargetDown {
                service,
                region,
                instance,
            } => Mitigation::RestartInstance {
                service: service.clone(),
                region: region.clone(),
                instance: *instance,
            },
            Self::PoolExhaustion { service, .. } => Mitigation::RaisePoolSize {
                service: service.clone(),
                max_connections: 0,
            },
            Self::DnsFailures { service, .. } => Mitigation::RestoreDnsConfig {
                service: service.clone(),
            },
            Self::DiskFill {
                service,
                region,
                instance,
                ..
            } => Mitigation::FreeDisk {
                service: service.clone(),
                region: region.clone(),
                instance: *instance,
            },
            Self::RegionalOutage { region } => Mitigation::FailOverRegion {
                region: region.clone(),
            },
        }
    }

    /// Whether `m` ends this fault. Mitigations of the same kind on the same target count;
    /// a pool raise must not shrink below the fleet's default (the simulator checks the size).
    pub fn mitigated_by(&self, m: &Mitigation) -> bool {
        let right = self.right_mitigation();
        match (&right, m) {
            (Mitigation::ScaleOut { service: a, .. }, Mitigation::ScaleOut { service: b, .. })
            | (
                Mitigation::RaisePoolSize { service: a, .. },
                Mitigation::RaisePoolSize { service: b, .. },
            ) => a == b,
            _ => right == *m,
        }
    }
}

/// What a responder does.
#[derive(Debug, Clone, PartialEq)]
pub enum Mitigation {
    /// Redeploys the service's previous version (instances restart).
    Rollback {
        /// The service.
        service: String,
    },
    /// Restarts (replaces) one instance: counters reset, transient state is gone.
    RestartInstance {
        /// The service.
        service: String,
        /// The region.
        region: String,
        /// The instance's index.
        instance: usize,
    },
    /// Multiplies the service's capacity in every region (more instances of the same size;
    /// modelled as capacity per instance so series stay the same).
    ScaleOut {
        /// The service.
        service: String,
        /// Capacity multiple (> 1).
        factor: f64,
    },
    /// Sets the pool size of a data-access service; 0 restores the fleet's default.
    RaisePoolSize {
        /// The service.
        service: String,
        /// The new size (0: the default).
        max_connections: u32,
    },
    /// Puts the service's resolver configuration back.
    RestoreDnsConfig {
        /// The service.
        service: String,
    },
    /// Frees the filesystem of an instance (old logs, temp files) back to its usual level.
    FreeDisk {
        /// The service.
        service: String,
        /// The region.
        region: String,
        /// The instance's index.
        instance: usize,
    },
    /// Sends the region's external traffic to the other regions.
    FailOverRegion {
        /// The region drained.
        region: String,
    },
}

impl Mitigation {
    /// A short stable name (`rollback`, `restart_instance`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Rollback { .. } => "rollback",
            Self::RestartInstance { .. } => "restart_instance",
            Self::ScaleOut { .. } => "scale_out",
            Self::RaisePoolSize { .. } => "raise_pool_size",
            Self::RestoreDnsConfig { .. } => "restore_dns_config",
            Self::FreeDisk { .. } => "free_disk",
            Self::FailOverRegion { .. } => "fail_over_region",
        }
    }

    /// A one-line description for reports: `rollback checkout`.
    pub fn describe(&self) -> String {
        match self {
            Self::Rollback { service } => format!("roll back {service}"),
            Self::RestartInstance {
                service,
                region,
                instance,
            } => format!("restart {service} {region}/{instance}"),
            Self::ScaleOut { service, factor } => {
                format!("scale {service} out to {factor}x capacity")
            }
            Self::RaisePoolSize {
                service,
                max_connections: 0,
            } => format!("restore the default connection pool size of {service}"),
            Self::RaisePoolSize {
                service,
                max_connections,
            } => format!("set the connection pool of {service} to {max_connections}"),
            Self::RestoreDnsConfig { service } => {
                format!("restore the resolver configuration of {service}")
            }
            Self::FreeDisk {
                service,
                region,
                instance,
            } => format!("free disk space on {service} {region}/{instance}"),
            Self::FailOverRegion { region } => format!("fail traffic over from {region}"),
        }
    }
}

/// Where a fault stands at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStatus {
    /// Not started yet.
    Pending,
    /// Changing signals now.
    Active,
    /// Ended by a mitigation at this time (ms).
    Mitigated(Timestamp),
    /// Ended by itself (its duration passed).
    Over,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_mitigations_end_their_faults_and_others_do_not() {
        let pool = FaultKind::PoolExhaustion {
            service: "orders-store".to_owned(),
            max_connections: 2,
        };
        assert!(pool.mitigated_by(&Mitigation::RaisePoolSize {
            service: "orders-store".to_owned(),
            max_connections: 40,
        }));
        assert!(!pool.mitigated_by(&Mitigation::RaisePoolSize {
            service: "ledger-store".to_owned(),
            max_connections: 40,
        }));
        assert!(!pool.mitigated_by(&Mitigation::Rollback {
            service: "orders-store".to_owned(),
        }));
        let down = FaultKind::TargetDown {
            service: "cart".to_owned(),
            region: "eu-west".to_owned(),
            instance: 1,
        };
        assert!(down.mitigated_by(&down.right_mitigation()));
        assert!(!down.mitigated_by(&Mitigation::RestartInstance {
            service: "cart".to_owned(),
            region: "eu-west".to_owned(),
            instance: 0,
        }));
        assert_eq!(down.target(), "cart eu-west/1");
        assert_eq!(down.right_mitigation().describe(), "restart cart eu-west/1");
    }
}
