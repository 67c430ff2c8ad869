//! Persisted blocks: immutable directories holding the samples of one time range
//! (`meta.json`, `chunks/`, `index`, and optionally `tombstones`). Written atomically by
//! [`BlockWriter`] (temporary directory, fsync, rename) and read through memory maps.

mod chunks;
pub mod index;
mod meta;
mod tombstones;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use tocsin_model::{Labels, Matcher};

pub use self::chunks::{ChunkReader, parse_chunk};
pub use self::index::{IndexChunk, IndexReader, IndexWriter};
pub use self::meta::{BLOCK_VERSION, BlockMeta, BlockStats, Compaction, is_ulid, new_ulid};
pub use self::tombstones::{decode_tombstones, encode_tombstones};
pub use self::writer::{BLOCK_CHUNK_SAMPLES, BlockWriter};
use crate::query::{ChunkMeta, CorruptionHook, SeriesChunks};
use crate::{Error, Result, fsutil, postings};

/// Suffix of a block being written.
pub const TMP_CREATION: &str = ".tmp-for-creation";
/// Suffix of a block being deleted.
pub const TMP_DELETION: &str = ".tmp-for-deletion";

/// An open block.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    /// Series ordinal → deleted intervals.
    tombstones: RwLock<HashMap<u32, Vec<(i64, i64)>>>,
    size: u64,
}

impl Block {
    /// Opens and verifies `dir` (meta, index checksums, chunk file headers, tombstones).
    pub fn open(dir: &Path) -> Result<Self> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join("index"))?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        let tombstones = tombstones::read(&dir.join("tombstones"), index.num_series())?;
        Ok(Self {
            size: fsutil::dir_size(dir),
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones: RwLock::new(tombstones),
        })
    }

    /// Its metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// Whether `[mint, maxt]` overlaps the block.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.min_time <= maxt && mint < self.meta.max_time
    }

    /// Labels, chunks and deletions of series `ordinal`, chunks restricted to `[mint, maxt]`.
    /// Damaged chunks are reported through `on_corrupt` and left out.
    pub fn series_chunks(
        &self,
        ordinal: u32,
        mint: i64,
        maxt: i64,
        on_corrupt: &CorruptionHook,
    ) -> Result<SeriesChunks> {
        let (labels, metas) = self.index.series(ordinal)?;
        let mut chunks = Vec::with_capacity(metas.len());
        for m in metas.iter().filter(|m| m.maxt >= mint && m.mint <= maxt) {
            match self.chunks.chunk(m.reference) {
                Ok((encoding, bytes)) => chunks.push(ChunkMeta {
                    mint: m.mint,
                    maxt: m.maxt,
                    encoding,
                    bytes,
                }),
                Err(err) => {
                    on_corrupt(&format!("block {}: series {labels}: {err}", self.meta.ulid));
                }
            }
        }
        let deleted = self
            .tombstones
            .read()
            .get(&ordinal)
            .cloned()
            .unwrap_or_default();
        Ok(SeriesChunks {
            labels,
            chunks,
            deleted,
        })
    }

    /// Series matching `matchers` with chunks overlapping `[mint, maxt]`.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        on_corrupt: &CorruptionHook,
    ) -> Result<Vec<SeriesChunks>> {
        let (ordinals, deferred) = postings::select_candidates(&self.index, matchers);
        let ordinals: Vec<u32> = ordinals.into_iter().collect();
        // Decoding labels from the symbol table is most of a large select: spread it.
        let found = crate::parallel::map(ordinals, 512, |ordinal| {
            self.series_chunks(ordinal, mint, maxt, on_corrupt)
        });
        let mut out = Vec::with_capacity(found.len());
        for series in found {
            let series = series?;
            if !series.chunks.is_empty() && postings::passes(&deferred, &series.labels) {
                out.push(series);
            }
        }
        Ok(out)
    }

    /// Every series ordinal with its labels, in label order (for compaction).
    pub fn num_series(&self) -> u32 {
        self.index.num_series() as u32
    }

    /// Records deletions of `[mint, maxt]` for the series matching `matchers`; persisted
    /// atomically in the block's `tombstones` file.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        if !self.overlaps(mint, maxt) {
            return Ok(0);
        }
        let ordinals = postings::select(&self.index, matchers);
        if ordinals.is_empty() {
            return Ok(0);
        }
        let mut tombstones = self.tombstones.write();
        let mut next = tombstones.clone();
        for ordinal in &ordinals {
            next.entry(ordinal).or_default().push((mint, maxt));
        }
        tombstones::write(&self.dir, &next)?;
        *tombstones = next;
        Ok(ordinals.len() as usize)
    }

    /// Whether the block has deletions.
    pub fn has_tombstones(&self) -> bool {
        !self.tombstones.read().is_empty()
    }

    /// Labels of series `ordinal`.
    pub fn labels(&self, ordinal: u32) -> Result<Labels> {
        Ok(self.index.series(ordinal)?.0)
    }

    /// Checks every index entry and every chunk checksum (slow; for `tsdb inspect`).
    pub fn verify(&self) -> Result<u64> {
        self.index.verify()?;
        let mut chunks = 0;
        for ordinal in 0..self.num_series() {
            for m in self.index.series(ordinal)?.1 {
                self.chunks
                    .chunk(m.reference)
                    .map_err(|err| Error::Corrupt {
                        path: self.dir.clone(),
                        reason: err.to_string(),
                    })?;
                chunks += 1;
            }
        }
        Ok(chunks)
    }
}
