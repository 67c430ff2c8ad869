//! WAL segment scanning and record decoding never panic; decoded series and samples records
//! re-encode to the same records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_tsdb::wal::record::{self, Record};
use tocsin_tsdb::wal::scan_bytes;

fuzz_target!(|data: &[u8]| {
    let (records, _) = scan_bytes(data);
    for (kind, range) in records {
        let _ = record::decode(kind, &data[range]);
    }
    // Also decode the raw bytes as each payload type.
    if let Ok(series) = record::decode_series(data) {
        let mut out = Vec::new();
        record::encode_series(&mut out, series.iter().map(|s| (s.series, &s.labels)));
        assert_eq!(record::decode_series(&out).expect("re-encoded series decode"), series);
    }
    let mut samples = Vec::new();
    if record::decode_samples(data, &mut samples).is_ok() {
        let mut out = Vec::new();
        record::encode_samples(&mut out, samples.iter().copied());
        let mut again = Vec::new();
        record::decode_samples(&out, &mut again).expect("re-encoded samples decode");
        assert_eq!(again.len(), samples.len());
    }
    if let Ok(Record::Tombstones(t)) = record::decode(record::RecordType::Tombstones, data) {
        let mut out = Vec::new();
        record::encode_tombstones(&mut out, &t);
        assert_eq!(record::decode_tombstones(&out).expect("re-encoded tombstones decode"), t);
    }
});
