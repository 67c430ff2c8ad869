//! Writing a block: chunks stream to `chunks/` while series are added in label order; the
//! index and `meta.json` are written at the end, everything is fsynced, and the temporary
//! directory is renamed into place, so a crash leaves either no block or a whole one.

use std::path::{Path, PathBuf};

use tocsin_model::{Labels, Sample};

use super::TMP_CREATION;
use super::chunks::ChunkWriter;
use super::index::{IndexChunk, IndexWriter};
use super::meta::{BLOCK_VERSION, BlockMeta, BlockStats, Compaction, new_ulid};
use crate::chunkenc;
use crate::{Result, fsutil};

/// Samples per chunk in blocks: larger than the head's 120 because sealed chunks are
/// re-encoded with pco, which compresses better over longer runs (2h of 15s samples).
pub const BLOCK_CHUNK_SAMPLES: usize = 480;

/// Writes one block.
#[derive(Debug)]
pub struct BlockWriter {
    parent: PathBuf,
    tmp: PathBuf,
    ulid: String,
    min_time: i64,
    max_time: i64,
    compaction: Compaction,
    chunks: ChunkWriter,
    index: IndexWriter,
    stats: BlockStats,
}

impl BlockWriter {
    /// Starts a block for `[min_time, max_time)` in `parent`. `sources` are the level-1
    /// blocks merged into it (empty for a block cut from the head).
    pub fn new(
        parent: &Path,
        min_time: i64,
        max_time: i64,
        level: u32,
        sources: Vec<String>,
    ) -> Result<Self> {
        let ulid = new_ulid();
        let tmp = parent.join(format!("{ulid}{TMP_CREATION}"));
        fsutil::remove_dir_all_if_exists(&tmp)?;
        std::fs::create_dir_all(&tmp).map_err(crate::Error::io("create block directory", &tmp))?;
        let sources = if sources.is_empty() {
            vec![ulid.clone()]
        } else {
            sources
        };
        Ok(Self {
            chunks: ChunkWriter::new(&tmp.join("chunks"))?,
            parent: parent.to_path_buf(),
            tmp,
            ulid,
            min_time,
            max_time,
            compaction: Compaction { level, sources },
            index: IndexWriter::default(),
            stats: BlockStats::default(),
        })
    }

    /// Adds a series (labels strictly increasing between calls; samples in time order,
    /// all inside the block's range). Series without samples are skipped.
    pub fn add_series(&mut self, labels: Labels, samples: &[Sample]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut metas = Vec::with_capacity(samples.len().div_ceil(BLOCK_CHUNK_SAMPLES));
        for part in samples.chunks(BLOCK_CHUNK_SAMPLES) {
            let (encoding, data) = chunkenc::encode_best(part);
            let reference = self.chunks.write(encoding, &data)?;
            metas.push(IndexChunk {
                mint: part[0].t,
                maxt: part[part.len() - 1].t,
                reference,
            });
        }
        self.stats.num_series += 1;
        self.stats.num_chunks += metas.len() as u64;
        self.stats.num_samples += samples.len() as u64;
        self.index.add(labels, metas)
    }

    /// Finishes the block; `None` (and nothing on disk) when it holds no series.
    pub fn finish(self) -> Result<Option<BlockMeta>> {
        self.chunks.finish()?;
        if self.index.is_empty() {
            fsutil::remove_dir_all_if_exists(&self.tmp)?;
            return Ok(None);
        }
        self.index.write(&self.tmp.join("index"))?;
        let meta = BlockMeta {
            ulid: self.ulid.clone(),
            min_time: self.min_time,
            max_time: self.max_time,
            stats: self.stats,
            compaction: self.compaction,
            version: BLOCK_VERSION,
        };
        meta.write(&self.tmp)?;
        fsutil::sync_dir(&self.tmp.join("chunks"))?;
        fsutil::sync_dir(&self.tmp)?;
        fsutil::rename_synced(&self.tmp, &self.parent.join(&self.ulid))?;
        Ok(Some(meta))
    }
}
