//! Chunk encodings. The head appends to XOR chunks (Gorilla-style delta-of-delta timestamps
//! and XOR floats, byte-compatible with Prometheus's `chunkenc.XORChunk`); sealed chunks
//! written to blocks are re-encoded with pco when that is smaller. Formats are in
//! `docs/format/chunks.md`.

mod bstream;
mod dense;
mod xor;

#[cfg(test)]
mod tests;

pub use self::dense::encode_dense;
pub use self::xor::{XorAppender, XorIter};
use crate::{Error, Result};
use tocsin_model::Sample;

/// How a chunk's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Encoding {
    /// Prometheus XOR chunk (appendable).
    Xor = 1,
    /// pco-compressed timestamps and values (sealed only).
    Dense = 2,
}

impl Encoding {
    /// The encoding for an on-disk byte.
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(Self::Xor),
            2 => Ok(Self::Dense),
            other => Err(Error::decode(
                "chunk",
                format!("unknown chunk encoding {other}"),
            )),
        }
    }
}

/// Decodes a whole chunk. Every malformed input is an error, never a panic (fuzzed).
pub fn decode(encoding: Encoding, data: &[u8]) -> Result<Vec<Sample>> {
    match encoding {
        Encoding::Xor => {
            let mut it = XorIter::new(data)?;
            let mut out = Vec::with_capacity(it.len());
            while let Some(sample) = it.next_sample()? {
                out.push(sample);
            }
            Ok(out)
        }
        Encoding::Dense => dense::decode(data),
    }
}

/// Encodes sealed samples the smallest way: pco when it beats XOR, else XOR.
pub fn encode_best(samples: &[Sample]) -> (Encoding, Vec<u8>) {
    let xor = encode_xor(samples);
    // pco has a fixed overhead of a few dozen bytes; tiny chunks stay XOR.
    if samples.len() >= 16 {
        let dense = encode_dense(samples);
        if dense.len() < xor.len() {
            return (Encoding::Dense, dense);
        }
    }
    (Encoding::Xor, xor)
}

/// Encodes samples as one XOR chunk. At most `u16::MAX` samples (callers split).
pub fn encode_xor(samples: &[Sample]) -> Vec<u8> {
    let mut app = XorAppender::new();
    for s in samples {
        app.append(s.t, s.v);
    }
    app.into_bytes()
}
