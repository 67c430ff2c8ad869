//! The write-ahead log: numbered segment files of CRC-framed records (`record`), written
//! under one lock so the log order is the order in which commits reach the head. Reading,
//! repair of a damaged tail and checkpoints are in the submodules. Format:
//! `docs/format/wal.md`.

mod checkpoint;
pub mod record;
mod scan;

#[cfg(test)]
mod tests;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};

pub use self::checkpoint::{Checkpoint, checkpoint};
pub use self::scan::{
    Corruption, Records, ScannedSegment, corruption_at, read_into, scan_bytes, scan_frames,
    scan_segment,
};
use crate::metrics::Metrics;
use crate::options::WalSync;
use crate::{Error, Result, fsutil};

/// Name of segment `index` (`00000042`).
pub fn segment_name(index: u64) -> String {
    format!("{index:08}")
}

/// Segment files in `dir`, sorted by index. Other names are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(err) => return Err(Error::io("list WAL directory", dir)(err)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io("list WAL directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() == 8
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(index) = name.parse::<u64>()
        {
            out.push((index, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(i, _)| *i);
    Ok(out)
}

/// The open segment and the state of the writer. Held locked while a commit writes and
/// applies its samples, so log order and head order agree.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    file: File,
    /// Shared handle for the background syncer (fsync without holding the lock).
    sync_handle: Arc<File>,
    segment: u64,
    /// Bytes of valid records in the open segment.
    size: u64,
    /// Bytes in all segments and checkpoints, for metrics and size retention.
    total: Arc<AtomicU64>,
    /// A failed write left bytes after `size` that must be cut off before the next write.
    needs_rollback: bool,
    closed: bool,
    segment_size: u64,
    sync: WalSync,
    dirty: Arc<AtomicBool>,
    scratch: Vec<u8>,
    metrics: Metrics,
}

/// The log. Cheap to share by reference; everything goes through [`Wal::lock`].
#[derive(Debug)]
pub struct Wal {
    writer: Mutex<WalWriter>,
    dirty: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
    dir: PathBuf,
    metrics: Metrics,
}

impl Wal {
    /// Starts writing a new segment `first` in `dir` (start-up always begins a fresh
    /// segment, so a repaired one is never appended to).
    pub fn create(
        dir: &Path,
        first: u64,
        segment_size: u64,
        sync: WalSync,
        metrics: Metrics,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io("create WAL directory", dir))?;
        let (file, sync_handle) = open_segment(dir, first)?;
        let total = Arc::new(AtomicU64::new(fsutil::dir_size(dir)));
        let dirty = Arc::new(AtomicBool::new(false));
        metrics.wal_size.set(total.load(Ordering::Relaxed) as i64);
        Ok(Self {
            writer: Mutex::new(WalWriter {
                dir: dir.to_path_buf(),
                file,
                sync_handle,
                segment: first,
                size: 0,
                total: Arc::clone(&total),
                needs_rollback: false,
                closed: false,
                segment_size,
                sync,
                dirty: Arc::clone(&dirty),
                scratch: Vec::new(),
                metrics: metrics.clone(),
            }),
            dirty,
            total,
            dir: dir.to_path_buf(),
            metrics,
        })
    }

    /// Locks the writer. Commits hold it while they write and apply.
    pub fn lock(&self) -> MutexGuard<'_, WalWriter> {
        self.writer.lock()
    }

    /// Directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes the log takes on disk.
    pub fn size(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Recomputes the size after checkpoints removed files.
    pub fn refresh_size(&self) {
        let size = fsutil::dir_size(&self.dir);
        self.total.store(size, Ordering::Relaxed);
        self.metrics.wal_size.set(size as i64);
    }

    /// fsyncs the open segment now.
    pub fn sync_now(&self) -> Result<()> {
        self.dirty.store(true, Ordering::Release);
        self.sync_if_dirty()
    }

    /// fsyncs the open segment if anything was written since the last sync (group commit:
    /// one fsync covers every commit in the interval). The lock is held only to take the
    /// file handle.
    pub fn sync_if_dirty(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let (handle, segment, dir) = {
            let w = self.writer.lock();
            (Arc::clone(&w.sync_handle), w.segment, w.dir.clone())
        };
        let started = Instant::now();
        let result = handle.sync_data();
        self.metrics
            .wal_fsync_duration
            .observe(started.elapsed().as_secs_f64());
        result.map_err(|err| {
            // Try again next interval.
            self.dirty.store(true, Ordering::Release);
            Error::io("fsync WAL segment", dir.join(segment_name(segment)))(err)
        })
    }
}

fn open_segment(dir: &Path, index: u64) -> Result<(File, Arc<File>)> {
    let path = dir.join(segment_name(index));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(Error::io("create WAL segment", &path))?;
    // The new name must survive a crash before records in it count as written.
    fsutil::sync_dir(dir)?;
    let handle = file
        .try_clone()
        .map_err(Error::io("open WAL segment", &path))?;
    Ok((file, Arc::new(handle)))
}

impl WalWriter {
    /// Fails if the log is closed.
    pub fn check_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Index of the open segment.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// A scratch buffer reused between commits (taken, then given back with
    /// [`WalWriter::put_scratch`]).
    pub fn take_scratch(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf
    }

    /// Returns the scratch buffer.
    pub fn put_scratch(&mut self, mut buf: Vec<u8>) {
        // Don't keep a huge buffer from one unusual batch.
        if buf.capacity() > 16 << 20 {
            buf = Vec::new();
        }
        self.scratch = buf;
    }

    fn path(&self) -> PathBuf {
        self.dir.join(segment_name(self.segment))
    }

    /// Writes framed records. When this returns `Ok` they are in the operating system
    /// (and on disk for `WalSync::Always`); on `Err` the segment is cut back to its last
    /// complete record, so a failed write leaves no partial record behind.
    pub fn write(&mut self, records: &[u8]) -> Result<()> {
        self.check_open()?;
        if self.needs_rollback {
            self.rollback()?;
        }
        if let Err(err) = self.file.write_all(records) {
            self.needs_rollback = true;
            let path = self.path();
            // Best effort now; retried before the next write if it fails.
            let _ = self.rollback();
            return Err(Error::io("write WAL segment", path)(err));
        }
        self.size += records.len() as u64;
        let total = self
            .total
            .fetch_add(records.len() as u64, Ordering::Relaxed)
            + records.len() as u64;
        self.metrics.wal_size.set(total as i64);
        match self.sync {
            WalSync::Always => {
                let started = Instant::now();
                let result = self.file.sync_data();
                self.metrics
                    .wal_fsync_duration
                    .observe(started.elapsed().as_secs_f64());
                if let Err(err) = result {
                    return Err(Error::io("fsync WAL segment", self.path())(err));
                }
            }
            WalSync::Interval(_) => self.dirty.store(true, Ordering::Release),
            WalSync::Never => {}
        }
        if self.size >= self.segment_size {
            // The records are written; failing to start the next segment is reported by
            // the next write instead of failing this acknowledged one.
            if let Err(err) = self.cut() {
                tracing::warn!(%err, "cannot start a new WAL segment; retrying on the next write");
            }
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        let path = self.path();
        self.file.set_len(self.size).map_err(Error::io(
            "truncate WAL segment after a failed write",
            &path,
        ))?;
        self.needs_rollback = false;
        tracing::info!(segment = %path.display(), size = self.size, "cut WAL segment back to its last complete record");
        Ok(())
    }

    /// Closes the open segment (fsynced) and starts the next; returns the closed index.
    pub fn cut(&mut self) -> Result<u64> {
        self.check_open()?;
        if self.needs_rollback {
            self.rollback()?;
        }
        let closed = self.segment;
        let (file, handle) = open_segment(&self.dir, closed + 1)?;
        // The closed segment reaches the disk in the background, as in Prometheus, so
        // commits do not wait for a whole segment's fsync (with `always` every record was
        // synced already).
        if self.sync != WalSync::Always {
            let old = Arc::clone(&self.sync_handle);
            let path = self.path();
            let spawned = std::thread::Builder::new()
                .name("tsdb-wal-segment-sync".to_owned())
                .spawn(move || {
                    if let Err(err) = old.sync_data() {
                        tracing::error!(%err, segment = %path.display(), "fsync of a closed WAL segment failed");
                    }
                });
            if spawned.is_err() {
                self.file
                    .sync_data()
                    .map_err(Error::io("fsync WAL segment", self.path()))?;
            }
        }
        self.file = file;
        self.sync_handle = handle;
        self.segment = closed + 1;
        self.size = 0;
        Ok(closed)
    }

    /// Syncs and closes; later writes fail with [`Error::Closed`].
    pub fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        if self.needs_rollback {
            self.rollback()?;
        }
        self.closed = true;
        self.file
            .sync_data()
            .map_err(Error::io("fsync WAL segment", self.path()))
    }
}
