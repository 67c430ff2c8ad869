//! Rebuilding the head at start-up: the chunks in the head chunk files first, then the
//! newest WAL checkpoint and every later segment in order, up to the first damaged record.
//!
//! A series re-created from the log gets the chunks the files hold for it, and its samples
//! up to the end of the last of them are skipped: only what was still in open chunks is
//! appended again. The skip follows the log order exactly: a sample is in a chunk file only
//! if it was newer than every earlier sample of its series when it was committed; an older
//! one went to the out-of-order buffer (within the window) and is replayed there.
//!
//! Records are decoded on several threads, in groups of bounded size; samples are applied
//! by several workers, each owning the series whose ref falls in its shard, so every series
//! sees its samples in log order.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::series::Applied;
use super::{Head, LoadedChunks, LoadedSeries, MemSeries, RefPages};
use crate::mmap::MappedFile;
use crate::wal::record::{self, FrameError, RecordType, RefSample, RefSeries, RefTombstone};
use crate::wal::{Checkpoint, Corruption, corruption_at, list_segments, read_into, scan_frames};
use crate::{Result, fsutil};

/// Records are decoded and applied in groups of about this many payload bytes, so replay
/// memory stays small whatever the segment size.
const GROUP_BYTES: usize = 8 << 20;

/// What a replay found.
#[derive(Debug)]
pub struct ReplayStats {
    /// Records read.
    pub records: u64,
    /// Samples stored in the head.
    pub samples: u64,
    /// Samples found already in the head chunk files (not appended again).
    pub in_chunk_files: u64,
    /// Chunks taken from the head chunk files.
    pub chunks_loaded: u64,
    /// Series records read.
    pub series: u64,
    /// Samples whose series was unknown (its record was lost to damage).
    pub unknown_refs: u64,
    /// Damage found (each was cut off when repairing).
    pub corruptions: Vec<Corruption>,
    /// Index of the last segment that remains, if any.
    pub last_segment: Option<u64>,
    /// Index of the checkpoint used, if any.
    pub checkpoint: Option<u64>,
    /// How long it took.
    pub duration: Duration,
    /// Lowest head chunk file number a loaded chunk is in (`u32::MAX`: none).
    pub oldest_chunk_file: u32,
}

/// Samples kept for appending are applied once this many are pending: sorted by series
/// first, so each series' state is fetched into cache once per batch, not once per sample.
const APPLY_BATCH: usize = 4 << 20;

impl Default for ReplayStats {
    fn default() -> Self {
        Self {
            records: 0,
            samples: 0,
            in_chunk_files: 0,
            chunks_loaded: 0,
            series: 0,
            unknown_refs: 0,
            corruptions: Vec::new(),
            last_segment: None,
            checkpoint: None,
            duration: Duration::ZERO,
            oldest_chunk_file: u32::MAX,
        }
    }
}

/// A series' replay state.
#[derive(Debug, Clone)]
struct Slot {
    series: Option<Arc<MemSeries>>,
    /// End of the series' last chunk taken from the head chunk files (i64::MIN: none).
    on_disk: i64,
    /// Newest sample time of the series in the log so far: what a commit compared with.
    newest: i64,
    /// A sample newer than `on_disk` was appended, so the newest value is known.
    resumed: bool,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            series: None,
            on_disk: i64::MIN,
            newest: i64::MIN,
            resumed: false,
        }
    }
}

/// The end of a series' last chunk on disk; `i64::MIN` when it has none.
#[derive(Debug, Clone, Copy)]
struct OnDisk(i64);

impl Default for OnDisk {
    fn default() -> Self {
        Self(i64::MIN)
    }
}

/// One decoded part of a group of records, in log order.
#[derive(Debug, Default)]
struct Part {
    series: Vec<Vec<RefSeries>>,
    tombstones: Vec<Vec<RefTombstone>>,
    /// Samples to append, per apply worker, each carrying the ref of the series it resolves
    /// to (aliases resolved).
    shards: Vec<Vec<RefSample>>,
    /// Samples dropped because the head chunk files hold them.
    skipped: u64,
    /// Records decoded.
    records: usize,
    /// The first record whose checksum failed (index in the part) and why; the part stops
    /// before it.
    bad: Option<(usize, String)>,
}

/// How series refs map to apply workers: `ref & mask` picks the worker, `ref >> shift` is
/// the key in its tables.
#[derive(Debug, Clone, Copy)]
struct Sharding {
    workers: usize,
    shift: u32,
}

impl Sharding {
    fn new(threads: usize) -> Self {
        // A power of two, so routing is a mask and a shift.
        let workers = if threads <= 1 {
            1
        } else {
            1usize << (usize::BITS - 1 - threads.leading_zeros())
        };
        Self {
            workers,
            shift: workers.trailing_zeros(),
        }
    }

    fn worker(self, sref: u64) -> usize {
        (sref & (self.workers as u64 - 1)) as usize
    }

    fn key(self, sref: u64) -> u64 {
        sref >> self.shift
    }
}

/// What decoding needs to know (read-only while the decoders run).
struct DecodeContext<'a> {
    /// Per worker: end of the last chunk on disk, by key.
    on_disk: &'a [RefPages<OnDisk>],
    aliases: &'a HashMap<u64, Arc<MemSeries>>,
    sharding: Sharding,
    min_valid: i64,
    /// Without an out-of-order window a sample inside the chunk files is never appended
    /// again, so it can be dropped while decoding.
    skip_on_disk: bool,
}

impl DecodeContext<'_> {
    fn decode(&self, data: &[u8], records: &[(RecordType, Range<usize>)]) -> Part {
        let workers = self.sharding.workers;
        let mut out = Part {
            shards: vec![Vec::new(); workers],
            ..Part::default()
        };
        // The last page looked up per worker: consecutive samples have consecutive refs.
        let mut pages: Vec<Option<(u64, &[OnDisk])>> = vec![None; workers];
        for (i, (kind, range)) in records.iter().enumerate() {
            if let Some(reason) = record::check_frame(data, range.clone()) {
                out.bad = Some((i, reason));
                break;
            }
            out.records += 1;
            let payload = &data[range.clone()];
            let result = match kind {
                RecordType::Series => record::decode_series(payload).map(|s| out.series.push(s)),
                RecordType::Tombstones => {
                    record::decode_tombstones(payload).map(|t| out.tombstones.push(t))
                }
                RecordType::Samples => {
                    let (shards, skipped) = (&mut out.shards, &mut out.skipped);
                    record::for_each_sample(payload, |mut s| {
                        if s.t < self.min_valid {
                            return;
                        }
                        if !self.aliases.is_empty()
                            && let Some(a) = self.aliases.get(&s.series)
                        {
                            s.series = a.sref;
                        }
                        let worker = self.sharding.worker(s.series);
                        if self.skip_on_disk {
                            let table = &self.on_disk[worker];
                            let (page_no, at) = table.page_of(self.sharding.key(s.series));
                            let page = match pages[worker] {
                                Some((p, ends)) if p == page_no => Some(ends),
                                _ => {
                                    let found = table.page(page_no);
                                    pages[worker] = found.map(|ends| (page_no, ends));
                                    found
                                }
                            };
                            if page
                                .and_then(|ends| ends.get(at))
                                .is_some_and(|end| s.t <= end.0)
                            {
                                *skipped += 1;
                                return;
                            }
                        }
                        shards[worker].push(s);
                    })
                }
            };
            if let Err(err) = result {
                // The CRC matched, so this is a bug or a format change.
                tracing::error!(%err, "cannot decode a WAL record whose checksum is valid; skipping it");
            }
        }
        out
    }
}

/// The state of one replay.
struct Replayer<'h> {
    head: &'h Head,
    /// Threads decoding.
    threads: usize,
    sharding: Sharding,
    /// Refs of the log that name a series re-created under another ref.
    aliases: HashMap<u64, Arc<MemSeries>>,
    /// Per apply worker, by key.
    slots: Vec<RefPages<Slot>>,
    /// Per apply worker, by key: `Slot::on_disk`, apart so decoding reads 8 bytes a sample.
    on_disk: Vec<RefPages<OnDisk>>,
    /// Samples waiting to be applied, per worker, in log order.
    pending: Vec<Vec<RefSample>>,
    loaded: Option<LoadedChunks>,
    /// Map files instead of reading them (the caller holds the directory's lock).
    mapped: bool,
    /// Lowest head chunk file a loaded chunk is in.
    oldest_file: u32,
}

impl<'h> Replayer<'h> {
    fn new(head: &'h Head, threads: usize, loaded: Option<LoadedChunks>, mapped: bool) -> Self {
        let sharding = Sharding::new(threads);
        Self {
            head,
            threads,
            sharding,
            aliases: HashMap::new(),
            slots: (0..sharding.workers).map(|_| RefPages::default()).collect(),
            on_disk: (0..sharding.workers).map(|_| RefPages::default()).collect(),
            pending: vec![Vec::new(); sharding.workers],
            loaded,
            mapped,
            oldest_file: u32::MAX,
        }
    }

    fn lookup(&self, sref: u64) -> Option<Arc<MemSeries>> {
        self.aliases
            .get(&sref)
            .cloned()
            .or_else(|| self.head.series_by_ref(sref))
    }

    /// Re-creates a series from its record, with its chunks from the files.
    fn create(&mut self, s: &RefSeries, stats: &mut ReplayStats) {
        stats.series += 1;
        let (series, created) = self.head.create_with_ref(s.series, &s.labels);
        series.logged.store(true, Ordering::Release);
        if series.sref != s.series {
            self.aliases.insert(s.series, series);
            return;
        }
        if !created {
            return;
        }
        let (worker, key) = (
            self.sharding.worker(series.sref),
            self.sharding.key(series.sref),
        );
        let slot = self.slots[worker].entry(key);
        if let Some(LoadedSeries { chunks, maxt }) =
            self.loaded.as_mut().and_then(|l| l.take(series.sref))
            && let Some(first) = chunks.first()
        {
            let n = chunks.len() as u64;
            self.head.observe_times(first.mint, maxt);
            self.head.metrics.head_chunks.add(n as i64);
            self.oldest_file = self.oldest_file.min(first.file);
            stats.chunks_loaded += n;
            series.attach_chunks(chunks, maxt);
            slot.on_disk = maxt;
            *self.on_disk[worker].entry(key) = OnDisk(maxt);
        }
        slot.series = Some(series);
    }

    /// Replays the records of one file, verifying each record's checksum; returns the
    /// offset of the first record that fails it, and why (nothing from there on is used).
    fn replay(
        &mut self,
        data: &[u8],
        records: &[(RecordType, Range<usize>)],
        stats: &mut ReplayStats,
    ) -> Option<(usize, String)> {
        let mut start = 0;
        while start < records.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < records.len() && (end == start || bytes < GROUP_BYTES) {
                bytes += records[end].1.len();
                end += 1;
            }
            if let Some((index, reason)) = self.replay_group(data, &records[start..end], stats) {
                let offset = records[start + index].1.start - record::HEADER_LEN;
                return Some((offset, reason));
            }
            start = end;
        }
        None
    }

    fn decode_group(&self, data: &[u8], records: &[(RecordType, Range<usize>)]) -> Vec<Part> {
        let ctx = DecodeContext {
            on_disk: &self.on_disk,
            aliases: &self.aliases,
            sharding: self.sharding,
            min_valid: self.head.min_valid_time(),
            skip_on_disk: self.head.opts.ooo_window <= 0,
        };
        let per = records.len().div_ceil(self.threads).max(1);
        let ctx = &ctx;
        std::thread::scope(|scope| {
            let handles: Vec<_> = records
                .chunks(per)
                .map(|part| scope.spawn(move || ctx.decode(data, part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Decodes a group of records, creates its series and queues its samples; returns the
    /// index (in `records`) of a record whose checksum failed, and why: the group is used
    /// up to it.
    fn replay_group(
        &mut self,
        data: &[u8],
        records: &[(RecordType, Range<usize>)],
        stats: &mut ReplayStats,
    ) -> Option<(usize, String)> {
        let mut parts = self.decode_group(data, records);
        let per = records.len().div_ceil(self.threads).max(1);
        let mut damage = None;
        if let Some(p) = parts.iter().position(|p| p.bad.is_some()) {
            parts.truncate(p + 1);
            damage = parts[p].bad.take().map(|(i, reason)| (p * per + i, reason));
        }
        stats.records += parts.iter().map(|p| p.records as u64).sum::<u64>();
        let aliases_before = self.aliases.len();
        for part in &parts {
            for list in &part.series {
                for s in list {
                    self.create(s, stats);
                }
            }
        }
        if self.aliases.len() != aliases_before {
            // Samples of refs that just became aliases were routed by their own ref: decode
            // the samples again now that the aliases are known (rare: a series dropped and
            // re-created under a new ref before the log was checkpointed). Same records,
            // same split: the parts line up with the first decoding.
            let again = self.decode_group(data, records);
            for (part, redone) in parts.iter_mut().zip(again) {
                part.shards = redone.shards;
                part.skipped = redone.skipped;
            }
        }
        for part in &mut parts {
            stats.in_chunk_files += part.skipped;
            for (pending, samples) in self.pending.iter_mut().zip(&mut part.shards) {
                if pending.is_empty() {
                    *pending = std::mem::take(samples);
                } else {
                    pending.append(samples);
                }
            }
            for list in &part.tombstones {
                for t in list {
                    if let Some(series) = self.lookup(t.series) {
                        series.data.lock().extra().deleted.push((t.mint, t.maxt));
                    }
                }
            }
        }
        if self.pending.iter().map(Vec::len).sum::<usize>() >= APPLY_BATCH {
            self.apply_pending(stats);
        }
        damage
    }

    /// Applies the queued samples, each worker its shard.
    fn apply_pending(&mut self, stats: &mut ReplayStats) {
        let head = self.head;
        let sharding = self.sharding;
        let results: Vec<(u64, u64, u64, i64, i64, i64)> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .slots
                .iter_mut()
                .zip(self.pending.iter_mut())
                .map(|(table, samples)| {
                    let samples = std::mem::take(samples);
                    scope.spawn(move || apply_shard(head, samples, table, sharding))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((0, 0, 0, 0, i64::MAX, i64::MIN)))
                .collect()
        });
        for (stored, skipped, unknown, chunks, mint, maxt) in results {
            stats.samples += stored;
            stats.in_chunk_files += skipped;
            stats.unknown_refs += unknown;
            head.metrics.head_chunks.add(chunks);
            head.metrics.samples_appended.inc_by(stored);
            head.observe_times(mint, maxt);
        }
    }

    /// Applies what is still queued; series resumed at their last chunk on disk that got
    /// no later sample learn their newest value from that chunk.
    fn finish(&mut self, stats: &mut ReplayStats) {
        self.apply_pending(stats);
        let files = self.head.chunk_files.as_ref();
        for table in &self.slots {
            for slot in table.values() {
                if let Some(series) = &slot.series
                    && slot.on_disk != i64::MIN
                    && !slot.resumed
                    && let Err(err) = series.resume_last_value(files)
                {
                    tracing::warn!(%err, series = %series.labels(), "cannot read the newest sample of a series from its head chunk; a later sample at the same time will be refused as a duplicate");
                }
            }
        }
        stats.oldest_chunk_file = self.oldest_file;
    }
}

/// Applies one worker's samples; returns (stored, in chunk files, unknown, chunks created,
/// mint, maxt).
fn apply_shard(
    head: &Head,
    mut samples: Vec<RefSample>,
    table: &mut RefPages<Slot>,
    sharding: Sharding,
) -> (u64, u64, u64, i64, i64, i64) {
    let window = head.opts.ooo_window;
    let files = head.chunk_files.as_deref();
    let (mut stored, mut skipped, mut unknown, mut chunks) = (0u64, 0u64, 0u64, 0i64);
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    // Series by series; the sort is stable, so each series' samples stay in log order.
    samples.sort_by_key(|s| s.series);
    for s in &samples {
        let Some(slot) = table.get_mut(sharding.key(s.series)) else {
            unknown += 1;
            continue;
        };
        let newer = s.t > slot.newest;
        if newer {
            slot.newest = s.t;
        }
        let Some(series) = slot.series.as_ref() else {
            unknown += 1;
            continue;
        };
        if s.t <= slot.on_disk {
            if newer {
                skipped += 1;
            } else if series.replay_out_of_order(s.t, s.v, slot.newest, window) {
                stored += 1;
            }
            continue;
        }
        let (outcome, added) = series.apply(s.t, s.v, &head.opts, files);
        chunks += added;
        if outcome == Applied::Stored {
            stored += 1;
            slot.resumed = true;
            mint = mint.min(s.t);
            maxt = maxt.max(s.t);
        }
    }
    (stored, skipped, unknown, chunks, mint, maxt)
}

/// Replays `wal_dir` into `head`, resuming series at the chunks `loaded` from the head
/// chunk files. With `repair`, damage is cut off on disk (the damaged segment is truncated
/// at the last intact record and later segments are deleted) and leftover temporary
/// checkpoints are removed; without it (read-only opens) the files are left untouched and
/// replay simply stops at the damage.
pub(crate) fn replay_wal(
    head: &Head,
    wal_dir: &Path,
    threads: usize,
    repair: bool,
    loaded: Option<LoadedChunks>,
) -> Result<ReplayStats> {
    let started = Instant::now();
    let mut stats = ReplayStats::default();
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    if repair {
        remove_temporary_checkpoints(wal_dir)?;
    }
    let mut replayer = Replayer::new(head, threads, loaded, repair);
    let mut buf = Vec::new();
    let checkpoint = Checkpoint::latest(wal_dir)?;
    if let Some(cp) = &checkpoint {
        stats.checkpoint = Some(cp.index);
        for (_, path) in list_segments(&cp.dir)? {
            if let Some(c) = replay_file(&mut replayer, &path, &mut buf, &mut stats)? {
                tracing::error!(corruption = %c, "WAL checkpoint is damaged; replaying its intact prefix");
                stats.corruptions.push(c);
                break;
            }
        }
    }
    let first_live = checkpoint.as_ref().map_or(0, |c| c.index + 1);
    let segments = list_segments(wal_dir)?;
    let mut damaged_at: Option<usize> = None;
    for (position, (index, path)) in segments.iter().enumerate() {
        if *index < first_live {
            // Covered by the checkpoint; left over if deletion was interrupted.
            if repair {
                std::fs::remove_file(path).ok();
            }
            continue;
        }
        let damage = replay_file(&mut replayer, path, &mut buf, &mut stats)?;
        stats.last_segment = Some(*index);
        if let Some(c) = damage {
            if c.torn {
                tracing::warn!(corruption = %c, "WAL ends inside a record (interrupted write); cutting it off");
            } else {
                tracing::error!(corruption = %c, "WAL record is damaged; the log is cut at the last intact record and later records are discarded");
            }
            if repair {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(crate::Error::io("open damaged WAL segment", path))?;
                file.set_len(c.offset)
                    .map_err(crate::Error::io("truncate damaged WAL segment", path))?;
                file.sync_all()
                    .map_err(crate::Error::io("fsync WAL segment", path))?;
            }
            stats.corruptions.push(c);
            damaged_at = Some(position);
            break;
        }
    }
    if let Some(position) = damaged_at {
        for (index, path) in &segments[position + 1..] {
            tracing::error!(segment = index, "discarding WAL segment after damage");
            if repair {
                std::fs::remove_file(path)
                    .map_err(crate::Error::io("delete WAL segment after damage", path))?;
            }
        }
        if repair {
            fsutil::sync_dir(wal_dir)?;
        }
    }
    if stats.last_segment.is_none() {
        stats.last_segment = checkpoint.map(|c| c.index);
    }
    replayer.finish(&mut stats);
    // Everything replayed was in the log, so no series record needs writing again.
    stats.duration = started.elapsed();
    head.metrics
        .wal_replay_duration
        .set(stats.duration.as_secs_f64());
    Ok(stats)
}

/// Replays one segment file; returns its first damage (nothing after it was used).
fn replay_file(
    replayer: &mut Replayer<'_>,
    path: &Path,
    buf: &mut Vec<u8>,
    stats: &mut ReplayStats,
) -> Result<Option<Corruption>> {
    // With the lock held nothing else writes the log, so it can be mapped instead of read.
    let mapped;
    let data: &[u8] = if replayer.mapped {
        mapped = MappedFile::open(path)?;
        mapped.bytes()
    } else {
        read_into(path, buf)?;
        buf
    };
    let (records, structural) = scan_frames(data);
    let bad_crc = replayer.replay(data, &records, stats);
    Ok(match bad_crc {
        Some((offset, reason)) => Some(corruption_at(path, offset, FrameError::Bad(reason))),
        None => structural.map(|(offset, err)| corruption_at(path, offset, err)),
    })
}

fn remove_temporary_checkpoints(wal_dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(wal_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name
            .to_str()
            .is_some_and(|n| n.starts_with("checkpoint.") && n.ends_with(".tmp"))
        {
            tracing::info!(dir = %entry.path().display(), "removing incomplete WAL checkpoint");
            fsutil::remove_dir_all_if_exists(&entry.path())?;
        }
    }
    Ok(())
}
