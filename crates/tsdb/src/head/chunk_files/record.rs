//! A record of a head chunk file: series ref, time range, XOR chunk bytes and a CRC.

use crate::encoding::put_uvarint;

/// Fixed bytes of a record before its length: series ref, mint, maxt (8 each), encoding.
pub(super) const RECORD_FIXED: usize = 25;
/// Chunks are at most this long (a head chunk is sealed at a few hundred bytes).
const MAX_CHUNK_LEN: usize = u16::MAX as usize;

/// One record of a head chunk file.
#[derive(Debug, Clone, Copy)]
pub struct HeadChunkRecord<'a> {
    /// Series ref.
    pub sref: u64,
    /// First timestamp.
    pub mint: i64,
    /// Last timestamp.
    pub maxt: i64,
    /// The chunk bytes (XOR encoding).
    pub data: &'a [u8],
    /// Offset of the data from the start of the record.
    pub data_offset: usize,
    /// Bytes the whole record takes.
    pub len: usize,
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes end inside the record.
    Torn,
    /// The record is damaged.
    Bad(String),
}

/// Parses the record at the start of `at`, checksum verified. Never panics (fuzzed).
pub fn parse_record(at: &[u8]) -> Result<HeadChunkRecord<'_>, RecordError> {
    let rec = parse_header(at)?;
    let stored = u32::from_be_bytes([
        at[rec.len - 4],
        at[rec.len - 3],
        at[rec.len - 2],
        at[rec.len - 1],
    ]);
    let crc = crc32c::crc32c(&at[..rec.len - 4]);
    if crc != stored {
        return Err(RecordError::Bad(format!(
            "checksum mismatch (stored {stored:08x}, computed {crc:08x})"
        )));
    }
    if at[RECORD_FIXED - 1] != crate::chunkenc::Encoding::Xor as u8 {
        return Err(RecordError::Bad(format!(
            "unknown head chunk encoding {}",
            at[RECORD_FIXED - 1]
        )));
    }
    if rec.sref == 0 || rec.mint > rec.maxt || rec.data.len() < 2 {
        return Err(RecordError::Bad(
            "impossible series ref, time range or length".to_owned(),
        ));
    }
    Ok(rec)
}

/// Parses the record at the start of `at` without checking its CRC or contents (for
/// records already verified).
pub(super) fn parse_header(at: &[u8]) -> Result<HeadChunkRecord<'_>, RecordError> {
    let Some(fixed) = at.get(..RECORD_FIXED) else {
        return Err(RecordError::Torn);
    };
    let be = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&fixed[i..i + 8]);
        u64::from_be_bytes(b)
    };
    let (sref, mint, maxt) = (be(0), be(8) as i64, be(16) as i64);
    let mut len = 0usize;
    let mut pos = RECORD_FIXED;
    let mut shift = 0;
    loop {
        let Some(&byte) = at.get(pos) else {
            return Err(RecordError::Torn);
        };
        pos += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
        if shift > 14 {
            return Err(RecordError::Bad(
                "chunk length exceeds the maximum".to_owned(),
            ));
        }
    }
    if len > MAX_CHUNK_LEN {
        return Err(RecordError::Bad(format!(
            "chunk length {len} exceeds the maximum"
        )));
    }
    let data_offset = pos;
    let end = data_offset + len + 4;
    if at.len() < end {
        return Err(RecordError::Torn);
    }
    Ok(HeadChunkRecord {
        sref,
        mint,
        maxt,
        data: &at[data_offset..data_offset + len],
        data_offset,
        len: end,
    })
}

/// Appends a record to `out`; returns the offset of its data within the record.
pub(super) fn encode_record(
    out: &mut Vec<u8>,
    sref: u64,
    mint: i64,
    maxt: i64,
    data: &[u8],
) -> usize {
    let start = out.len();
    out.extend_from_slice(&sref.to_be_bytes());
    out.extend_from_slice(&mint.to_be_bytes());
    out.extend_from_slice(&maxt.to_be_bytes());
    out.push(crate::chunkenc::Encoding::Xor as u8);
    put_uvarint(out, data.len() as u64);
    let data_offset = out.len() - start;
    out.extend_from_slice(data);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
    data_offset
}

/// Samples announced by an XOR chunk's header.
pub(super) fn xor_samples(data: &[u8]) -> u16 {
    match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// Bytes of a record's header before the data of a chunk of `len` bytes.
pub(super) fn header_len(len: u32) -> usize {
    let mut varint = Vec::with_capacity(3);
    put_uvarint(&mut varint, u64::from(len));
    RECORD_FIXED + varint.len()
}
