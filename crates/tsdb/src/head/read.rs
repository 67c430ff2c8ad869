//! Reading the head: series matching matchers, with their chunks in a time range.

use tocsin_model::Matcher;

use super::Head;
use crate::postings;
use crate::query::SeriesChunks;

impl Head {
    /// Series matching `matchers` with chunks overlapping `[mint, maxt]`.
    pub(crate) fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesChunks> {
        let (refs, deferred) = {
            let index = self.postings.read();
            postings::select_candidates(&*index, matchers)
        };
        let mut out = Vec::with_capacity(refs.len() as usize);
        for sref in refs {
            let Some(series) = self.series_by_ref(sref) else {
                continue;
            };
            let labels = series.labels();
            if !postings::passes(&deferred, &labels) {
                continue;
            }
            let (chunks, deleted) = series.chunks_in(mint, maxt, self.chunk_files.as_ref());
            if chunks.is_empty() {
                continue;
            }
            out.push(SeriesChunks {
                labels,
                chunks,
                deleted,
            });
        }
        out
    }
}
