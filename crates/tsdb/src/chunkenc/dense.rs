//! Dense sealed chunks: timestamps and values each compressed with pco (lossless for every
//! float bit pattern, the stale marker included). Layout: uvarint sample count, uvarint byte
//! length of the timestamp page, the timestamp page (pco i64), the value page (pco f64).

use tocsin_model::Sample;

use crate::encoding::{Decoder, put_uvarint};
use crate::{Error, Result};

/// Encodes samples (any count) as a dense chunk.
pub fn encode_dense(samples: &[Sample]) -> Vec<u8> {
    let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
    let vs: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let t_page = compress_page(&ts);
    let v_page = compress_page(&vs);
    let mut out = Vec::with_capacity(t_page.len() + v_page.len() + 10);
    put_uvarint(&mut out, samples.len() as u64);
    put_uvarint(&mut out, t_page.len() as u64);
    out.extend_from_slice(&t_page);
    out.extend_from_slice(&v_page);
    out
}

/// Bytes after the pages handed to pco: more than its largest read-ahead window (a batch of
/// 512 latents of 16 bytes).
const READ_AHEAD_PADDING: usize = 16 * 1024;

thread_local! {
    /// The pages of the chunk being decoded, followed by at least `READ_AHEAD_PADDING` bytes
    /// (reused across chunks).
    static PADDED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Decompresses one pco standalone page. pco reads ahead in windows of up to 8 KiB; at the end
/// of its input it copies into a fresh zeroed buffer each time, which cost more than decoding
/// a 240-sample chunk. So the page is copied to the front of a reused buffer that extends well
/// past it, and reads ahead stay in the buffer. The page ends with pco's own terminator, so
/// whatever an earlier chunk left after it is never taken for data: the tail is not re-zeroed
/// (that memset was a quarter of an instant query's instructions).
pub(crate) fn decompress_page<T: pco::data_types::Number>(
    what: &'static str,
    page: &[u8],
) -> Result<Vec<T>> {
    PADDED.with_borrow_mut(|padded| {
        let needed = page.len() + READ_AHEAD_PADDING;
        if padded.len() < needed {
            padded.resize(needed, 0);
        }
        padded[..page.len()].copy_from_slice(page);
        pco::standalone::simple_decompress(&padded[..needed])
            .map_err(|err| Error::decode(what, err.to_string()))
    })
}

/// pco's compression level for sealed chunks. Chunks hold at most 480 samples; at level 4
/// (up to 16 bins) their pages were as small as at the default 8 (up to 256 bins) within a
/// few bytes, and decoding, whose cost on chunks this short is mostly building the bins'
/// tables, was faster.
const COMPRESSION_LEVEL: usize = 4;

/// Compresses numbers as one pco standalone page.
pub(crate) fn compress_page<T: pco::data_types::Number>(numbers: &[T]) -> Vec<u8> {
    let config = pco::ChunkConfig::default().with_compression_level(COMPRESSION_LEVEL);
    // pco fails only on invalid configurations; level 4 is inside its 0..=12.
    pco::standalone::simple_compress(numbers, &config)
        .expect("invariant: the pco configuration is valid")
}

/// Decodes a dense chunk.
pub(crate) fn decode(data: &[u8]) -> Result<Vec<Sample>> {
    let mut d = Decoder::new("dense chunk", data);
    let n = d.uvarint()? as usize;
    let t_len = d.uvarint()? as usize;
    let t_page = d.bytes(t_len)?;
    let v_page = d.rest();
    // A sample takes at least a few bits in each page; refuse absurd counts before pco
    // allocates for them.
    if n > (t_page.len() + v_page.len()) * 64 + 64 {
        return Err(Error::decode(
            "dense chunk",
            format!("implausible sample count {n}"),
        ));
    }
    let ts: Vec<i64> = decompress_page("dense chunk timestamps", t_page)?;
    let vs: Vec<f64> = decompress_page("dense chunk values", v_page)?;
    if ts.len() != n || vs.len() != n {
        return Err(Error::decode(
            "dense chunk",
            format!(
                "header says {n} samples, pages hold {} and {}",
                ts.len(),
                vs.len()
            ),
        ));
    }
    Ok(ts
        .into_iter()
        .zip(vs)
        .map(|(t, v)| Sample::new(t, v))
        .collect())
}
