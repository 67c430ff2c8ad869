//! Protobuf wire-format primitives over a byte slice.

use super::decode::DecodeError;

/// Protobuf wire types.
pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

/// A cursor over one message's bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Which message is being read, for error messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    // Errors are built out of line: the hot readers below stay small enough to inline into
    // the message walks (not inlined, `key`, `bytes` and `expect` were half of decoding).
    #[cold]
    #[inline(never)]
    fn err(&self, reason: &str) -> DecodeError {
        DecodeError::Malformed(format!("{} at byte {}: {reason}", self.what, self.pos))
    }

    /// A varint; most (keys, lengths of names and values) fit in one byte.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    /// A field key: (field number, wire type).
    #[inline(always)]
    pub(crate) fn key(&mut self) -> Result<(u64, u8), DecodeError> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(self.err("field number 0"));
        }
        Ok((field, (key & 7) as u8))
    }

    #[inline(always)]
    pub(crate) fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let Some(bytes) = self.buf.get(self.pos..self.pos + 8) else {
            return Err(self.err("truncated 64-bit value"));
        };
        self.pos += 8;
        let mut array = [0; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    #[inline(always)]
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len))
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| self.err("length-delimited field runs past the end"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Skips a field of `wire_type` whose key was read.
    pub(crate) fn skip(&mut self, wire_type: u8) -> Result<(), DecodeError> {
        match wire_type {
            VARINT => {
                self.varint()?;
            }
            FIXED64 => {
                self.fixed64()?;
            }
            LEN => {
                self.bytes()?;
            }
            FIXED32 => {
                if self.pos + 4 > self.buf.len() {
                    return Err(self.err("truncated 32-bit value"));
                }
                self.pos += 4;
            }
            other => return Err(self.err(&format!("unsupported wire type {other}"))),
        }
        Ok(())
    }

    /// Fails unless `actual` is `expected` (a field of the wrong type is malformed).
    #[inline(always)]
    pub(crate) fn expect(&self, field: u64, actual: u8, expected: u8) -> Result<(), DecodeError> {
        if actual == expected {
            Ok(())
        } else {
            Err(self.wrong_type(field, actual, expected))
        }
    }

    #[cold]
    #[inline(never)]
    fn wrong_type(&self, field: u64, actual: u8, expected: u8) -> DecodeError {
        self.err(&format!(
            "field {field} has wire type {actual}, expected {expected}"
        ))
    }
}

/// Writes a varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes a varint takes.
#[inline]
pub(crate) fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Writes a field key.
#[inline]
pub(crate) fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u8) {
    put_varint(out, (field << 3) | u64::from(wire_type));
}
