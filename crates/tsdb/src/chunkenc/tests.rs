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
    let regular = encode_regular(&scrapes(0..120, |_| 0)).unwrap();
    for cut in 0..regular.len() {
        let _ = decode(Encoding::Regular, &regular[..cut]);
    }
    // A zero step, an exception past the end, exceptions that make time go backwards.
    assert!(decode(Encoding::Regular, &[2, 0, 0, 0]).is_err());
    assert!(decode(Encoding::Regular, &[2, 0, 2, 1, 5, 2, 0, 0]).is_err());
    assert!(decode(Encoding::Regular, &[2, 0, 2, 1, 1, 8, 0, 0]).is_err());
}

/// Samples `i` of a 15 s scrape starting at a round time, each `late(i)` ms off the grid.
fn scrapes(range: std::ops::Range<i64>, late: impl Fn(i64) -> i64) -> Vec<Sample> {
    range
        .map(|i| {
            Sample::new(
                1_700_000_010_000 + i * 15_000 + late(i),
                (i * i) as f64 * 0.25,
            )
        })
        .collect()
}

#[test]
fn scrapes_on_a_fixed_step_are_stored_as_start_and_step() {
    let on_time = scrapes(0..480, |_| 0);
    let (encoding, bytes) = encode_best(&on_time);
    assert_eq!(encoding, Encoding::Regular);
    assert!(bytes.len() < encode_dense(&on_time).len());
    assert!(same(&decode(encoding, &bytes).unwrap(), &on_time));

    // A few late scrapes (and a late first one) are exceptions; the rest stays on the grid.
    let some_late = scrapes(0..120, |i| if i % 30 == 0 { 3 + i } else { 0 });
    let (encoding, bytes) = encode_best(&some_late);
    assert_eq!(encoding, Encoding::Regular);
    assert!(same(&decode(encoding, &bytes).unwrap(), &some_late));

    // Jitter on every sample is not regular: pco takes the timestamps.
    let jittered = scrapes(0..120, |i| (i * 7) % 11);
    assert!(encode_regular(&jittered).is_none());
    assert_ne!(encode_best(&jittered).0, Encoding::Regular);
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
        if let Some(regular) = encode_regular(&samples) {
            prop_assert!(same(&decode(Encoding::Regular, &regular).unwrap(), &samples));
        }
    }

    #[test]
    fn mostly_regular_series_round_trip(
        start in -1_000_000_000_000i64..2_000_000_000_000,
        step in 1i64..3_600_000,
        late in proptest::collection::vec((0usize..300, -5_000i64..5_000), 0..40),
        n in 2usize..300,
    ) {
        let mut times: Vec<i64> = (0..n as i64).map(|i| start + i * step).collect();
        for (i, offset) in late {
            if i < n {
                times[i] += offset;
            }
        }
        times.sort_unstable();
        times.dedup();
        let samples: Vec<Sample> =
            times.iter().map(|&t| Sample::new(t, (t % 97) as f64)).collect();
        let (encoding, bytes) = encode_best(&samples);
        prop_assert!(same(&decode(encoding, &bytes).unwrap(), &samples));
        if let Some(regular) = encode_regular(&samples) {
            prop_assert!(same(&decode(Encoding::Regular, &regular).unwrap(), &samples));
        }
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(Encoding::Xor, &bytes);
        let _ = decode(Encoding::Dense, &bytes);
        let _ = decode(Encoding::Regular, &bytes);
    }
}
