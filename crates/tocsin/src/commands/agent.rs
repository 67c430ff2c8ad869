//! `tocsin agent`: host metrics pushed with remote_write.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tocsin_ingest::agent::{
    AgentOptions, Collector, HostCollector, LogRule, LogTail, ProbeTarget, Probes, run as run_agent,
};
use tocsin_ingest::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::cli::AgentArgs;

/// Runs the agent until SIGINT or SIGTERM.
pub(crate) fn run(args: &AgentArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut labels = Vec::new();
    for label in &args.labels {
        let (name, value) = label
            .split_once('=')
            .with_context(|| format!("--label {label:?} is not name=value"))?;
        tocsin_config::validate_label_name(name)
            .map_err(|err| anyhow::anyhow!("--label {label:?}: {err}"))?;
        labels.push((name.to_owned(), value.to_owned()));
    }
    if !labels.iter().any(|(n, _)| n == "instance") {
        let host = std::fs::read_to_string(args.procfs.join("sys/kernel/hostname"))
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        labels.push(("instance".to_owned(), host));
    }
    if !labels.iter().any(|(n, _)| n == "job") {
        labels.push(("job".to_owned(), "node".to_owned()));
    }
    let options = AgentOptions {
        url: args.url.clone(),
        tenant: args.tenant.clone(),
        interval: args.interval.as_std(),
        queue_dir: args.queue_dir.clone(),
        max_queue_bytes: args.max_queue_size.bytes(),
        labels,
        backoff: (
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        ),
    };
    let mut collectors: Vec<Box<dyn Collector>> = vec![Box::new(HostCollector::new(
        &args.procfs,
        args.top_processes,
    ))];
    let mut logs: Vec<(std::path::PathBuf, Vec<LogRule>)> = Vec::new();
    for spec in &args.log_rules {
        let mut parts = spec.splitn(3, "::");
        let (Some(file), Some(name), Some(regex)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("--log-rule {spec:?} is not FILE::RULE::REGEX");
        };
        let regex = regex::Regex::new(regex)
            .map_err(|err| anyhow::anyhow!("--log-rule {spec:?}: invalid regex: {err}"))?;
        let rule = LogRule {
            name: name.to_owned(),
            regex,
        };
        let path = std::path::PathBuf::from(file);
        match logs.iter_mut().find(|(p, _)| *p == path) {
            Some((_, rules)) => rules.push(rule),
            None => logs.push((path, vec![rule])),
        }
    }
    for (path, rules) in logs {
        collectors.push(Box::new(LogTail::new(path, rules)));
    }
    let probe_targets = args
        .probes
        .iter()
        .map(|p| ProbeTarget::parse(p).map_err(|err| anyhow::anyhow!("--probe: {err}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let stop = CancellationToken::new();
        if !probe_targets.is_empty() {
            collectors.push(Box::new(Probes::spawn(
                probe_targets,
                args.probe_interval.as_std(),
                args.probe_timeout.as_std(),
                args.probe_concurrency,
                stop.clone(),
            )));
        }
        let signal_stop = stop.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("invariant: installing a SIGTERM handler works in a fresh runtime");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            signal_stop.cancel();
        });
        tracing::info!(url = %options.url, interval = ?options.interval, queue = %options.queue_dir.display(), "agent started");
        run_agent(options, collectors, Arc::new(SystemClock), stop)
            .await
            .map_err(|err| anyhow::anyhow!("{err}"))
    })?;
    Ok(ExitCode::SUCCESS)
}
