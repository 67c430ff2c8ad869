//! Backfill from an OpenMetrics file into blocks, like `promtool tsdb
//! create-blocks-from openmetrics`: a first pass checks the whole file and finds its time
//! range; then one pass per block-sized window collects that window's samples, sorts them
//! and hands them to a [`BlockSink`] (the store's block writer), so memory holds one window,
//! not the file.

use std::collections::HashMap;

use tocsin_model::{Label, Labels, METRIC_NAME, Sample};

use crate::exposition::{Entry, Format, ParseError, Parser};

/// Where finished blocks go (the TSDB's block writer in the binary; a vector in tests).
pub trait BlockSink {
    /// Writes a block of `[min_time, max_time)` holding `series`, sorted by labels, each
    /// with samples in time order inside the range. Returns the block's id.
    fn write_block(
        &mut self,
        min_time: i64,
        max_time: i64,
        series: Vec<(Labels, Vec<Sample>)>,
    ) -> Result<String, String>;
}

/// Why a backfill stopped. Blocks written before the error stay (each is complete).
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The file is not valid OpenMetrics.
    #[error("{0}; backfill reads OpenMetrics (like promtool): fix the file and run again")]
    Parse(#[from] ParseError),
    /// A sample has no timestamp.
    #[error(
        "line {line}: sample of {series:?} has no timestamp; every backfilled sample needs one"
    )]
    NoTimestamp {
        /// Line.
        line: u32,
        /// The series as written.
        series: String,
    },
    /// The series' labels are invalid.
    #[error("line {line}: invalid series {series:?}: {reason}")]
    InvalidSeries {
        /// Line.
        line: u32,
        /// The series as written.
        series: String,
        /// Why.
        reason: String,
    },
    /// The sink failed.
    #[error("writing block {min_time}..{max_time}: {reason}")]
    Sink {
        /// Block start.
        min_time: i64,
        /// Block end.
        max_time: i64,
        /// Why.
        reason: String,
    },
}

/// After each block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockProgress {
    /// 1-based index of the block among the windows that hold data.
    pub index: usize,
    /// How many such windows there are.
    pub of: usize,
    /// The block's id.
    pub id: String,
    /// Its range.
    pub min_time: i64,
    /// Its range's end (exclusive).
    pub max_time: i64,
    /// Series in it.
    pub series: usize,
    /// Samples in it.
    pub samples: usize,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillSummary {
    /// Blocks written.
    pub blocks: usize,
    /// Samples written.
    pub samples: u64,
    /// Samples dropped because their series already had a sample at that timestamp (the
    /// first one is kept, as an append would).
    pub duplicates: u64,
    /// Earliest and latest timestamps.
    pub min_time: i64,
    /// Latest timestamp.
    pub max_time: i64,
}

/// Parses `text` calling `f(line, labels text, name, labels, t, v)` for every sample.
fn each_sample<'t>(
    text: &'t str,
    mut f: impl FnMut(u32, &'t str, &str, &[(String, String)], i64, f64) -> Result<(), BackfillError>,
) -> Result<(), BackfillError> {
    let mut parser = Parser::new(text, Format::OpenMetrics);
    let mut pairs: Vec<(String, String)> = Vec::new();
    loop {
        let line = parser.line();
        let Some(entry) = parser.next()? else {
            return Ok(());
        };
        let Entry::Sample(sample) = entry else {
            continue;
        };
        let Some(t) = sample.timestamp else {
            return Err(BackfillError::NoTimestamp {
                line,
                series: sample.series.to_owned(),
            });
        };
        pairs.clear();
        pairs.extend(
            sample
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        f(line, sample.series, &sample.name, &pairs, t, sample.value)?;
    }
}

/// Backfills `text` (OpenMetrics) in blocks of `block_ms` aligned like the store's.
pub fn backfill_openmetrics(
    text: &str,
    block_ms: i64,
    sink: &mut dyn BlockSink,
    mut progress: impl FnMut(&BlockProgress),
) -> Result<BackfillSummary, BackfillError> {
    let block_ms = block_ms.max(1);
    let mut summary = BackfillSummary {
        min_time: i64::MAX,
        max_time: i64::MIN,
        ..BackfillSummary::default()
    };
    let mut windows: Vec<i64> = Vec::new();
    each_sample(text, |line, series, name, labels, t, _| {
        let mut all: Vec<Label> = labels.iter().map(|(n, v)| Label::new(n, v)).collect();
        all.push(Label::new(METRIC_NAME, name));
        Labels::new(all).map_err(|err| BackfillError::InvalidSeries {
            line,
            series: series.to_owned(),
            reason: err.to_string(),
        })?;
        summary.min_time = summary.min_time.min(t);
        summary.max_time = summary.max_time.max(t);
        windows.push(t.div_euclid(block_ms));
        Ok(())
    })?;
    windows.sort_unstable();
    windows.dedup();
    if windows.is_empty() {
        summary.min_time = 0;
        summary.max_time = 0;
        return Ok(summary);
    }
    for (index, window) in windows.iter().enumerate() {
        let min_time = window * block_ms;
        let max_time = min_time + block_ms;
        let mut series: HashMap<&str, (Labels, Vec<Sample>)> = HashMap::new();
        each_sample(text, |_, key, name, labels, t, v| {
            if t < min_time || t >= max_time {
                return Ok(());
            }
            let entry = series.entry(key).or_insert_with(|| {
                let mut all: Vec<Label> = labels.iter().map(|(n, v)| Label::new(n, v)).collect();
                all.push(Label::new(METRIC_NAME, name));
                // Checked in the first pass.
                (Labels::new(all).unwrap_or_default(), Vec::new())
            });
            entry.1.push(Sample::new(t, v));
            Ok(())
        })?;
        // Different texts can spell the same series (label order): merge them.
        let mut merged: HashMap<Labels, Vec<Sample>> = HashMap::new();
        for (_, (labels, samples)) in series {
            merged.entry(labels).or_default().extend(samples);
        }
        let mut block: Vec<(Labels, Vec<Sample>)> = merged.into_iter().collect();
        block.sort_by(|a, b| a.0.cmp(&b.0));
        let mut samples = 0usize;
        for (_, points) in &mut block {
            points.sort_by_key(|s| s.t);
            let before = points.len();
            points.dedup_by_key(|s| s.t);
            summary.duplicates += (before - points.len()) as u64;
            samples += points.len();
        }
        let count = block.len();
        let id = sink
            .write_block(min_time, max_time, block)
            .map_err(|reason| BackfillError::Sink {
                min_time,
                max_time,
                reason,
            })?;
        summary.blocks += 1;
        summary.samples += samples as u64;
        progress(&BlockProgress {
            index: index + 1,
            of: windows.len(),
            id,
            min_time,
            max_time,
            series: count,
            samples,
        });
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Block = (i64, i64, Vec<(Labels, Vec<Sample>)>);

    #[derive(Default)]
    struct Blocks(Vec<Block>);

    impl BlockSink for Blocks {
        fn write_block(
            &mut self,
            min_time: i64,
            max_time: i64,
            series: Vec<(Labels, Vec<Sample>)>,
        ) -> Result<String, String> {
            self.0.push((min_time, max_time, series));
            Ok(format!("block-{}", self.0.len()))
        }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn splits_into_aligned_blocks_sorted_and_deduplicated() {
        let text = "# TYPE a gauge\n\
                    a{x=\"2\"} 1 7200\n\
                    a{x=\"1\"} 2 0\n\
                    a{x=\"1\"} 3 3600\n\
                    a{x=\"1\"} 9 3600\n\
                    a{x=\"1\"} 4 10.5\n\
                    # EOF\n";
        let mut blocks = Blocks::default();
        let mut seen = Vec::new();
        let summary =
            backfill_openmetrics(text, 2 * HOUR, &mut blocks, |p| seen.push(p.clone())).unwrap();
        assert_eq!(summary.blocks, 2);
        assert_eq!(summary.samples, 4);
        assert_eq!(summary.duplicates, 1);
        assert_eq!((summary.min_time, summary.max_time), (0, 2 * HOUR));
        let (min, max, series) = &blocks.0[0];
        assert_eq!((*min, *max), (0, 2 * HOUR));
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].0.to_string(), r#"{__name__="a", x="1"}"#);
        assert_eq!(
            series[0].1,
            vec![
                Sample::new(0, 2.0),
                Sample::new(10_500, 4.0),
                Sample::new(HOUR, 3.0)
            ]
        );
        assert_eq!(blocks.0[1].2[0].0.to_string(), r#"{__name__="a", x="2"}"#);
        assert_eq!(
            seen.iter().map(|p| (p.index, p.of)).collect::<Vec<_>>(),
            [(1, 2), (2, 2)]
        );
    }

    #[test]
    fn refuses_what_promtool_refuses_with_the_line() {
        let mut blocks = Blocks::default();
        let err =
            backfill_openmetrics("a 1 1\nb 2\n# EOF\n", HOUR, &mut blocks, |_| {}).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2: sample of \"b\" has no timestamp"),
            "{err}"
        );
        let err = backfill_openmetrics("a 1 1\n", HOUR, &mut blocks, |_| {}).unwrap_err();
        assert!(err.to_string().contains("# EOF"), "{err}");
        assert!(
            blocks.0.is_empty(),
            "nothing written before the whole file checked out"
        );
    }
}
