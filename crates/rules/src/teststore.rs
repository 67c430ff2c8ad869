//! The store `tocsin test rules` evaluates on: in memory, with `MemStorage`'s append rules,
//! but a querier shares the data (copy-on-write) instead of copying the whole store, so a test
//! with thousands of series and hours of steps runs in seconds.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use tocsin_model::storage::{
    AppendError, Appendable, Appender, CommitSummary, Querier, Queryable, Result, SampleIterator,
    SelectHints, Series, SeriesRef, VecSampleIterator, check_selectable,
};
use tocsin_model::{Labels, MatchType, Matcher, Sample, Timestamp};

/// Series by metric name (`""` for none), so a selector with a name scans only its series.
type Data = BTreeMap<String, BTreeMap<Labels, Vec<Sample>>>;

fn name_of(labels: &Labels) -> &str {
    labels.metric_name().unwrap_or("")
}

fn samples_of<'a>(data: &'a Data, labels: &Labels) -> Option<&'a Vec<Sample>> {
    data.get(name_of(labels)).and_then(|m| m.get(labels))
}

/// An in-memory store whose queriers are cheap.
#[derive(Debug, Default)]
pub struct TestStorage {
    series: RwLock<Arc<Data>>,
}

impl TestStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

struct TestAppender<'a> {
    store: &'a TestStorage,
    staged: Vec<(Labels, Sample)>,
    /// Newest staged sample per series, so loading many series is not quadratic.
    newest: std::collections::HashMap<Labels, Sample>,
}

impl Appender for TestAppender<'_> {
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
        let newest = self.newest.get(labels).copied().or_else(|| {
            samples_of(&self.store.series.read(), labels)
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
            Some(last) if t == last.t => return Ok(0),
            _ => {}
        }
        self.staged.push((labels.clone(), Sample::new(t, v)));
        self.newest.insert(labels.clone(), Sample::new(t, v));
        Ok(0)
    }

    fn commit(self: Box<Self>) -> Result<CommitSummary> {
        let mut guard = self.store.series.write();
        // Copies only if a querier still holds the previous version.
        let series = Arc::make_mut(&mut guard);
        let mut summary = CommitSummary::default();
        for (labels, sample) in self.staged {
            let samples = series
                .entry(name_of(&labels).to_owned())
                .or_default()
                .entry(labels)
                .or_insert_with(|| {
                    summary.new_series += 1;
                    Vec::new()
                });
            samples.push(sample);
            summary.samples += 1;
        }
        Ok(summary)
    }
}

impl Appendable for TestStorage {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(TestAppender {
            store: self,
            staged: Vec::new(),
            newest: std::collections::HashMap::new(),
        })
    }
}

struct TestQuerier {
    snapshot: Arc<Data>,
    mint: Timestamp,
    maxt: Timestamp,
}

fn all_match(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

fn window(samples: &[Sample], start: Timestamp, end: Timestamp) -> &[Sample] {
    let from = samples.partition_point(|s| s.t < start);
    let to = samples.partition_point(|s| s.t <= end);
    samples.get(from..to.max(from)).unwrap_or(&[])
}

impl TestQuerier {
    /// The series `matchers` may select: one name's when a matcher fixes `__name__`.
    fn candidates<'a>(
        &'a self,
        matchers: &'a [Matcher],
    ) -> Box<dyn Iterator<Item = (&'a Labels, &'a Vec<Sample>)> + 'a> {
        let fixed = matchers
            .iter()
            .find(|m| m.name == "__name__" && m.kind == MatchType::Equal);
        match fixed {
            Some(m) => Box::new(self.snapshot.get(&m.value).into_iter().flatten()),
            None => Box::new(self.snapshot.values().flatten()),
        }
    }

    fn in_range<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a Labels> + 'a {
        self.candidates(matchers)
            .filter(move |(labels, samples)| {
                all_match(labels, matchers) && !window(samples, self.mint, self.maxt).is_empty()
            })
            .map(|(labels, _)| labels)
    }
}

impl Querier for TestQuerier {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>> {
        check_selectable(matchers)?;
        let (start, end) = (hints.start.max(self.mint), hints.end.min(self.maxt));
        let mut out = Vec::new();
        for (labels, samples) in self.candidates(matchers) {
            if !all_match(labels, matchers) {
                continue;
            }
            let chosen = window(samples, start, end);
            if !chosen.is_empty() {
                out.push(Series {
                    labels: labels.clone(),
                    samples: Box::new(VecSampleIterator::new(chosen.to_vec()))
                        as Box<dyn SampleIterator>,
                });
            }
        }
        // Buckets are per name; the contract is one order by labels.
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
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

impl Queryable for TestStorage {
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier + '_>> {
        Ok(Box::new(TestQuerier {
            snapshot: Arc::clone(&self.series.read()),
            mint,
            maxt,
        }))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tocsin_model::storage::mem::MemStorage;

    use super::*;

    fn dump(
        q: &dyn Queryable,
        start: i64,
        end: i64,
        matchers: &[Matcher],
    ) -> Vec<(Labels, Vec<Sample>)> {
        let querier = q.querier(start, end).expect("querier");
        querier
            .select(&SelectHints { start, end }, matchers)
            .expect("select")
            .into_iter()
            .map(|mut s| {
                let mut samples = Vec::new();
                while let Some(x) = s.samples.next() {
                    samples.push(x);
                }
                (s.labels, samples)
            })
            .collect()
    }

    proptest! {
        /// Behaves exactly as the reference model, `MemStorage`.
        #[test]
        fn agrees_with_mem_storage(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u8..4, 0i64..50, -5i32..5), 0..10), 0..6),
            start in 0i64..50,
            len in 0i64..50,
        ) {
            let model = MemStorage::new();
            let store = TestStorage::new();
            let held = store.querier(0, 100).expect("querier");
            for batch in &batches {
                let mut a = model.appender();
                let mut b = store.appender();
                for &(series, t, v) in batch {
                    let name = if series % 2 == 0 { "m" } else { "n" };
                    let labels = Labels::from_pairs([("__name__", name), ("s", &series.to_string())]).expect("labels");
                    let ra = a.append(0, &labels, t, f64::from(v)).map_err(|e| e.to_string());
                    let rb = b.append(0, &labels, t, f64::from(v)).map_err(|e| e.to_string());
                    prop_assert_eq!(ra, rb);
                }
                prop_assert_eq!(a.commit().expect("commit"), b.commit().expect("commit"));
            }
            let matchers = [Matcher::equal("__name__", "m")];
            prop_assert_eq!(dump(&model, start, start + len, &matchers), dump(&store, start, start + len, &matchers));
            // Without a fixed name, every bucket is scanned and the result is still in order.
            let any = [Matcher::new(MatchType::Regex, "s", ".+").expect("matcher")];
            prop_assert_eq!(dump(&model, start, start + len, &any), dump(&store, start, start + len, &any));
            // A querier taken earlier keeps seeing the data of its time.
            let hints = SelectHints { start: 0, end: 100 };
            let early = held.select(&hints, &matchers).expect("select");
            prop_assert!(early.is_empty(), "a held querier saw later appends");
        }
    }
}
