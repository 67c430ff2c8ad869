//! Alerts as Alertmanager models them: a label set, annotations, an activity range, and
//! the same fingerprint (FNV-1a over sorted labels) and notification-log hash (xxHash64) as
//! Alertmanager, so ids shown by tocsin and by Alertmanager agree.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::time::{Millis, ZERO_TIME};

/// Labels or annotations, sorted by name.
pub type LabelSet = BTreeMap<String, String>;

/// An alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Identity.
    pub labels: LabelSet,
    /// Descriptions.
    pub annotations: LabelSet,
    /// When it started firing.
    pub starts_at: Millis,
    /// When it resolves; [`ZERO_TIME`] for "not known".
    pub ends_at: Millis,
    /// When tocsin last received it.
    pub updated_at: Millis,
    /// Link to the rule that produced it.
    pub generator_url: String,
    /// Whether `ends_at` was set by tocsin (resolve_timeout) rather than by the sender.
    pub timeout: bool,
}

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 0xff;

fn fnv_add(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Prometheus's `LabelSet.Fingerprint()`.
pub fn fingerprint(labels: &LabelSet) -> u64 {
    if labels.is_empty() {
        return FNV_OFFSET;
    }
    let mut hash = FNV_OFFSET;
    for (name, value) in labels {
        hash = fnv_add(hash, name.as_bytes());
        hash = fnv_add(hash, &[SEPARATOR]);
        hash = fnv_add(hash, value.as_bytes());
        hash = fnv_add(hash, &[SEPARATOR]);
    }
    hash
}

/// The fingerprint as Alertmanager prints it (16 hex digits).
pub fn fingerprint_hex(labels: &LabelSet) -> String {
    format!("{:016x}", fingerprint(labels))
}

/// The hash the notification log keeps per alert (Alertmanager's `hashAlert`).
pub fn hash_labels(labels: &LabelSet) -> u64 {
    let mut buf = Vec::with_capacity(128);
    for (name, value) in labels {
        buf.extend_from_slice(name.as_bytes());
        buf.push(SEPARATOR);
        buf.extend_from_slice(value.as_bytes());
        buf.push(SEPARATOR);
    }
    xxhash_rust::xxh64::xxh64(&buf, 0)
}

/// Prometheus's `LabelSet.String()`: `{a="1", b="2"}`.
pub fn labels_to_string(labels: &LabelSet) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(n, v)| format!("{n}={}", tocsin_model::go_quote(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

impl Alert {
    /// The alertname label, or empty.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// Fingerprint of the labels.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.labels)
    }

    /// Whether the alert is resolved at `now`.
    pub fn resolved_at(&self, now: Millis) -> bool {
        self.ends_at != ZERO_TIME && self.ends_at <= now
    }

    /// `firing` or `resolved` at `now`.
    pub fn status(&self, now: Millis) -> &'static str {
        if self.resolved_at(now) {
            "resolved"
        } else {
            "firing"
        }
    }

    /// Alertmanager's `Alert.Merge`: `self` is the stored alert, `newer` the one received.
    pub fn merge(&self, newer: &Self, now: Millis) -> Self {
        if newer.updated_at < self.updated_at {
            return newer.merge(self, now);
        }
        let (older, newer) = (self, newer);
        let mut out = newer.clone();
        if older.starts_at < newer.starts_at {
            out.starts_at = older.starts_at;
        }
        if newer.resolved_at(now) {
            if older.resolved_at(now) && older.ends_at > newer.ends_at {
                out.ends_at = older.ends_at;
            }
        } else if older.ends_at > newer.ends_at && !older.timeout {
            out.ends_at = older.ends_at;
        }
        out
    }
}

/// Alertmanager's notification order: by `job`, then `instance`, then the whole label set.
pub fn compare_for_notification(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    // LabelSet.Before: pairwise over sorted names, then values, then length.
    for ((an, av), (bn, bv)) in a.labels.iter().zip(b.labels.iter()) {
        match an.cmp(bn).then_with(|| av.cmp(bv)) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    a.labels.len().cmp(&b.labels.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn fingerprint_matches_prometheus() {
        // Values from prometheus/common model/signature_test.go.
        assert_eq!(fingerprint(&LabelSet::new()), 14_695_981_039_346_656_037);
        assert_eq!(
            fingerprint(&ls(&[
                ("name", "garland, briggs"),
                ("fear", "love is not enough")
            ])),
            5_799_056_148_416_392_346
        );
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let old = Alert {
            labels: ls(&[("a", "1")]),
            annotations: LabelSet::new(),
            starts_at: 10,
            ends_at: 1_000,
            updated_at: 10,
            generator_url: String::new(),
            timeout: false,
        };
        let mut new = old.clone();
        new.starts_at = 20;
        new.ends_at = 500;
        new.updated_at = 20;
        new.timeout = true;
        let merged = old.merge(&new, 30);
        assert_eq!((merged.starts_at, merged.ends_at), (10, 1_000));
    }
}
