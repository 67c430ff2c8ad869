//! Byte-level helpers shared by the WAL, index and chunk files: varints (LEB128, zigzag for
//! signed) and a bounds-checked decoder that turns every short read into an error.

use crate::{Error, Result};

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads a byte slice front to back.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    what: &'static str,
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// Decodes `data`, naming `what` in errors.
    pub fn new(what: &'static str, data: &'a [u8]) -> Self {
        Self { what, data, pos: 0 }
    }

    fn short(&self) -> Error {
        Error::decode(self.what, format!("ends early at byte {}", self.pos))
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// An unsigned varint.
    #[inline]
    pub fn uvarint(&mut self) -> Result<u64> {
        let mut out = 0u64;
        let mut shift = 0u32;
        loop {
            let byte = *self.data.get(self.pos).ok_or_else(|| self.short())?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(Error::decode(self.what, "varint overflows 64 bits"));
            }
            out |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(out);
            }
            shift += 7;
            if shift > 63 {
                return Err(Error::decode(self.what, "varint overflows 64 bits"));
            }
        }
    }

    /// A zigzag varint.
    #[inline]
    pub fn varint(&mut self) -> Result<i64> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        let byte = *self.data.get(self.pos).ok_or_else(|| self.short())?;
        self.pos += 1;
        Ok(byte)
    }

    /// A big-endian u32.
    pub fn u32_be(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian u64.
    pub fn u64_be(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A little-endian u64 (sample values in WAL records).
    #[inline]
    pub fn u64_le(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.short())?;
        let out = self.data.get(self.pos..end).ok_or_else(|| self.short())?;
        self.pos = end;
        Ok(out)
    }

    /// A length-prefixed byte string.
    pub fn len_bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| self.short())?;
        self.bytes(n)
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str> {
        let bytes = self.len_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| Error::decode(self.what, "string is not UTF-8"))
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.pos..];
        self.pos = self.data.len();
        out
    }
}
