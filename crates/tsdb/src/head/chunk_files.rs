//! Sealed head chunks on disk (`<tsdb>/chunks_head/`), so the head keeps only the open chunk
//! of each series in memory, as Prometheus's memory-mapped head chunks do. Every record names
//! its series and time range and carries a CRC, so the files survive restarts: start-up
//! loads them (`load`) and replays from the WAL only the samples they do not hold, instead
//! of the whole log. The WAL stays
//! the source of truth: a damaged file is cut at its first bad record (later files are
//! dropped), and what it held is replayed from the log. Chunks are read back with `pread`
//! and checked against their CRC; a file is written once, front to back, and only ever
//! deleted whole. Format: `docs/format/chunks.md`.

mod load;
mod record;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::{Mutex, RwLock};

pub(crate) use self::load::{LoadedChunks, LoadedSeries};
pub use self::record::{HeadChunkRecord, RecordError, parse_record};
use self::record::{encode_record, header_len};
use super::U64Map;
use crate::{Error, Result};

/// First four bytes of a head chunk file.
pub(crate) const HEAD_CHUNKS_MAGIC: u32 = 0x4843_4B31;
/// The format this code writes and reads. Version 1 (tocsin before the files were kept
/// across restarts) had no header and no per-chunk series or times; such files are a cache
/// of the WAL and are dropped.
pub(crate) const HEAD_CHUNKS_VERSION: u8 = 2;
/// Bytes before the first record.
pub(crate) const HEAD_CHUNKS_HEADER_LEN: usize = 8;
/// A new file is started past this size.
const MAX_FILE_SIZE: u64 = 128 << 20;

#[derive(Debug)]
struct Writer {
    file: Arc<File>,
    index: u32,
    /// Bytes of complete records (the file is cut back to this after a failed write).
    size: u64,
}

/// The head chunk files.
#[derive(Debug)]
pub struct HeadChunkFiles {
    dir: PathBuf,
    writer: Mutex<Option<Writer>>,
    files: RwLock<U64Map<Arc<File>>>,
    /// Number of the next file (never reused while the directory lives).
    next: AtomicU32,
    /// Number of the first file this process writes.
    first_new: u32,
    scratch: Mutex<Vec<u8>>,
}

fn file_name(index: u32) -> String {
    format!("{index:06}")
}

/// Head chunk files in `dir`, by number.
fn list(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(err) => return Err(Error::io("list head chunks directory", dir)(err)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() == 6
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(index) = name.parse::<u32>()
        {
            out.push((index, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(i, _)| *i);
    Ok(out)
}

impl HeadChunkFiles {
    /// Number of the first file this process writes (files below it were there at open).
    pub(crate) fn first_new_file(&self) -> u32 {
        self.first_new
    }

    /// Deletes every file (their chunks will not be used) and starts numbering after them.
    pub(crate) fn reset(&self) -> Result<()> {
        *self.writer.lock() = None;
        self.files.write().clear();
        for (index, path) in list(&self.dir)? {
            self.next
                .fetch_max(index.saturating_add(1), Ordering::Relaxed);
            std::fs::remove_file(&path).map_err(Error::io("delete head chunk file", &path))?;
        }
        Ok(())
    }

    fn open_file(&self, index: u32) -> Result<Writer> {
        let path = self.dir.join(file_name(index));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(Error::io("create head chunk file", &path))?;
        let mut header = [0u8; HEAD_CHUNKS_HEADER_LEN];
        header[..4].copy_from_slice(&HEAD_CHUNKS_MAGIC.to_be_bytes());
        header[4] = HEAD_CHUNKS_VERSION;
        if let Err(err) = file.write_all(&header) {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(Error::io("write head chunk file", &path)(err));
        }
        let file = Arc::new(file);
        self.files
            .write()
            .insert(u64::from(index), Arc::clone(&file));
        Ok(Writer {
            file,
            index,
            size: HEAD_CHUNKS_HEADER_LEN as u64,
        })
    }

    /// Writes a sealed chunk of series `sref` spanning `[mint, maxt]`; returns its file and
    /// the offset of its bytes. On failure (disk full) nothing referable was written and the
    /// caller keeps the chunk in memory.
    pub(crate) fn write(&self, sref: u64, mint: i64, maxt: i64, data: &[u8]) -> Result<(u32, u32)> {
        let mut record = self.scratch.lock();
        record.clear();
        let data_offset = encode_record(&mut record, sref, mint, maxt, data);
        let mut guard = self.writer.lock();
        if guard
            .as_ref()
            .is_none_or(|w| w.size + record.len() as u64 > MAX_FILE_SIZE)
        {
            let next = self.next.fetch_add(1, Ordering::Relaxed);
            *guard = Some(self.open_file(next)?);
        }
        let w = guard.as_mut().expect("invariant: a writer was just opened");
        let offset = w.size;
        if let Err(err) = (&*w.file).write_all(&record) {
            let path = self.dir.join(file_name(w.index));
            // Cut the partial record off so the file stays a sequence of whole records; if
            // that fails too, later chunks go to a new file (start-up stops reading this one
            // at the damage and replays the rest from the WAL).
            if w.file.set_len(w.size).is_err() {
                *guard = None;
            }
            return Err(Error::io("write head chunk file", path)(err));
        }
        w.size += record.len() as u64;
        let offset = u32::try_from(offset + data_offset as u64)
            .expect("invariant: head chunk files stay below 4 GiB");
        Ok((w.index, offset))
    }

    /// An open handle on file `file` (reads stay valid after the file is deleted).
    pub(crate) fn handle(&self, file: u32) -> Option<Arc<File>> {
        self.files.read().get(&u64::from(file)).cloned()
    }

    /// Starts a new file, so files holding only truncated chunks can be deleted.
    pub(crate) fn cut(&self) {
        *self.writer.lock() = None;
    }

    /// fsyncs the file being written (at close; the WAL is what makes data durable).
    pub(crate) fn sync(&self) -> Result<()> {
        if let Some(w) = self.writer.lock().as_ref() {
            w.file.sync_data().map_err(Error::io(
                "fsync head chunk file",
                self.dir.join(file_name(w.index)),
            ))?;
        }
        Ok(())
    }

    /// Deletes files numbered below `keep_from` (no remaining chunk refers to them).
    pub(crate) fn remove_below(&self, keep_from: u32) {
        let current = self.writer.lock().as_ref().map(|w| w.index);
        let mut files = self.files.write();
        let doomed: Vec<u64> = files
            .keys()
            .copied()
            .filter(|&i| i < u64::from(keep_from) && Some(i as u32) != current)
            .collect();
        for index in doomed {
            files.remove(&index);
            let path = self.dir.join(file_name(index as u32));
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(%err, file = %path.display(), "cannot delete a head chunk file");
            }
        }
    }
}

/// Reads `len` chunk bytes at `offset` of a head chunk file, verifying the record's CRC.
pub(crate) fn read_chunk(file: &File, offset: u64, len: u32) -> Result<Vec<u8>> {
    let head = header_len(len) as u64;
    let start = offset
        .checked_sub(head)
        .ok_or_else(|| Error::decode("head chunk", "offset before the record header"))?;
    let mut buf = vec![0u8; head as usize + len as usize + 4];
    file.read_exact_at(&mut buf, start)
        .map_err(Error::io("read head chunk file", "chunks_head"))?;
    let rec = parse_record(&buf).map_err(|err| match err {
        RecordError::Torn => Error::decode("head chunk", "record ends early"),
        RecordError::Bad(reason) => Error::decode("head chunk", reason),
    })?;
    if rec.data.len() != len as usize {
        return Err(Error::decode("head chunk", "length differs from the index"));
    }
    buf.truncate(head as usize + len as usize);
    buf.drain(..head as usize);
    Ok(buf)
}
