//! Reading a segment: every record up to the first damaged one.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::record::{FrameError, RecordType, read_frame, read_frame_header};
use crate::{Error, Result};

/// Where a segment stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The segment file.
    pub path: PathBuf,
    /// Byte offset of the first damaged record; everything before it is intact.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
    /// Whether the file simply ends inside a record (an interrupted write).
    pub torn: bool,
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at byte {}: {}",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

/// A segment's bytes and the records found in it.
#[derive(Debug)]
pub struct ScannedSegment {
    /// The file's bytes.
    pub data: Vec<u8>,
    /// Each intact record's type and payload range in `data`.
    pub records: Vec<(RecordType, Range<usize>)>,
    /// The first damage, if any; records after it are not listed.
    pub corruption: Option<Corruption>,
}

/// Reads `path` and lists its intact records.
pub fn scan_segment(path: &Path) -> Result<ScannedSegment> {
    let data = std::fs::read(path).map_err(Error::io("read WAL segment", path))?;
    let (records, corruption) = scan_bytes(&data);
    Ok(ScannedSegment {
        records,
        corruption: corruption.map(|(offset, err)| Corruption {
            path: path.to_path_buf(),
            offset: offset as u64,
            torn: err == FrameError::Torn,
            reason: match err {
                FrameError::Torn => "the segment ends inside a record (torn write)".to_owned(),
                FrameError::Bad(reason) => reason,
            },
        }),
        data,
    })
}

/// Each record's type and payload range.
pub type Records = Vec<(RecordType, Range<usize>)>;

/// The intact records of `data` and where (and why) it stops being valid.
pub fn scan_bytes(data: &[u8]) -> (Records, Option<(usize, FrameError)>) {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        match read_frame(&data[pos..]) {
            Ok((kind, payload, total)) => {
                let start = pos + super::record::HEADER_LEN;
                records.push((kind, start..start + payload.len()));
                pos += total;
            }
            Err(err) => return (records, Some((pos, err))),
        }
    }
    (records, None)
}

/// Like [`scan_bytes`] but without checking CRCs (the caller checks each record with
/// [`super::record::check_frame`], in parallel): record types and payload ranges up to the
/// first structurally damaged (unknown type, impossible length) or torn record.
pub fn scan_frames(data: &[u8]) -> (Records, Option<(usize, FrameError)>) {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        match read_frame_header(&data[pos..]) {
            Ok((kind, len, total)) => {
                let start = pos + super::record::HEADER_LEN;
                records.push((kind, start..start + len));
                pos += total;
            }
            Err(err) => return (records, Some((pos, err))),
        }
    }
    (records, None)
}

/// Reads `path` into `buf` (reused between files, so its pages are not faulted in again).
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<()> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map_err(Error::io("read WAL segment", path))?;
    Ok(())
}

/// The corruption report for damage at `offset` of `path`.
pub fn corruption_at(path: &Path, offset: usize, err: FrameError) -> Corruption {
    Corruption {
        path: path.to_path_buf(),
        offset: offset as u64,
        torn: err == FrameError::Torn,
        reason: match err {
            FrameError::Torn => "the segment ends inside a record (torn write)".to_owned(),
            FrameError::Bad(reason) => reason,
        },
    }
}
