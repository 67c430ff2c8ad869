//! Dropping what has been persisted: after a block covering `..mint` is written, chunks that
//! end before `mint` leave the head, and series left with no chunk are removed (under the
//! WAL lock, so no commit can apply to a series while it is being removed).

use std::sync::atomic::Ordering;

use super::Head;
use super::series::{IN_MEMORY, SealedChunk};
use crate::wal::Wal;

/// What a truncation removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    /// Chunks dropped.
    pub chunks: i64,
    /// Series dropped.
    pub series: usize,
}

impl Head {
    /// Drops chunks ending before `mint` and then series without chunks.
    pub(crate) fn truncate(&self, mint: i64, wal: &Wal) -> Truncated {
        let mut out = Truncated::default();
        let mut new_min = i64::MAX;
        let mut empty = Vec::new();
        // New sealed chunks go to a new file; files before the oldest one still referenced
        // are deleted below.
        if let Some(files) = &self.chunk_files {
            files.cut();
        }
        let mut oldest_file = u32::MAX;
        for series in self.all_series() {
            let newest = series.last().map_or(i64::MIN, |(t, _)| t);
            let mut guard = series.data.lock();
            // Reborrowed so fields can be borrowed separately.
            let data = &mut *guard;
            let before = data.sealed.len();
            data.sealed.retain(|c| c.maxt() >= mint);
            data.sealed.shrink_to_fit();
            out.chunks += (before - data.sealed.len()) as i64;
            for c in &data.sealed {
                if c.file != IN_MEMORY {
                    oldest_file = oldest_file.min(c.file);
                }
            }
            if data.open.is_some() && newest < mint {
                data.open = None;
                out.chunks += 1;
            }
            if let Some(extra) = &mut data.extra {
                extra.deleted.retain(|&(_, maxt)| maxt >= mint);
                extra.ooo.retain(|s| s.t >= mint);
                let kept: Vec<i64> = data_sealed_mints(&data.sealed);
                extra.mem.retain(|(m, _)| kept.binary_search(m).is_ok());
                if extra.deleted.is_empty() && extra.ooo.is_empty() && extra.mem.is_empty() {
                    data.extra = None;
                }
            }
            let first = data
                .sealed
                .first()
                .map(|c| c.mint)
                .or(data.open.as_ref().map(|o| o.mint))
                .into_iter()
                .chain(data.ooo().first().map(|s| s.t))
                .min();
            match first {
                Some(t) => new_min = new_min.min(t),
                None => empty.push(std::sync::Arc::clone(&series)),
            }
        }
        self.metrics.head_chunks.sub(out.chunks);
        if !empty.is_empty() {
            let _serialised = wal.lock();
            for series in empty {
                let data = series.data.lock();
                // A commit may have given it a sample since the scan.
                if data.is_empty() && !series.removed.load(Ordering::Acquire) {
                    drop(data);
                    self.remove(&series);
                    out.series += 1;
                }
            }
        }
        self.reset_min_time(new_min);
        if let Some(files) = &self.chunk_files {
            files.remove_below(oldest_file);
        }
        out
    }
}

fn data_sealed_mints(sealed: &[SealedChunk]) -> Vec<i64> {
    sealed.iter().map(|c| c.mint).collect()
}
