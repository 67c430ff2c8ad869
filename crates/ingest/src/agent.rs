//! `tocsin agent`: collects host metrics (procfs, with node_exporter's names), the top
//! processes, log-file counters and concurrent probes on an interval and pushes them with
//! remote_write to tocsin or any receiver. Every collection is queued on local disk first and removed
//! only once acknowledged, with exponential backoff while the receiver is away, so a
//! receiver restart loses nothing.

mod host;
mod logs;
mod probes;
mod push;
mod queue;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tocsin_model::Sample;
use tokio_util::sync::CancellationToken;

pub use self::host::HostCollector;
pub use self::logs::{LogRule, LogTail, MAX_LABEL_SETS_PER_RULE};
pub use self::probes::{ProbeTarget, Probes};
pub use self::push::{Pusher, SendOutcome};
pub use self::queue::DiskQueue;
use crate::Result;
use crate::clock::Clock;
use crate::remote_write::{V1Encoder, compress};

/// One value: labels (with `__name__`) and the value.
pub type Point = (Vec<(String, String)>, f64);

/// A source of points, read once per interval.
pub trait Collector: Send {
    /// Appends the current values.
    fn collect(&mut self, out: &mut Vec<Point>);
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The receiver's remote_write URL.
    pub url: String,
    /// `X-Scope-OrgID`, if any.
    pub tenant: Option<String>,
    /// Collection interval.
    pub interval: Duration,
    /// Where unacknowledged requests wait.
    pub queue_dir: PathBuf,
    /// Largest queue on disk in bytes (0 = unbounded); the oldest requests go first.
    pub max_queue_bytes: u64,
    /// Labels added to every series (`instance`, `job`, ...); they win over collected ones.
    pub labels: Vec<(String, String)>,
    /// Shortest and longest wait between retries.
    pub backoff: (Duration, Duration),
}

/// Encodes one collection as a compressed remote_write request.
pub fn encode(points: &[Point], extra: &[(String, String)], t: i64) -> Vec<u8> {
    let mut encoder = V1Encoder::new();
    let mut labels: Vec<(&str, &str)> = Vec::new();
    for (point_labels, value) in points {
        labels.clear();
        for (name, value) in point_labels {
            if !extra.iter().any(|(n, _)| n == name) {
                labels.push((name, value));
            }
        }
        labels.extend(extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        labels.sort_unstable();
        encoder.add_series(&labels, &[Sample::new(t, *value)]);
    }
    compress(encoder.as_bytes())
}

/// Runs until `stop`: collect, queue, push.
pub async fn run(
    options: AgentOptions,
    mut collectors: Vec<Box<dyn Collector>>,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) -> Result<()> {
    let mut queue = DiskQueue::open(&options.queue_dir, options.max_queue_bytes)?;
    let mut pusher = Pusher::new(
        &options.url,
        options.tenant.clone(),
        options.backoff.0,
        options.backoff.1,
    )
    .map_err(|reason| crate::Error::HttpClient {
        job: "agent".to_owned(),
        reason,
    })?;
    let mut ticker = tokio::time::interval(options.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry_at = tokio::time::Instant::now();
    let mut points = Vec::new();
    loop {
        let next_drain = tokio::time::sleep_until(retry_at);
        tokio::select! {
            _ = ticker.tick() => {
                points.clear();
                for collector in &mut collectors {
                    collector.collect(&mut points);
                }
                let body = encode(&points, &options.labels, clock.now_ms());
                queue.push(&body)?;
            }
            () = next_drain => {}
            () = stop.cancelled() => break,
        }
        if tokio::time::Instant::now() >= retry_at {
            let drained = tokio::select! {
                drained = pusher.drain(&queue) => drained?,
                () = stop.cancelled() => break,
            };
            retry_at = if drained {
                tokio::time::Instant::now() + options.interval
            } else {
                tokio::time::Instant::now() + pusher.backoff()
            };
        }
    }
    // Whatever is still queued is sent by the next run.
    tracing::info!(queued = queue.entries()?.len(), "agent stopped");
    Ok(())
}
