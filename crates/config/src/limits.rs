//! `limits:`: the cardinality guard and rate limiter for ingestion (per tenant) and the
//! protections of the query engine. Reloadable without restart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ByteSize, Duration};

/// `limits:` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Ingestion limits every tenant gets unless overridden.
    pub ingest: IngestLimits,
    /// Query engine protections.
    pub query: QueryLimits,
    /// Per-tenant overrides of `ingest`, keyed by tenant id (`X-Scope-OrgID`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<TenantId, IngestLimitsOverride>,
}

impl LimitsConfig {
    /// The ingestion limits that apply to `tenant`.
    pub fn ingest_for(&self, tenant: &str) -> IngestLimits {
        match self.tenants.get(tenant) {
            Some(overrides) => overrides.apply(&self.ingest),
            None => self.ingest.clone(),
        }
    }
}

macro_rules! ingest_limits {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr ),* $(,)?) => {
        /// `limits.ingest:`: 0 means unlimited for every count and rate.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct IngestLimits {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Default for IngestLimits {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        /// A tenant's overrides: unset fields keep the `limits.ingest` value.
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct IngestLimitsOverride {
            $( $(#[$doc])* #[serde(skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>, )*
        }

        impl IngestLimitsOverride {
            /// `base` with this tenant's overrides applied.
            pub fn apply(&self, base: &IngestLimits) -> IngestLimits {
                IngestLimits { $( $field: self.$field.clone().unwrap_or_else(|| base.$field.clone()), )* }
            }
        }
    };
}

ingest_limits! {
    /// Sustained samples per second accepted from the tenant.
    rate: u64 = 0,
    /// Samples the tenant may send at once above the rate (token bucket size).
    burst: u64 = 0,
    /// Active series the tenant may have.
    max_series_per_tenant: u64 = 0,
    /// Active series one metric name may have within the tenant.
    max_series_per_metric: u64 = 0,
    /// Labels on one series, `__name__` included.
    max_label_names_per_series: u64 = 64,
    /// Bytes in one label name.
    max_label_name_length: u64 = 1024,
    /// Bytes in one label value.
    max_label_value_length: u64 = 4096,
    /// Request body as sent (compressed).
    max_request_body_size: ByteSize = ByteSize(32 << 20),
    /// Request body after decompression; checked against the declared length before
    /// decompressing.
    max_decompressed_body_size: ByteSize = ByteSize(128 << 20),
    /// Samples timestamped further ahead of the receiver's clock are refused (0 = no limit).
    creation_grace_period: Duration = Duration::from_secs(600),
    /// A series counts as active (towards the series limits) until it has received no
    /// sample for this long.
    active_series_idle_timeout: Duration = Duration::from_secs(3600),
}

/// `limits.query:` protections; Prometheus's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryLimits {
    /// A query running longer is cancelled with a timeout error.
    pub timeout: Duration,
    /// A query loading more samples into memory at once fails.
    pub max_samples: u64,
    /// Queries running at once; more wait in line.
    pub max_concurrency: u64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_concurrency: 20,
        }
    }
}

/// A tenant id as accepted in `X-Scope-OrgID`: 1–150 bytes of `[A-Za-z0-9!-_.*'()]`, not `.`
/// or `..` (the rules Cortex and Mimir use, so ids are portable).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant used when a request names none.
    pub const DEFAULT: &'static str = "default";

    /// Validates a tenant id.
    pub fn new(id: &str) -> Result<Self, String> {
        validate_tenant_id(id)?;
        Ok(Self(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for TenantId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Self::new(&id).map_err(serde::de::Error::custom)
    }
}

/// Checks a tenant id; the error says which rule it breaks.
pub fn validate_tenant_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("tenant id is empty".to_owned());
    }
    if id.len() > 150 {
        return Err(format!(
            "tenant id is {} bytes long; at most 150 are allowed",
            id.len()
        ));
    }
    if id == "." || id == ".." {
        return Err(format!("tenant id {id:?} is not allowed"));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()".contains(*c)))
    {
        return Err(format!(
            "tenant id {id:?} contains {bad:?}; use letters, digits and !-_.*'()"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_follow_mimir_rules() {
        for good in ["default", "team-a", "a.b_c", "x'(y)*!"] {
            validate_tenant_id(good).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(151)] {
            assert!(validate_tenant_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn overrides_keep_unset_fields() {
        let limits: LimitsConfig = crate::yaml::from_str(
            "l.yml",
            "ingest: {rate: 1000, burst: 2000}\ntenants:\n  team-a: {rate: 50}\n",
        )
        .unwrap();
        let a = limits.ingest_for("team-a");
        assert_eq!((a.rate, a.burst), (50, 2000));
        assert_eq!(a.creation_grace_period, Duration::from_secs(600));
        let other = limits.ingest_for("someone-else");
        assert_eq!(other.rate, 1000);
    }

    #[test]
    fn bad_tenant_id_in_config_is_located() {
        let err = crate::yaml::from_str::<LimitsConfig>("l.yml", "tenants:\n  'a/b': {rate: 1}\n")
            .unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.message.contains("contains '/'"), "{err}");
    }
}
