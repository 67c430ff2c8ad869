//! Active series per tenant: a sharded map from a 128-bit hash of the label set to the
//! store's ref and the last time the series was written, with counts per tenant and per
//! metric name for the limits.
//!
//! 128 bits (xxh3) make a collision between two real label sets practically impossible
//! (about 10^-26 for a million series), so the hash can stand for the labels.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tocsin_model::storage::SeriesRef;

const SHARDS: usize = 32;

/// A series identity: hash of its sorted labels and of its metric name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    /// xxh3-128 of the sorted label pairs.
    pub labels: u128,
    /// xxh3-64 of the metric name.
    pub metric: u64,
}

impl SeriesKey {
    /// Hashes sorted `(name, value)` pairs and the metric name. `scratch` is reused
    /// between calls to avoid allocating.
    pub fn new<'a>(
        labels: impl Iterator<Item = (&'a [u8], &'a [u8])>,
        metric: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Self {
        scratch.clear();
        for (name, value) in labels {
            scratch.extend_from_slice(name);
            // 0xff never occurs in UTF-8, so the encoding is unambiguous.
            scratch.push(0xff);
            scratch.extend_from_slice(value);
            scratch.push(0xff);
        }
        Self {
            labels: xxhash_rust::xxh3::xxh3_128(scratch),
            metric: xxhash_rust::xxh3::xxh3_64(metric),
        }
    }
}

/// Hashes a key that is an xxh3-128 hash already by taking its high half: SipHash on it
/// was the costliest step of a lookup on the ingest path. The high half, because shards
/// are picked by the low bits, which every key of a shard shares.
#[derive(Debug, Default, Clone, Copy)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are hashed with this; fold anything else in, should it happen.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = (key >> 64) as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Shard = HashMap<u128, Entry, BuildHasherDefault<PrehashedKey>>;

fn shard_index(hash: u128) -> usize {
    (hash as usize) % SHARDS
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    series_ref: SeriesRef,
    last_seen_ms: i64,
    metric: u64,
}

/// What the tracker says about a series about to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Known; its store ref (0 if the store gave none).
    Known(SeriesRef),
    /// New and within the limits; now counted.
    New,
    /// New, but the tenant is at `max_series_per_tenant`.
    TenantLimit,
    /// New, but its metric name is at `max_series_per_metric`.
    MetricLimit,
}

/// The active series of one tenant.
#[derive(Debug)]
pub struct SeriesTracker {
    shards: Vec<Mutex<Shard>>,
    per_metric: Vec<Mutex<HashMap<u64, u64>>>,
    total: AtomicU64,
}

impl Default for SeriesTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl SeriesTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_metric: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            total: AtomicU64::new(0),
        }
    }

    fn shard(&self, hash: u128) -> &Mutex<Shard> {
        &self.shards[shard_index(hash)]
    }

    fn metric_shard(&self, metric: u64) -> &Mutex<HashMap<u64, u64>> {
        &self.per_metric[(metric as usize) % SHARDS]
    }

    /// Active series.
    pub fn len(&self) -> usize {
        self.total.load(Ordering::Relaxed) as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks `key` up, counting it as new if the limits allow (0 = unlimited). Marks the
    /// series as seen at `now_ms`.
    pub fn admit(
        &self,
        key: SeriesKey,
        now_ms: i64,
        max_per_tenant: u64,
        max_per_metric: u64,
    ) -> Admission {
        let mut shard = self.shard(key.labels).lock();
        if let Some(entry) = shard.get_mut(&key.labels) {
            entry.last_seen_ms = entry.last_seen_ms.max(now_ms);
            return Admission::Known(entry.series_ref);
        }
        if max_per_tenant > 0 && self.total.load(Ordering::Relaxed) >= max_per_tenant {
            return Admission::TenantLimit;
        }
        {
            let mut metrics = self.metric_shard(key.metric).lock();
            let count = metrics.entry(key.metric).or_insert(0);
            if max_per_metric > 0 && *count >= max_per_metric {
                if *count == 0 {
                    metrics.remove(&key.metric);
                }
                return Admission::MetricLimit;
            }
            *count += 1;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        shard.insert(
            key.labels,
            Entry {
                series_ref: 0,
                last_seen_ms: now_ms,
                metric: key.metric,
            },
        );
        Admission::New
    }

    /// [`Self::admit`] for every key of a request, in the keys' order, into `out`. Keys are
    /// visited shard by shard: one lock per shard instead of one per series, and lookups with
    /// no atomic operation between them overlap their cache misses (one lookup at a time,
    /// each under its own lock, was a third of remote_write ingestion's CPU).
    pub fn admit_many(
        &self,
        keys: &[SeriesKey],
        now_ms: i64,
        max_per_tenant: u64,
        max_per_metric: u64,
        out: &mut Vec<Admission>,
    ) {
        out.clear();
        out.resize(keys.len(), Admission::New);
        // A counting sort of key positions by shard.
        let mut starts = [0usize; SHARDS + 1];
        for key in keys {
            starts[shard_index(key.labels) + 1] += 1;
        }
        for i in 0..SHARDS {
            starts[i + 1] += starts[i];
        }
        let mut next = starts;
        let mut order = vec![0u32; keys.len()];
        for (position, key) in keys.iter().enumerate() {
            let slot = &mut next[shard_index(key.labels)];
            order[*slot] = position as u32;
            *slot += 1;
        }
        // Known series here; new ones after, in the request's order, so the limits refuse
        // the same series as looking them up one by one would.
        let mut new = Vec::new();
        for shard_no in 0..SHARDS {
            let positions = &order[starts[shard_no]..starts[shard_no + 1]];
            if positions.is_empty() {
                continue;
            }
            let mut shard = self.shards[shard_no].lock();
            for &position in positions {
                match shard.get_mut(&keys[position as usize].labels) {
                    Some(entry) => {
                        entry.last_seen_ms = entry.last_seen_ms.max(now_ms);
                        out[position as usize] = Admission::Known(entry.series_ref);
                    }
                    None => new.push(position),
                }
            }
        }
        new.sort_unstable();
        for position in new {
            out[position as usize] = self.admit(
                keys[position as usize],
                now_ms,
                max_per_tenant,
                max_per_metric,
            );
        }
    }

    /// Records the store's ref for a series.
    pub fn set_ref(&self, key: SeriesKey, series_ref: SeriesRef) {
        if let Some(entry) = self.shard(key.labels).lock().get_mut(&key.labels) {
            entry.series_ref = series_ref;
        }
    }

    /// Forgets a series admitted as new whose samples were all refused, so it does not
    /// hold a place under the limits.
    pub fn forget(&self, key: SeriesKey) {
        if self.shard(key.labels).lock().remove(&key.labels).is_some() {
            self.uncount(key.metric);
        }
    }

    fn uncount(&self, metric: u64) {
        self.total.fetch_sub(1, Ordering::Relaxed);
        let mut metrics = self.metric_shard(metric).lock();
        if let Some(count) = metrics.get_mut(&metric) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                metrics.remove(&metric);
            }
        }
    }

    /// Forgets series last seen before `cutoff_ms`; returns how many.
    pub fn purge_idle(&self, cutoff_ms: i64) -> usize {
        let mut purged = Vec::new();
        for shard in &self.shards {
            shard.lock().retain(|_, entry| {
                let keep = entry.last_seen_ms >= cutoff_ms;
                if !keep {
                    purged.push(entry.metric);
                }
                keep
            });
        }
        for metric in &purged {
            self.uncount(*metric);
        }
        purged.len()
    }
}
