//! Chunk decoding (XOR, pco-dense and regular) and the framed chunk parser never panic; whatever the
//! XOR decoder accepts re-encodes to the same samples.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_tsdb::block::parse_chunk;
use tocsin_tsdb::chunkenc::{Encoding, decode, encode_xor};

fuzz_target!(|data: &[u8]| {
    if let Ok(samples) = decode(Encoding::Xor, data)
        && samples.windows(2).all(|w| w[0].t < w[1].t)
    {
        let again = decode(Encoding::Xor, &encode_xor(&samples)).expect("re-encoded chunk decodes");
        assert_eq!(again.len(), samples.len());
        for (a, b) in again.iter().zip(&samples) {
            assert!(a.bitwise_eq(b));
        }
    }
    let _ = decode(Encoding::Dense, data);
    if let Ok(samples) = decode(Encoding::Regular, data) {
        assert!(samples.windows(2).all(|w| w[0].t < w[1].t));
    }
    if let Ok((encoding, start, end)) = parse_chunk(data) {
        let _ = decode(encoding, &data[start..end]);
    }
});
