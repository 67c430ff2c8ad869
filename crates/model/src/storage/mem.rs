//! A simple, obviously-correct store kept entirely in memory: the reference model that
//! property tests compare `tocsin-tsdb` against, and a fast store for engine tests. Not for
//! production data: it keeps everything and persists nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::{
    AppendError, Appendable, Appender, CommitSummary, Querier, Queryable, Result, SampleIterator,
    SelectHints, Series, SeriesRef, VecSampleIterator, check_selectable,
};
use crate::{Labels, Matcher, Sample, Timestamp};

/// Series → samples in time order, with Prometheus's in-order append rules.
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    series: Arc<RwLock<BTreeMap<Labels, Vec<Sample>>>>,
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.series.read().len()
    }

    /// Removes everything (the promqltest `clear` command).
    pub fn clear(&self) {
        self.series.write().clear();
    }

    /// Every sample of every series, for comparisons in tests.
    pub fn dump(&self) -> BTreeMap<Labels, Vec<Sample>> {
        self.series.read().clone()
    }
}

struct MemAppender<'a> {
    store: &'a MemStorage,
    staged: Vec<(Labels, Sample)>,
}

impl Appender for MemAppender<'_> {
    fn append(
        &mut self,
        _series: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> std::result::Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidSeries {
                series: labels.clone(),
                reason: "a series needs at least one label".to_owned(),
            });
        }
        // The newest sample counts staged ones too, like a real head.
        let newest = self
            .staged
            .iter()
            .rev()
            .find(|(l, _)| l == labels)
            .map(|(_, s)| *s)
            .or_else(|| {
                self.store
                    .series
                    .read()
                    .get(labels)
                    .and_then(|samples| samples.last().copied())
            });
        match newest {
            Some(last) if t < last.t => {
                return Err(AppendError::OutOfOrder {
                    series: labels.clone(),
                    t,
                    newest: last.t,
                });
            }
            Some(last) if t == last.t && v.to_bits() != last.v.to_bits() => {
                return Err(AppendError::DuplicateTimestamp {
                    series: labels.clone(),
                    t,
                });
            }
            // Same timestamp and value: accepted and ignored, as Prometheus does.
            Some(last) if t == last.t => return Ok(0),
            _ => {}
        }
        self.staged.push((labels.clone(), Sample::new(t, v)));
        Ok(0)
    }

    fn commit(self: Box<Self>) -> Result<CommitSummary> {
        let mut series = self.store.series.write();
        let mut summary = CommitSummary::default();
        for (labels, sample) in self.staged {
            let samples = series.entry(labels).or_insert_with(|| {
                summary.new_series += 1;
                Vec::new()
            });
            samples.push(sample);
            summary.samples += 1;
        }
        Ok(summary)
    }
}

impl Appendable for MemStorage {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(MemAppender {
            store: self,
            staged: Vec::new(),
        })
    }
}

struct MemQuerier {
    snapshot: BTreeMap<Labels, Vec<Sample>>,
    mint: Timestamp,
    maxt: Timestamp,
}

fn all_match(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl MemQuerier {
    fn in_range<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a Labels> + 'a {
        self.snapshot
            .iter()
            .filter(move |(labels, samples)| {
                all_match(labels, matchers)
                    && samples.iter().any(|s| s.t >= self.mint && s.t <= self.maxt)
            })
            .map(|(labels, _)| labels)
    }
}

impl Querier for MemQuerier {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>> {
        check_selectable(matchers)?;
        let (start, end) = (hints.start.max(self.mint), hints.end.min(self.maxt));
        let mut out = Vec::new();
        for (labels, samples) in &self.snapshot {
            if !all_match(labels, matchers) {
                continue;
            }
            let chosen: Vec<Sample> = samples
                .iter()
                .filter(|s| s.t >= start && s.t <= end)
                .copied()
                .collect();
            if !chosen.is_empty() {
                out.push(Series {
                    labels: labels.clone(),
                    samples: Box::new(VecSampleIterator::new(chosen)) as Box<dyn SampleIterator>,
                });
            }
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .in_range(matchers)
            .flat_map(|labels| labels.iter().map(|l| l.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut values: Vec<String> = self
            .in_range(matchers)
            .filter_map(|labels| labels.get(name).map(str::to_owned))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier + '_>> {
        // A snapshot keeps the querier consistent while appends continue.
        Ok(Box::new(MemQuerier {
            snapshot: self.series.read().clone(),
            mint,
            maxt,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MatchType;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn collect(mut it: Box<dyn SampleIterator>) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        while let Some(s) = it.next() {
            out.push((s.t, s.v));
        }
        out
    }

    #[test]
    fn appends_are_invisible_until_commit_and_ordered() {
        let store = MemStorage::new();
        let up = labels(&[("__name__", "up"), ("job", "a")]);
        let mut app = store.appender();
        app.append(0, &up, 10, 1.0).unwrap();
        app.append(0, &up, 20, 2.0).unwrap();
        assert!(matches!(
            app.append(0, &up, 15, 3.0),
            Err(AppendError::OutOfOrder { .. })
        ));
        assert!(matches!(
            app.append(0, &up, 20, 9.0),
            Err(AppendError::DuplicateTimestamp { .. })
        ));
        app.append(0, &up, 20, 2.0).unwrap();
        assert_eq!(store.series_count(), 0);
        let summary = app.commit().unwrap();
        assert_eq!(
            summary,
            CommitSummary {
                samples: 2,
                new_series: 1
            }
        );

        let q = store.querier(0, 100).unwrap();
        let m = [Matcher::new(MatchType::Equal, "__name__", "up").unwrap()];
        let series = q
            .select(
                &SelectHints {
                    start: 15,
                    end: 100,
                },
                &m,
            )
            .unwrap();
        assert_eq!(series.len(), 1);
        let s = series.into_iter().next().unwrap();
        assert_eq!(collect(s.samples), vec![(20, 2.0)]);
    }

    #[test]
    fn label_queries_and_empty_matcher_rule() {
        let store = MemStorage::new();
        let mut app = store.appender();
        app.append(0, &labels(&[("__name__", "a"), ("x", "1")]), 1, 1.0)
            .unwrap();
        app.append(0, &labels(&[("__name__", "b"), ("y", "2")]), 1, 1.0)
            .unwrap();
        app.commit().unwrap();
        let q = store.querier(0, 10).unwrap();
        assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "x", "y"]);
        let only_a = [Matcher::equal("__name__", "a")];
        assert_eq!(q.label_names(&only_a).unwrap(), vec!["__name__", "x"]);
        assert_eq!(q.label_values("__name__", &[]).unwrap(), vec!["a", "b"]);
        let empty = [Matcher::new(MatchType::Regex, "x", ".*").unwrap()];
        assert!(
            q.select(&SelectHints { start: 0, end: 10 }, &empty)
                .is_err()
        );
    }
}
