//! The simulator stage: a simulated fleet (`simulator:` in tocsin.yml) whose metrics go
//! straight into the server's own store. At start it backfills `history` off the async
//! workers (in slices, so the API stays responsive and progress is logged), then scrapes in
//! real time once a second, with faults scheduled relative to the server's start and
//! mitigations applied through the API (`/api/tocsin/v1/sim…`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use parking_lot::Mutex;
use serde::Deserialize;
use tocsin_api::{ApiFuture, SimApi};
use tocsin_config::{FaultConfig, SimulatorConfig};
use tocsin_model::storage::Appendable;
use tocsin_sim::{Fault, FaultKind, FaultStatus, Fleet, FleetConfig, Mitigation, Simulator};
use tokio_util::sync::CancellationToken;

/// How often the real-time loop scrapes whatever is due.
const STEP_EVERY: Duration = Duration::from_secs(1);

/// Simulated time written per slice of the backfill (the lock is released in between).
const BACKFILL_SLICE_MS: i64 = 5 * 60 * 1000;

/// A mitigation applied, as the drill sees it: what, when (ms), and the faults it ended.
pub(crate) type MitigationObserver = Box<dyn Fn(&Mitigation, i64, &[usize]) + Send + Sync>;

/// The running simulation.
pub(crate) struct SimStage {
    sim: Mutex<Simulator>,
    store: Arc<dyn Appendable>,
    seed: u64,
    /// Wall-clock time the stage started (ms); faults are scheduled from it.
    started_ms: i64,
    history_start_ms: i64,
    backfilled: AtomicBool,
    simulated_until_ms: AtomicI64,
    observers: Mutex<Vec<MitigationObserver>>,
    cancel: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The fleet settings of a `simulator:` section.
pub(crate) fn fleet_config(config: &SimulatorConfig) -> FleetConfig {
    FleetConfig {
        seed: config.seed,
        services: config.services,
        regions: config.regions.clone(),
        instances_per_region: config.instances_per_region,
        scrape_interval_ms: i64::try_from(config.scrape_interval.as_millis()).unwrap_or(i64::MAX),
        ..FleetConfig::default()
    }
}

/// A configured fault as the simulator's type. The config loader has checked that the kind
/// is known and its fields are present, so a missing one here is reported, not assumed.
pub(crate) fn fault_kind(fault: &FaultConfig) -> anyhow::Result<FaultKind> {
    let missing =
        |field: &str| anyhow::anyhow!("simulator fault {}: field {field} is missing", fault.kind);
    let service = || fault.service.clone().ok_or_else(|| missing("service"));
    let region = || fault.region.clone().ok_or_else(|| missing("region"));
    let instance = || fault.instance.ok_or_else(|| missing("instance"));
    let version = || fault.version.clone().ok_or_else(|| missing("version"));
    let float = |v: Option<f64>, name: &str| v.ok_or_else(|| missing(name));
    Ok(match fault.kind.as_str() {
        "bad_deploy" => FaultKind::BadDeploy {
            service: service()?,
            version: version()?,
            error_ratio: float(fault.error_ratio, "error_ratio")?,
        },
        "cpu_saturation" => FaultKind::CpuSaturation {
            service: service()?,
            demand_factor: float(fault.demand_factor, "demand_factor")?,
        },
        "intermittent_errors" => FaultKind::IntermittentErrors {
            service: service()?,
            region: region()?,
            instance: instance()?,
            error_ratio: float(fault.error_ratio, "error_ratio")?,
        },
        "pool_exhaustion" => FaultKind::PoolExhaustion {
            service: service()?,
            max_connections: fault
                .max_connections
                .ok_or_else(|| missing("max_connections"))?,
        },
        "dns_failures" => FaultKind::DnsFailures {
            service: service()?,
            failure_ratio: float(fault.failure_ratio, "failure_ratio")?,
        },
        "disk_fill" => FaultKind::DiskFill {
            service: service()?,
            region: region()?,
            instance: instance()?,
            bytes_per_second: float(fault.bytes_per_second, "bytes_per_second")?,
        },
        "memory_leak" => FaultKind::MemoryLeak {
            service: service()?,
            version: version()?,
            bytes_per_second: float(fault.bytes_per_second, "bytes_per_second")?,
        },
        "target_down" => FaultKind::TargetDown {
            service: service()?,
            region: region()?,
            instance: instance()?,
        },
        "regional_outage" => FaultKind::RegionalOutage { region: region()? },
        "traffic_surge" => FaultKind::TrafficSurge {
            service: service()?,
            peak_multiple: float(fault.peak_multiple, "peak_multiple")?,
            ramp_ms: fault
                .ramp
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .ok_or_else(|| missing("ramp"))?,
        },
        "slow_burn" => FaultKind::SlowBurn {
            service: service()?,
            version: version()?,
            error_ratio: float(fault.error_ratio, "error_ratio")?,
        },
        other => anyhow::bail!(
            "simulator fault kind {other:?} is unknown; use one of: {}",
            tocsin_config::FAULT_KINDS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The body of `POST /api/tocsin/v1/sim/mitigations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MitigationRequest {
    action: String,
    service: Option<String>,
    region: Option<String>,
    instance: Option<usize>,
    factor: Option<f64>,
    max_connections: Option<u32>,
    /// The CLI's `--size`: the factor of a scale-out or the size of a pool.
    size: Option<f64>,
}

/// Every mitigation name with the fields it takes, for error messages.
const ACTIONS: &str = "rollback {service}, restart_instance {service, region, instance}, \
    scale_out {service, factor}, raise_pool_size {service, max_connections (0: the default)}, \
    restore_dns_config {service}, free_disk {service, region, instance}, \
    fail_over_region {region}";

/// Parses a mitigation request; errors start with the field that is wrong.
pub(crate) fn parse_mitigation(body: &[u8]) -> Result<Mitigation, String> {
    let req: MitigationRequest = serde_json::from_slice(body).map_err(|e| {
        format!("body: {e}; send JSON like {{\"action\":\"rollback\",\"service\":\"checkout\"}}")
    })?;
    let need = |v: Option<String>, field: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{field}: {} needs {field}", req.action))
    };
    let instance = |v: Option<usize>| {
        v.ok_or_else(|| format!("instance: {} needs instance (an index from 0)", req.action))
    };
    Ok(match req.action.as_str() {
        "rollback" => Mitigation::Rollback {
            service: need(req.service.clone(), "service")?,
        },
        "restart_instance" => Mitigation::RestartInstance {
            service: need(req.service.clone(), "service")?,
            region: need(req.region.clone(), "region")?,
            instance: instance(req.instance)?,
        },
        "scale_out" => {
            let factor = req.factor.or(req.size).ok_or_else(|| {
                "factor: scale_out needs factor (capacity multiple above 1)".to_owned()
            })?;
            if !(factor.is_finite() && factor > 1.0 && factor <= 100.0) {
                return Err(format!("factor: {factor} must be above 1 and at most 100"));
            }
            Mitigation::ScaleOut {
                service: need(req.service.clone(), "service")?,
                factor,
            }
        }
        "raise_pool_size" => {
            let size = match (req.max_connections, req.size) {
                (Some(n), _) => n,
                (None, Some(s))
                    if s.is_finite()
                        && s >= 0.0
                        && s.fract() == 0.0
                        && s <= f64::from(u32::MAX) =>
                {
                    s as u32
                }
                (None, Some(s)) => {
                    return Err(format!("size: {s} must be a whole number of connections"));
                }
                (None, None) => 0,
            };
            Mitigation::RaisePoolSize {
                service: need(req.service.clone(), "service")?,
                max_connections: size,
            }
        }
        "restore_dns_config" => Mitigation::RestoreDnsConfig {
            service: need(req.service.clone(), "service")?,
        },
        "free_disk" => Mitigation::FreeDisk {
            service: need(req.service.clone(), "service")?,
            region: need(req.region.clone(), "region")?,
            instance: instance(req.instance)?,
        },
        "fail_over_region" => Mitigation::FailOverRegion {
            region: need(req.region.clone(), "region")?,
        },
        other => {
            return Err(format!(
                "action: {other:?} is not a mitigation; use one of: {ACTIONS}"
            ));
        }
    })
}

/// The JSON body that requests `m` (what the demo's responder and the drill CLI send).
pub(crate) fn mitigation_request(m: &Mitigation) -> serde_json::Value {
    let mut body = serde_json::json!({ "action": m.name() });
    match m {
        Mitigation::Rollback { service } | Mitigation::RestoreDnsConfig { service } => {
            body["service"] = service.as_str().into();
        }
        Mitigation::RestartInstance {
            service,
            region,
            instance,
        }
        | Mitigation::FreeDisk {
            service,
            region,
            instance,
        } => {
            body["service"] = service.as_str().into();
            body["region"] = region.as_str().into();
            body["instance"] = (*instance).into();
        }
        Mitigation::ScaleOut { service, factor } => {
            body["service"] = service.as_str().into();
            body["factor"] = (*factor).into();
        }
        Mitigation::RaisePoolSize {
            service,
            max_connections,
        } => {
            body["service"] = service.as_str().into();
            body["max_connections"] = (*max_connections).into();
        }
        Mitigation::FailOverRegion { region } => body["region"] = region.as_str().into(),
    }
    body
}

fn rfc3339(ms: i64) -> serde_json::Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| serde_json::Value::String(t.to_string()))
        .unwrap_or(serde_json::Value::Null)
}

impl SimStage {
    /// Builds the fleet and its faults (errors name the fault and what the fleet has) and
    /// starts backfilling then stepping in real time.
    pub(crate) fn start(
        config: &SimulatorConfig,
        store: Arc<dyn Appendable>,
    ) -> anyhow::Result<Arc<Self>> {
        let fleet =
            Fleet::build(&fleet_config(config)).map_err(|e| anyhow::anyhow!("simulator: {e}"))?;
        let started_ms = now_ms();
        let history_ms = i64::try_from(config.history.as_millis()).unwrap_or(i64::MAX);
        let history_start_ms = started_ms.saturating_sub(history_ms);
        let mut sim = Simulator::new(fleet, history_start_ms);
        for (i, fault) in config.faults.iter().enumerate() {
            let kind = fault_kind(fault).with_context(|| format!("simulator fault #{}", i + 1))?;
            let after = i64::try_from(fault.after.as_millis()).unwrap_or(i64::MAX);
            let mut scheduled = Fault::new(kind, started_ms.saturating_add(after));
            if let Some(d) = fault.duration {
                scheduled = scheduled.lasting(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            }
            sim.add_fault(scheduled).map_err(|e| {
                anyhow::anyhow!(
                    "simulator fault #{} ({}): {e}; fix it under simulator.faults in tocsin.yml",
                    i + 1,
                    fault.kind
                )
            })?;
        }
        tracing::info!(
            seed = config.seed,
            services = config.services,
            regions = ?config.regions,
            faults = config.faults.len(),
            history = %config.history,
            "simulator started"
        );
        let stage = Arc::new(Self {
            sim: Mutex::new(sim),
            store,
            seed: config.seed,
            started_ms,
            history_start_ms,
            backfilled: AtomicBool::new(false),
            simulated_until_ms: AtomicI64::new(history_start_ms),
            observers: Mutex::new(Vec::new()),
            cancel: CancellationToken::new(),
            task: Mutex::new(None),
        });
        let runner = Arc::clone(&stage);
        *stage.task.lock() = Some(tokio::spawn(async move { runner.run().await }));
        Ok(stage)
    }

    /// Calls `observer` after every mitigation applied through the API (the drill records
    /// them).
    pub(crate) fn observe_mitigations(&self, observer: MitigationObserver) {
        self.observers.lock().push(observer);
    }

    /// Wall-clock time the stage started (ms); faults are scheduled from it.
    pub(crate) fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// Steps the simulation to `to` on a blocking thread.
    async fn step_to(self: &Arc<Self>, to: i64) -> Result<(), String> {
        let stage = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut sim = stage.sim.lock();
            let report = sim
                .step(to, stage.store.as_ref())
                .map_err(|e| e.to_string())?;
            if let Some(last) = sim.last_scrape() {
                stage.simulated_until_ms.store(last, Ordering::Release);
            }
            Ok::<_, String>(report)
        })
        .await
        .map_err(|e| format!("the simulator step task failed: {e}"))?
        .map(|_| ())
    }

    async fn run(self: Arc<Self>) {
        let began = std::time::Instant::now();
        let mut at = self.history_start_ms;
        let mut logged_tenth = 0;
        // Backfill: a slice at a time so the API is never blocked for long; stop early on
        // shutdown.
        while at < self.started_ms && !self.cancel.is_cancelled() {
            at = (at + BACKFILL_SLICE_MS).min(self.started_ms);
            if let Err(error) = self.step_to(at).await {
                tracing::error!(%error, "simulator backfill failed; the simulator stops");
                return;
            }
            let done_pct = ((at - self.history_start_ms) * 100)
                / (self.started_ms - self.history_start_ms).max(1);
            // Progress every tenth, however long the history.
            if done_pct / 10 > logged_tenth && done_pct < 100 {
                logged_tenth = done_pct / 10;
                tracing::info!(done_pct, "simulator backfill");
            }
        }
        self.backfilled.store(true, Ordering::Release);
        tracing::info!(
            elapsed_ms = began.elapsed().as_millis() as u64,
            series = self.sim.lock().series(),
            "simulator backfill finished; stepping in real time"
        );
        let mut ticker = tokio::time::interval(STEP_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.step_to(now_ms()).await {
                // A refused batch is logged by the simulator; keep going so one bad moment
                // (a slow disk) does not stop the fleet.
                tracing::warn!(%error, "simulator step failed");
            }
        }
        tracing::info!("simulator stopped");
    }

    /// Stops the real-time loop (before the store closes).
    pub(crate) async fn stop(&self) {
        self.cancel.cancel();
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The status JSON (`data` of `GET /api/tocsin/v1/sim`).
    pub(crate) fn status_json(&self) -> serde_json::Value {
        let now = now_ms();
        let sim = self.sim.lock();
        let fleet = sim.fleet();
        let faults: Vec<serde_json::Value> = sim
            .faults()
            .enumerate()
            .map(|(id, (fault, _))| {
                let (status, end) = match sim.fault_status(id, now) {
                    Some(FaultStatus::Pending) | None => ("pending", None),
                    Some(FaultStatus::Active) => ("active", None),
                    Some(FaultStatus::Mitigated(at)) => ("mitigated", Some(at)),
                    Some(FaultStatus::Over) => ("ended", fault.end()),
                };
                serde_json::json!({
                    "id": id,
                    "kind": fault.kind.name(),
                    "target": fault.kind.target(),
                    "status": status,
                    "start": rfc3339(fault.start),
                    "end": end.map_or(serde_json::Value::Null, rfc3339),
                })
            })
            .collect();
        serde_json::json!({
            "seed": self.seed,
            "services": fleet.services().len(),
            "regions": fleet.regions(),
            "instances_per_region": fleet.config().instances_per_region,
            "series": sim.series(),
            "started": rfc3339(self.started_ms),
            "history_start": rfc3339(self.history_start_ms),
            "backfilled": self.backfilled.load(Ordering::Acquire),
            "simulated_until": rfc3339(self.simulated_until_ms.load(Ordering::Acquire)),
            "faults": faults,
        })
    }

    /// Applies a mitigation now; returns the ids of the faults it ended.
    pub(crate) fn mitigate(&self, mitigation: Mitigation) -> Result<Vec<usize>, String> {
        let mut sim = self.sim.lock();
        // After the last scrape written, so the mitigation is never "in the past".
        let at = now_ms().max(sim.last_scrape().map_or(i64::MIN, |t| t + 1));
        // Errors start with the request field that is wrong, as the API promises.
        let ended = sim.apply(mitigation.clone(), at).map_err(|e| {
            let field = match &e {
                tocsin_sim::Error::UnknownService { .. } => "service: ",
                tocsin_sim::Error::UnknownRegion { .. } => "region: ",
                tocsin_sim::Error::UnknownInstance { .. } => "instance: ",
                _ => "",
            };
            format!("{field}{e}")
        })?;
        drop(sim);
        tracing::info!(
            mitigation = mitigation.name(),
            target = %mitigation.describe(),
            ended = ?ended,
            "mitigation applied to the simulated fleet"
        );
        for observer in self.observers.lock().iter() {
            observer(&mitigation, at, &ended);
        }
        Ok(ended)
    }
}

impl SimApi for SimStage {
    fn status(&self) -> ApiFuture<'_> {
        Box::pin(async move { Ok(self.status_json()) })
    }

    fn mitigate(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let mitigation = parse_mitigation(&body).map_err(|e| (400, e))?;
            let ended = Self::mitigate(self, mitigation).map_err(|e| (400, e))?;
            Ok(serde_json::json!({ "ended_faults": ended }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mitigation_requests_round_trip_and_bad_fields_are_named() {
        for m in [
            Mitigation::Rollback {
                service: "web".to_owned(),
            },
            Mitigation::RestartInstance {
                service: "cart".to_owned(),
                region: "eu-west".to_owned(),
                instance: 1,
            },
            Mitigation::ScaleOut {
                service: "cart".to_owned(),
                factor: 3.0,
            },
            Mitigation::RaisePoolSize {
                service: "orders-store".to_owned(),
                max_connections: 0,
            },
            Mitigation::FailOverRegion {
                region: "us-east".to_owned(),
            },
        ] {
            let body = mitigation_request(&m).to_string();
            assert_eq!(parse_mitigation(body.as_bytes()), Ok(m));
        }
        let err = parse_mitigation(
            br#"{"action":"restart_instance","service":"cart","region":"eu-west"}"#,
        )
        .unwrap_err();
        assert!(err.starts_with("instance:"), "{err}");
        let err = parse_mitigation(br#"{"action":"reboot_everything"}"#).unwrap_err();
        assert!(
            err.starts_with("action:") && err.contains("rollback {service}"),
            "{err}"
        );
        let err = parse_mitigation(br#"{"action":"rollback","servce":"web"}"#).unwrap_err();
        assert!(err.starts_with("body:") && err.contains("servce"), "{err}");
        let err = parse_mitigation(br#"{"action":"scale_out","service":"web","factor":0.5}"#)
            .unwrap_err();
        assert!(err.starts_with("factor:"), "{err}");
    }

    fn demo_config() -> SimulatorConfig {
        tocsin_config::Config::parse(
            "t.yml",
            "simulator:\n  services: 12\n  regions: [eu-west]\n  history: 2m\n  faults:\n    - {kind: bad_deploy, after: 0s, service: web, version: v9, error_ratio: 0.9}\n",
        )
        .unwrap()
        .simulator
        .unwrap()
    }

    #[tokio::test]
    async fn backfills_reports_faults_and_ends_them_with_the_right_mitigation() {
        let store = Arc::new(tocsin_model::storage::mem::MemStorage::new());
        let stage =
            SimStage::start(&demo_config(), Arc::clone(&store) as Arc<dyn Appendable>).unwrap();
        // Bounded wait for the backfill (two simulated minutes take milliseconds).
        for _ in 0..200 {
            if stage.status_json()["backfilled"] == true {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = stage.status_json();
        assert_eq!(status["backfilled"], true, "{status}");
        assert_eq!(status["services"], 12);
        assert!(status["series"].as_u64().unwrap() > 100, "{status}");
        assert_eq!(status["faults"][0]["kind"], "bad_deploy");
        assert_eq!(status["faults"][0]["target"], "web");
        assert_eq!(status["faults"][0]["status"], "active");
        let wrong = SimStage::mitigate(
            &stage,
            Mitigation::RestoreDnsConfig {
                service: "web".to_owned(),
            },
        )
        .unwrap();
        assert!(wrong.is_empty());
        let unknown = SimStage::mitigate(
            &stage,
            Mitigation::Rollback {
                service: "nope".to_owned(),
            },
        )
        .unwrap_err();
        assert!(unknown.starts_with("service: unknown service"), "{unknown}");
        let ended = SimStage::mitigate(
            &stage,
            Mitigation::Rollback {
                service: "web".to_owned(),
            },
        )
        .unwrap();
        assert_eq!(ended, vec![0]);
        assert_eq!(stage.status_json()["faults"][0]["status"], "mitigated");
        stage.stop().await;
    }

    #[test]
    fn a_fault_naming_a_service_the_fleet_lacks_stops_start_up_with_the_fleet_listed() {
        let mut config = demo_config();
        config.faults[0].service = Some("nope".to_owned());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime
            .block_on(async {
                SimStage::start(
                    &config,
                    Arc::new(tocsin_model::storage::mem::MemStorage::new()) as Arc<dyn Appendable>,
                )
                .map(|_| ())
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains("simulator fault #1 (bad_deploy)"), "{err}");
        assert!(err.contains("unknown service \"nope\""), "{err}");
    }
}
