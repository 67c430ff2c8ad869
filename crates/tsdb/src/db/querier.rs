//! Reading across blocks and the head: each source selects its series and chunks, series
//! with the same labels are merged, and samples are decoded lazily.

use std::sync::Arc;

use tocsin_model::storage::{Querier, SelectHints, Series, check_selectable};
use tocsin_model::{Matcher, Timestamp};

use super::Tsdb;
use crate::parallel;
use crate::query::{ChunkSeriesIter, Peeked, SeriesChunks};

/// A querier over `[mint, maxt]`. Compaction and retention may proceed while it reads: the
/// series it returns hold their chunks (mapped files, open head chunk files) until dropped.
pub(crate) struct TsdbQuerier<'a> {
    db: &'a Tsdb,
    mint: Timestamp,
    maxt: Timestamp,
}

/// Series per task handed to the pool (handing one over costs a few µs).
const SERIES_PER_TASK: usize = 128;

impl<'a> TsdbQuerier<'a> {
    pub(crate) fn new(db: &'a Tsdb, mint: Timestamp, maxt: Timestamp) -> Self {
        Self { db, mint, maxt }
    }

    /// Every source's series, sorted by labels, the chunks and deletions of series with the
    /// same labels merged (the head's first: a source earlier in the list wins duplicates).
    fn gather(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> tocsin_model::storage::Result<Vec<SeriesChunks>> {
        // The head first, then the blocks as they are now: a compaction in between moves
        // data from the head into a block this then sees, so nothing falls in the gap
        // (duplicates are merged by timestamp).
        let mut all = self.db.head.select(matchers, start, end);
        let blocks = self.db.blocks();
        for block in blocks.iter().filter(|b| b.overlaps(start, end)) {
            all.extend(block.select(matchers, start, end, &self.db.on_corrupt)?);
        }
        // Stable, and blocks list their series in label order: the sort mostly merges runs.
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        let mut merged: Vec<SeriesChunks> = Vec::with_capacity(all.len());
        for s in all {
            match merged.last_mut() {
                Some(last) if last.labels == s.labels => {
                    last.chunks.extend(s.chunks);
                    last.deleted.extend(s.deleted);
                }
                _ => merged.push(s),
            }
        }
        Ok(merged)
    }

    /// Series with at least one sample in `[start, end]`.
    fn series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> tocsin_model::storage::Result<Vec<Series>> {
        if start > end {
            return Ok(Vec::new());
        }
        let merged = self.gather(matchers, start, end)?;
        let on_corrupt = &self.db.on_corrupt;
        // Finding whether a series has a sample in range decodes its first chunk: the
        // costliest part of a select, spread over the cores.
        let peeked = parallel::map(merged, SERIES_PER_TASK, |s| {
            let it = ChunkSeriesIter::new(s.chunks, s.deleted, start, end, Arc::clone(on_corrupt));
            Peeked::new(it).map(|peeked| Series {
                labels: s.labels,
                samples: Box::new(peeked),
            })
        });
        Ok(peeked.into_iter().flatten().collect())
    }
}

impl Querier for TsdbQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> tocsin_model::storage::Result<Vec<Series>> {
        check_selectable(matchers)?;
        self.series(
            matchers,
            hints.start.max(self.mint),
            hints.end.min(self.maxt),
        )
    }

    fn label_names(&self, matchers: &[Matcher]) -> tocsin_model::storage::Result<Vec<String>> {
        let mut names: Vec<String> = self
            .series(matchers, self.mint, self.maxt)?
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
    ) -> tocsin_model::storage::Result<Vec<String>> {
        let mut values: Vec<String> = self
            .series(matchers, self.mint, self.maxt)?
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_owned))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}
