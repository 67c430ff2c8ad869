//! Start-up: the chunks in the head chunk files, per series, in two passes. The first
//! checks every record's CRC (a few files at a time, in parallel) and counts each series'
//! chunks; the second gives every series one exactly sized list, in file order (a series'
//! chunks are in the order they were written).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use parking_lot::{Mutex, RwLock};

use super::record::{RecordError, parse_header, parse_record, xor_samples};
use super::{HEAD_CHUNKS_HEADER_LEN, HEAD_CHUNKS_MAGIC, HEAD_CHUNKS_VERSION, HeadChunkFiles, list};
use crate::head::series::SealedChunk;
use crate::head::{RefPages, U64Map};
use crate::mmap::MappedFile;
use crate::wal::Corruption;
use crate::{Error, Result};

/// The chunks start-up found for one series.
#[derive(Debug, Clone)]
pub(crate) struct LoadedSeries {
    /// In time order.
    pub(crate) chunks: Vec<SealedChunk>,
    /// Exact end of the last one.
    pub(crate) maxt: i64,
}

impl Default for LoadedSeries {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            maxt: i64::MIN,
        }
    }
}

/// What start-up found in the files.
#[derive(Debug, Default)]
pub(crate) struct LoadedChunks {
    /// Per series, in shards by `ref % shards.len()` (a power of two), keyed by
    /// `ref / shards.len()`.
    shards: Vec<RefPages<LoadedSeries>>,
    /// Chunks loaded.
    pub(crate) chunks: u64,
    /// Damage found (the files were cut at it).
    pub(crate) corruption: Option<Corruption>,
}

impl LoadedChunks {
    fn new(threads: usize) -> Self {
        let shards = if threads <= 1 {
            1
        } else {
            1usize << (usize::BITS - 1 - threads.leading_zeros())
        };
        Self {
            shards: (0..shards).map(|_| RefPages::default()).collect(),
            chunks: 0,
            corruption: None,
        }
    }

    /// Takes the chunks of `sref` (`None` if it has none).
    pub(crate) fn take(&mut self, sref: u64) -> Option<LoadedSeries> {
        let n = self.shards.len() as u64;
        let slot = self.shards[(sref % n) as usize].get_mut(sref / n)?;
        (!slot.chunks.is_empty()).then(|| std::mem::take(slot))
    }
}

/// Second pass for the refs of one shard: reads every file's records in order and builds
/// the lists of the shard's series, each allocated once at its counted size.
fn fill_shard(
    checked: &[(u32, PathBuf, usize)],
    counts: &RefPages<u32>,
    shard: usize,
    shards: usize,
    min_valid: i64,
) -> Result<(RefPages<LoadedSeries>, u64)> {
    let mut table: RefPages<LoadedSeries> = RefPages::default();
    let mut loaded = 0u64;
    let n = shards as u64;
    for (index, path, end) in checked {
        let map = MappedFile::open(path)?;
        let bytes = &map.bytes()[..(*end).min(map.bytes().len())];
        let mut pos = HEAD_CHUNKS_HEADER_LEN;
        while pos < bytes.len() {
            let Ok(rec) = parse_header(&bytes[pos..]) else {
                break;
            };
            let at = pos;
            pos += rec.len;
            if rec.maxt < min_valid || (rec.sref % n) as usize != shard {
                continue;
            }
            let slot = table.entry(rec.sref / n);
            if slot.chunks.capacity() == 0 {
                let count = counts.get(rec.sref).copied().unwrap_or(1);
                slot.chunks.reserve_exact(count.max(1) as usize);
            }
            slot.chunks.push(SealedChunk::new(
                rec.mint,
                rec.maxt,
                xor_samples(rec.data),
                rec.data.len() as u16,
                *index,
                (at + rec.data_offset) as u32,
            ));
            slot.maxt = rec.maxt;
            loaded += 1;
        }
    }
    Ok((table, loaded))
}

/// How a file's header reads.
enum Header {
    Current,
    /// Empty, or written by tocsin before the files were kept (no header).
    Unusable(&'static str),
}

fn check_header(bytes: &[u8], path: &Path, dir: &Path) -> Result<Header> {
    if bytes.is_empty() {
        return Ok(Header::Unusable("empty (created but never written)"));
    }
    if bytes.len() < HEAD_CHUNKS_HEADER_LEN
        || u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) != HEAD_CHUNKS_MAGIC
    {
        return Ok(Header::Unusable(
            "no header: written by an older tocsin, which kept these files as a cache of the WAL",
        ));
    }
    if bytes[4] != HEAD_CHUNKS_VERSION {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "head chunk file format version {} is not supported (this tocsin reads version \
                 {HEAD_CHUNKS_VERSION}); run the tocsin version that wrote it, or move {} away \
                 to rebuild it from the WAL",
                bytes[4],
                dir.display()
            ),
        });
    }
    Ok(Header::Current)
}

/// What the first pass found in one file.
struct Checked {
    /// Records are whole and verified up to this offset.
    end: usize,
    /// Chunks per series (of those ending at or after the cut-off), by ref.
    counts: RefPages<u32>,
    corruption: Option<Corruption>,
}

/// First pass over one file.
fn check_file(dir: &Path, path: &Path, min_valid: i64) -> Result<Option<Checked>> {
    let map = MappedFile::open(path)?;
    let bytes = map.bytes();
    if let Header::Unusable(why) = check_header(bytes, path, dir)? {
        tracing::info!(file = %path.display(), why, "head chunk file not used; its chunks are replayed from the WAL");
        return Ok(None);
    }
    let mut counts: RefPages<u32> = RefPages::default();
    let mut pos = HEAD_CHUNKS_HEADER_LEN;
    while pos < bytes.len() {
        match parse_record(&bytes[pos..]) {
            Ok(rec) => {
                if rec.maxt >= min_valid {
                    *counts.entry(rec.sref) += 1;
                }
                pos += rec.len;
            }
            Err(err) => {
                let (torn, reason) = match err {
                    RecordError::Torn => (
                        true,
                        "the file ends inside a chunk (interrupted write)".to_owned(),
                    ),
                    RecordError::Bad(reason) => (false, reason),
                };
                return Ok(Some(Checked {
                    end: pos,
                    counts,
                    corruption: Some(Corruption {
                        path: path.to_path_buf(),
                        offset: pos as u64,
                        reason,
                        torn,
                    }),
                }));
            }
        }
    }
    Ok(Some(Checked {
        end: pos,
        counts,
        corruption: None,
    }))
}

impl HeadChunkFiles {
    /// Opens `dir` (created if missing) and loads the chunks it holds whose end is at or
    /// after `min_valid`. Damage cuts the file at the first bad record and drops every later
    /// file (their chunks are replayed from the WAL instead). Files of format version 1 (no
    /// header) are dropped; a newer version is refused.
    pub(crate) fn open(dir: &Path, min_valid: i64, threads: usize) -> Result<(Self, LoadedChunks)> {
        std::fs::create_dir_all(dir).map_err(Error::io("create head chunks directory", dir))?;
        let files = list(dir)?;
        let next = files.last().map_or(1, |(i, _)| i.saturating_add(1));
        let mut loaded = LoadedChunks::new(threads);
        let mut cut_from: Option<usize> = None;
        let threads = threads.max(1);
        let mut counts: RefPages<u32> = RefPages::default();
        let mut checked: Vec<(u32, PathBuf, usize)> = Vec::new();
        // First pass, a few files at a time in parallel.
        'files: for wave in (0..files.len()).collect::<Vec<_>>().chunks(threads) {
            let results: Vec<Result<Option<Checked>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = wave
                    .iter()
                    .map(|&position| {
                        let (_, path) = &files[position];
                        scope.spawn(move || check_file(dir, path, min_valid))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Invalid(
                                "a head chunk reader thread panicked".to_owned(),
                            ))
                        })
                    })
                    .collect()
            });
            for (&position, result) in wave.iter().zip(results) {
                let (index, path) = &files[position];
                let Some(file) = result? else {
                    cut_from = Some(position);
                    break 'files;
                };
                counts.add(&file.counts);
                checked.push((*index, path.clone(), file.end));
                if let Some(c) = file.corruption {
                    // Its map is dropped: cut the file at the damage.
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(Error::io("open damaged head chunk file", path))?;
                    f.set_len(c.offset)
                        .map_err(Error::io("truncate damaged head chunk file", path))?;
                    loaded.corruption = Some(c);
                    cut_from = Some(position + 1);
                    break 'files;
                }
            }
        }
        if let Some(from) = cut_from {
            for (_, path) in &files[from..] {
                std::fs::remove_file(path).map_err(Error::io("delete head chunk file", path))?;
            }
        }
        // Second pass: one thread per shard of refs, each reading every file in order and
        // filling its own series' lists (the writes, scattered over every series' list, are
        // the costly part).
        let shards = loaded.shards.len();
        let (checked, counts) = (&checked, &counts);
        let filled: Vec<Result<(RefPages<LoadedSeries>, u64)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..shards)
                .map(|shard| {
                    scope.spawn(move || fill_shard(checked, counts, shard, shards, min_valid))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Invalid(
                            "a head chunk reader thread panicked".to_owned(),
                        ))
                    })
                })
                .collect()
        });
        for (shard, result) in filled.into_iter().enumerate() {
            let (table, n) = result?;
            loaded.shards[shard] = table;
            loaded.chunks += n;
        }
        let mut handles: U64Map<Arc<File>> = U64Map::default();
        for (index, path, _) in checked {
            let handle = File::open(path).map_err(Error::io("open head chunk file", path))?;
            handles.insert(u64::from(*index), Arc::new(handle));
        }
        let files = Self {
            dir: dir.to_path_buf(),
            writer: Mutex::new(None),
            files: RwLock::new(handles),
            next: AtomicU32::new(next),
            first_new: next,
            scratch: Mutex::new(Vec::with_capacity(512)),
        };
        Ok((files, loaded))
    }
}
