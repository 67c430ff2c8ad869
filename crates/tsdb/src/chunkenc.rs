//! Chunk encodings. The head appends to XOR chunks (Gorilla-style delta-of-delta timestamps
//! and XOR floats, byte-compatible with Prometheus's `chunkenc.XORChunk`); sealed chunks
//! written to blocks are re-encoded with pco when that is smaller, with timestamps on a fixed
//! step stored as start and step. Formats are in `docs/format/chunks.md`.

mod bstream;
mod dense;
mod regular;
mod xor;

#[cfg(test)]
mod tests;

pub use self::dense::encode_dense;
pub use self::regular::encode_regular;
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
    /// Timestamps on a fixed step with exceptions, pco-compressed values (sealed only).
    Regular = 3,
}

impl Encoding {
    /// The encoding for an on-disk byte.
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(Self::Xor),
            2 => Ok(Self::Dense),
            3 => Ok(Self::Regular),
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
        Encoding::Regular => regular::decode(data),
    }
}

/// Encodes sealed samples the smallest way: pco values with regular or pco timestamps when
/// that beats XOR, else XOR. Between the two pco forms the regular one wins ties, being the
/// cheaper to decode.
pub fn encode_best(samples: &[Sample]) -> (Encoding, Vec<u8>) {
    let xor = encode_xor(samples);
    // pco has a fixed overhead of a few dozen bytes; tiny chunks stay XOR.
    if samples.len() < 16 {
        return (Encoding::Xor, xor);
    }
    let mut best = (Encoding::Xor, xor);
    if let Some(regular) = encode_regular(samples) {
        if regular.len() < best.1.len() {
            best = (Encoding::Regular, regular);
        }
    } else {
        let dense = encode_dense(samples);
        if dense.len() < best.1.len() {
            best = (Encoding::Dense, dense);
        }
    }
    best
}

/// Encodes samples as one XOR chunk. At most `u16::MAX` samples (callers split).
pub fn encode_xor(samples: &[Sample]) -> Vec<u8> {
    let mut app = XorAppender::new();
    for s in samples {
        app.append(s.t, s.v);
    }
    app.into_bytes()
}
