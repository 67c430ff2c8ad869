//! The remote_write receiver (`POST /api/v1/write`): content negotiation, size limits,
//! snappy and protobuf decoding, per-series validation, per-tenant limits, append and
//! commit, and the spec's answer:
//!
//! | status | when | sender |
//! |---|---|---|
//! | 204 | everything stored | done |
//! | 400 | the body or some series are invalid; the valid ones **are stored** | drops the batch |
//! | 413 | body over the size limit, before or after decompression | drops |
//! | 415 | wrong `Content-Type` or `Content-Encoding` | drops |
//! | 429 | tenant over its sample rate (`Retry-After` says when) | retries |
//! | 503 | too many requests in progress, or the store is closing | retries |
//! | 500 | the store failed (nothing acknowledged) | retries |
//!
//! A 2xx is sent only after the store's commit returned, i.e. once the samples are in the
//! WAL per its sync policy.

mod append;
mod validate;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tocsin_model::storage::Appendable;

use crate::clock::Clock;
use crate::limits::Limiter;
use crate::metrics::IngestMetrics;
use crate::remote_write::{Protocol, SnappyError, decode_v1, decode_v2, decompress};

/// One remote_write request as the HTTP layer hands it over.
#[derive(Debug, Clone, Default)]
pub struct WriteInput {
    /// `X-Scope-OrgID`.
    pub tenant: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// The body as received.
    pub body: Bytes,
}

/// The answer to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// HTTP status.
    pub status: u16,
    /// Plain-text body (empty for 204).
    pub message: String,
    /// `Retry-After` in seconds, for 429 and 503.
    pub retry_after: Option<u64>,
    /// Extra headers (the 2.0 `X-Prometheus-Remote-Write-*-Written` counts).
    pub headers: Vec<(&'static str, String)>,
}

impl WriteOutcome {
    fn error(status: u16, message: impl Into<String>) -> Self {
        let mut message = message.into();
        message.push('\n');
        Self {
            status,
            message,
            retry_after: None,
            headers: Vec::new(),
        }
    }
}

/// A request that passed the checks made before its body is read.
#[derive(Debug)]
struct Accepted {
    tenant: String,
    label: String,
    protocol: Protocol,
}

/// Tuning of the receiver.
#[derive(Debug, Clone)]
pub struct ReceiverOptions {
    /// Requests decoded and appended at once; more wait.
    pub max_concurrency: usize,
    /// How long a request may wait for its turn before a 503.
    pub queue_timeout: Duration,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            // Decoding is CPU work and the commit may wait on fsync: a few per core keeps
            // the cores busy while one waits.
            max_concurrency: cores * 4,
            queue_timeout: Duration::from_secs(10),
        }
    }
}

/// The receiver. Cheap to share (`Arc`).
pub struct Receiver {
    storage: Arc<dyn Appendable>,
    limiter: Arc<Limiter>,
    metrics: IngestMetrics,
    clock: Arc<dyn Clock>,
    permits: tokio::sync::Semaphore,
    options: ReceiverOptions,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver writing to `storage`.
    pub fn new(
        storage: Arc<dyn Appendable>,
        limiter: Arc<Limiter>,
        metrics: IngestMetrics,
        clock: Arc<dyn Clock>,
        options: ReceiverOptions,
    ) -> Self {
        Self {
            storage,
            limiter,
            metrics,
            clock,
            permits: tokio::sync::Semaphore::new(options.max_concurrency.max(1)),
            options,
        }
    }

    /// The limiter (for reloads and maintenance).
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }

    /// The largest body accepted for `tenant` as sent (compressed), for the HTTP layer to
    /// stop reading early.
    pub fn body_limit(&self, tenant: Option<&str>) -> usize {
        let tenant = Limiter::tenant_id(tenant).unwrap_or(tocsin_config::TenantId::DEFAULT);
        usize::try_from(
            self.limiter
                .limits_for(tenant)
                .max_request_body_size
                .bytes(),
        )
        .unwrap_or(usize::MAX)
    }

    fn reject(&self, status: u16, reason: &str, tenant: &str, message: String) -> WriteOutcome {
        let label = if status == 400 && reason == "invalid_tenant" {
            "invalid"
        } else {
            tenant
        };
        self.metrics
            .requests_rejected
            .with_label_values(&[reason, label])
            .inc();
        tracing::debug!(status, reason, tenant = label, %message, "remote_write request refused");
        WriteOutcome::error(status, message)
    }

    /// Handles one request end to end. Decoding and appending run on the blocking pool.
    pub async fn write(self: &Arc<Self>, input: WriteInput) -> WriteOutcome {
        let accepted = match self.check(&input) {
            Ok(accepted) => accepted,
            Err(outcome) => return outcome,
        };
        let Ok(Ok(permit)) =
            tokio::time::timeout(self.options.queue_timeout, self.permits.acquire()).await
        else {
            let mut outcome = self.reject(
                503,
                "overloaded",
                &accepted.label,
                "too many remote_write requests in progress; retry later".to_owned(),
            );
            outcome.retry_after = Some(1);
            return outcome;
        };
        let this = Arc::clone(self);
        let outcome =
            tokio::task::spawn_blocking(move || this.process(&accepted, &input.body)).await;
        drop(permit);
        outcome.unwrap_or_else(|err| {
            tracing::error!(%err, "remote_write worker panicked; nothing of the request was acknowledged");
            WriteOutcome::error(500, "internal error; nothing was stored, retry")
        })
    }

    /// Handles one request on the calling thread, outside the concurrency limit: for
    /// callers that bound their own concurrency (benchmarks, the profiler's harness).
    pub fn write_blocking(&self, input: &WriteInput) -> WriteOutcome {
        match self.check(input) {
            Ok(accepted) => self.process(&accepted, &input.body),
            Err(outcome) => outcome,
        }
    }

    /// The checks made before the body is touched: tenant, content type and encoding,
    /// size as sent.
    fn check(&self, input: &WriteInput) -> Result<Accepted, WriteOutcome> {
        let tenant = match Limiter::tenant_id(input.tenant.as_deref()) {
            Ok(tenant) => tenant.to_owned(),
            Err(message) => return Err(self.reject(400, "invalid_tenant", "invalid", message)),
        };
        let label = self.limiter.tenant(&tenant).metrics_label.clone();
        let protocol = match Protocol::from_content_type(input.content_type.as_deref()) {
            Ok(protocol) => protocol,
            Err(message) => {
                return Err(self.reject(415, "unsupported_content_type", &label, message));
            }
        };
        match input.content_encoding.as_deref().map(str::trim) {
            None => {}
            Some(encoding) if encoding.eq_ignore_ascii_case("snappy") => {}
            Some(other) => {
                return Err(self.reject(
                    415,
                    "unsupported_content_encoding",
                    &label,
                    format!(
                        "unsupported Content-Encoding {other:?}; remote_write bodies are \
                         snappy-compressed (block format)"
                    ),
                ));
            }
        }
        let limits = self.limiter.limits_for(&tenant);
        let max_body = limits.max_request_body_size.bytes();
        if input.body.len() as u64 > max_body {
            return Err(self.reject(
                413,
                "body_too_large",
                &label,
                format!(
                    "request body is {} bytes, more than the limit of {max_body} bytes for \
                     tenant {tenant:?}; send smaller batches",
                    input.body.len()
                ),
            ));
        }
        Ok(Accepted {
            tenant,
            label,
            protocol,
        })
    }

    fn process(&self, accepted: &Accepted, body: &[u8]) -> WriteOutcome {
        let (tenant, label, protocol) = (
            accepted.tenant.as_str(),
            accepted.label.as_str(),
            accepted.protocol,
        );
        let limits = self.limiter.limits_for(tenant);
        let max = usize::try_from(limits.max_decompressed_body_size.bytes()).unwrap_or(usize::MAX);
        let raw = match decompress(body, max) {
            Ok(raw) => raw,
            Err(err @ SnappyError::TooLarge { .. }) => {
                return self.reject(413, "decompressed_body_too_large", label, err.to_string());
            }
            Err(err @ SnappyError::Corrupt(_)) => {
                return self.reject(400, "invalid_snappy", label, err.to_string());
            }
        };
        self.metrics.body_bytes.observe(raw.len() as f64);
        let decoded = match protocol {
            Protocol::V1 => decode_v1(&raw),
            Protocol::V2 => decode_v2(&raw),
        };
        let request = match decoded {
            Ok(request) => request,
            Err(err) => return self.reject(400, "invalid_protobuf", label, err.to_string()),
        };
        if request.metadata > 0 {
            self.metrics
                .not_stored
                .with_label_values(&["metadata"])
                .inc_by(request.metadata as u64);
        }
        let samples = request.sample_count() as u64;
        let now = self.clock.now_ms();
        let state = self.limiter.tenant(tenant);
        if let Err(retry_after) =
            state
                .bucket
                .lock()
                .try_take(samples, now, limits.rate, limits.burst)
        {
            self.metrics
                .samples_rejected
                .with_label_values(&["rate_limited", label])
                .inc_by(samples);
            let mut outcome = self.reject(
                429,
                "rate_limited",
                label,
                format!(
                    "tenant {tenant:?} is over its ingestion rate of {} samples/s (burst {}); \
                     this request of {samples} samples was not stored; retry in {retry_after}s",
                    limits.rate, limits.burst
                ),
            );
            outcome.retry_after = Some(retry_after);
            return outcome;
        }
        append::append(self, &state, &limits, &request, now, protocol)
    }
}
