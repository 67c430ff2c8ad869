//! Prometheus's XOR chunk: a 2-byte big-endian sample count, then a bit stream of the first
//! timestamp (varint) and value (64 bits), the second timestamp's delta (uvarint), and for
//! every later sample the delta-of-delta in a 1/2/3/4-bit-prefixed bucket and the value XOR'd
//! with its predecessor (Gorilla). Byte-compatible with `chunkenc.XORChunk`.

use tocsin_model::Sample;

use super::bstream::{BitReader, BitWriter};
use crate::{Error, Result};

/// Appends samples to one XOR chunk. About 40 bytes of state plus the encoded bytes.
#[derive(Debug, Clone)]
pub struct XorAppender {
    stream: BitWriter,
    num: u16,
    t: i64,
    v: f64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

impl XorAppender {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty chunk with room for `bytes` encoded bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.max(2));
        buf.extend_from_slice(&[0, 0]);
        Self {
            stream: BitWriter::with_bytes(buf),
            num: 0,
            t: 0,
            v: 0.0,
            t_delta: 0,
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Samples in the chunk.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// Encoded size so far.
    pub fn size(&self) -> usize {
        self.stream.bytes.len()
    }

    /// The encoded chunk (valid at any point between appends).
    pub fn bytes(&self) -> &[u8] {
        &self.stream.bytes
    }

    /// Consumes the appender, returning the encoded chunk.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.stream.bytes.shrink_to_fit();
        self.stream.bytes
    }

    /// Empties the chunk, keeping its buffer (a series reuses it for its next chunk instead
    /// of freeing and regrowing one, which fragments the heap).
    pub fn reset(&mut self) {
        self.stream.bytes.truncate(2);
        self.stream.bytes[0] = 0;
        self.stream.bytes[1] = 0;
        self.stream.free = 0;
        self.num = 0;
        self.t = 0;
        self.v = 0.0;
        self.t_delta = 0;
        self.leading = 0xff;
        self.trailing = 0;
    }

    /// Releases spare capacity (sealed chunks stay in memory until they are persisted).
    pub fn shrink(&mut self) {
        self.stream.bytes.shrink_to_fit();
    }

    /// Appends one sample. The caller keeps timestamps increasing and at most `u16::MAX`
    /// samples per chunk.
    pub fn append(&mut self, t: i64, v: f64) {
        match self.num {
            0 => {
                self.stream.write_varint(t);
                self.stream.write_bits(v.to_bits(), 64);
            }
            1 => {
                let t_delta = t.wrapping_sub(self.t) as u64;
                self.stream.write_uvarint(t_delta);
                self.write_value(v);
                self.t_delta = t_delta;
            }
            _ => {
                let t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.stream.write_bit(false);
                } else if bit_range(dod, 14) {
                    self.stream.write_bits(0b10, 2);
                    self.stream.write_bits(dod as u64, 14);
                } else if bit_range(dod, 17) {
                    self.stream.write_bits(0b110, 3);
                    self.stream.write_bits(dod as u64, 17);
                } else if bit_range(dod, 20) {
                    self.stream.write_bits(0b1110, 4);
                    self.stream.write_bits(dod as u64, 20);
                } else {
                    self.stream.write_bits(0b1111, 4);
                    self.stream.write_bits(dod as u64, 64);
                }
                self.write_value(v);
                self.t_delta = t_delta;
            }
        }
        self.t = t;
        self.v = v;
        self.num = self.num.wrapping_add(1);
        self.stream.bytes[..2].copy_from_slice(&self.num.to_be_bytes());
    }

    fn write_value(&mut self, v: f64) {
        let delta = v.to_bits() ^ self.v.to_bits();
        if delta == 0 {
            self.stream.write_bit(false);
            return;
        }
        self.stream.write_bit(true);
        let mut leading = delta.leading_zeros() as u8;
        let trailing = delta.trailing_zeros() as u8;
        if leading >= 32 {
            leading = 31;
        }
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            self.stream.write_bit(false);
            self.stream.write_bits(
                delta >> self.trailing,
                64 - u32::from(self.leading) - u32::from(self.trailing),
            );
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        self.stream.write_bit(true);
        self.stream.write_bits(u64::from(leading), 5);
        let sigbits = 64 - u32::from(leading) - u32::from(trailing);
        // 64 significant bits are written as 0 in 6 bits, as Prometheus does.
        self.stream.write_bits(u64::from(sigbits), 6);
        self.stream.write_bits(delta >> trailing, sigbits);
    }
}

/// Decodes an XOR chunk sample by sample.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    reader: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> XorIter<'a> {
    /// Starts reading `chunk` (header included).
    pub fn new(chunk: &'a [u8]) -> Result<Self> {
        if chunk.len() < 2 {
            return Err(Error::decode("xor chunk", "shorter than its 2-byte header"));
        }
        Ok(Self {
            reader: BitReader::new(&chunk[2..]),
            total: u16::from_be_bytes([chunk[0], chunk[1]]),
            read: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
        })
    }

    /// Samples the header announces.
    pub fn len(&self) -> usize {
        usize::from(self.total)
    }

    /// Whether the chunk holds no samples.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The next sample, `None` after the last, an error if the bytes are damaged.
    pub fn next_sample(&mut self) -> Result<Option<Sample>> {
        if self.read >= self.total {
            return Ok(None);
        }
        match self.read {
            0 => {
                self.t = self.reader.read_varint()?;
                self.v = self.reader.read_bits(64)?;
            }
            1 => {
                self.t_delta = self.reader.read_uvarint()?;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()?;
            }
            _ => {
                let mut prefix = 0u8;
                for _ in 0..4 {
                    prefix <<= 1;
                    if !self.reader.read_bit()? {
                        break;
                    }
                    prefix |= 1;
                }
                let size = match prefix {
                    0b0 => 0,
                    0b10 => 14,
                    0b110 => 17,
                    0b1110 => 20,
                    _ => 64,
                };
                let mut dod = 0i64;
                if size != 0 {
                    let mut bits = self.reader.read_bits(size)?;
                    if size != 64 && bits > 1 << (size - 1) {
                        bits = bits.wrapping_sub(1 << size);
                    }
                    dod = bits as i64;
                }
                self.t_delta = (self.t_delta as i64).wrapping_add(dod) as u64;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()?;
            }
        }
        self.read += 1;
        Ok(Some(Sample::new(self.t, f64::from_bits(self.v))))
    }

    fn read_value(&mut self) -> Result<()> {
        if !self.reader.read_bit()? {
            return Ok(());
        }
        if self.reader.read_bit()? {
            self.leading = self.reader.read_bits(5)? as u8;
            let mut sigbits = self.reader.read_bits(6)? as u8;
            if sigbits == 0 {
                sigbits = 64;
            }
            if u32::from(self.leading) + u32::from(sigbits) > 64 {
                return Err(Error::decode("xor chunk", "value bit widths exceed 64"));
            }
            self.trailing = 64 - self.leading - sigbits;
        }
        let sigbits = 64 - u32::from(self.leading) - u32::from(self.trailing);
        let bits = self.reader.read_bits(sigbits)?;
        self.v ^= if self.trailing >= 64 {
            0
        } else {
            bits << self.trailing
        };
        Ok(())
    }
}
