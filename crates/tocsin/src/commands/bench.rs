//! `tocsin bench ...`: load generators whose figures go into the benchmark notes.

use std::process::ExitCode;

use anyhow::Context;
use tocsin_ingest::loadgen::{LoadOptions, run};

use crate::cli::RemoteWriteBenchArgs;
use crate::output;

/// `tocsin bench remote-write`.
pub(crate) fn remote_write(args: &RemoteWriteBenchArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = LoadOptions {
        url: args.url.clone(),
        series: args.series,
        duration: args.duration.as_std(),
        concurrency: args.concurrency,
        batch: args.batch,
        tenant: args.tenant.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime
        .block_on(run(&options))
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let errors: Vec<String> = report
        .statuses
        .iter()
        .filter(|(status, _)| !status.starts_with('2'))
        .map(|(status, count)| format!("{status}: {count}"))
        .collect();
    if args.format == "json" {
        let statuses: Vec<String> = report
            .statuses
            .iter()
            .map(|(status, count)| format!("\"{status}\": {count}"))
            .collect();
        output::line(&format!(
            "{{\"series\": {}, \"first_round_seconds\": {:.3}, \"steady_seconds\": {:.3}, \
             \"accepted_samples\": {}, \"accepted_samples_total\": {}, \"sent_samples\": {}, \
             \"samples_per_second\": {:.0}, \
             \"statuses\": {{{}}}, \"latency_ms\": {{\"p50\": {:.2}, \"p90\": {:.2}, \
             \"p99\": {:.2}, \"max\": {:.2}}}}}",
            report.series,
            report.first_round_secs,
            report.steady_secs,
            report.accepted,
            report.accepted_total,
            report.sent,
            report.samples_per_second(),
            statuses.join(", "),
            report.latency(50.0),
            report.latency(90.0),
            report.latency(99.0),
            report.latency(100.0),
        ));
    } else {
        output::line(&format!(
            "remote_write load on {}: {} series, concurrency {}, batch {}",
            options.url, report.series, options.concurrency, options.batch
        ));
        output::line(&format!(
            "first round (series creation): {:.1}s; steady phase: {:.1}s",
            report.first_round_secs, report.steady_secs
        ));
        output::line(&format!(
            "accepted: {:.0} samples/s ({} of {} samples sent)",
            report.samples_per_second(),
            report.accepted,
            report.sent
        ));
        output::line(&format!(
            "errors: {}",
            if errors.is_empty() {
                "none".to_owned()
            } else {
                errors.join(", ")
            }
        ));
        output::line(&format!(
            "latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            report.latency(50.0),
            report.latency(90.0),
            report.latency(99.0),
            report.latency(100.0)
        ));
    }
    Ok(if report.accepted > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
