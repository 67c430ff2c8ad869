//! Bit streams, most significant bit first (Prometheus's `bstream`).

use crate::{Error, Result};

/// Appends bits to a byte vector. `free` is the number of unused low bits in the last byte.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    pub(crate) bytes: Vec<u8>,
    pub(crate) free: u8,
}

impl BitWriter {
    pub(crate) fn with_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes, free: 0 }
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    /// Writes the low `nbits` bits of `value` (nbits ≤ 64).
    #[inline]
    pub(crate) fn write_bits(&mut self, value: u64, mut nbits: u32) {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return;
        }
        // Left-align so the next bit to write is the top bit.
        let mut v = if nbits == 64 {
            value
        } else {
            value << (64 - nbits)
        };
        // Fill the partial last byte first.
        if self.free > 0 {
            let take = u32::from(self.free).min(nbits);
            let top = (v >> (64 - take)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= top << (u32::from(self.free) - take);
            self.free -= take as u8;
            nbits -= take;
            v = if take == 64 { 0 } else { v << take };
        }
        while nbits >= 8 {
            self.bytes.push((v >> 56) as u8);
            v <<= 8;
            nbits -= 8;
        }
        if nbits > 0 {
            self.bytes.push((v >> 56) as u8);
            self.free = (8 - nbits) as u8;
        }
    }

    pub(crate) fn write_uvarint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.write_bits((value as u8 | 0x80).into(), 8);
            value >>= 7;
        }
        self.write_bits(value, 8);
    }

    pub(crate) fn write_varint(&mut self, value: i64) {
        self.write_uvarint(zigzag(value));
    }
}

/// Reads bits from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Next bit position.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn eof() -> Error {
        Error::decode("chunk", "bit stream ends early")
    }

    #[inline]
    pub(crate) fn read_bit(&mut self) -> Result<bool> {
        let byte = *self.bytes.get(self.pos >> 3).ok_or_else(Self::eof)?;
        let bit = (byte >> (7 - (self.pos & 7))) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// Reads `nbits` (≤ 64) bits as the low bits of the result.
    #[inline]
    pub(crate) fn read_bits(&mut self, nbits: u32) -> Result<u64> {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return Ok(0);
        }
        let end = self.pos + nbits as usize;
        if end > self.bytes.len() * 8 {
            return Err(Self::eof());
        }
        // Fast path: load 8 bytes covering the first up-to-57 bits.
        let byte = self.pos >> 3;
        let shift = (self.pos & 7) as u32;
        if nbits + shift <= 64 && byte + 8 <= self.bytes.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.bytes[byte..byte + 8]);
            let w = u64::from_be_bytes(word) << shift;
            self.pos = end;
            return Ok(if nbits == 64 { w } else { w >> (64 - nbits) });
        }
        let mut out = 0u64;
        for _ in 0..nbits {
            out = (out << 1) | u64::from(self.read_bit()?);
        }
        Ok(out)
    }

    pub(crate) fn read_uvarint(&mut self) -> Result<u64> {
        let mut out = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.read_bits(8)? as u8;
            if shift == 63 && byte > 1 {
                return Err(Error::decode("chunk", "varint overflows 64 bits"));
            }
            out |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(out);
            }
            shift += 7;
            if shift > 63 {
                return Err(Error::decode("chunk", "varint overflows 64 bits"));
            }
        }
    }

    pub(crate) fn read_varint(&mut self) -> Result<i64> {
        Ok(unzigzag(self.read_uvarint()?))
    }
}

#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}
