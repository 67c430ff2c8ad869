//! `tocsin server`: the composition root. Builds every stage from the configuration, wires
//! them together through their traits, serves HTTP, and on SIGINT/SIGTERM shuts down in
//! order (stop accepting, finish requests in flight, then flush stages).

mod config_source;
mod data_dir;
mod reload;
mod signals;

use std::sync::Arc;

use anyhow::Context;
use tocsin_api::{AppState, HttpMetrics, Readiness, SecurityHandle, ServeOptions, WebSecurity};
use tocsin_config::Config;
use tocsin_telemetry::Registry;
use tokio_util::sync::CancellationToken;

use self::config_source::ConfigSource;
use self::data_dir::DataDir;
use self::reload::ConfigReloader;
use crate::BUILD;
use crate::cli::ServerArgs;

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

async fn serve(args: ServerArgs) -> anyhow::Result<()> {
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
    let reloader = Arc::new(ConfigReloader::new(
        source,
        config,
        security.clone(),
        &registry,
    )?);

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
        // The time-series store is wired here when it lands (#3).
        storage: None,
        registry,
        http_metrics,
        build: BUILD,
    });

    let shutdown = CancellationToken::new();
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

    // Stages flush their state here, in reverse order of the data flow, as they land.
    drop(data_dir);
    tracing::info!("tocsin stopped");
    Ok(())
}

/// Sections that are parsed and validated now but whose stage is not built yet: say so
/// rather than silently ignore them.
fn warn_about_sections_not_in_effect(config: &Config) {
    let pending = [
        (
            "global",
            config.global != tocsin_config::GlobalConfig::default(),
        ),
        (
            "storage.tsdb",
            config.storage.tsdb != tocsin_config::TsdbConfig::default(),
        ),
        (
            "limits",
            config.limits != tocsin_config::LimitsConfig::default(),
        ),
        ("scrape_configs", !config.scrape_configs.is_empty()),
        ("rule_files", !config.rule_files.is_empty()),
        ("slo_files", !config.slo_files.is_empty()),
        (
            "alerting",
            config.alerting != tocsin_config::AlertingConfig::default(),
        ),
        ("oncall.files", !config.oncall.files.is_empty()),
        (
            "storage.state",
            config.storage.state != tocsin_config::StateStore::default(),
        ),
    ];
    for (section, configured) in pending {
        if configured {
            tracing::warn!(
                section,
                "configured and validated, but this version does not run that stage yet; it has no effect"
            );
        }
    }
}
