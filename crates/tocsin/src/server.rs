//! `tocsin server`: the composition root. Builds every stage from the configuration, wires
//! them together through their traits, serves HTTP, and on SIGINT/SIGTERM shuts down in
//! order (stop accepting, finish requests in flight, then flush stages).

mod alerting;
mod config_source;
mod data_dir;
pub(crate) mod drill;
pub(crate) mod incident;
mod ingest;
pub(crate) mod oncall;
mod query;
mod reload;
pub(crate) mod rules;
mod signals;
pub(crate) mod sim;
pub(crate) mod slo;
mod storage;

use std::sync::Arc;

use anyhow::Context;
use tocsin_api::{AppState, HttpMetrics, Readiness, SecurityHandle, ServeOptions, WebSecurity};
use tocsin_config::Config;
use tocsin_telemetry::Registry;
use tokio_util::sync::CancellationToken;

use self::config_source::ConfigSource;
use self::data_dir::DataDir;
use self::reload::ConfigReloader;
use crate::cli::ServerArgs;
use crate::{BUILD, output};

/// Runs the server until a termination signal.
pub(crate) fn run(args: ServerArgs) -> anyhow::Result<()> {
    // One TLS provider for the whole process (see ../shared/DEPENDENCIES.md, trap 4).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tocsin-worker")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

pub(crate) async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    serve_with(args, ServeExtras::default()).await
}

/// What in-process callers (`tocsin drill run`) add to a plain server.
#[derive(Default)]
pub(crate) struct ServeExtras {
    /// Runs a drill over the simulator (the configuration must have a `simulator:` section).
    pub(crate) drill: Option<drill::DrillSetup>,
    /// Stops the server like a termination signal when cancelled.
    pub(crate) shutdown: Option<CancellationToken>,
}

/// [`serve`] with extras.
pub(crate) async fn serve_with(args: ServerArgs, extras: ServeExtras) -> anyhow::Result<()> {
    let source = ConfigSource::resolve(args.config.as_deref())?;
    let config = source.load().map_err(|err| anyhow::anyhow!("{err}"))?;
    tracing::info!(
        version = BUILD.version,
        revision = BUILD.revision,
        config = %source,
        data_dir = %args.data_dir.display(),
        "starting tocsin"
    );
    warn_about_sections_not_in_effect(&config);

    let data_dir = DataDir::open(&args.data_dir)?;

    let registry = Registry::new(&BUILD).context("cannot set up self-metrics")?;
    let http_metrics = HttpMetrics::register(&registry)?;
    let security = SecurityHandle::new(
        WebSecurity::from_config(&config.web, source.base_dir())
            .map_err(|err| anyhow::anyhow!("{}: {err}", source))?,
    );
    let tls = security.current().tls_enabled();
    let storage =
        storage::StorageStage::open(data_dir.path(), &config.storage.tsdb, &registry).await?;
    // Ingestion writes into the time-series store and acknowledges only what it committed.
    let ingest = Some(ingest::IngestStage::start(
        &config,
        storage.appendable(),
        &registry,
        source.base_dir(),
    )?);
    // Alert routing: the state store (silences, notification log, alert state, history)
    // and the router built from the Alertmanager file that alerting.config_file names.
    // The router starts first; its `oncall_configs` groups reach the incident stage once
    // that runs (it needs the query and escalation engines built below).
    let incident_handoff = Arc::new(incident::LateHandoff::default());
    let alerting = alerting::AlertingStage::start(
        &config,
        source.base_dir(),
        data_dir.path(),
        &registry,
        format!("http://{}", args.listen),
        Some(Arc::clone(&incident_handoff)
            as Arc<dyn tocsin_alerting::receivers::oncall::OncallHandoff>),
    )
    .await?;
    let alerting_base_dir = source.base_dir().to_path_buf();
    let slo_base_dir = source.base_dir().to_path_buf();
    let oncall_base_dir = source.base_dir().to_path_buf();
    let rules_base_dir = source.base_dir().to_path_buf();
    let incident_base_dir = source.base_dir().to_path_buf();
    let reloader = Arc::new(ConfigReloader::new(
        source,
        config,
        security.clone(),
        &registry,
    )?);
    if let Some(stage) = &ingest {
        let stage = Arc::clone(stage);
        reloader.on_reload(Box::new(move |config| stage.prepare_reload(config)));
    }

    {
        let stage = Arc::clone(&alerting);
        reloader.on_reload(Box::new(move |config| {
            stage.prepare_reload(config, &alerting_base_dir)
        }));
    }

    let prometheus = query::start(&args, &reloader.current(), &reloader);

    // SLOs: budgets and the deploy gate over the same engine and store as queries.
    let slo = slo::SloStage::start(
        &reloader.current(),
        &slo_base_dir,
        data_dir.path(),
        Arc::clone(&prometheus.engine),
        storage.queryable(),
    )
    .await?;
    {
        let stage = Arc::clone(&slo);
        reloader.on_reload(Box::new(move |config| {
            stage.prepare_reload(config, &slo_base_dir)
        }));
    }
    // On-call: the directory, schedules and the escalation engine (ticking every second).
    let oncall = oncall::OncallStage::start(
        &reloader.current(),
        &oncall_base_dir,
        data_dir.path(),
        &registry,
    )
    .await?;
    {
        let stage = Arc::clone(&oncall);
        reloader.on_reload(Box::new(move |config| {
            stage.prepare_reload(config, &oncall_base_dir)
        }));
    }
    // Incidents: opened from alert groups, PagerDuty events or by hand; paged through the
    // escalation engine; SLO impact from the same engine and store as queries.
    let incident = incident::IncidentStage::start(
        &reloader.current(),
        &incident_base_dir,
        data_dir.path(),
        incident::IncidentInputs {
            engine: Arc::clone(&prometheus.engine),
            storage: storage.queryable(),
            escalator: Some(oncall.escalator()),
            metrics: tocsin_incident::IncidentMetrics::register(&registry)?,
        },
    )
    .await?;
    incident_handoff.set(Arc::clone(&incident));
    {
        let stage = Arc::clone(&incident);
        reloader.on_reload(Box::new(move |config| {
            stage.prepare_reload(config, &incident_base_dir)
        }));
    }
    let rules = rules::RulesStage::start(
        &reloader.current(),
        &rules_base_dir,
        rules::RulesInputs {
            engine: Arc::clone(&prometheus.engine),
            queryable: storage.queryable(),
            appendable: storage.appendable(),
            router: alerting.router(),
        },
        &registry,
        format!("http://{}", args.listen),
    )?;
    {
        let stage = Arc::clone(&rules);
        reloader.on_reload(Box::new(move |config| stage.prepare_reload(config)));
    }

    // The simulated fleet (demo, drills) writes into the same store as ingestion; its
    // backfill runs in the background so the server is ready at once.
    let sim = reloader
        .current()
        .simulator
        .as_ref()
        .map(|config| sim::SimStage::start(config, storage.appendable()))
        .transpose()?;
    {
        // The simulation is built once: a reload keeps it running as it is, and says so.
        let started_with = reloader.current().simulator.clone();
        reloader.on_reload(Box::new(move |config| {
            let changed = config.simulator != started_with;
            Ok(reload::commit(move || {
                if changed {
                    tracing::warn!(
                        "the simulator section changed; the running simulation keeps its settings until the server restarts"
                    );
                }
            }))
        }));
    }

    // The drill records over the sim and incident stages; it needs the simulator.
    let drill = match (extras.drill, &sim) {
        (Some(setup), Some(sim)) => Some(drill::DrillStage::start(
            setup,
            data_dir.path(),
            sim,
            Arc::clone(&incident) as Arc<dyn tocsin_api::IncidentApi>,
        )?),
        (Some(_), None) => anyhow::bail!(
            "a drill needs the simulator, but the configuration has no `simulator:` section"
        ),
        (None, _) => None,
    };
    if let Some(stage) = &drill {
        output::line(&stage.briefing());
    }

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another process using it? Choose another with --listen",
                args.listen
            )
        })?;
    let local_addr = listener
        .local_addr()
        .context("cannot read the listen address")?;

    let readiness = Arc::new(Readiness::default());
    let app = tocsin_api::router(AppState {
        readiness: Arc::clone(&readiness),
        security: security.clone(),
        reloader: Arc::clone(&reloader) as Arc<dyn tocsin_api::Reloader>,
        storage: Some(storage.queryable()),
        prometheus: Some(prometheus),
        ingest: ingest
            .clone()
            .map(|stage| stage as Arc<dyn tocsin_api::IngestApi>),
        alerting: Some(Arc::clone(&alerting) as Arc<dyn tocsin_api::AlertmanagerApi>),
        slo: Some(Arc::clone(&slo) as Arc<dyn tocsin_api::SloApi>),
        oncall: Some(Arc::clone(&oncall) as Arc<dyn tocsin_api::OncallApi>),
        incident: Some(Arc::clone(&incident) as Arc<dyn tocsin_api::IncidentApi>),
        rules: Some(Arc::clone(&rules) as Arc<dyn tocsin_api::RulesApi>),
        sim: sim
            .clone()
            .map(|stage| stage as Arc<dyn tocsin_api::SimApi>),
        drill: drill
            .clone()
            .map(|stage| stage as Arc<dyn tocsin_api::DrillApi>),
        registry,
        http_metrics,
        build: BUILD,
    });

    let shutdown = extras.shutdown.unwrap_or_default();
    let force = CancellationToken::new();
    let signal_task = tokio::spawn(signals::handle(
        Arc::clone(&reloader),
        Arc::clone(&readiness),
        shutdown.clone(),
        force.clone(),
    ));

    readiness.set_ready();
    tracing::info!(
        listen = %local_addr,
        scheme = if tls { "https" } else { "http" },
        "tocsin is ready"
    );
    let options = ServeOptions {
        shutdown_grace: args.shutdown_timeout.as_std(),
        ..ServeOptions::default()
    };
    tokio::select! {
        () = tocsin_api::serve(listener, app, security, options, shutdown.cancelled_owned()) => {}
        () = force.cancelled() => {
            tracing::warn!("second termination signal; not waiting for open connections");
        }
    }
    signal_task.abort();
    if let Some(stage) = &drill {
        stage.finish_on_shutdown();
    }

    // The simulator first: it writes at the front of the data flow, like ingestion, and the
    // store must not close under it.
    if let Some(stage) = &sim {
        stage.stop().await;
    }
    // Stages flush their state in reverse order of the data flow. Rules first: they post
    // into the router, and stopping marks their series stale. Then alerting: every
    // acknowledged alert and silence is already in the state store; this stops the group
    // timers and writes queued history.
    rules.stop().await;
    oncall.stop().await;
    incident.stop().await;
    slo.stop().await;
    alerting.stop().await;
    if let Some(stage) = &ingest {
        stage.stop().await;
    }
    // After ingestion stopped: everything acknowledged is in the WAL; close fsyncs it.
    storage.stop().await;
    drop(data_dir);
    tracing::info!("tocsin stopped");
    Ok(())
}

/// Loads the Alertmanager file `alerting.config_file` names, for `tocsin check config`.
pub(crate) fn check_alertmanager_reference(
    config: &Config,
    base_dir: &std::path::Path,
) -> Result<(), String> {
    alerting::load_alertmanager_config(config, base_dir).map(|_| ())
}

/// Sections that are parsed and validated now but whose stage is not built yet: say so
/// rather than silently ignore them.
fn warn_about_sections_not_in_effect(config: &Config) {
    // Every section has its stage now (on-call landed); the next one to land goes here.
    let _ = config;
    let pending: [(&str, bool); 0] = [];
    for (section, configured) in pending {
        if configured {
            tracing::warn!(
                section,
                "configured and validated, but this version does not run that stage yet; it has no effect"
            );
        }
    }
}
