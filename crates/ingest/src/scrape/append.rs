//! Turning one scrape's body into appends, like Prometheus's `scrapeLoop.append`: a cache
//! from the series text as exposed to its final labels (or "dropped"), target labels merged
//! per `honor_labels`, `metric_relabel_configs`, limits, and staleness markers for series
//! that were in the previous scrape and are gone.

use std::collections::{HashMap, HashSet};

use tocsin_config::RelabelConfig;
use tocsin_model::storage::{AppendError, Appender, SeriesRef};
use tocsin_model::{Label, Labels, METRIC_NAME, STALE_NAN, Timestamp};

use crate::exposition::{Entry, Format, Parser};
use crate::relabel::{LabelSet, relabel};

/// What a scrape's samples are subject to.
#[derive(Debug, Clone, Default)]
pub(crate) struct SampleRules {
    pub(crate) honor_labels: bool,
    pub(crate) honor_timestamps: bool,
    pub(crate) track_timestamps_staleness: bool,
    pub(crate) metric_relabel: Vec<RelabelConfig>,
    pub(crate) sample_limit: u64,
    pub(crate) label_limit: u64,
    pub(crate) label_name_length_limit: u64,
    pub(crate) label_value_length_limit: u64,
}

#[derive(Debug)]
struct CacheEntry {
    /// Final labels and their hash; `None` when relabelling dropped the series.
    kept: Option<(Labels, u64)>,
    series_ref: SeriesRef,
    /// Last scrape the text was seen in.
    seen_iter: u64,
    /// Last successful scrape that stored it (and tracks its staleness).
    live_iter: u64,
}

/// Per-target memory between scrapes.
#[derive(Debug, Default)]
pub(crate) struct ScrapeCache {
    entries: HashMap<String, CacheEntry>,
    iteration: u64,
    /// The successful scrape whose series are live (0: none, after a failure or at start).
    live: u64,
}

/// Counts for the synthetic series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AppendStats {
    /// Samples in the body (`scrape_samples_scraped`).
    pub(crate) scraped: u64,
    /// Samples left after metric relabelling (`scrape_samples_post_metric_relabeling`).
    pub(crate) post_relabel: u64,
    /// Series new to the cache (`scrape_series_added`).
    pub(crate) series_added: u64,
    /// Samples the store refused (out of order, duplicates...), not fatal.
    pub(crate) refused: u64,
}

/// The labels of a sample once the target's labels are applied (`mutateSampleLabels`).
fn sample_labels(
    name: &str,
    exposed: &[(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)],
    target: &[Label],
    honor_labels: bool,
) -> LabelSet {
    let mut set = LabelSet::new();
    set.set(METRIC_NAME, name);
    for (label, value) in exposed {
        set.set(label, value);
    }
    if honor_labels {
        for label in target {
            if set.get(&label.name).is_empty() {
                set.set(&label.name, &label.value);
            }
        }
        return set;
    }
    let mut conflicts: Vec<Label> = Vec::new();
    for label in target {
        let existing = set.get(&label.name);
        if !existing.is_empty() {
            conflicts.push(Label::new(label.name.clone(), existing));
        }
        set.set(&label.name, &label.value);
    }
    // Exposed labels that clash with target labels move to `exported_<name>` (more prefixes
    // while taken), shortest names first, as Prometheus does.
    conflicts.sort_by_key(|l| l.name.len());
    for label in conflicts {
        let mut name = label.name;
        loop {
            name = format!("exported_{name}");
            if set.get(&name).is_empty() {
                set.set(&name, &label.value);
                break;
            }
        }
    }
    set
}

fn check_label_limits(set: &LabelSet, rules: &SampleRules) -> Result<(), String> {
    let metric = set.get(METRIC_NAME);
    let short = |text: &str| text.chars().take(50).collect::<String>();
    if rules.label_limit > 0 && set.len() as u64 > rules.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            short(metric),
            set.len(),
            rules.label_limit
        ));
    }
    for label in set.as_slice() {
        if rules.label_name_length_limit > 0
            && label.name.len() as u64 > rules.label_name_length_limit
        {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                short(metric),
                short(&label.name),
                label.name.len(),
                rules.label_name_length_limit
            ));
        }
        if rules.label_value_length_limit > 0
            && label.value.len() as u64 > rules.label_value_length_limit
        {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {}, length: {}, limit: {})",
                short(metric),
                short(&label.name),
                short(&label.value),
                label.value.len(),
                rules.label_value_length_limit
            ));
        }
    }
    Ok(())
}

impl ScrapeCache {
    /// Starts a scrape; returns its iteration number.
    pub(crate) fn begin(&mut self) -> u64 {
        self.iteration += 1;
        self.iteration
    }

    #[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
    /// Appends every sample of `body`. An error (parse error, a limit) fails the whole
    /// scrape: the caller drops the appender and calls [`ScrapeCache::fail`].
    pub(crate) fn append(
        &mut self,
        appender: &mut dyn Appender,
        body: &[u8],
        format: Format,
        now: Timestamp,
        target: &[Label],
        rules: &SampleRules,
        live_now: &mut HashSet<u64>,
    ) -> Result<AppendStats, String> {
        let iteration = self.iteration;
        let mut stats = AppendStats::default();
        let mut parser = Parser::from_bytes(body, format).map_err(|e| e.to_string())?;
        while let Some(entry) = parser.next().map_err(|e| e.to_string())? {
            let Entry::Sample(sample) = entry else {
                continue;
            };
            stats.scraped += 1;
            if !self.entries.contains_key(sample.series) {
                let mut set =
                    sample_labels(&sample.name, sample.labels, target, rules.honor_labels);
                let kept = if relabel(&mut set, &rules.metric_relabel) && !set.is_empty() {
                    check_label_limits(&set, rules)?;
                    let labels = Labels::from_sorted_unchecked(set.into_vec());
                    let hash = labels.stable_hash();
                    stats.series_added += 1;
                    Some((labels, hash))
                } else {
                    None
                };
                self.entries.insert(
                    sample.series.to_owned(),
                    CacheEntry {
                        kept,
                        series_ref: 0,
                        seen_iter: iteration,
                        live_iter: 0,
                    },
                );
            }
            let entry = self
                .entries
                .get_mut(sample.series)
                .expect("invariant: the entry was inserted above");
            entry.seen_iter = iteration;
            let Some((labels, hash)) = &entry.kept else {
                continue;
            };
            stats.post_relabel += 1;
            if rules.sample_limit > 0 && stats.post_relabel > rules.sample_limit {
                return Err(format!(
                    "sample limit exceeded: more than {} samples after metric relabelling (sample_limit)",
                    rules.sample_limit
                ));
            }
            let (t, tracked) = match sample.timestamp {
                Some(t) if rules.honor_timestamps => (t, rules.track_timestamps_staleness),
                _ => (now, true),
            };
            match appender.append(entry.series_ref, labels, t, sample.value) {
                Ok(series_ref) => {
                    if series_ref != 0 {
                        entry.series_ref = series_ref;
                    }
                    if tracked {
                        live_now.insert(*hash);
                    }
                }
                Err(err) => {
                    stats.refused += 1;
                    log_refusal(&err);
                }
            }
        }
        Ok(stats)
    }

    /// Appends stale markers at `now` for series live after the last successful scrape and
    /// not in `live_now` (empty after a failure or when the target goes away).
    pub(crate) fn mark_stale(
        &self,
        appender: &mut dyn Appender,
        now: Timestamp,
        live_now: &HashSet<u64>,
    ) -> u64 {
        if self.live == 0 {
            return 0;
        }
        let mut marked = 0;
        let mut done: HashSet<u64> = HashSet::new();
        for entry in self.entries.values() {
            let Some((labels, hash)) = &entry.kept else {
                continue;
            };
            if entry.live_iter != self.live || live_now.contains(hash) || !done.insert(*hash) {
                continue;
            }
            match appender.append(entry.series_ref, labels, now, STALE_NAN) {
                Ok(_) => marked += 1,
                Err(err) => log_refusal(&err),
            }
        }
        marked
    }

    /// After a committed successful scrape: its tracked series are now the live ones, and
    /// series not exposed for ten scrapes leave the cache.
    pub(crate) fn succeeded(&mut self, live_now: &HashSet<u64>) {
        let iteration = self.iteration;
        for entry in self.entries.values_mut() {
            if let Some((_, hash)) = &entry.kept
                && live_now.contains(hash)
            {
                entry.live_iter = iteration;
            }
        }
        self.entries
            .retain(|_, entry| entry.seen_iter + 10 >= iteration);
        self.live = iteration;
    }

    /// After a failed scrape whose stale markers were committed: nothing is live.
    pub(crate) fn failed(&mut self) {
        self.live = 0;
    }
}

fn log_refusal(err: &AppendError) {
    tracing::debug!(reason = err.reason(), %err, "scraped sample refused by the store");
}
