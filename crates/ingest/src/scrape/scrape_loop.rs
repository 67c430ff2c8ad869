//! One target's loop: wait for its offset in the interval, then scrape every interval;
//! each scrape is appended and committed with its synthetic series, and the loop's end
//! (target gone) marks everything it stored stale.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tocsin_model::storage::{Appendable, Appender};
use tocsin_model::{Label, Labels, METRIC_NAME, STALE_NAN, Timestamp};
use tokio_util::sync::CancellationToken;

use super::append::{AppendStats, SampleRules, ScrapeCache};
use super::fetch::Fetch;
use super::target::{LastScrape, Target, TargetHealth};
use crate::clock::Clock;
use crate::exposition::Format;
use crate::metrics::IngestMetrics;

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// What one scrape did.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeReport {
    /// Whether it succeeded (`up`).
    pub up: bool,
    /// When it started (ms), the timestamp of its samples.
    pub timestamp: Timestamp,
    /// Seconds it took (`scrape_duration_seconds`).
    pub duration: f64,
    /// `scrape_samples_scraped`.
    pub scraped: u64,
    /// `scrape_samples_post_metric_relabeling`.
    pub post_relabel: u64,
    /// `scrape_series_added`.
    pub series_added: u64,
    /// Stale markers written.
    pub stale_markers: u64,
    /// Why it failed.
    pub error: Option<String>,
}

/// How a loop ends.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    pub(crate) cancel: CancellationToken,
    /// Mark everything stale on the way out (the target is gone), rather than leave the
    /// series to a successor loop (reload) or to the next start (shutdown).
    pub(crate) mark_stale: AtomicBool,
}

/// The scrape loop of one target.
pub struct ScrapeLoop {
    target: Arc<Target>,
    job: String,
    fetcher: Arc<dyn Fetch>,
    storage: Arc<dyn Appendable>,
    clock: Arc<dyn Clock>,
    rules: SampleRules,
    cache: ScrapeCache,
    target_labels: Vec<Label>,
    report_labels: Vec<Labels>,
    report_live: bool,
    metrics: Option<IngestMetrics>,
}

impl std::fmt::Debug for ScrapeLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeLoop")
            .field("url", &self.target.url)
            .finish_non_exhaustive()
    }
}

impl ScrapeLoop {
    pub(crate) fn new(
        target: Arc<Target>,
        job: String,
        fetcher: Arc<dyn Fetch>,
        storage: Arc<dyn Appendable>,
        clock: Arc<dyn Clock>,
        rules: SampleRules,
        metrics: Option<IngestMetrics>,
    ) -> Self {
        let target_labels: Vec<Label> = target.public_labels().cloned().collect();
        let report_labels = REPORT_NAMES
            .iter()
            .map(|name| {
                let mut labels = target_labels.clone();
                labels.push(Label::new(METRIC_NAME, *name));
                Labels::new(labels).unwrap_or_else(|_| Labels::empty())
            })
            .collect();
        Self {
            target,
            job,
            fetcher,
            storage,
            clock,
            rules,
            cache: ScrapeCache::default(),
            target_labels,
            report_labels,
            report_live: false,
            metrics,
        }
    }

    fn report(&self, appender: &mut dyn Appender, report: &ScrapeReport) {
        let values = [
            if report.up { 1.0 } else { 0.0 },
            report.duration,
            report.scraped as f64,
            report.post_relabel as f64,
            report.series_added as f64,
        ];
        for (labels, value) in self.report_labels.iter().zip(values) {
            if let Err(err) = appender.append(0, labels, report.timestamp, value) {
                tracing::debug!(%err, "synthetic scrape series refused by the store");
            }
        }
    }

    /// Scrapes once, now.
    pub async fn scrape_once(&mut self) -> ScrapeReport {
        let timestamp = self.clock.now_ms();
        let started = tokio::time::Instant::now();
        let fetched = self
            .fetcher
            .fetch(&self.target.url, self.target.timeout.as_std())
            .await;
        self.cache.begin();
        let mut live_now = HashSet::new();
        let mut appender = self.storage.appender();
        let result = match fetched {
            Ok(fetched) => {
                let format = Format::from_content_type(fetched.content_type.as_deref());
                self.cache.append(
                    &mut *appender,
                    &fetched.body,
                    format,
                    timestamp,
                    &self.target_labels,
                    &self.rules,
                    &mut live_now,
                )
            }
            Err(err) => Err(err),
        };
        let (stats, error) = match result {
            Ok(stats) => (stats, None),
            Err(err) => {
                // Roll back what the failed scrape appended; mark everything stale instead.
                drop(appender);
                appender = self.storage.appender();
                live_now.clear();
                (AppendStats::default(), Some(err))
            }
        };
        let stale_markers = self.cache.mark_stale(&mut *appender, timestamp, &live_now);
        let mut report = ScrapeReport {
            up: error.is_none(),
            timestamp,
            duration: started.elapsed().as_secs_f64(),
            scraped: stats.scraped,
            post_relabel: stats.post_relabel,
            series_added: stats.series_added,
            stale_markers,
            error,
        };
        self.report(&mut *appender, &report);
        match appender.commit() {
            Ok(_) => {
                self.report_live = true;
                if report.up {
                    self.cache.succeeded(&live_now);
                } else {
                    self.cache.failed();
                }
            }
            Err(err) => {
                tracing::error!(target = %self.target.url, %err, "cannot store scraped samples");
                report.up = false;
                report.error = Some(format!("cannot store the samples: {err}"));
            }
        }
        if let Some(metrics) = &self.metrics {
            let result = if report.up { "success" } else { "failure" };
            metrics
                .scrapes
                .with_label_values(&[&self.job, result])
                .inc();
            if report.up {
                metrics
                    .samples_accepted
                    .with_label_values(&["scrape", tocsin_config::TenantId::DEFAULT])
                    .inc_by(report.post_relabel.saturating_sub(stats.refused));
            }
        }
        if let Some(error) = &report.error {
            tracing::debug!(target = %self.target.url, %error, "scrape failed");
        }
        *self.target.last.lock() = LastScrape {
            health: if report.up {
                TargetHealth::Up
            } else {
                TargetHealth::Down
            },
            error: report.error.clone().unwrap_or_default(),
            at_ms: Some(timestamp),
            duration_secs: report.duration,
        };
        report
    }

    /// Marks every series of the last successful scrape, and the synthetic series, stale
    /// (the target is gone).
    pub fn end_of_run(&mut self) -> u64 {
        let now = self.clock.now_ms();
        let mut appender = self.storage.appender();
        let mut marked = self.cache.mark_stale(&mut *appender, now, &HashSet::new());
        if self.report_live {
            for labels in &self.report_labels {
                if appender.append(0, labels, now, STALE_NAN).is_ok() {
                    marked += 1;
                }
            }
        }
        if let Err(err) = appender.commit() {
            tracing::warn!(target = %self.target.url, %err, "cannot store stale markers of a removed target");
            return 0;
        }
        self.cache.failed();
        self.report_live = false;
        marked
    }

    /// The delay before the first scrape: each target gets a fixed offset inside the
    /// interval from its hash, so a thousand targets do not all scrape at once, and a
    /// target keeps its slot across restarts.
    pub fn first_delay(&self, now_ms: i64) -> Duration {
        let interval = self.target.interval.as_millis().max(1) as i64;
        let offset = (self.target.hash() % interval as u64) as i64;
        let wait = (offset - now_ms.rem_euclid(interval)).rem_euclid(interval);
        Duration::from_millis(wait as u64)
    }

    /// Runs until `stop` is cancelled.
    pub(crate) async fn run(mut self, stop: Arc<StopSignal>) {
        let delay = self.first_delay(self.clock.now_ms());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop.cancel.cancelled() => return,
        }
        let mut ticker = tokio::time::interval(self.target.interval.as_std());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancel.cancelled() => break,
            }
            tokio::select! {
                _ = self.scrape_once() => {}
                () = stop.cancel.cancelled() => break,
            }
        }
        if stop.mark_stale.load(Ordering::Acquire) {
            self.end_of_run();
        }
    }
}
