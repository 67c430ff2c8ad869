//! The cardinality guard and the rate limiter, per tenant: a token bucket on samples, the
//! active-series tracker with per-tenant and per-metric limits, and the label checks.
//! Limits come from `limits:` in `tocsin.yml` and are swapped on reload without losing
//! the buckets' or the trackers' state.

mod series;
mod token_bucket;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::RwLock;
use tocsin_config::{IngestLimits, LimitsConfig, TenantId};

pub use self::series::{Admission, SeriesKey, SeriesTracker};
pub use self::token_bucket::TokenBucket;

/// The state kept for one tenant.
#[derive(Debug)]
pub struct TenantState {
    /// The tenant id.
    pub id: String,
    /// Its sample rate limiter.
    pub bucket: parking_lot::Mutex<TokenBucket>,
    /// Its active series.
    pub series: SeriesTracker,
    /// The label value its metrics carry (bounded; see [`Limiter::metrics_label`]).
    pub metrics_label: String,
}

/// How many tenants get their own label value in `tocsin_ingest_*` metrics; the rest share
/// `other`, so a client inventing tenant ids cannot grow `/metrics` without bound.
pub const MAX_TENANT_LABELS: usize = 256;

/// Every tenant's limits and state.
#[derive(Debug)]
pub struct Limiter {
    config: ArcSwap<LimitsConfig>,
    tenants: RwLock<HashMap<String, Arc<TenantState>>>,
}

impl Limiter {
    /// A limiter with `config`.
    pub fn new(config: LimitsConfig) -> Self {
        Self {
            config: ArcSwap::from_pointee(config),
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// Applies new limits; buckets and trackers keep their state.
    pub fn reload(&self, config: LimitsConfig) {
        self.config.store(Arc::new(config));
    }

    /// The limits in force for `tenant`.
    pub fn limits_for(&self, tenant: &str) -> IngestLimits {
        self.config.load().ingest_for(tenant)
    }

    /// The tenant named by a request's `X-Scope-OrgID` (`default` when absent), validated.
    pub fn tenant_id(header: Option<&str>) -> Result<&str, String> {
        match header {
            None => Ok(TenantId::DEFAULT),
            Some(id) => {
                tocsin_config::validate_tenant_id(id)
                    .map_err(|reason| format!("invalid X-Scope-OrgID: {reason}"))?;
                Ok(id)
            }
        }
    }

    /// The state of `tenant`, created on first use.
    pub fn tenant(&self, tenant: &str) -> Arc<TenantState> {
        if let Some(state) = self.tenants.read().get(tenant) {
            return Arc::clone(state);
        }
        let mut tenants = self.tenants.write();
        let labelled = tenants.len() < MAX_TENANT_LABELS
            || self.config.load().tenants.contains_key(tenant)
            || tenant == TenantId::DEFAULT;
        let state = tenants.entry(tenant.to_owned()).or_insert_with(|| {
            Arc::new(TenantState {
                id: tenant.to_owned(),
                bucket: parking_lot::Mutex::new(TokenBucket::new()),
                series: SeriesTracker::new(),
                metrics_label: if labelled {
                    tenant.to_owned()
                } else {
                    "other".to_owned()
                },
            })
        });
        Arc::clone(state)
    }

    /// Forgets series idle for longer than each tenant's `active_series_idle_timeout`, and
    /// tenants with no series left. `now_ms` is the current time in milliseconds. Returns
    /// the series forgotten.
    pub fn purge_idle(&self, now_ms: i64) -> usize {
        let tenants: Vec<Arc<TenantState>> = self.tenants.read().values().cloned().collect();
        let mut purged = 0;
        for tenant in &tenants {
            let timeout = self.limits_for(&tenant.id).active_series_idle_timeout;
            purged += tenant
                .series
                .purge_idle(now_ms.saturating_sub(timeout.as_millis() as i64));
        }
        drop(tenants);
        self.tenants
            .write()
            .retain(|_, state| !state.series.is_empty() || Arc::strong_count(state) > 1);
        purged
    }

    /// Active series per tenant, for the gauge.
    pub fn active_series(&self) -> Vec<(String, u64)> {
        self.tenants
            .read()
            .values()
            .map(|t| (t.metrics_label.clone(), t.series.len() as u64))
            .collect()
    }
}

#[cfg(test)]
mod tests;
