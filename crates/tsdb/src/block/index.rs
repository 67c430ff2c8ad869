//! The block index: a sorted symbol table, one entry per series (labels as symbol ids, chunk
//! metas), roaring-bitmap postings per label pair with a sorted offset table (which is also
//! the label name/value index), and a table of contents. Every section carries a CRC32-C
//! that is checked when the block is opened. Format: `docs/format/index.md`.

use std::collections::BTreeSet;
use std::path::Path;

use roaring::RoaringBitmap;
use tocsin_model::{Label, Labels};

use crate::encoding::{Decoder, put_uvarint, put_varint};
use crate::mmap::MappedFile;
use crate::postings::LabelIndex;
use crate::{Error, Result, fsutil};

/// First four bytes of an index file.
pub const INDEX_MAGIC: u32 = 0xBAAA_D700;
const INDEX_VERSION: u8 = 1;
const HEADER_LEN: usize = 5;
/// Table of contents: five u64 offsets and a CRC.
const TOC_LEN: usize = 5 * 8 + 4;

/// A chunk's place in a series entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexChunk {
    /// First timestamp.
    pub mint: i64,
    /// Last timestamp.
    pub maxt: i64,
    /// Reference into the chunk files.
    pub reference: u64,
}

/// Builds an index from series given in label order.
#[derive(Debug, Default)]
pub struct IndexWriter {
    series: Vec<(Labels, Vec<IndexChunk>)>,
}

fn section(out: &mut Vec<u8>, content: &[u8]) -> u64 {
    let offset = out.len() as u64;
    out.extend_from_slice(&(content.len() as u64).to_be_bytes());
    out.extend_from_slice(content);
    out.extend_from_slice(&crc32c::crc32c(content).to_be_bytes());
    offset
}

impl IndexWriter {
    /// Adds the next series (labels strictly increasing).
    pub fn add(&mut self, labels: Labels, chunks: Vec<IndexChunk>) -> Result<()> {
        if let Some((last, _)) = self.series.last()
            && *last >= labels
        {
            return Err(Error::Invalid(format!(
                "index series out of order: {labels} after {last}"
            )));
        }
        self.series.push((labels, chunks));
        Ok(())
    }

    /// Series added so far.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series was added.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Encodes the index file.
    pub fn encode(&self) -> Vec<u8> {
        let mut symbols: BTreeSet<&str> = BTreeSet::new();
        for (labels, _) in &self.series {
            for l in labels {
                symbols.insert(&l.name);
                symbols.insert(&l.value);
            }
        }
        let symbols: Vec<&str> = symbols.into_iter().collect();
        let sym = |s: &str| -> u32 {
            symbols
                .binary_search(&s)
                .expect("invariant: every label string is in the symbol table") as u32
        };

        let mut out = Vec::new();
        out.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
        out.push(INDEX_VERSION);

        // Symbols: count, offsets into the string area, strings.
        let mut content = Vec::new();
        let mut strings = Vec::new();
        content.extend_from_slice(&(symbols.len() as u32).to_be_bytes());
        for s in &symbols {
            content.extend_from_slice(&(strings.len() as u32).to_be_bytes());
            put_uvarint(&mut strings, s.len() as u64);
            strings.extend_from_slice(s.as_bytes());
        }
        content.extend_from_slice(&strings);
        let symbols_off = section(&mut out, &content);

        // Series entries, and the table of their offsets.
        content.clear();
        let mut table = Vec::with_capacity(self.series.len() * 8 + 4);
        table.extend_from_slice(&(self.series.len() as u32).to_be_bytes());
        let mut by_pair: std::collections::BTreeMap<(u32, u32), RoaringBitmap> = Default::default();
        for (ordinal, (labels, chunks)) in self.series.iter().enumerate() {
            table.extend_from_slice(&(content.len() as u64).to_be_bytes());
            put_uvarint(&mut content, labels.len() as u64);
            for l in labels {
                let (n, v) = (sym(&l.name), sym(&l.value));
                put_uvarint(&mut content, u64::from(n));
                put_uvarint(&mut content, u64::from(v));
                by_pair.entry((n, v)).or_default().insert(ordinal as u32);
            }
            put_uvarint(&mut content, chunks.len() as u64);
            let mut prev: Option<IndexChunk> = None;
            for c in chunks {
                match prev {
                    None => {
                        put_varint(&mut content, c.mint);
                        put_uvarint(&mut content, c.maxt.wrapping_sub(c.mint) as u64);
                        put_uvarint(&mut content, c.reference);
                    }
                    Some(p) => {
                        put_uvarint(&mut content, c.mint.wrapping_sub(p.maxt) as u64);
                        put_uvarint(&mut content, c.maxt.wrapping_sub(c.mint) as u64);
                        put_varint(&mut content, c.reference.wrapping_sub(p.reference) as i64);
                    }
                }
                prev = Some(*c);
            }
        }
        let series_off = section(&mut out, &content);
        let series_table_off = section(&mut out, &table);

        // Postings lists and their table, sorted by (name, value) = by symbol ids.
        content.clear();
        table.clear();
        table.extend_from_slice(&(by_pair.len() as u32).to_be_bytes());
        for ((n, v), bitmap) in &by_pair {
            let start = content.len() as u64;
            bitmap
                .serialize_into(&mut content)
                .expect("invariant: writing to a Vec cannot fail");
            table.extend_from_slice(&n.to_be_bytes());
            table.extend_from_slice(&v.to_be_bytes());
            table.extend_from_slice(&start.to_be_bytes());
            table.extend_from_slice(&((content.len() as u64 - start) as u32).to_be_bytes());
        }
        let postings_off = section(&mut out, &content);
        let postings_table_off = section(&mut out, &table);

        let toc_start = out.len();
        for off in [
            symbols_off,
            series_off,
            series_table_off,
            postings_off,
            postings_table_off,
        ] {
            out.extend_from_slice(&off.to_be_bytes());
        }
        let crc = crc32c::crc32c(&out[toc_start..]);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Writes the index file (fsynced).
    pub fn write(&self, path: &Path) -> Result<()> {
        fsutil::write_file_synced(path, &self.encode())
    }
}

/// A section's content range in the file.
#[derive(Debug, Clone, Copy)]
struct Section {
    start: usize,
    end: usize,
}

/// Bytes of an index: a mapped file, or a buffer (fuzzing, tests).
#[derive(Debug)]
pub enum IndexBytes {
    /// Mapped from a block.
    Mapped(MappedFile),
    /// In memory.
    Owned(Vec<u8>),
}

impl IndexBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Mapped(m) => m.bytes(),
            Self::Owned(v) => v,
        }
    }
}

/// A block index opened for reading. Decoding is lazy; every access is bounds-checked.
#[derive(Debug)]
pub struct IndexReader {
    data: IndexBytes,
    symbols: Section,
    num_symbols: usize,
    series: Section,
    series_table: Section,
    num_series: usize,
    postings: Section,
    postings_table: Section,
    num_postings: usize,
}

const POSTINGS_ENTRY: usize = 20;

impl IndexReader {
    /// Maps and verifies `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = MappedFile::open(path)?;
        Self::new(IndexBytes::Mapped(file)).map_err(|err| match err {
            Error::Decode { what, reason } => Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("{what}: {reason}"),
            },
            other => other,
        })
    }

    /// Verifies and indexes `data`: magic, table of contents and every section's CRC.
    pub fn new(data: IndexBytes) -> Result<Self> {
        let bytes = data.bytes();
        let bad = |reason: &str| Error::decode("index", reason.to_owned());
        if bytes.len() < HEADER_LEN + TOC_LEN
            || u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) != INDEX_MAGIC
        {
            return Err(bad("bad magic number or file too short"));
        }
        if bytes[4] != INDEX_VERSION {
            return Err(bad("unsupported index version"));
        }
        let toc = &bytes[bytes.len() - TOC_LEN..];
        let stored = u32::from_be_bytes([toc[40], toc[41], toc[42], toc[43]]);
        if crc32c::crc32c(&toc[..40]) != stored {
            return Err(bad("table of contents checksum mismatch"));
        }
        let mut d = Decoder::new("index table of contents", &toc[..40]);
        let mut offsets = [0u64; 5];
        for o in &mut offsets {
            *o = d.u64_be()?;
        }
        let limit = bytes.len() - TOC_LEN;
        let names = [
            "symbols",
            "series",
            "series table",
            "postings",
            "postings table",
        ];
        let mut sections = [Section { start: 0, end: 0 }; 5];
        for (i, &off) in offsets.iter().enumerate() {
            let off = usize::try_from(off).map_err(|_| bad("section offset too large"))?;
            let mut d = Decoder::new(
                "index section",
                bytes
                    .get(off..limit)
                    .ok_or_else(|| bad("section offset outside the file"))?,
            );
            let len = usize::try_from(d.u64_be()?).map_err(|_| bad("section length too large"))?;
            let content = d.bytes(len)?;
            let stored = d.u32_be()?;
            if crc32c::crc32c(content) != stored {
                return Err(Error::decode(
                    "index",
                    format!("{} section checksum mismatch", names[i]),
                ));
            }
            sections[i] = Section {
                start: off + 8,
                end: off + 8 + len,
            };
        }
        let count = |s: Section| -> Result<usize> {
            let b = bytes
                .get(s.start..s.start + 4)
                .ok_or_else(|| bad("section shorter than its count"))?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let num_symbols = count(sections[0])?;
        let num_series = count(sections[2])?;
        let num_postings = count(sections[4])?;
        if 4 + num_symbols * 4 > sections[0].end - sections[0].start
            || 4 + num_series * 8 != sections[2].end - sections[2].start
            || 4 + num_postings * POSTINGS_ENTRY != sections[4].end - sections[4].start
        {
            return Err(bad("section counts do not match section sizes"));
        }
        Ok(Self {
            data,
            symbols: sections[0],
            num_symbols,
            series: sections[1],
            series_table: sections[2],
            num_series,
            postings: sections[3],
            postings_table: sections[4],
            num_postings,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.num_series
    }

    /// Number of symbols.
    pub fn num_symbols(&self) -> usize {
        self.num_symbols
    }

    /// Symbol `id`.
    pub fn symbol(&self, id: u32) -> Result<&str> {
        let id = id as usize;
        if id >= self.num_symbols {
            return Err(Error::decode("index", format!("symbol {id} out of range")));
        }
        let table = self.symbols.start + 4;
        let b = &self.bytes()[table + id * 4..table + id * 4 + 4];
        let rel = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let strings = table + self.num_symbols * 4;
        let area = self
            .bytes()
            .get(strings..self.symbols.end)
            .ok_or_else(|| Error::decode("index", "symbol area outside its section"))?;
        let mut d = Decoder::new(
            "index symbol",
            area.get(rel..)
                .ok_or_else(|| Error::decode("index", "symbol offset outside its section"))?,
        );
        d.str()
    }

    /// The id of `s`, if it is a symbol.
    pub fn find_symbol(&self, s: &str) -> Result<Option<u32>> {
        let (mut lo, mut hi) = (0usize, self.num_symbols);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.symbol(mid as u32)?.cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid as u32)),
            }
        }
        Ok(None)
    }

    /// Labels and chunks of series `ordinal`.
    pub fn series(&self, ordinal: u32) -> Result<(Labels, Vec<IndexChunk>)> {
        let ordinal = ordinal as usize;
        if ordinal >= self.num_series {
            return Err(Error::decode(
                "index",
                format!("series {ordinal} out of range"),
            ));
        }
        let at = self.series_table.start + 4 + ordinal * 8;
        let mut d = Decoder::new("index series table", &self.bytes()[at..at + 8]);
        let off = usize::try_from(d.u64_be()?)
            .map_err(|_| Error::decode("index", "series offset too large"))?;
        let area = self
            .bytes()
            .get(self.series.start + off..self.series.end)
            .ok_or_else(|| Error::decode("index", "series offset outside its section"))?;
        let mut d = Decoder::new("index series", area);
        let n = d.uvarint()? as usize;
        if n > area.len() {
            return Err(Error::decode(
                "index series",
                "label count exceeds the section",
            ));
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.symbol(
                u32::try_from(d.uvarint()?)
                    .map_err(|_| Error::decode("index series", "symbol id too large"))?,
            )?;
            let value = self.symbol(
                u32::try_from(d.uvarint()?)
                    .map_err(|_| Error::decode("index series", "symbol id too large"))?,
            )?;
            if name.is_empty()
                || value.is_empty()
                || labels
                    .last()
                    .is_some_and(|l: &Label| l.name.as_str() >= name)
            {
                return Err(Error::decode(
                    "index series",
                    "labels not sorted, unique and non-empty",
                ));
            }
            labels.push(Label::new(name, value));
        }
        let nchunks = d.uvarint()? as usize;
        if nchunks > area.len() {
            return Err(Error::decode(
                "index series",
                "chunk count exceeds the section",
            ));
        }
        let mut chunks = Vec::with_capacity(nchunks);
        let mut prev: Option<IndexChunk> = None;
        for _ in 0..nchunks {
            let c = match prev {
                None => {
                    let mint = d.varint()?;
                    let maxt = mint.wrapping_add(d.uvarint()? as i64);
                    IndexChunk {
                        mint,
                        maxt,
                        reference: d.uvarint()?,
                    }
                }
                Some(p) => {
                    let mint = p.maxt.wrapping_add(d.uvarint()? as i64);
                    let maxt = mint.wrapping_add(d.uvarint()? as i64);
                    IndexChunk {
                        mint,
                        maxt,
                        reference: p.reference.wrapping_add(d.varint()? as u64),
                    }
                }
            };
            chunks.push(c);
            prev = Some(c);
        }
        Ok((Labels::from_sorted_unchecked(labels), chunks))
    }

    fn postings_entry(&self, i: usize) -> (u32, u32, u64, u32) {
        let at = self.postings_table.start + 4 + i * POSTINGS_ENTRY;
        let b = &self.bytes()[at..at + POSTINGS_ENTRY];
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let v = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let mut o = [0u8; 8];
        o.copy_from_slice(&b[8..16]);
        let len = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        (n, v, u64::from_be_bytes(o), len)
    }

    fn postings_at(&self, i: usize) -> Result<RoaringBitmap> {
        let (_, _, off, len) = self.postings_entry(i);
        let start = self.postings.start
            + usize::try_from(off)
                .map_err(|_| Error::decode("index", "postings offset too large"))?;
        let bytes = self
            .bytes()
            .get(start..start + len as usize)
            .filter(|_| start + len as usize <= self.postings.end)
            .ok_or_else(|| Error::decode("index", "postings outside their section"))?;
        let bitmap = RoaringBitmap::deserialize_from(bytes)
            .map_err(|err| Error::decode("index postings", err.to_string()))?;
        if bitmap.max().is_some_and(|m| m as usize >= self.num_series) {
            return Err(Error::decode(
                "index postings",
                "series ordinal out of range",
            ));
        }
        Ok(bitmap)
    }

    /// Range of postings-table entries for the label name with symbol id `name`.
    fn name_range(&self, name: u32) -> (usize, usize) {
        let lo = partition(self.num_postings, |i| self.postings_entry(i).0 < name);
        let hi = partition(self.num_postings, |i| self.postings_entry(i).0 <= name);
        (lo, hi)
    }

    /// Label names, sorted.
    pub fn label_names(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut last = None;
        for i in 0..self.num_postings {
            let (n, ..) = self.postings_entry(i);
            if last != Some(n) {
                out.push(self.symbol(n)?.to_owned());
                last = Some(n);
            }
        }
        Ok(out)
    }

    /// Values of `name` with their postings, sorted by value.
    pub fn label_values(&self, name: &str) -> Result<Vec<String>> {
        let Some(n) = self.find_symbol(name)? else {
            return Ok(Vec::new());
        };
        let (lo, hi) = self.name_range(n);
        (lo..hi)
            .map(|i| self.symbol(self.postings_entry(i).1).map(str::to_owned))
            .collect()
    }

    /// `(name, value, series count)` for every label pair (cardinality reports).
    pub fn pair_counts(&self) -> Result<Vec<(String, String, u64)>> {
        (0..self.num_postings)
            .map(|i| {
                let (n, v, ..) = self.postings_entry(i);
                Ok((
                    self.symbol(n)?.to_owned(),
                    self.symbol(v)?.to_owned(),
                    self.postings_at(i)?.len(),
                ))
            })
            .collect()
    }

    fn try_postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
        let (Some(n), Some(v)) = (self.find_symbol(name)?, self.find_symbol(value)?) else {
            return Ok(RoaringBitmap::new());
        };
        let (lo, hi) = self.name_range(n);
        let i = lo + partition(hi - lo, |k| self.postings_entry(lo + k).1 < v);
        if i < hi && self.postings_entry(i).1 == v {
            return self.postings_at(i);
        }
        Ok(RoaringBitmap::new())
    }

    fn try_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Result<RoaringBitmap> {
        let Some(n) = self.find_symbol(name)? else {
            return Ok(RoaringBitmap::new());
        };
        let (lo, hi) = self.name_range(n);
        let mut out = RoaringBitmap::new();
        for i in lo..hi {
            if keep(self.symbol(self.postings_entry(i).1)?) {
                out |= self.postings_at(i)?;
            }
        }
        Ok(out)
    }

    /// Checks every series entry and postings list decodes (used by `tocsin tsdb inspect`
    /// and the fuzz target).
    pub fn verify(&self) -> Result<()> {
        for i in 0..self.num_series {
            self.series(i as u32)?;
        }
        for i in 0..self.num_postings {
            let (n, v, ..) = self.postings_entry(i);
            self.symbol(n)?;
            self.symbol(v)?;
            self.postings_at(i)?;
        }
        Ok(())
    }
}

fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Index errors during a select are reported and the lookup treated as empty, so one
/// damaged postings list does not fail every query of the block.
fn or_report(result: Result<RoaringBitmap>) -> RoaringBitmap {
    result.unwrap_or_else(|err| {
        tracing::error!(%err, "damaged block index postings; treating them as empty");
        RoaringBitmap::new()
    })
}

impl LabelIndex for IndexReader {
    type Set = RoaringBitmap;

    fn all(&self) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        out.insert_range(0..self.num_series as u32);
        out
    }

    fn postings(&self, name: &str, value: &str) -> RoaringBitmap {
        or_report(self.try_postings(name, value))
    }

    fn postings_with_prefix(&self, name: &str, prefix: &str) -> RoaringBitmap {
        or_report(self.try_where(name, &|v| v.starts_with(prefix)))
    }

    fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> RoaringBitmap {
        or_report(self.try_where(name, keep))
    }
}
