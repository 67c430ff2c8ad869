//! One series in the head: its labels (packed into one allocation), its sealed chunks (on
//! disk in the head chunk files, or in memory when those are unavailable) and the open chunk
//! being appended. Kept small: at a million series every byte here is a megabyte.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;
use tocsin_model::{Label, Labels, Sample};

use super::HeadOptions;
use super::chunk_files::HeadChunkFiles;
use crate::chunkenc::{Encoding, XorAppender};
use crate::encoding::put_uvarint;
use crate::query::{ChunkBytes, ChunkMeta};

/// An open chunk is sealed once it reaches this many bytes (or 120 samples), so noisy
/// series keep little in memory: the rest is in head chunk files. Kept below a power of two
/// with room for one worst-case sample, so the buffer never doubles past it.
const MAX_OPEN_CHUNK_BYTES: usize = 256 - 20;

/// Labels as one byte string: `(uvarint len, name, uvarint len, value)*`. About a quarter of
/// the memory of `Labels` (one allocation instead of one per string plus the vector).
#[derive(Debug)]
pub(crate) struct PackedLabels(Box<[u8]>);

fn read_str(bytes: &[u8], pos: &mut usize) -> Option<String> {
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        len |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    let s = bytes.get(*pos..*pos + len)?;
    *pos += len;
    String::from_utf8(s.to_vec()).ok()
}

impl PackedLabels {
    pub(crate) fn new(labels: &Labels) -> Self {
        let mut out = Vec::new();
        for l in labels {
            put_uvarint(&mut out, l.name.len() as u64);
            out.extend_from_slice(l.name.as_bytes());
            put_uvarint(&mut out, l.value.len() as u64);
            out.extend_from_slice(l.value.as_bytes());
        }
        Self(out.into_boxed_slice())
    }

    /// The labels (packed by `new` from valid labels, so decoding cannot fail).
    pub(crate) fn unpack(&self) -> Labels {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < self.0.len() {
            let (Some(name), Some(value)) =
                (read_str(&self.0, &mut pos), read_str(&self.0, &mut pos))
            else {
                break;
            };
            out.push(Label::new(name, value));
        }
        Labels::from_sorted_unchecked(out)
    }

    /// Whether these are `labels`, without unpacking or allocating.
    pub(crate) fn matches(&self, labels: &Labels) -> bool {
        let bytes = &self.0;
        let mut pos = 0;
        let mut take = |want: &str| -> bool {
            let (mut len, mut shift) = (0usize, 0);
            loop {
                let Some(&b) = bytes.get(pos) else {
                    return false;
                };
                pos += 1;
                len |= usize::from(b & 0x7f) << shift;
                if b < 0x80 {
                    break;
                }
                shift += 7;
            }
            let ok = len == want.len() && bytes.get(pos..pos + len) == Some(want.as_bytes());
            pos += len;
            ok
        };
        for l in labels {
            if !take(&l.name) || !take(&l.value) {
                return false;
            }
        }
        pos == bytes.len()
    }
}

/// `file` of a sealed chunk kept in memory (head chunk files unavailable: read-only opens,
/// or a failed write); its bytes are in `Extra::mem` under its `mint`.
pub(crate) const IN_MEMORY: u32 = u32::MAX;

/// A sealed chunk kept until the head is compacted into a block: 24 bytes, the bytes
/// themselves in a head chunk file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealedChunk {
    pub(crate) mint: i64,
    /// `maxt - mint`, saturated (an over-estimate only costs a read).
    span: u32,
    /// Samples in the chunk.
    pub(crate) samples: u16,
    len: u16,
    pub(crate) file: u32,
    offset: u32,
}

impl SealedChunk {
    pub(crate) fn new(
        mint: i64,
        maxt: i64,
        samples: u16,
        len: u16,
        file: u32,
        offset: u32,
    ) -> Self {
        Self {
            mint,
            span: u32::try_from(maxt.saturating_sub(mint)).unwrap_or(u32::MAX),
            samples,
            len,
            file,
            offset,
        }
    }

    pub(crate) fn maxt(&self) -> i64 {
        self.mint.saturating_add(i64::from(self.span))
    }

    pub(crate) fn size(&self) -> usize {
        usize::from(self.len)
    }
}

/// The chunk being appended to.
#[derive(Debug)]
pub(crate) struct OpenChunk {
    pub(crate) app: XorAppender,
    pub(crate) mint: i64,
    /// The block boundary this chunk must not cross.
    range_end: i64,
}

/// Rare state, boxed so series without it pay one pointer.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// Deleted `[mint, maxt]` intervals (tombstones).
    pub(crate) deleted: Vec<(i64, i64)>,
    /// Samples accepted within the out-of-order window, sorted by time. Merged with the
    /// chunks when read and compacted.
    pub(crate) ooo: Vec<Sample>,
    /// Sealed chunks that could not go to a head chunk file, by `mint`.
    pub(crate) mem: Vec<(i64, Arc<[u8]>)>,
}

/// Mutable state of a series, behind its own lock.
#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    pub(crate) sealed: Vec<SealedChunk>,
    pub(crate) open: Option<OpenChunk>,
    pub(crate) extra: Option<Box<Extra>>,
}

impl SeriesData {
    pub(crate) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub(crate) fn deleted(&self) -> &[(i64, i64)] {
        self.extra.as_ref().map_or(&[], |e| &e.deleted)
    }

    pub(crate) fn ooo(&self) -> &[Sample] {
        self.extra.as_ref().map_or(&[], |e| &e.ooo)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_none() && self.ooo().is_empty()
    }

    fn mem_chunk(&self, mint: i64) -> Option<Arc<[u8]>> {
        let mem = &self.extra.as_ref()?.mem;
        let i = mem.binary_search_by_key(&mint, |(m, _)| *m).ok()?;
        Some(Arc::clone(&mem[i].1))
    }
}

/// Outcome of applying one committed sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Stored.
    Stored,
    /// Same timestamp and value as the newest sample: accepted, nothing stored.
    Duplicate,
    /// Older than the newest sample.
    OutOfOrder,
    /// Same timestamp, different value.
    Conflict,
}

/// A series.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub(crate) sref: u64,
    labels: PackedLabels,
    /// Its series record is in the WAL (set under the WAL lock).
    pub(crate) logged: AtomicBool,
    /// Dropped from the head; appenders holding it must look the labels up again.
    pub(crate) removed: AtomicBool,
    /// Newest committed timestamp (i64::MIN: none), readable without the lock.
    max_t: AtomicI64,
    last_v: AtomicU64,
    pub(crate) data: Mutex<SeriesData>,
}

impl MemSeries {
    pub(crate) fn new(sref: u64, labels: &Labels) -> Self {
        Self {
            sref,
            labels: PackedLabels::new(labels),
            logged: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            max_t: AtomicI64::new(i64::MIN),
            last_v: AtomicU64::new(0),
            data: Mutex::new(SeriesData::default()),
        }
    }

    /// The labels.
    pub(crate) fn labels(&self) -> Labels {
        self.labels.unpack()
    }

    /// Whether the series has these labels.
    pub(crate) fn has_labels(&self, labels: &Labels) -> bool {
        self.labels.matches(labels)
    }

    /// The newest committed sample (time, value bits).
    pub(crate) fn last(&self) -> Option<(i64, u64)> {
        let t = self.max_t.load(Ordering::Acquire);
        (t != i64::MIN).then(|| (t, self.last_v.load(Ordering::Acquire)))
    }

    /// Appends a committed sample. Returns what happened and how many chunks it created.
    pub(crate) fn apply(
        &self,
        t: i64,
        v: f64,
        opts: &HeadOptions,
        files: Option<&HeadChunkFiles>,
    ) -> (Applied, i64) {
        let mut data = self.data.lock();
        if let Some((last_t, last_v)) = self.last() {
            if t < last_t {
                if opts.ooo_window > 0 && t >= last_t.saturating_sub(opts.ooo_window) {
                    let ooo = &mut data.extra().ooo;
                    return match ooo.binary_search_by_key(&t, |s| s.t) {
                        Ok(i) if ooo[i].v.to_bits() == v.to_bits() => (Applied::Duplicate, 0),
                        Ok(_) => (Applied::Conflict, 0),
                        Err(i) => {
                            ooo.insert(i, Sample::new(t, v));
                            (Applied::Stored, 0)
                        }
                    };
                }
                return (Applied::OutOfOrder, 0);
            }
            if t == last_t {
                return if v.to_bits() == last_v {
                    (Applied::Duplicate, 0)
                } else {
                    (Applied::Conflict, 0)
                };
            }
        }
        let mut chunks_added = 0;
        let must_cut = data.open.as_ref().is_some_and(|open| {
            open.app.num_samples() >= opts.samples_per_chunk
                || open.app.size() >= MAX_OPEN_CHUNK_BYTES
                || t >= open.range_end
        });
        if must_cut {
            let maxt = self.max_t.load(Ordering::Acquire);
            let open = data
                .open
                .as_ref()
                .expect("invariant: must_cut implies an open chunk");
            let (mint, samples) = (open.mint, open.app.num_samples());
            let bytes = open.app.bytes();
            // A series whose chunk could not be written keeps its later chunks in memory
            // too, so the chunks it has on disk are always its oldest ones: start-up resumes
            // each series after its last chunk on disk (see `replay`).
            let keep_in_memory = data.extra.as_ref().is_some_and(|e| !e.mem.is_empty());
            let stored = files.filter(|_| !keep_in_memory).and_then(|f| {
                match f.write(self.sref, mint, maxt, bytes) {
                    Ok(found) => Some(found),
                    Err(err) => {
                        tracing::warn!(%err, "cannot write a sealed chunk to disk; keeping it in memory");
                        None
                    }
                }
            });
            let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
            let (file, offset) = match stored {
                Some(found) => found,
                None => {
                    let copy: Arc<[u8]> = Arc::from(bytes);
                    data.extra().mem.push((mint, copy));
                    (IN_MEMORY, 0)
                }
            };
            // Exact capacity: most series seal a few chunks per block range.
            data.sealed.reserve_exact(1);
            data.sealed
                .push(SealedChunk::new(mint, maxt, samples, len, file, offset));
            let range = opts.chunk_range.max(1);
            let open = data
                .open
                .as_mut()
                .expect("invariant: must_cut implies an open chunk");
            open.app.reset();
            open.mint = t;
            open.range_end = t.div_euclid(range).saturating_add(1).saturating_mul(range);
            chunks_added = 1;
        }
        let open = data.open.get_or_insert_with(|| {
            chunks_added = 1;
            let range = opts.chunk_range.max(1);
            OpenChunk {
                app: XorAppender::with_capacity(32),
                mint: t,
                range_end: t.div_euclid(range).saturating_add(1).saturating_mul(range),
            }
        });
        open.app.append(t, v);
        self.last_v.store(v.to_bits(), Ordering::Release);
        self.max_t.store(t, Ordering::Release);
        (Applied::Stored, chunks_added)
    }

    /// Gives a series re-created at start-up the chunks it has in the head chunk files, in
    /// time order; `maxt` is the exact end of the last one. The value of the newest sample
    /// is unknown until [`MemSeries::resume_last_value`] or the next append.
    pub(crate) fn attach_chunks(&self, chunks: Vec<SealedChunk>, maxt: i64) {
        let mut data = self.data.lock();
        data.sealed = chunks;
        self.max_t.store(maxt, Ordering::Release);
    }

    /// Reads the newest sample's value from the last sealed chunk (after start-up resumed
    /// the series at its last chunk on disk and no later sample came).
    pub(crate) fn resume_last_value(
        &self,
        files: Option<&Arc<HeadChunkFiles>>,
    ) -> crate::Result<()> {
        let data = self.data.lock();
        if data.open.is_some() {
            return Ok(());
        }
        let Some(last) = data.sealed.last() else {
            return Ok(());
        };
        let bytes = if last.file == IN_MEMORY {
            data.mem_chunk(last.mint)
                .map(|b| b.to_vec())
                .ok_or_else(|| crate::Error::decode("head chunk", "in-memory chunk missing"))?
        } else {
            let file = files
                .and_then(|f| f.handle(last.file))
                .ok_or_else(|| crate::Error::decode("head chunk", "head chunk file missing"))?;
            super::chunk_files::read_chunk(&file, u64::from(last.offset), u32::from(last.len))?
        };
        let samples = crate::chunkenc::decode(Encoding::Xor, &bytes)?;
        if let Some(s) = samples.last() {
            self.last_v.store(s.v.to_bits(), Ordering::Release);
            self.max_t.store(s.t, Ordering::Release);
        }
        Ok(())
    }

    /// Replays a sample that was older than `newest`, the series' newest sample when it was
    /// committed: within the out-of-order window it went into the out-of-order buffer, as
    /// [`MemSeries::apply`] did then. Returns whether it was stored.
    pub(crate) fn replay_out_of_order(&self, t: i64, v: f64, newest: i64, window: i64) -> bool {
        if window <= 0 || t >= newest || t < newest.saturating_sub(window) {
            return false;
        }
        let mut data = self.data.lock();
        let ooo = &mut data.extra().ooo;
        match ooo.binary_search_by_key(&t, |s| s.t) {
            Ok(_) => false,
            Err(i) => {
                ooo.insert(i, Sample::new(t, v));
                true
            }
        }
    }

    /// Chunks overlapping `[mint, maxt]` and the deleted intervals.
    pub(crate) fn chunks_in(
        &self,
        mint: i64,
        maxt: i64,
        files: Option<&Arc<HeadChunkFiles>>,
    ) -> (Vec<ChunkMeta>, Vec<(i64, i64)>) {
        let data = self.data.lock();
        let mut out = Vec::new();
        for c in &data.sealed {
            if c.maxt() >= mint && c.mint <= maxt {
                let bytes = if c.file == IN_MEMORY {
                    match data.mem_chunk(c.mint) {
                        Some(b) => ChunkBytes::Shared(b),
                        None => continue,
                    }
                } else {
                    match files.and_then(|f| f.handle(c.file)) {
                        Some(file) => ChunkBytes::HeadFile {
                            file,
                            offset: u64::from(c.offset),
                            len: u32::from(c.len),
                        },
                        None => continue,
                    }
                };
                out.push(ChunkMeta {
                    mint: c.mint,
                    maxt: c.maxt(),
                    encoding: Encoding::Xor,
                    bytes,
                });
            }
        }
        if let Some(open) = &data.open {
            let open_maxt = self.max_t.load(Ordering::Acquire);
            if open_maxt >= mint && open.mint <= maxt {
                out.push(ChunkMeta {
                    mint: open.mint,
                    maxt: open_maxt,
                    encoding: Encoding::Xor,
                    bytes: ChunkBytes::Shared(Arc::from(open.app.bytes())),
                });
            }
        }
        let ooo: Vec<Sample> = data
            .ooo()
            .iter()
            .filter(|s| s.t >= mint && s.t <= maxt)
            .copied()
            .collect();
        if let (Some(first), Some(last)) = (ooo.first(), ooo.last()) {
            out.push(ChunkMeta {
                mint: first.t,
                maxt: last.t,
                encoding: Encoding::Xor,
                bytes: ChunkBytes::Shared(Arc::from(crate::chunkenc::encode_xor(&ooo))),
            });
        }
        (out, data.deleted().to_vec())
    }
}
