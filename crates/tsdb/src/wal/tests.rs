use std::time::Duration;

use tocsin_model::Labels;

use super::record::*;
use super::*;
use crate::Error;
use crate::metrics::Metrics;

fn labels(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", "x")]).unwrap()
}

#[test]
fn records_round_trip() {
    let l = labels("up");
    let mut payload = Vec::new();
    encode_series(&mut payload, [(7, &l)]);
    assert_eq!(
        decode(RecordType::Series, &payload).unwrap(),
        Record::Series(vec![RefSeries {
            series: 7,
            labels: l
        }])
    );
    let samples = vec![
        RefSample {
            series: 9,
            t: 1000,
            v: 1.5,
        },
        RefSample {
            series: 3,
            t: 900,
            v: tocsin_model::STALE_NAN,
        },
        RefSample {
            series: u64::MAX,
            t: i64::MIN,
            v: -0.0,
        },
    ];
    payload.clear();
    encode_samples(&mut payload, samples.iter().copied());
    let Record::Samples(back) = decode(RecordType::Samples, &payload).unwrap() else {
        panic!("not samples")
    };
    assert_eq!(back.len(), 3);
    for (a, b) in back.iter().zip(&samples) {
        assert_eq!(
            (a.series, a.t, a.v.to_bits()),
            (b.series, b.t, b.v.to_bits())
        );
    }
    let tombs = vec![RefTombstone {
        series: 1,
        mint: -5,
        maxt: 9,
    }];
    payload.clear();
    encode_tombstones(&mut payload, &tombs);
    assert_eq!(
        decode(RecordType::Tombstones, &payload).unwrap(),
        Record::Tombstones(tombs)
    );
}

#[test]
fn framing_detects_torn_and_bad_records() {
    let mut out = Vec::new();
    frame(&mut out, RecordType::Samples, b"hello");
    assert_eq!(read_frame(&out).unwrap().2, out.len());
    assert_eq!(
        read_frame(&out[..out.len() - 1]).unwrap_err(),
        FrameError::Torn
    );
    assert_eq!(read_frame(&out[..4]).unwrap_err(), FrameError::Torn);
    let mut bad = out.clone();
    bad[HEADER_LEN] ^= 1;
    assert!(matches!(read_frame(&bad), Err(FrameError::Bad(_))));
    let mut bad = out.clone();
    bad[0] = 0;
    assert!(matches!(read_frame(&bad), Err(FrameError::Bad(_))));
}

#[test]
fn failed_write_leaves_no_partial_record_and_segments_roll() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::create(
        dir.path(),
        0,
        64 << 10,
        WalSync::Interval(Duration::from_secs(1)),
        Metrics::new(None).unwrap(),
    )
    .unwrap();
    let mut rec = Vec::new();
    frame(&mut rec, RecordType::Samples, &[0u8; 1000]);
    for _ in 0..100 {
        wal.lock().write(&rec).unwrap();
    }
    wal.sync_if_dirty().unwrap();
    let segments = list_segments(dir.path()).unwrap();
    assert!(segments.len() >= 2, "{segments:?}");
    let mut total = 0;
    for (_, path) in &segments {
        let scanned = scan_segment(path).unwrap();
        assert!(scanned.corruption.is_none());
        total += scanned.records.len();
    }
    assert_eq!(total, 100);
    wal.lock().close().unwrap();
    assert!(matches!(wal.lock().write(&rec), Err(Error::Closed)));
}
