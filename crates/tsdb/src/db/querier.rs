//! Reading across blocks and the head: each source selects its series and chunks, series
//! with the same labels are merged, and samples are decoded lazily.

use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_model::storage::{Querier, SelectHints, Series, check_selectable};
use tocsin_model::{Labels, Matcher, Timestamp};

use super::Tsdb;
use crate::query::{ChunkMeta, ChunkSeriesIter, Peeked, SeriesChunks};

/// A querier over `[mint, maxt]`. Compaction and retention may proceed while it reads: the
/// series it returns hold their chunks (mapped files, open head chunk files) until dropped.
pub(crate) struct TsdbQuerier<'a> {
    db: &'a Tsdb,
    mint: Timestamp,
    maxt: Timestamp,
}

type Merged = BTreeMap<Labels, (Vec<ChunkMeta>, Vec<(i64, i64)>)>;

impl<'a> TsdbQuerier<'a> {
    pub(crate) fn new(db: &'a Tsdb, mint: Timestamp, maxt: Timestamp) -> Self {
        Self { db, mint, maxt }
    }

    fn gather(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> tocsin_model::storage::Result<Merged> {
        let mut merged: Merged = BTreeMap::new();
        let mut add = |list: Vec<SeriesChunks>| {
            for s in list {
                let entry = merged.entry(s.labels).or_default();
                entry.0.extend(s.chunks);
                entry.1.extend(s.deleted);
            }
        };
        // The head first, then the blocks as they are now: a compaction in between moves
        // data from the head into a block this then sees, so nothing falls in the gap
        // (duplicates are merged by timestamp).
        add(self.db.head.select(matchers, start, end));
        let blocks = self.db.blocks();
        for block in blocks.iter().filter(|b| b.overlaps(start, end)) {
            add(block.select(matchers, start, end, &self.db.on_corrupt)?);
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
        let mut out = Vec::with_capacity(merged.len());
        for (labels, (chunks, deleted)) in merged {
            let it =
                ChunkSeriesIter::new(chunks, deleted, start, end, Arc::clone(&self.db.on_corrupt));
            if let Some(peeked) = Peeked::new(it) {
                out.push(Series {
                    labels,
                    samples: Box::new(peeked),
                });
            }
        }
        Ok(out)
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
