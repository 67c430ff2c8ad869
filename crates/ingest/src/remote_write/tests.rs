use proptest::prelude::*;
use tocsin_model::Sample;

use super::wire::put_varint;
use super::*;

type Series = (Vec<(String, String)>, Vec<Sample>);

fn owned(request: &WriteRequest<'_>) -> Vec<Series> {
    request
        .series()
        .map(|s| {
            (
                s.labels
                    .iter()
                    .map(|(n, v)| {
                        (
                            String::from_utf8(n.to_vec()).unwrap(),
                            String::from_utf8(v.to_vec()).unwrap(),
                        )
                    })
                    .collect(),
                s.samples.to_vec(),
            )
        })
        .collect()
}

fn encode_v1(series: &[Series]) -> Vec<u8> {
    let mut encoder = V1Encoder::new();
    for (labels, samples) in series {
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        encoder.add_series(&pairs, samples);
    }
    encoder.finish()
}

fn encode_v2(series: &[Series]) -> Vec<u8> {
    let mut encoder = V2Encoder::new();
    for (labels, samples) in series {
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        encoder.add_series(&pairs, samples);
    }
    encoder.finish()
}

fn same(a: &[Series], b: &[Series]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.0 == y.0
                && x.1.len() == y.1.len()
                && x.1.iter().zip(&y.1).all(|(s, t)| s.bitwise_eq(t))
        })
}

fn series_strategy() -> impl Strategy<Value = Vec<Series>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..6),
            proptest::collection::vec(
                (any::<i64>(), any::<u64>())
                    .prop_map(|(t, bits)| Sample::new(t, f64::from_bits(bits))),
                0..4,
            ),
        ),
        0..10,
    )
}

proptest! {
    #[test]
    fn v1_round_trips(series in series_strategy()) {
        let body = encode_v1(&series);
        let decoded = decode_v1(&body).unwrap();
        prop_assert!(same(&owned(&decoded), &series));
        // And through snappy.
        let compressed = compress(&body);
        prop_assert_eq!(decompress(&compressed, body.len()).unwrap(), body);
    }

    #[test]
    fn v2_round_trips(series in series_strategy()) {
        let body = encode_v2(&series);
        let decoded = decode_v2(&body).unwrap();
        prop_assert!(same(&owned(&decoded), &series));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_v1(&bytes);
        let _ = decode_v2(&bytes);
        let _ = decompress(&bytes, 1 << 16);
    }
}

#[test]
fn snappy_bomb_is_refused_before_allocating() {
    // A 7-byte body whose header declares 4 GiB - 1 once decompressed.
    let mut bomb = Vec::new();
    put_varint(&mut bomb, u64::from(u32::MAX));
    bomb.extend_from_slice(&[0x00, b'x']);
    let err = decompress(&bomb, 32 << 20).unwrap_err();
    assert_eq!(
        err,
        SnappyError::TooLarge {
            declared: u64::from(u32::MAX),
            limit: 32 << 20
        }
    );
    assert!(err.to_string().contains("4294967295"), "{err}");
}

#[test]
fn corrupt_snappy_and_protobuf_are_errors() {
    assert!(matches!(
        decompress(b"\xff\xff\xff\xff\xff\xff", 100),
        Err(SnappyError::Corrupt(_))
    ));
    let body = encode_v1(&[(
        vec![("__name__".into(), "up".into())],
        vec![Sample::new(1, 1.0)],
    )]);
    // Truncated.
    let err = decode_v1(&body[..body.len() - 3]).unwrap_err();
    assert!(err.to_string().contains("malformed protobuf"), "{err}");
    // A field of the wrong wire type.
    assert!(decode_v1(&[0x08, 0x01]).is_err());
    // v2 reference outside the symbol table.
    let mut v2 = Vec::new();
    v2.extend_from_slice(&[0x22, 0x00]); // symbols: [""]
    v2.extend_from_slice(&[0x2a, 0x04, 0x0a, 0x02, 0x00, 0x07]); // labels_refs [0, 7]
    let err = decode_v2(&v2).unwrap_err();
    assert!(
        err.to_string().contains("outside the symbol table"),
        "{err}"
    );
}

#[test]
fn counts_exemplars_histograms_and_metadata() {
    // TimeSeries{labels:[{__name__:up}], exemplars:[{}], histograms:[{}]} + metadata.
    let mut ts = Vec::new();
    ts.extend_from_slice(&[0x0a, 0x0e, 0x0a, 0x08]);
    ts.extend_from_slice(b"__name__");
    ts.extend_from_slice(&[0x12, 0x02]);
    ts.extend_from_slice(b"up");
    ts.extend_from_slice(&[0x1a, 0x00, 0x22, 0x00]);
    let mut body = vec![0x0a, ts.len() as u8];
    body.extend_from_slice(&ts);
    body.extend_from_slice(&[0x1a, 0x00]);
    let request = decode_v1(&body).unwrap();
    assert_eq!(request.len(), 1);
    assert_eq!(request.exemplar_count(), 1);
    assert_eq!(request.histogram_count(), 1);
    assert_eq!(request.metadata, 1);
    assert_eq!(request.sample_count(), 0);
}

#[test]
fn content_types_select_the_protocol() {
    for (ct, want) in [
        (None, Ok(Protocol::V1)),
        (Some("application/x-protobuf"), Ok(Protocol::V1)),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            Ok(Protocol::V1),
        ),
        (
            Some("application/x-protobuf; proto=io.prometheus.write.v2.Request"),
            Ok(Protocol::V2),
        ),
    ] {
        assert_eq!(Protocol::from_content_type(ct), want, "{ct:?}");
    }
    for ct in [
        "application/json",
        "image/png",
        "application/x-protobuf;proto=foo.Bar",
    ] {
        assert!(Protocol::from_content_type(Some(ct)).is_err(), "{ct}");
    }
}
