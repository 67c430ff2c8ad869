use proptest::prelude::*;
use tocsin_model::{STALE_NAN, Sample};

use super::*;

fn roundtrip_xor(samples: &[Sample]) -> Vec<Sample> {
    decode(Encoding::Xor, &encode_xor(samples)).unwrap()
}

fn same(a: &[Sample], b: &[Sample]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.bitwise_eq(y))
}

#[test]
fn xor_matches_prometheus_bytes() {
    // Bytes produced by Prometheus's chunkenc.XORChunk for (1000,1.0), (2000,1.0),
    // (3000,2.0): the header, varint t, raw float, uvarint delta, then the bit stream.
    let chunk = encode_xor(&[
        Sample::new(1000, 1.0),
        Sample::new(2000, 1.0),
        Sample::new(3000, 2.0),
    ]);
    assert_eq!(&chunk[..2], &[0, 3], "big-endian sample count");
    assert_eq!(&chunk[2..4], &[0xd0, 0x0f], "zigzag varint of 1000");
    assert_eq!(&chunk[4..12], &1.0f64.to_bits().to_be_bytes());
    assert_eq!(&chunk[12..14], &[0xe8, 0x07], "uvarint delta 1000");
    // Sample 2: value unchanged -> one 0 bit. Sample 3: dod 0 -> 0 bit, then value XOR.
    assert_eq!(chunk[14] >> 6, 0b00);
    assert_eq!(
        roundtrip_xor(&[
            Sample::new(1000, 1.0),
            Sample::new(2000, 1.0),
            Sample::new(3000, 2.0)
        ]),
        vec![
            Sample::new(1000, 1.0),
            Sample::new(2000, 1.0),
            Sample::new(3000, 2.0)
        ]
    );
}

#[test]
fn stale_markers_and_special_floats_survive_both_encodings() {
    let samples: Vec<Sample> = [
        1.0,
        STALE_NAN,
        f64::NAN,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        2.5,
    ]
    .iter()
    .cycle()
    .take(40)
    .enumerate()
    .map(|(i, &v)| Sample::new(1_700_000_000_000 + i as i64 * 15_000, v))
    .collect();
    assert!(same(&roundtrip_xor(&samples), &samples));
    let dense = encode_dense(&samples);
    assert!(same(&decode(Encoding::Dense, &dense).unwrap(), &samples));
    let (encoding, bytes) = encode_best(&samples);
    assert!(same(&decode(encoding, &bytes).unwrap(), &samples));
}

#[test]
fn dense_is_smaller_on_noisy_gauges() {
    let samples: Vec<Sample> = (0..480)
        .map(|i| {
            let noise = ((i * 7919) % 1000) as f64 / 100.0;
            Sample::new(1_700_000_000_000 + i * 15_000 + (i % 3), 50.0 + noise)
        })
        .collect();
    let xor = encode_xor(&samples).len();
    let (encoding, best) = encode_best(&samples);
    assert_eq!(encoding, Encoding::Dense);
    assert!(best.len() < xor, "dense {} vs xor {xor}", best.len());
}

#[test]
fn a_small_dense_chunk_decodes_after_a_large_one_on_the_same_thread() {
    // The decode buffer is reused without re-zeroing: what a large chunk leaves after a small
    // chunk's pages must never be read as the small chunk's data.
    let series = |n: i64, base: f64| -> Vec<Sample> {
        (0..n)
            .map(|i| {
                let noise = ((i * 7919) % 1000) as f64 / 7.0;
                Sample::new(1_700_000_000_000 + i * 15_000 + (i % 5), base + noise)
            })
            .collect()
    };
    let large = series(2_000, 1e9);
    let small = series(24, -3.5);
    let large_chunk = encode_dense(&large);
    let small_chunk = encode_dense(&small);
    for _ in 0..3 {
        assert!(same(
            &decode(Encoding::Dense, &large_chunk).unwrap(),
            &large
        ));
        assert!(same(
            &decode(Encoding::Dense, &small_chunk).unwrap(),
            &small
        ));
    }
}

#[test]
fn damaged_chunks_are_errors_not_panics() {
    let chunk = encode_xor(
        &(0..50)
            .map(|i| Sample::new(i * 1000, i as f64))
            .collect::<Vec<_>>(),
    );
    for cut in 0..chunk.len() {
        let _ = decode(Encoding::Xor, &chunk[..cut]);
    }
    let mut flipped = chunk;
    flipped[0] = 0xff;
    assert!(decode(Encoding::Xor, &flipped).is_err());
    assert!(decode(Encoding::Dense, &[0xff, 0xff, 0x01]).is_err());
    assert!(Encoding::from_byte(9).is_err());
}

proptest! {
    #[test]
    fn any_increasing_series_round_trips(
        start in -1_000_000_000_000i64..2_000_000_000_000,
        deltas in proptest::collection::vec(1i64..10_000_000, 0..300),
        values in proptest::collection::vec(any::<u64>(), 300),
    ) {
        let mut t = start;
        let samples: Vec<Sample> = deltas
            .iter()
            .zip(&values)
            .map(|(d, v)| {
                t += d;
                Sample::new(t, f64::from_bits(*v))
            })
            .collect();
        prop_assert!(same(&roundtrip_xor(&samples), &samples));
        prop_assert!(same(&decode(Encoding::Dense, &encode_dense(&samples)).unwrap(), &samples));
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(Encoding::Xor, &bytes);
        let _ = decode(Encoding::Dense, &bytes);
    }
}
