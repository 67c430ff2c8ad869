//! What a select returns before samples are decoded: per series, the chunks overlapping the
//! range (from the head and from blocks) and the deleted intervals. Samples are decoded
//! lazily, one group of time-overlapping chunks at a time, and merged with duplicates by
//! timestamp dropped (the head and a just-written block can briefly hold the same data).

use std::borrow::Cow;
use std::sync::Arc;

use tocsin_model::storage::SampleIterator;
use tocsin_model::{Labels, Sample, Timestamp};

use crate::chunkenc::{self, Encoding};
use crate::mmap::MappedFile;

/// Where a chunk's bytes are.
#[derive(Debug, Clone)]
pub enum ChunkBytes {
    /// In memory (head).
    Shared(Arc<[u8]>),
    /// In a head chunk file (read with pread, checksum verified). The open handle keeps the file readable even
    /// if head truncation deletes it while a query still iterates.
    HeadFile {
        /// The file.
        file: Arc<std::fs::File>,
        /// Offset of the chunk.
        offset: u64,
        /// Length of the chunk.
        len: u32,
    },
    /// In a memory-mapped block file.
    Mapped {
        /// The file.
        file: Arc<MappedFile>,
        /// Start of the chunk data.
        start: usize,
        /// End of the chunk data.
        end: usize,
    },
}

impl ChunkBytes {
    /// The bytes (read from disk for head chunk files).
    pub fn load(&self) -> crate::Result<Cow<'_, [u8]>> {
        match self {
            Self::Shared(bytes) => Ok(Cow::Borrowed(bytes)),
            Self::HeadFile { file, offset, len } => Ok(Cow::Owned(crate::head::read_head_chunk(
                file, *offset, *len,
            )?)),
            Self::Mapped { file, start, end } => Ok(Cow::Borrowed(&file.bytes()[*start..*end])),
        }
    }
}

/// One chunk of one series.
#[derive(Debug, Clone)]
pub struct ChunkMeta {
    /// First timestamp.
    pub mint: Timestamp,
    /// Last timestamp.
    pub maxt: Timestamp,
    /// How to decode.
    pub encoding: Encoding,
    /// The bytes (already checksum-verified for mapped chunks when read).
    pub bytes: ChunkBytes,
}

/// A series as a source (head or block) sees it.
#[derive(Debug, Clone)]
pub struct SeriesChunks {
    /// Labels.
    pub labels: Labels,
    /// Chunks overlapping the query range, sorted by `mint`.
    pub chunks: Vec<ChunkMeta>,
    /// Deleted `[mint, maxt]` intervals.
    pub deleted: Vec<(Timestamp, Timestamp)>,
}

/// Called when a chunk fails to decode (damage); the iterator skips it.
pub type CorruptionHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Iterates a series' samples in `[start, end]`, skipping deleted intervals.
pub struct ChunkSeriesIter {
    chunks: std::vec::IntoIter<ChunkMeta>,
    pending: Option<ChunkMeta>,
    deleted: Vec<(Timestamp, Timestamp)>,
    start: Timestamp,
    end: Timestamp,
    buf: Vec<Sample>,
    pos: usize,
    last_t: Option<Timestamp>,
    on_corrupt: CorruptionHook,
}

impl std::fmt::Debug for ChunkSeriesIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSeriesIter")
            .field("start", &self.start)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl ChunkSeriesIter {
    /// Iterates `chunks` (sorted by mint).
    pub fn new(
        mut chunks: Vec<ChunkMeta>,
        mut deleted: Vec<(Timestamp, Timestamp)>,
        start: Timestamp,
        end: Timestamp,
        on_corrupt: CorruptionHook,
    ) -> Self {
        chunks.retain(|c| c.maxt >= start && c.mint <= end);
        chunks.sort_by_key(|c| c.mint);
        deleted.sort_unstable();
        Self {
            chunks: chunks.into_iter(),
            pending: None,
            deleted,
            start,
            end,
            buf: Vec::new(),
            pos: 0,
            last_t: None,
            on_corrupt,
        }
    }

    fn is_deleted(&self, t: Timestamp) -> bool {
        self.deleted.iter().any(|&(a, b)| a <= t && t <= b)
    }

    fn decode_into(&self, chunk: &ChunkMeta, out: &mut Vec<Sample>) {
        match chunk
            .bytes
            .load()
            .and_then(|b| chunkenc::decode(chunk.encoding, &b))
        {
            // One chunk per group is the common case: keep its buffer rather than copy it.
            Ok(samples) if out.is_empty() => *out = samples,
            Ok(samples) => out.extend(samples),
            Err(err) => (self.on_corrupt)(&err.to_string()),
        }
    }

    /// Decodes the next group of chunks whose time ranges overlap.
    fn fill(&mut self) -> bool {
        self.buf.clear();
        self.pos = 0;
        loop {
            let Some(first) = self.pending.take().or_else(|| self.chunks.next()) else {
                return false;
            };
            let mut group_maxt = first.maxt;
            let mut group = vec![first];
            for next in self.chunks.by_ref() {
                if next.mint <= group_maxt {
                    group_maxt = group_maxt.max(next.maxt);
                    group.push(next);
                } else {
                    self.pending = Some(next);
                    break;
                }
            }
            let mut samples = Vec::new();
            for chunk in &group {
                self.decode_into(chunk, &mut samples);
            }
            if group.len() > 1 {
                // Stable: the first source wins on equal timestamps.
                samples.sort_by_key(|s| s.t);
                samples.dedup_by_key(|s| s.t);
            }
            let (start, end) = (self.start, self.end);
            let last = self.last_t;
            samples.retain(|s| s.t >= start && s.t <= end && last.is_none_or(|l| s.t > l));
            if !self.deleted.is_empty() {
                samples.retain(|s| !self.is_deleted(s.t));
            }
            if !samples.is_empty() {
                self.buf = samples;
                return true;
            }
        }
    }
}

impl SampleIterator for ChunkSeriesIter {
    fn next(&mut self) -> Option<Sample> {
        if self.pos >= self.buf.len() && !self.fill() {
            return None;
        }
        let sample = self.buf[self.pos];
        self.pos += 1;
        self.last_t = Some(sample.t);
        Some(sample)
    }

    fn seek(&mut self, t: Timestamp) -> Option<Sample> {
        loop {
            if self.pos < self.buf.len() {
                // Binary search inside the decoded group.
                let rest = &self.buf[self.pos..];
                let skip = rest.partition_point(|s| s.t < t);
                self.pos += skip;
                if self.pos < self.buf.len() {
                    return self.next();
                }
            }
            // Skip whole chunks that end before t without decoding them.
            if self.pending.as_ref().is_some_and(|c| c.maxt < t) {
                self.pending = None;
            }
            while self.pending.is_none() {
                match self.chunks.next() {
                    Some(c) if c.maxt < t => {}
                    Some(c) => self.pending = Some(c),
                    None => break,
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

/// An iterator with its first sample already read (a select drops series with none).
pub struct Peeked {
    first: Option<Sample>,
    rest: ChunkSeriesIter,
}

impl std::fmt::Debug for Peeked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peeked")
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl Peeked {
    /// Reads the first sample of `it`; `None` if it has none.
    pub fn new(mut it: ChunkSeriesIter) -> Option<Self> {
        let first = it.next()?;
        Some(Self {
            first: Some(first),
            rest: it,
        })
    }
}

impl SampleIterator for Peeked {
    fn next(&mut self) -> Option<Sample> {
        self.first.take().or_else(|| self.rest.next())
    }

    fn seek(&mut self, t: Timestamp) -> Option<Sample> {
        if let Some(first) = self.first.take()
            && first.t >= t
        {
            return Some(first);
        }
        self.rest.seek(t)
    }
}
