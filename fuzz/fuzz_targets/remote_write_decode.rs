//! remote_write decoding: snappy with a cap, then the 1.0 and 2.0 protobuf walks. Never
//! panics, never allocates past the cap, and a decoded 1.0 request re-encodes to a body
//! that decodes to the same series.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_ingest::remote_write::{V1Encoder, decode_v1, decode_v2, decompress};

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = decompress(data, 1 << 20) {
        let _ = decode_v1(&raw);
        let _ = decode_v2(&raw);
    }
    let _ = decode_v2(data);
    let Ok(request) = decode_v1(data) else {
        return;
    };
    let mut encoder = V1Encoder::new();
    let mut expected = Vec::new();
    for series in request.series() {
        let labels: Vec<(&str, &str)> = series
            .labels
            .iter()
            .map(|(n, v)| (std::str::from_utf8(n).unwrap_or("?"), std::str::from_utf8(v).unwrap_or("?")))
            .collect();
        encoder.add_series(&labels, series.samples);
        expected.push((labels.len(), series.samples.len()));
    }
    let body = encoder.finish();
    let again = decode_v1(&body).expect("our own encoding decodes");
    let got: Vec<(usize, usize)> = again.series().map(|s| (s.labels.len(), s.samples.len())).collect();
    assert_eq!(got, expected);
});
