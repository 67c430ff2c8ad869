//! Compaction and retention. The head is cut into a block once it spans 1.5 block
//! durations (the oldest aligned range is persisted, then dropped from the head and folded
//! into a WAL checkpoint); adjacent blocks are merged into ranges three times larger up to
//! the maximum block duration; blocks beyond the retention time or size are deleted.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tocsin_model::Sample;

use super::Tsdb;
use crate::block::{Block, BlockWriter, TMP_DELETION};
use crate::chunkenc;
use crate::query::ChunkMeta;
use crate::{Result, fsutil, wal};

/// What one round of compaction did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactionReport {
    /// Blocks written from the head.
    pub head_blocks: usize,
    /// Merged blocks written.
    pub merged_blocks: usize,
    /// Blocks deleted by retention.
    pub deleted_blocks: usize,
}

/// Deletes a block directory crash-safely: rename (atomic), then remove.
pub(crate) fn delete_block_dir(dir: &Path) -> Result<()> {
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return Ok(());
    };
    let tmp = dir.with_file_name(format!("{name}{TMP_DELETION}"));
    fsutil::rename_synced(dir, &tmp)?;
    fsutil::remove_dir_all_if_exists(&tmp)
}

/// Samples of `chunks` in `[mint, maxt)` outside `deleted`, in order, duplicates dropped.
fn samples_of(
    chunks: &[ChunkMeta],
    deleted: &[(i64, i64)],
    mint: i64,
    maxt: i64,
    on_corrupt: &dyn Fn(&str),
) -> Vec<Sample> {
    let mut out = Vec::new();
    for c in chunks {
        match c
            .bytes
            .load()
            .and_then(|b| chunkenc::decode(c.encoding, &b))
        {
            Ok(samples) => out.extend(samples.into_iter().filter(|s| s.t >= mint && s.t < maxt)),
            Err(err) => on_corrupt(&err.to_string()),
        }
    }
    out.sort_by_key(|s| s.t);
    out.dedup_by_key(|s| s.t);
    if !deleted.is_empty() {
        out.retain(|s| !deleted.iter().any(|&(a, b)| a <= s.t && s.t <= b));
    }
    out
}

impl Tsdb {
    /// Runs compaction and retention until nothing is left to do. Safe to call at any
    /// time from any thread; rounds are serialised.
    pub fn compact(&self) -> Result<CompactionReport> {
        let _serialised = self.compaction.lock();
        let mut report = CompactionReport::default();
        let wal = self.wal()?;
        let range = self.opts.block_duration_ms;
        while let (Some(min), Some(max)) = (self.head.min_time(), self.head.max_time()) {
            if max.saturating_sub(min) < range / 2 * 3 {
                break;
            }
            let mint = min.div_euclid(range) * range;
            self.compact_head(wal, mint, mint + range)
                .inspect_err(|_| {
                    self.metrics.compactions_failed.inc();
                })?;
            report.head_blocks += 1;
        }
        while let Some(group) = self.plan_merge() {
            self.merge(&group).inspect_err(|_| {
                self.metrics.compactions_failed.inc();
            })?;
            report.merged_blocks += 1;
        }
        report.deleted_blocks = self.apply_retention()?;
        self.update_block_metrics();
        Ok(report)
    }

    /// Persists the head's `[mint, maxt)` as a block and drops it from the head and WAL.
    /// Also usable directly (tests, `tsdb` tools) to force a cut.
    pub fn compact_head_range(&self, mint: i64, maxt: i64) -> Result<()> {
        let _serialised = self.compaction.lock();
        let wal = self.wal()?;
        let result = self.compact_head(wal, mint, maxt);
        self.update_block_metrics();
        result
    }

    fn compact_head(&self, wal: &wal::Wal, mint: i64, maxt: i64) -> Result<()> {
        let started = Instant::now();
        // Everything in the head before maxt goes into this block, so truncation loses
        // nothing even when the caller's range starts later than the head's data.
        let mint = self.head.min_time().map_or(mint, |m| m.min(mint));
        if mint >= maxt {
            return Ok(());
        }
        // From here on no commit can add a sample before maxt: everything the block must
        // hold is already in the head. The segment cut marks what the checkpoint may fold.
        let last_segment = {
            let mut w = wal.lock();
            w.check_open()?;
            self.head.set_min_valid_time(maxt);
            w.cut()?
        };
        let mut series: Vec<_> = self
            .head
            .all_series()
            .into_iter()
            .map(|s| (s.labels(), s))
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let mut writer = BlockWriter::new(&self.dir, mint, maxt, 1, Vec::new())?;
        let on_corrupt = |reason: &str| (self.on_corrupt)(reason);
        for (labels, s) in series {
            let (chunks, deleted) = s.chunks_in(mint, maxt - 1, self.head.chunk_files.as_ref());
            if chunks.is_empty() {
                continue;
            }
            let samples = samples_of(&chunks, &deleted, mint, maxt, &on_corrupt);
            writer.add_series(labels, &samples)?;
        }
        let written = writer.finish()?;
        if let Some(meta) = &written {
            let block = Arc::new(Block::open(&self.dir.join(&meta.ulid))?);
            let mut blocks = self.blocks.write();
            let mut next: Vec<Arc<Block>> = blocks.iter().cloned().collect();
            next.push(block);
            next.sort_by_key(|b| b.meta().min_time);
            *blocks = Arc::new(next);
            self.metrics.compactions.inc();
            tracing::info!(
                block = %meta.ulid,
                mint,
                maxt,
                series = meta.stats.num_series,
                samples = meta.stats.num_samples,
                duration_ms = started.elapsed().as_millis() as u64,
                "head persisted to a block"
            );
        }
        let truncated = self.head.truncate(maxt, wal);
        let head = &self.head;
        wal::checkpoint(wal.dir(), last_segment, maxt, &|r| {
            head.series_by_ref(r).is_some()
        })?;
        wal.refresh_size();
        tracing::debug!(
            chunks = truncated.chunks,
            series = truncated.series,
            "head truncated"
        );
        Ok(())
    }

    /// The ranges merges produce: the block duration times 3, 9, 27, ... up to the maximum.
    fn merge_ranges(&self) -> Vec<i64> {
        let max = self.opts.max_block_duration();
        let mut out = Vec::new();
        let mut r = self.opts.block_duration_ms.saturating_mul(3);
        while r <= max {
            out.push(r);
            r = r.saturating_mul(3);
        }
        out
    }

    /// The next group of blocks to merge: two or more blocks inside one aligned window that
    /// lies entirely before the head (so no later block can still fall into it).
    fn plan_merge(&self) -> Option<Vec<Arc<Block>>> {
        let blocks = self.blocks();
        let frontier = self.head.min_valid_time();
        for r in self.merge_ranges() {
            let mut windows: std::collections::BTreeMap<i64, Vec<Arc<Block>>> = Default::default();
            for b in blocks.iter() {
                let w = b.meta().min_time.div_euclid(r);
                if b.meta().max_time <= (w + 1) * r {
                    windows.entry(w).or_default().push(Arc::clone(b));
                }
            }
            for (w, group) in windows {
                if group.len() >= 2 && (w + 1) * r <= frontier {
                    return Some(group);
                }
            }
        }
        None
    }

    fn merge(&self, group: &[Arc<Block>]) -> Result<()> {
        let started = Instant::now();
        let mint = group.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
        let maxt = group.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
        let level = group
            .iter()
            .map(|b| b.meta().compaction.level)
            .max()
            .unwrap_or(1)
            + 1;
        let mut sources: Vec<String> = group
            .iter()
            .flat_map(|b| b.meta().compaction.sources.iter().cloned())
            .collect();
        sources.sort();
        sources.dedup();
        // Every series of every input, in label order; equal labels are merged.
        let mut all = Vec::new();
        for (i, b) in group.iter().enumerate() {
            for ordinal in 0..b.num_series() {
                all.push((b.labels(ordinal)?, i, ordinal));
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut writer = BlockWriter::new(&self.dir, mint, maxt, level, sources)?;
        let on_corrupt = |reason: &str| (self.on_corrupt)(reason);
        let mut i = 0;
        while i < all.len() {
            let mut j = i;
            let mut chunks = Vec::new();
            let mut deleted = Vec::new();
            while j < all.len() && all[j].0 == all[i].0 {
                let (_, b, ordinal) = &all[j];
                let sc = group[*b].series_chunks(*ordinal, mint, maxt, &self.on_corrupt)?;
                chunks.extend(sc.chunks);
                deleted.extend(sc.deleted);
                j += 1;
            }
            let samples = samples_of(&chunks, &deleted, mint, maxt, &on_corrupt);
            writer.add_series(all[i].0.clone(), &samples)?;
            i = j;
        }
        let written = writer.finish()?;
        {
            let mut blocks = self.blocks.write();
            let mut next: Vec<Arc<Block>> = blocks
                .iter()
                .filter(|b| !group.iter().any(|g| Arc::ptr_eq(g, b)))
                .cloned()
                .collect();
            if let Some(meta) = &written {
                next.push(Arc::new(Block::open(&self.dir.join(&meta.ulid))?));
            }
            next.sort_by_key(|b| b.meta().min_time);
            *blocks = Arc::new(next);
        }
        for b in group {
            delete_block_dir(b.dir())?;
        }
        self.metrics.compactions.inc();
        tracing::info!(
            inputs = group.len(),
            mint,
            maxt,
            level,
            duration_ms = started.elapsed().as_millis() as u64,
            "blocks merged"
        );
        Ok(())
    }

    /// Deletes blocks beyond the retention time or size; returns how many.
    fn apply_retention(&self) -> Result<usize> {
        let blocks = self.blocks();
        let mut doomed: Vec<(Arc<Block>, &'static str)> = Vec::new();
        if let (Some(retention), Some(newest)) = (
            self.opts.retention_time,
            blocks.iter().map(|b| b.meta().max_time).max(),
        ) {
            let cutoff = newest.saturating_sub(retention.as_millis() as i64);
            for b in blocks.iter().filter(|b| b.meta().max_time <= cutoff) {
                doomed.push((Arc::clone(b), "time"));
            }
        }
        if let Some(limit) = self.opts.retention_size {
            let mut total = self.disk_size();
            for b in blocks.iter() {
                if total <= limit {
                    break;
                }
                total = total.saturating_sub(b.size());
                if !doomed.iter().any(|(d, _)| Arc::ptr_eq(d, b)) {
                    doomed.push((Arc::clone(b), "size"));
                }
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        {
            let mut current = self.blocks.write();
            let next: Vec<Arc<Block>> = current
                .iter()
                .filter(|b| !doomed.iter().any(|(d, _)| Arc::ptr_eq(d, b)))
                .cloned()
                .collect();
            *current = Arc::new(next);
        }
        for (b, reason) in &doomed {
            delete_block_dir(b.dir())?;
            self.metrics
                .retention_deletions
                .with_label_values(&[reason])
                .inc();
            tracing::info!(block = %b.meta().ulid, reason, "block deleted by retention");
        }
        Ok(doomed.len())
    }
}
