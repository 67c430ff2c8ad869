//! Snappy block format (what remote_write uses, not the framed stream format), with the
//! declared length checked against a cap before anything is allocated: a few bytes can
//! declare 4 GiB.

/// Why a body could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnappyError {
    /// The declared length is over the cap.
    #[error(
        "snappy body declares {declared} bytes once decompressed, more than the limit of {limit} bytes"
    )]
    TooLarge {
        /// What the header declares.
        declared: u64,
        /// The cap.
        limit: u64,
    },
    /// The body is not valid snappy block data.
    #[error("body is not valid snappy block-format data: {0}")]
    Corrupt(String),
}

/// Decompresses `body`, refusing (before allocating) a declared length above `limit`.
pub fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, SnappyError> {
    let declared =
        snap::raw::decompress_len(body).map_err(|err| SnappyError::Corrupt(err.to_string()))?;
    if declared > limit {
        return Err(SnappyError::TooLarge {
            declared: declared as u64,
            limit: limit as u64,
        });
    }
    let mut out = vec![0; declared];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|err| SnappyError::Corrupt(err.to_string()))?;
    out.truncate(written);
    Ok(out)
}

/// Compresses `data` in the block format.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0; snap::raw::max_compress_len(data.len())];
    match snap::raw::Encoder::new().compress(data, &mut out) {
        Ok(written) => {
            out.truncate(written);
            out
        }
        // Only inputs over 2^32 bytes fail; no remote_write body is that large.
        Err(err) => panic!(
            "invariant: snappy cannot compress {} bytes: {err}",
            data.len()
        ),
    }
}
