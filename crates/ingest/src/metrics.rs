//! The ingest stage's self-metrics, registered once. Label values are bounded: reasons and
//! protocols are fixed sets, tenants are capped (see `limits::MAX_TENANT_LABELS`), jobs come
//! from the configuration.

use tocsin_telemetry::{
    Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts, Registry, exponential_buckets,
};

use crate::Result;

/// Metrics of receiving, limiting and scraping.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    /// Samples stored, by protocol and tenant.
    pub samples_accepted: IntCounterVec,
    /// Samples refused, by reason and tenant.
    pub samples_rejected: IntCounterVec,
    /// Requests refused as a whole, by reason and tenant.
    pub requests_rejected: IntCounterVec,
    /// Active series per tenant.
    pub active_series: IntGaugeVec,
    /// Exemplars and histograms received and not stored, by kind.
    pub not_stored: IntCounterVec,
    /// Decompressed remote_write body sizes.
    pub body_bytes: Histogram,
    /// Scrapes by job and result.
    pub scrapes: IntCounterVec,
    /// Targets by job and state (active, dropped).
    pub targets: IntGaugeVec,
}

impl IngestMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self> {
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec> {
            Ok(registry.register(
                IntCounterVec::new(Opts::new(name, help), labels)
                    .map_err(tocsin_telemetry::Error::from)?,
            )?)
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec> {
            Ok(registry.register(
                IntGaugeVec::new(Opts::new(name, help), labels)
                    .map_err(tocsin_telemetry::Error::from)?,
            )?)
        };
        Ok(Self {
            samples_accepted: counter(
                "tocsin_ingest_samples_accepted_total",
                "Samples stored, by protocol (remote_write, scrape) and tenant.",
                &["protocol", "tenant"],
            )?,
            samples_rejected: counter(
                "tocsin_ingest_samples_rejected_total",
                "Samples refused, by reason and tenant. Includes every sample of a request \
                 refused as a whole.",
                &["reason", "tenant"],
            )?,
            requests_rejected: counter(
                "tocsin_ingest_requests_rejected_total",
                "remote_write requests refused as a whole, by reason and tenant.",
                &["reason", "tenant"],
            )?,
            active_series: gauge(
                "tocsin_ingest_active_series",
                "Series written within the active-series idle timeout, by tenant.",
                &["tenant"],
            )?,
            not_stored: counter(
                "tocsin_ingest_received_not_stored_total",
                "Exemplars, native histograms and metadata received but not stored, by kind.",
                &["kind"],
            )?,
            body_bytes: registry.register(
                Histogram::with_opts(
                    HistogramOpts::new(
                        "tocsin_ingest_remote_write_body_bytes",
                        "Size of remote_write request bodies after decompression.",
                    )
                    .buckets(
                        exponential_buckets(1024.0, 4.0, 9)
                            .map_err(tocsin_telemetry::Error::from)?,
                    ),
                )
                .map_err(tocsin_telemetry::Error::from)?,
            )?,
            scrapes: counter(
                "tocsin_scrapes_total",
                "Scrapes by job and result (success, failure).",
                &["job", "result"],
            )?,
            targets: gauge(
                "tocsin_scrape_targets",
                "Scrape targets by job and state (active, dropped).",
                &["job", "state"],
            )?,
        })
    }
}
