//! The store: blocks on disk, the head in memory, the WAL that protects the head, and the
//! lock that keeps a second process out. Opening repairs what a crash left (temporary
//! directories, a torn WAL tail, damaged blocks moved aside) and never refuses to start
//! because of damage; it reports it instead. Compaction and retention are in `compact`,
//! reads in `querier`.

mod compact;
mod delete;
mod querier;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};
use tocsin_model::storage::{
    AppendError, Appendable, Appender, CommitSummary, Querier, Queryable, SeriesRef, StorageError,
};
use tocsin_model::{Labels, Timestamp};
use tocsin_telemetry::Registry;

pub use self::compact::CompactionReport;
use crate::block::{self, Block, TMP_CREATION, TMP_DELETION};
use crate::head::{Head, HeadAppender, HeadChunkFiles, HeadOptions, replay_wal};
use crate::metrics::Metrics;
use crate::options::{TsdbOptions, WalSync};
use crate::query::CorruptionHook;
use crate::wal::{Corruption, Wal};
use crate::{Error, Result, fsutil};

/// What start-up found and repaired.
#[derive(Debug, Default, Clone)]
pub struct OpenReport {
    /// WAL damage cut off (each is logged and counted in `tocsin_tsdb_wal_corruptions_total`).
    pub wal_corruptions: Vec<Corruption>,
    /// Blocks that failed verification and were moved aside (`<dir>.corrupt`), with why.
    pub quarantined_blocks: Vec<(PathBuf, String)>,
    /// Samples replayed from the WAL into the head.
    pub replayed_samples: u64,
    /// Series replayed.
    pub replayed_series: u64,
    /// Time to rebuild the head: loading the head chunk files and replaying the WAL.
    pub replay_duration: std::time::Duration,
    /// Of which loading the head chunk files.
    pub head_chunks_duration: std::time::Duration,
    /// Head chunks taken from the head chunk files instead of being rebuilt from the WAL.
    pub head_chunks_loaded: u64,
    /// WAL samples found in those chunks (not appended again).
    pub samples_in_head_chunks: u64,
    /// Damage found in the head chunk files (cut off; the WAL supplied what it held).
    pub head_chunk_corruptions: Vec<Corruption>,
}

/// The time-series store.
pub struct Tsdb {
    dir: PathBuf,
    opts: TsdbOptions,
    head: Head,
    wal: Option<Wal>,
    blocks: RwLock<Arc<Vec<Arc<Block>>>>,
    metrics: Metrics,
    compaction: Mutex<()>,
    closed: AtomicBool,
    _lock: Option<File>,
    syncer: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    on_corrupt: CorruptionHook,
    report: OpenReport,
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsdb")
            .field("dir", &self.dir)
            .field("read_only", &self.wal.is_none())
            .finish_non_exhaustive()
    }
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io("open lock file", &path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        }),
        Err(TryLockError::Error(err)) => Err(Error::io("lock", &path)(err)),
    }
}

/// Whether another process holds `dir`'s lock (a running server).
pub fn is_locked(dir: &Path) -> bool {
    let path = dir.join("lock");
    let Ok(file) = OpenOptions::new().read(true).open(&path) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
}

impl Tsdb {
    /// Opens (creating if needed) the store in `dir` for reading and writing. Metrics are
    /// registered in `registry` when given.
    pub fn open(dir: &Path, opts: TsdbOptions, registry: Option<&Registry>) -> Result<Arc<Self>> {
        opts.validate()?;
        std::fs::create_dir_all(dir).map_err(Error::io("create tsdb directory", dir))?;
        let lock = lock_dir(dir)?;
        let metrics = Metrics::new(registry)?;
        Self::open_inner(dir, opts, metrics, Some(lock))
    }

    /// Opens the store without writing anything and without taking the lock: blocks are
    /// read, the WAL replayed into memory (damage is reported, not repaired). For
    /// inspection tools; refuses a directory a running server holds, whose files may change
    /// underneath.
    pub fn open_read_only(dir: &Path) -> Result<Arc<Self>> {
        if !dir.join("wal").is_dir() && !dir.join("lock").exists() {
            return Err(Error::Invalid(format!(
                "{} is not a tocsin tsdb directory (no wal/ and no lock file); pass the \
                 tsdb directory or the server's --data-dir",
                dir.display()
            )));
        }
        if is_locked(dir) {
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
                lock: dir.join("lock"),
            });
        }
        Self::open_inner(dir, TsdbOptions::default(), Metrics::new(None)?, None)
    }

    fn open_inner(
        dir: &Path,
        opts: TsdbOptions,
        metrics: Metrics,
        lock: Option<File>,
    ) -> Result<Arc<Self>> {
        let writable = lock.is_some();
        let mut report = OpenReport::default();
        let on_corrupt: CorruptionHook = {
            let counter = metrics.block_corruptions.clone();
            Arc::new(move |reason: &str| {
                counter.inc();
                tracing::error!(reason, "damaged chunk skipped; its samples are not served");
            })
        };
        let blocks = load_blocks(dir, writable, &metrics, &mut report)?;
        let min_valid = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN);
        // Sealed head chunks live on disk and are kept across restarts, so replay only has
        // to append what was still in open chunks; read-only opens keep them in memory
        // instead of writing, and rebuild them from the WAL.
        let (chunk_files, loaded) = if writable {
            let threads = match opts.replay_threads {
                0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
                n => n,
            };
            let started = std::time::Instant::now();
            let (files, loaded) =
                HeadChunkFiles::open(&dir.join("chunks_head"), min_valid, threads)?;
            report.head_chunks_duration = started.elapsed();
            if let Some(c) = &loaded.corruption {
                metrics.head_chunk_corruptions.inc();
                if c.torn {
                    tracing::warn!(corruption = %c, "head chunk file ends inside a chunk (interrupted write); replaying the rest from the WAL");
                } else {
                    tracing::error!(corruption = %c, "head chunk file is damaged; it is cut at the damage and the rest is replayed from the WAL");
                }
                report.head_chunk_corruptions.push(c.clone());
            }
            (Some(Arc::new(files)), Some(loaded))
        } else {
            (None, None)
        };
        let head_options = HeadOptions {
            chunk_range: opts.block_duration_ms,
            samples_per_chunk: opts.samples_per_chunk,
            ooo_window: opts.out_of_order_time_window_ms,
        };
        let mut head = Head::new(head_options, metrics.clone(), chunk_files.clone());
        head.set_min_valid_time(min_valid);
        let wal_dir = dir.join("wal");
        let mut stats = replay_wal(&head, &wal_dir, opts.replay_threads, writable, loaded)?;
        if let Some(files) = chunk_files
            .as_ref()
            .filter(|_| !stats.corruptions.is_empty())
        {
            if stats.chunks_loaded > 0 {
                // The log was cut at damage, but the chunk files may hold samples from after
                // it: rebuild the head from the intact log alone, so it holds exactly that.
                tracing::warn!(
                    chunks = stats.chunks_loaded,
                    "the WAL was damaged; rebuilding the head from the WAL alone, without the head chunk files"
                );
                let first = std::mem::take(&mut stats);
                files.reset()?;
                metrics.head_chunks.set(0);
                head = Head::new(head_options, metrics.clone(), chunk_files.clone());
                head.set_min_valid_time(min_valid);
                stats = replay_wal(&head, &wal_dir, opts.replay_threads, writable, None)?;
                stats.corruptions = first.corruptions;
                stats.duration += first.duration;
            } else {
                files.reset()?;
            }
        }
        if let Some(files) = &chunk_files {
            // Files holding only chunks that were not taken (persisted in blocks since, or of
            // series the log no longer has) are not needed.
            files.remove_below(stats.oldest_chunk_file.min(files.first_new_file()));
        }
        metrics
            .wal_corruptions
            .inc_by(stats.corruptions.len() as u64);
        report.wal_corruptions = stats.corruptions.clone();
        report.replayed_samples = stats.samples;
        report.replayed_series = stats.series;
        report.replay_duration = stats.duration + report.head_chunks_duration;
        report.head_chunks_loaded = stats.chunks_loaded;
        report.samples_in_head_chunks = stats.in_chunk_files;
        if stats.unknown_refs > 0 {
            tracing::warn!(
                samples = stats.unknown_refs,
                "WAL samples without a known series were skipped"
            );
        }
        tracing::info!(
            samples = stats.samples,
            head_chunks = stats.chunks_loaded,
            series = head.num_series(),
            blocks = blocks.len(),
            duration_ms = report.replay_duration.as_millis() as u64,
            head_chunks_ms = report.head_chunks_duration.as_millis() as u64,
            "tsdb opened"
        );
        let wal = if writable {
            let first = stats.last_segment.map_or(0, |s| s + 1);
            Some(Wal::create(
                &wal_dir,
                first,
                opts.wal_segment_size,
                opts.wal_sync,
                metrics.clone(),
            )?)
        } else {
            None
        };
        let db = Arc::new(Self {
            dir: dir.to_path_buf(),
            opts,
            head,
            wal,
            blocks: RwLock::new(Arc::new(blocks)),
            metrics,
            compaction: Mutex::new(()),
            closed: AtomicBool::new(false),
            _lock: lock,
            syncer: Mutex::new(None),
            on_corrupt,
            report,
        });
        db.update_block_metrics();
        db.start_syncer();
        Ok(db)
    }

    fn start_syncer(self: &Arc<Self>) {
        let WalSync::Interval(every) = self.opts.wal_sync else {
            return;
        };
        if self.wal.is_none() {
            return;
        }
        let (tx, rx) = mpsc::channel::<()>();
        let weak = Arc::downgrade(self);
        let handle = std::thread::Builder::new()
            .name("tsdb-wal-sync".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                    let Some(db) = weak.upgrade() else { return };
                    if let Some(wal) = &db.wal
                        && let Err(err) = wal.sync_if_dirty()
                    {
                        tracing::error!(%err, "WAL fsync failed; retrying at the next interval");
                    }
                }
            });
        match handle {
            Ok(handle) => *self.syncer.lock() = Some((tx, handle)),
            Err(err) => {
                tracing::error!(%err, "cannot start the WAL sync thread; the OS decides when the WAL reaches disk");
            }
        }
    }

    /// What start-up found.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options it runs with.
    pub fn options(&self) -> &TsdbOptions {
        &self.opts
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The loaded blocks, oldest first.
    pub fn blocks(&self) -> Arc<Vec<Arc<Block>>> {
        Arc::clone(&self.blocks.read())
    }

    /// Bytes of blocks and WAL on disk.
    pub fn disk_size(&self) -> u64 {
        let blocks: u64 = self.blocks().iter().map(|b| b.size()).sum();
        blocks + self.wal.as_ref().map_or(0, Wal::size)
    }

    fn update_block_metrics(&self) {
        let blocks = self.blocks();
        self.metrics.blocks.set(blocks.len() as i64);
        self.metrics
            .blocks_bytes
            .set(blocks.iter().map(|b| b.size() as i64).sum());
    }

    fn wal(&self) -> Result<&Wal> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.wal
            .as_ref()
            .ok_or_else(|| Error::Invalid("the store is open read-only".to_owned()))
    }

    /// fsyncs the WAL now (whatever the policy).
    pub fn sync(&self) -> Result<()> {
        self.wal()?.sync_now()
    }

    /// Stops writes and fsyncs the WAL. Everything acknowledged is on disk afterwards.
    /// Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some((tx, handle)) = self.syncer.lock().take() {
            drop(tx);
            let _ = handle.join();
        }
        let _compaction = self.compaction.lock();
        if let Some(wal) = &self.wal {
            wal.lock().close()?;
        }
        if let Some(files) = &self.head.chunk_files {
            files.sync()?;
        }
        tracing::info!(dir = %self.dir.display(), "tsdb closed");
        Ok(())
    }
}

impl Drop for Tsdb {
    fn drop(&mut self) {
        if let Err(err) = self.close() {
            tracing::error!(%err, "closing the tsdb failed");
        }
    }
}

/// Loads blocks, removing leftovers of interrupted writes and deletions, moving damaged
/// blocks aside, and dropping blocks a completed merge superseded.
fn load_blocks(
    dir: &Path,
    writable: bool,
    metrics: &Metrics,
    report: &mut OpenReport,
) -> Result<Vec<Arc<Block>>> {
    let mut blocks = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(Error::io("list tsdb directory", dir))?;
    let mut names: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.to_owned(), e.path())))
        .collect();
    names.sort();
    for (name, path) in names {
        if name.ends_with(TMP_CREATION) || name.ends_with(TMP_DELETION) {
            if writable {
                tracing::info!(dir = %path.display(), "removing leftover of an interrupted block write or deletion");
                fsutil::remove_dir_all_if_exists(&path)?;
            }
            continue;
        }
        if !block::is_ulid(&name) || !path.is_dir() {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(err) => {
                metrics.block_corruptions.inc();
                let reason = err.to_string();
                tracing::error!(block = %path.display(), %reason, "damaged block moved aside; its samples are not served");
                if writable {
                    let aside = path.with_file_name(format!("{name}.corrupt"));
                    fsutil::remove_dir_all_if_exists(&aside)?;
                    fsutil::rename_synced(&path, &aside)?;
                }
                report.quarantined_blocks.push((path, reason));
            }
        }
    }
    // A merge that completed but crashed before deleting its inputs left both.
    let superseded: Vec<usize> = (0..blocks.len())
        .filter(|&i| {
            let mine = &blocks[i].meta().compaction.sources;
            blocks.iter().enumerate().any(|(j, other)| {
                j != i
                    && other.meta().compaction.level > blocks[i].meta().compaction.level
                    && mine
                        .iter()
                        .all(|s| other.meta().compaction.sources.contains(s))
            })
        })
        .collect();
    for &i in superseded.iter().rev() {
        let b = blocks.remove(i);
        tracing::info!(block = %b.dir().display(), "removing a block already merged into another");
        if writable {
            compact::delete_block_dir(b.dir())?;
        }
    }
    blocks.sort_by_key(|b| b.meta().min_time);
    Ok(blocks)
}

/// Refuses every append: the store was opened read-only.
struct ReadOnlyAppender;

impl Appender for ReadOnlyAppender {
    fn append(
        &mut self,
        _: SeriesRef,
        labels: &Labels,
        _: Timestamp,
        _: f64,
    ) -> std::result::Result<SeriesRef, AppendError> {
        Err(AppendError::InvalidSeries {
            series: labels.clone(),
            reason: "the store is open read-only".to_owned(),
        })
    }

    fn commit(self: Box<Self>) -> tocsin_model::storage::Result<CommitSummary> {
        Err(StorageError::Invalid(
            "the store is open read-only".to_owned(),
        ))
    }
}

/// Refuses commits: the store is closed.
struct ClosedAppender;

impl Appender for ClosedAppender {
    fn append(
        &mut self,
        _: SeriesRef,
        _: &Labels,
        _: Timestamp,
        _: f64,
    ) -> std::result::Result<SeriesRef, AppendError> {
        Ok(0)
    }

    fn commit(self: Box<Self>) -> tocsin_model::storage::Result<CommitSummary> {
        Err(StorageError::Closed)
    }
}

impl Appendable for Tsdb {
    fn appender(&self) -> Box<dyn Appender + '_> {
        match self.wal() {
            Ok(wal) => Box::new(HeadAppender::new(&self.head, wal)),
            Err(Error::Closed) => Box::new(ClosedAppender),
            Err(_) => Box::new(ReadOnlyAppender),
        }
    }
}

impl Queryable for Tsdb {
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> tocsin_model::storage::Result<Box<dyn Querier + '_>> {
        Ok(Box::new(querier::TsdbQuerier::new(self, mint, maxt)))
    }
}
