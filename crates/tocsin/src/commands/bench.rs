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
        server_pid: args.server_pid,
    };
    // One thread: with bodies patched rather than rebuilt, sending needs little CPU, and
    // every cycle the generator takes is one the receiver on the same machine loses.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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
    let json_number =
        |value: Option<f64>| value.map_or_else(|| "null".to_owned(), |v| format!("{v:.3}"));
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
             \"generator_cpu_seconds\": {}, \"server_cpu_seconds\": {}, \
             \"generator_cores\": {}, \"server_cores\": {}, \
             \"statuses\": {{{}}}, \"latency_ms\": {{\"p50\": {:.2}, \"p90\": {:.2}, \
             \"p99\": {:.2}, \"max\": {:.2}}}}}",
            report.series,
            report.first_round_secs,
            report.steady_secs,
            report.accepted,
            report.accepted_total,
            report.sent,
            report.samples_per_second(),
            json_number(report.generator_cpu_secs),
            json_number(report.server_cpu_secs),
            json_number(report.cores(report.generator_cpu_secs)),
            json_number(report.cores(report.server_cpu_secs)),
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
        let cores = |cpu: Option<f64>| {
            report
                .cores(cpu)
                .map_or_else(|| "unknown".to_owned(), |c| format!("{c:.2} cores"))
        };
        output::line(&format!(
            "CPU in the steady phase: generator {}, server {}",
            cores(report.generator_cpu_secs),
            if options.server_pid.is_some() {
                cores(report.server_cpu_secs)
            } else {
                "not measured (pass --server-pid)".to_owned()
            }
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
