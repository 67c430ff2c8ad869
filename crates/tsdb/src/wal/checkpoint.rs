//! Checkpoints keep the log bounded: once the head has been persisted up to some time, the
//! segments before the current one are folded into `checkpoint.N/` holding only what is
//! still needed (series still in the head, samples at or after the head's new start,
//! tombstones of live series), and the segments are deleted.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::{self, Record, RecordType, RefSample};
use super::{list_segments, scan_segment, segment_name};
use crate::{Error, Result, fsutil};

/// A checkpoint directory found in the WAL directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Index of the last segment it covers.
    pub index: u64,
    /// Its directory.
    pub dir: PathBuf,
}

impl Checkpoint {
    /// The newest complete checkpoint in `wal_dir` (temporary ones are ignored).
    pub fn latest(wal_dir: &Path) -> Result<Option<Self>> {
        Ok(Self::all(wal_dir)?.pop())
    }

    /// All complete checkpoints, oldest first.
    pub fn all(wal_dir: &Path) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(wal_dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(err) => return Err(Error::io("list WAL directory", wal_dir)(err)),
        };
        for entry in entries {
            let entry = entry.map_err(Error::io("list WAL directory", wal_dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(index) = name.strip_prefix("checkpoint.")
                && index.len() == 8
                && let Ok(index) = index.parse::<u64>()
            {
                out.push(Self {
                    index,
                    dir: entry.path(),
                });
            }
        }
        out.sort_unstable_by_key(|c| c.index);
        Ok(out)
    }
}

/// Writes `checkpoint.<upto>` from the previous checkpoint and segments `..=upto`, keeping
/// series for which `keep` is true and samples at or after `mint`, then deletes what it
/// replaces. Damaged records in the inputs end that input (they were reported at start-up).
pub fn checkpoint(wal_dir: &Path, upto: u64, mint: i64, keep: &dyn Fn(u64) -> bool) -> Result<()> {
    let previous = Checkpoint::all(wal_dir)?;
    let mut inputs: Vec<PathBuf> = Vec::new();
    if let Some(last) = previous.last() {
        inputs.extend(list_segments(&last.dir)?.into_iter().map(|(_, p)| p));
    }
    let segments: Vec<(u64, PathBuf)> = list_segments(wal_dir)?
        .into_iter()
        .filter(|(i, _)| *i <= upto)
        .collect();
    inputs.extend(segments.iter().map(|(_, p)| p.clone()));

    let final_dir = wal_dir.join(format!("checkpoint.{upto:08}"));
    let tmp_dir = wal_dir.join(format!("checkpoint.{upto:08}.tmp"));
    fsutil::remove_dir_all_if_exists(&tmp_dir)?;
    std::fs::create_dir_all(&tmp_dir).map_err(Error::io("create checkpoint", &tmp_dir))?;

    let out_path = tmp_dir.join(segment_name(0));
    let file =
        std::fs::File::create(&out_path).map_err(Error::io("create checkpoint", &out_path))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut out = Vec::new();
    let mut payload = Vec::new();
    let mut samples = Vec::new();
    for input in &inputs {
        let scanned = scan_segment(input)?;
        for (kind, range) in &scanned.records {
            let Ok(decoded) = record::decode(*kind, &scanned.data[range.clone()]) else {
                break;
            };
            payload.clear();
            match decoded {
                Record::Series(series) => {
                    let kept = series.iter().filter(|s| keep(s.series));
                    record::encode_series(&mut payload, kept.map(|s| (s.series, &s.labels)));
                    if !payload.is_empty() {
                        record::frame(&mut out, RecordType::Series, &payload);
                    }
                }
                Record::Samples(all) => {
                    samples.clear();
                    samples.extend(
                        all.into_iter()
                            .filter(|s: &RefSample| s.t >= mint && keep(s.series)),
                    );
                    record::encode_samples(&mut payload, samples.iter().copied());
                    if !payload.is_empty() {
                        record::frame(&mut out, RecordType::Samples, &payload);
                    }
                }
                Record::Tombstones(all) => {
                    let kept: Vec<_> = all
                        .into_iter()
                        .filter(|t| keep(t.series) && t.maxt >= mint)
                        .collect();
                    record::encode_tombstones(&mut payload, &kept);
                    if !payload.is_empty() {
                        record::frame(&mut out, RecordType::Tombstones, &payload);
                    }
                }
            }
            writer
                .write_all(&out)
                .map_err(Error::io("write checkpoint", &out_path))?;
            out.clear();
        }
    }
    let file = writer
        .into_inner()
        .map_err(|err| Error::io("write checkpoint", &out_path)(err.into_error()))?;
    file.sync_all()
        .map_err(Error::io("fsync checkpoint", &out_path))?;
    fsutil::sync_dir(&tmp_dir)?;
    fsutil::remove_dir_all_if_exists(&final_dir)?;
    fsutil::rename_synced(&tmp_dir, &final_dir)?;

    // The checkpoint is durable; what it replaces can go.
    for (_, path) in segments {
        std::fs::remove_file(&path).map_err(Error::io("delete WAL segment", &path))?;
    }
    for old in previous {
        if old.index < upto {
            fsutil::remove_dir_all_if_exists(&old.dir)?;
        }
    }
    fsutil::sync_dir(wal_dir)?;
    Ok(())
}
