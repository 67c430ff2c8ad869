//! WAL records: framing (type, length, CRC32-Castagnoli) and the payloads for series,
//! samples and tombstones. The format is in `docs/format/wal.md`.

use tocsin_model::{Label, Labels};

use crate::encoding::{Decoder, put_bytes, put_uvarint, put_varint};
use crate::{Error, Result};

/// Bytes of a record header: type, big-endian length, big-endian CRC32-C.
pub const HEADER_LEN: usize = 9;

/// Largest payload accepted; a longer length field is damage, not data.
pub const MAX_RECORD_LEN: usize = 256 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// New series: refs and their labels.
    Series = 1,
    /// Samples of known series.
    Samples = 2,
    /// Deletions: series refs and time ranges.
    Tombstones = 3,
}

impl RecordType {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Series),
            2 => Some(Self::Samples),
            3 => Some(Self::Tombstones),
            _ => None,
        }
    }
}

/// One sample of a series known by its ref.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    /// Series ref.
    pub series: u64,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// One series announcement.
#[derive(Debug, Clone, PartialEq)]
pub struct RefSeries {
    /// The ref later records use.
    pub series: u64,
    /// Its labels.
    pub labels: Labels,
}

/// One deletion of a series' samples in `[mint, maxt]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTombstone {
    /// Series ref.
    pub series: u64,
    /// First deleted timestamp.
    pub mint: i64,
    /// Last deleted timestamp.
    pub maxt: i64,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Series.
    Series(Vec<RefSeries>),
    /// Samples.
    Samples(Vec<RefSample>),
    /// Tombstones.
    Tombstones(Vec<RefTombstone>),
}

/// Frames `payload` as a record of `kind` and appends it to `out`.
pub fn frame(out: &mut Vec<u8>, kind: RecordType, payload: &[u8]) {
    let len = (payload.len() as u32).to_be_bytes();
    let mut crc = crc32c::crc32c(&[kind as u8]);
    crc = crc32c::crc32c_append(crc, &len);
    crc = crc32c::crc32c_append(crc, payload);
    out.push(kind as u8);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Starts a record in `out` whose payload the caller appends next; [`finish_frame`] fills
/// the header in. Avoids copying large sample payloads.
pub fn begin_frame(out: &mut Vec<u8>, kind: RecordType) -> usize {
    let start = out.len();
    out.push(kind as u8);
    out.extend_from_slice(&[0; 8]);
    start
}

/// Completes a record begun at `start`.
pub fn finish_frame(out: &mut [u8], start: usize) {
    let payload_len = (out.len() - start - HEADER_LEN) as u32;
    out[start + 1..start + 5].copy_from_slice(&payload_len.to_be_bytes());
    let mut crc = crc32c::crc32c(&out[start..start + 5]);
    crc = crc32c::crc32c_append(crc, &out[start + HEADER_LEN..]);
    out[start + 5..start + 9].copy_from_slice(&crc.to_be_bytes());
}

/// Why the bytes at an offset are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The data ends inside a header or payload (a torn write).
    Torn,
    /// The bytes are present but wrong.
    Bad(String),
}

/// Reads the header of the record framed at the start of `data` without checking its CRC:
/// its type, payload length and total length. The payload is present in `data`.
pub fn read_frame_header(
    data: &[u8],
) -> std::result::Result<(RecordType, usize, usize), FrameError> {
    if data.len() < HEADER_LEN {
        return Err(FrameError::Torn);
    }
    let kind = RecordType::from_byte(data[0])
        .ok_or_else(|| FrameError::Bad(format!("unknown record type {}", data[0])))?;
    let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    if len > MAX_RECORD_LEN {
        return Err(FrameError::Bad(format!(
            "record length {len} exceeds the maximum"
        )));
    }
    if data.len() < HEADER_LEN + len {
        return Err(FrameError::Torn);
    }
    Ok((kind, len, HEADER_LEN + len))
}

/// Checks the CRC of the record whose payload is `data[payload]` (its header is the
/// [`HEADER_LEN`] bytes before). `None` when it matches, else why not.
pub fn check_frame(data: &[u8], payload: std::ops::Range<usize>) -> Option<String> {
    let start = payload.start.checked_sub(HEADER_LEN)?;
    let header = &data[start..payload.start];
    let want = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
    let mut crc = crc32c::crc32c(&header[..5]);
    crc = crc32c::crc32c_append(crc, &data[payload]);
    (crc != want).then(|| format!("checksum mismatch (stored {want:08x}, computed {crc:08x})"))
}

/// Reads the record framed at the start of `data`: its type, payload, and total length.
pub fn read_frame(data: &[u8]) -> std::result::Result<(RecordType, &[u8], usize), FrameError> {
    if data.len() < HEADER_LEN {
        return Err(FrameError::Torn);
    }
    let kind = RecordType::from_byte(data[0])
        .ok_or_else(|| FrameError::Bad(format!("unknown record type {}", data[0])))?;
    let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    if len > MAX_RECORD_LEN {
        return Err(FrameError::Bad(format!(
            "record length {len} exceeds the maximum"
        )));
    }
    let want = u32::from_be_bytes([data[5], data[6], data[7], data[8]]);
    let Some(payload) = data.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(FrameError::Torn);
    };
    let mut crc = crc32c::crc32c(&data[..5]);
    crc = crc32c::crc32c_append(crc, payload);
    if crc != want {
        return Err(FrameError::Bad(format!(
            "checksum mismatch (stored {want:08x}, computed {crc:08x})"
        )));
    }
    Ok((kind, payload, HEADER_LEN + len))
}

/// Encodes series announcements as a payload.
pub fn encode_series<'a>(out: &mut Vec<u8>, series: impl IntoIterator<Item = (u64, &'a Labels)>) {
    for (r, labels) in series {
        put_uvarint(out, r);
        put_uvarint(out, labels.len() as u64);
        for label in labels {
            put_bytes(out, label.name.as_bytes());
            put_bytes(out, label.value.as_bytes());
        }
    }
}

/// Encodes samples as a payload: the first ref and time, then deltas to the previous.
pub fn encode_samples(out: &mut Vec<u8>, samples: impl IntoIterator<Item = RefSample>) {
    let mut prev: Option<(u64, i64)> = None;
    for s in samples {
        match prev {
            None => {
                put_uvarint(out, s.series);
                put_varint(out, s.t);
            }
            Some((r, t)) => {
                put_varint(out, s.series.wrapping_sub(r) as i64);
                put_varint(out, s.t.wrapping_sub(t));
            }
        }
        out.extend_from_slice(&s.v.to_bits().to_le_bytes());
        prev = Some((s.series, s.t));
    }
}

/// Encodes tombstones as a payload.
pub fn encode_tombstones(out: &mut Vec<u8>, tombstones: &[RefTombstone]) {
    for t in tombstones {
        put_uvarint(out, t.series);
        put_varint(out, t.mint);
        put_varint(out, t.maxt);
    }
}

/// Decodes a record payload of `kind`.
pub fn decode(kind: RecordType, payload: &[u8]) -> Result<Record> {
    match kind {
        RecordType::Series => decode_series(payload).map(Record::Series),
        RecordType::Samples => {
            let mut out = Vec::new();
            decode_samples(payload, &mut out)?;
            Ok(Record::Samples(out))
        }
        RecordType::Tombstones => decode_tombstones(payload).map(Record::Tombstones),
    }
}

/// Decodes a series payload; labels must be sorted, unique and non-empty.
pub fn decode_series(payload: &[u8]) -> Result<Vec<RefSeries>> {
    let mut d = Decoder::new("WAL series record", payload);
    let mut out = Vec::new();
    while d.remaining() > 0 {
        let series = d.uvarint()?;
        let n = d.uvarint()? as usize;
        if n > d.remaining() {
            return Err(Error::decode(
                "WAL series record",
                "label count exceeds the record",
            ));
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.str()?;
            let value = d.str()?;
            if name.is_empty() || value.is_empty() {
                return Err(Error::decode(
                    "WAL series record",
                    "empty label name or value",
                ));
            }
            if let Some(prev) = labels.last().map(|l: &Label| l.name.as_str())
                && prev >= name
            {
                return Err(Error::decode(
                    "WAL series record",
                    "labels not sorted and unique",
                ));
            }
            labels.push(Label::new(name, value));
        }
        out.push(RefSeries {
            series,
            labels: Labels::from_sorted_unchecked(labels),
        });
    }
    Ok(out)
}

/// Decodes a samples payload, appending to `out`.
pub fn decode_samples(payload: &[u8], out: &mut Vec<RefSample>) -> Result<()> {
    out.reserve(payload.len() / 10);
    for_each_sample(payload, |s| out.push(s))
}

/// An unsigned varint at `*pos`, one-byte values (the common case in sample records) first.
#[inline(always)]
fn uvarint_at(data: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *data.get(*pos)?;
    *pos += 1;
    if first < 0x80 {
        return Some(u64::from(first));
    }
    let mut out = u64::from(first & 0x7f);
    let mut shift = 7u32;
    loop {
        let byte = *data.get(*pos)?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return None;
        }
        out |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(out);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[inline(always)]
fn varint_at(data: &[u8], pos: &mut usize) -> Option<i64> {
    let u = uvarint_at(data, pos)?;
    Some(((u >> 1) as i64) ^ -((u & 1) as i64))
}

/// Decodes a samples payload, calling `f` with each sample in order (the replay's hot loop:
/// nothing is collected). Samples before an error have been passed to `f`.
#[inline]
pub fn for_each_sample(payload: &[u8], mut f: impl FnMut(RefSample)) -> Result<()> {
    let bad = || Error::decode("WAL samples record", "truncated or overlong field");
    let mut pos = 0usize;
    let (mut r, mut t) = (0u64, 0i64);
    let mut first = true;
    while pos < payload.len() {
        if first {
            r = uvarint_at(payload, &mut pos).ok_or_else(bad)?;
            t = varint_at(payload, &mut pos).ok_or_else(bad)?;
            first = false;
        } else {
            r = r.wrapping_add(varint_at(payload, &mut pos).ok_or_else(bad)? as u64);
            t = t.wrapping_add(varint_at(payload, &mut pos).ok_or_else(bad)?);
        }
        let v = payload
            .get(pos..pos + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(bad)?;
        pos += 8;
        f(RefSample {
            series: r,
            t,
            v: f64::from_bits(u64::from_le_bytes(v)),
        });
    }
    Ok(())
}

/// Decodes a tombstones payload.
pub fn decode_tombstones(payload: &[u8]) -> Result<Vec<RefTombstone>> {
    let mut d = Decoder::new("WAL tombstones record", payload);
    let mut out = Vec::new();
    while d.remaining() > 0 {
        out.push(RefTombstone {
            series: d.uvarint()?,
            mint: d.varint()?,
            maxt: d.varint()?,
        });
    }
    Ok(out)
}
