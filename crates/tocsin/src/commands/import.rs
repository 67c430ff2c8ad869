//! `tocsin import openmetrics`: backfill from a file into blocks.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use tocsin_ingest::backfill::{BlockSink, backfill_openmetrics};
use tocsin_model::{Labels, Sample};
use tocsin_tsdb::block::BlockWriter;

use crate::output;

/// Writes blocks with the store's own block writer (temporary directory, fsync, rename:
/// an interrupted import leaves whole blocks only).
struct TsdbBlocks<'a> {
    dir: &'a Path,
}

impl BlockSink for TsdbBlocks<'_> {
    fn write_block(
        &mut self,
        min_time: i64,
        max_time: i64,
        series: Vec<(Labels, Vec<Sample>)>,
    ) -> Result<String, String> {
        let mut writer = BlockWriter::new(self.dir, min_time, max_time, 1, Vec::new())
            .map_err(|err| err.to_string())?;
        for (labels, samples) in series {
            writer
                .add_series(labels, &samples)
                .map_err(|err| err.to_string())?;
        }
        Ok(writer
            .finish()
            .map_err(|err| err.to_string())?
            .map_or_else(String::new, |meta| meta.ulid))
    }
}

/// `tocsin import openmetrics FILE --data-dir DIR`.
pub(crate) fn openmetrics(
    file: &Path,
    data_dir: &Path,
    block_duration: tocsin_config::Duration,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    // The server keeps its store in <data-dir>/tsdb.
    let tsdb_dir = data_dir.join("tsdb");
    std::fs::create_dir_all(&tsdb_dir)
        .with_context(|| format!("cannot create {}", tsdb_dir.display()))?;
    let started = Instant::now();
    output::line(&format!(
        "importing {} ({} bytes) into {}",
        file.display(),
        text.len(),
        data_dir.display()
    ));
    let summary = backfill_openmetrics(
        &text,
        i64::try_from(block_duration.as_millis()).unwrap_or(i64::MAX),
        &mut TsdbBlocks { dir: &tsdb_dir },
        |p| {
            output::line(&format!(
                "block {}/{} {}: [{}, {}) {} series, {} samples ({:.1}s)",
                p.index,
                p.of,
                p.id,
                p.min_time,
                p.max_time,
                p.series,
                p.samples,
                started.elapsed().as_secs_f64()
            ));
        },
    )
    .map_err(|err| anyhow::anyhow!("{}: {err}", file.display()))?;
    output::line(&format!(
        "done: {} blocks, {} samples from {} to {}{} in {:.1}s; the server serves them after its next start",
        summary.blocks,
        summary.samples,
        summary.min_time,
        summary.max_time,
        if summary.duplicates > 0 {
            format!(
                " ({} samples dropped: same series and timestamp as an earlier one)",
                summary.duplicates
            )
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
