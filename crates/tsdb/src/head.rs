//! The in-memory head: every active series with its recent chunks. Series live in striped
//! maps (by label hash for appends with labels; by ref, in pages of neighbouring refs, for
//! appends by ref), so appends of different series rarely share a lock and never wait on one
//! another for long; an inverted index (postings) serves selects. Appends
//! are in `append`, reads in `read`, WAL replay in `replay`, truncation after compaction in
//! `truncate`.

mod append;
mod chunk_files;
mod read;
mod ref_pages;
mod replay;
mod series;
mod truncate;

pub use self::truncate::Truncated;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::RwLock;
use roaring::RoaringTreemap;
use tocsin_model::Labels;

pub use self::append::HeadAppender;
pub use self::chunk_files::{
    HeadChunkFiles, HeadChunkRecord, RecordError as HeadChunkError,
    parse_record as parse_head_chunk,
};
pub(crate) use self::chunk_files::{LoadedChunks, LoadedSeries, read_chunk as read_head_chunk};
pub(crate) use self::ref_pages::{RefPages, RefSlots};
pub use self::replay::ReplayStats;
pub(crate) use self::replay::replay_wal;
pub(crate) use self::series::MemSeries;
use crate::metrics::Metrics;
use crate::postings::LabelIndex;

const STRIPES: usize = 1024;

/// Hashes u64 keys (label hashes, sequential refs) with one folded multiply: they need
/// spreading, not DoS resistance (refs are ours; label hashes are xxh3 already). Folding the
/// high half of the product into the low half matters: the maps are striped by the key's low
/// bits, so every key of a stripe shares them, and a plain multiply would keep them equal
/// in the hash, piling the whole stripe into one bucket (hashbrown indexes by low bits).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        let product = u128::from(self.0 ^ v) * 0x9E37_79B9_7F4A_7C15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

/// Series by label hash. Nearly every hash has one series, kept inline; collisions (which
/// xxh3 makes vanishingly rare) spill into a boxed list.
#[derive(Debug)]
enum HashEntry {
    One(Arc<MemSeries>),
    #[allow(
        clippy::box_collection,
        reason = "one pointer keeps the common single-series entry at 16 bytes"
    )]
    Many(Box<Vec<Arc<MemSeries>>>),
}

impl HashEntry {
    fn find(&self, labels: &Labels) -> Option<&Arc<MemSeries>> {
        match self {
            Self::One(s) => s.has_labels(labels).then_some(s),
            Self::Many(list) => list.iter().find(|s| s.has_labels(labels)),
        }
    }

    fn push(&mut self, series: Arc<MemSeries>) {
        match self {
            Self::One(existing) => {
                *self = Self::Many(Box::new(vec![Arc::clone(existing), series]));
            }
            Self::Many(list) => list.push(series),
        }
    }

    /// Removes `sref`; returns whether the entry is now empty.
    fn remove(&mut self, sref: u64) -> bool {
        match self {
            Self::One(s) => s.sref == sref,
            Self::Many(list) => {
                list.retain(|s| s.sref != sref);
                if list.len() == 1 {
                    *self = Self::One(Arc::clone(&list[0]));
                }
                list_is_empty(self)
            }
        }
    }
}

fn list_is_empty(entry: &HashEntry) -> bool {
    matches!(entry, HashEntry::Many(list) if list.is_empty())
}

type HashStripe = RwLock<U64Map<HashEntry>>;

/// The head's inverted index: label name → value → series refs.
#[derive(Debug, Default)]
pub(crate) struct HeadPostings {
    pub(crate) by_label: HashMap<String, BTreeMap<String, RoaringTreemap>>,
    pub(crate) all: RoaringTreemap,
}

impl HeadPostings {
    fn add(&mut self, sref: u64, labels: &Labels) {
        for label in labels {
            // Look up before inserting: the strings are cloned only for a new name or value.
            let values = match self.by_label.get_mut(label.name.as_str()) {
                Some(values) => values,
                None => self.by_label.entry(label.name.clone()).or_default(),
            };
            match values.get_mut(label.value.as_str()) {
                Some(set) => {
                    set.insert(sref);
                }
                None => {
                    values.entry(label.value.clone()).or_default().insert(sref);
                }
            }
        }
        self.all.insert(sref);
    }

    fn remove(&mut self, sref: u64, labels: &Labels) {
        for label in labels {
            if let Some(values) = self.by_label.get_mut(&label.name) {
                if let Some(set) = values.get_mut(&label.value) {
                    set.remove(sref);
                    if set.is_empty() {
                        values.remove(&label.value);
                    }
                }
                if values.is_empty() {
                    self.by_label.remove(&label.name);
                }
            }
        }
        self.all.remove(sref);
    }
}

impl LabelIndex for HeadPostings {
    type Set = RoaringTreemap;

    fn all(&self) -> RoaringTreemap {
        self.all.clone()
    }

    fn postings(&self, name: &str, value: &str) -> RoaringTreemap {
        self.by_label
            .get(name)
            .and_then(|values| values.get(value))
            .cloned()
            .unwrap_or_default()
    }

    fn postings_with_prefix(&self, name: &str, prefix: &str) -> RoaringTreemap {
        let mut out = RoaringTreemap::new();
        if let Some(values) = self.by_label.get(name) {
            for (value, set) in values.range(prefix.to_owned()..) {
                if !value.starts_with(prefix) {
                    break;
                }
                out |= set;
            }
        }
        out
    }

    fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> RoaringTreemap {
        let mut out = RoaringTreemap::new();
        if let Some(values) = self.by_label.get(name) {
            for (value, set) in values {
                if keep(value) {
                    out |= set;
                }
            }
        }
        out
    }
}

/// Counts of what the head holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HeadStats {
    /// Series.
    pub series: u64,
    /// Chunks (open and sealed).
    pub chunks: u64,
    /// Samples.
    pub samples: u64,
    /// Bytes of encoded chunk data.
    pub chunk_bytes: u64,
}

/// How the head cuts chunks and what it accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadOptions {
    pub(crate) chunk_range: i64,
    pub(crate) samples_per_chunk: u16,
    pub(crate) ooo_window: i64,
}

/// The head.
#[derive(Debug)]
pub struct Head {
    by_hash: Box<[HashStripe]>,
    /// Striped by ref page, so a request's series (created together, so neighbours) take
    /// one lock and share cache lines.
    by_ref: Box<[RwLock<RefSlots<Arc<MemSeries>>>]>,
    pub(crate) postings: RwLock<HeadPostings>,
    next_ref: AtomicU64,
    /// Appends before this are refused as too old (the newest persisted block's end).
    min_valid: AtomicI64,
    /// Oldest and newest sample time in the head (i64::MAX / i64::MIN when empty).
    min_time: AtomicI64,
    max_time: AtomicI64,
    num_series: AtomicI64,
    pub(crate) opts: HeadOptions,
    pub(crate) metrics: Metrics,
    /// Where sealed chunks go (`None`: kept in memory, for read-only opens).
    pub(crate) chunk_files: Option<Arc<HeadChunkFiles>>,
}

impl Head {
    pub(crate) fn new(
        opts: HeadOptions,
        metrics: Metrics,
        chunk_files: Option<Arc<HeadChunkFiles>>,
    ) -> Self {
        Self {
            by_hash: (0..STRIPES).map(|_| RwLock::default()).collect(),
            by_ref: (0..STRIPES).map(|_| RwLock::default()).collect(),
            postings: RwLock::default(),
            next_ref: AtomicU64::new(1),
            min_valid: AtomicI64::new(i64::MIN),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            num_series: AtomicI64::new(0),
            opts,
            metrics,
            chunk_files,
        }
    }

    fn stripe(key: u64) -> usize {
        (key as usize) & (STRIPES - 1)
    }

    fn ref_stripe(sref: u64) -> usize {
        Self::stripe(RefSlots::<()>::page_of(sref))
    }

    /// The series with this ref.
    pub(crate) fn series_by_ref(&self, sref: u64) -> Option<Arc<MemSeries>> {
        self.by_ref[Self::ref_stripe(sref)]
            .read()
            .get(sref)
            .cloned()
    }

    /// The series with these labels, created (with the next ref) when missing. Returns
    /// whether it was created.
    pub(crate) fn get_or_create(&self, labels: &Labels) -> (Arc<MemSeries>, bool) {
        let hash = labels.stable_hash();
        let stripe = &self.by_hash[Self::stripe(hash)];
        if let Some(found) = stripe.read().get(&hash).and_then(|e| e.find(labels)) {
            return (Arc::clone(found), false);
        }
        let mut map = stripe.write();
        if let Some(found) = map.get(&hash).and_then(|e| e.find(labels)) {
            return (Arc::clone(found), false);
        }
        let sref = self.next_ref.fetch_add(1, Ordering::Relaxed);
        let series = Arc::new(MemSeries::new(sref, labels));
        Self::insert_hash(&mut map, hash, Arc::clone(&series));
        drop(map);
        self.insert_indexes(&series, labels);
        (series, true)
    }

    /// Re-creates a series with a ref from the WAL. If the labels exist under another ref
    /// (the series was dropped and re-created before the crash), the existing one is
    /// returned and the caller maps the old ref onto it.
    pub(crate) fn create_with_ref(&self, sref: u64, labels: &Labels) -> (Arc<MemSeries>, bool) {
        let hash = labels.stable_hash();
        let mut map = self.by_hash[Self::stripe(hash)].write();
        if let Some(found) = map.get(&hash).and_then(|e| e.find(labels)) {
            return (Arc::clone(found), false);
        }
        let series = Arc::new(MemSeries::new(sref, labels));
        Self::insert_hash(&mut map, hash, Arc::clone(&series));
        drop(map);
        self.next_ref.fetch_max(sref + 1, Ordering::Relaxed);
        self.insert_indexes(&series, labels);
        (series, true)
    }

    fn insert_hash(map: &mut U64Map<HashEntry>, hash: u64, series: Arc<MemSeries>) {
        match map.get_mut(&hash) {
            Some(entry) => entry.push(series),
            None => {
                map.insert(hash, HashEntry::One(series));
            }
        }
    }

    fn insert_indexes(&self, series: &Arc<MemSeries>, labels: &Labels) {
        self.by_ref[Self::ref_stripe(series.sref)]
            .write()
            .insert(series.sref, Arc::clone(series));
        self.postings.write().add(series.sref, labels);
        let n = self.num_series.fetch_add(1, Ordering::Relaxed) + 1;
        self.metrics.head_series.set(n);
    }

    /// Removes a series from every map (it has no data left).
    pub(crate) fn remove(&self, series: &MemSeries) {
        let labels = series.labels();
        let hash = labels.stable_hash();
        {
            let mut map = self.by_hash[Self::stripe(hash)].write();
            if map.get_mut(&hash).is_some_and(|e| e.remove(series.sref)) {
                map.remove(&hash);
            }
        }
        self.by_ref[Self::ref_stripe(series.sref)]
            .write()
            .remove(series.sref);
        self.postings.write().remove(series.sref, &labels);
        series.removed.store(true, Ordering::Release);
        let n = self.num_series.fetch_sub(1, Ordering::Relaxed) - 1;
        self.metrics.head_series.set(n);
    }

    /// Every series (a snapshot of the ref maps).
    pub(crate) fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut out = Vec::with_capacity(self.num_series().max(0) as usize);
        for stripe in self.by_ref.iter() {
            out.extend(stripe.read().values().cloned());
        }
        out
    }

    /// Number of series.
    pub fn num_series(&self) -> i64 {
        self.num_series.load(Ordering::Relaxed)
    }

    /// Appends before this time are refused as too old.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid.load(Ordering::Acquire)
    }

    pub(crate) fn set_min_valid_time(&self, t: i64) {
        self.min_valid.fetch_max(t, Ordering::AcqRel);
    }

    /// Oldest sample time in the head, if it holds any.
    pub fn min_time(&self) -> Option<i64> {
        let t = self.min_time.load(Ordering::Acquire);
        (t != i64::MAX).then_some(t)
    }

    /// Newest sample time in the head, if it holds any.
    pub fn max_time(&self) -> Option<i64> {
        let t = self.max_time.load(Ordering::Acquire);
        (t != i64::MIN).then_some(t)
    }

    pub(crate) fn observe_times(&self, mint: i64, maxt: i64) {
        if mint <= maxt {
            self.min_time.fetch_min(mint, Ordering::AcqRel);
            self.max_time.fetch_max(maxt, Ordering::AcqRel);
        }
    }

    /// Counts over every series (locks each briefly; for reports, not hot paths).
    pub fn stats(&self) -> HeadStats {
        let mut out = HeadStats::default();
        for series in self.all_series() {
            out.series += 1;
            let data = series.data.lock();
            for c in &data.sealed {
                out.chunks += 1;
                out.chunk_bytes += c.size() as u64;
                out.samples += u64::from(c.samples);
            }
            if let Some(open) = &data.open {
                out.chunks += 1;
                out.chunk_bytes += open.app.size() as u64;
                out.samples += u64::from(open.app.num_samples());
            }
            out.samples += data.ooo().len() as u64;
        }
        out
    }

    /// Every label pair with the number of head series carrying it.
    pub fn label_pairs(&self) -> Vec<(String, String, u64)> {
        let index = self.postings.read();
        let mut out = Vec::new();
        for (name, values) in &index.by_label {
            for (value, set) in values {
                out.push((name.clone(), value.clone(), set.len()));
            }
        }
        out
    }

    pub(crate) fn reset_min_time(&self, t: i64) {
        self.min_time.store(t, Ordering::Release);
    }
}
