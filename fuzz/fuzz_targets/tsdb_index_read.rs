//! Reading a block index from arbitrary bytes never panics: either opening fails with an
//! error, or every lookup (series, symbols, postings, label values) returns or errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_tsdb::block::IndexReader;
use tocsin_tsdb::block::index::IndexBytes;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = IndexReader::new(IndexBytes::Owned(data.to_vec())) else {
        return;
    };
    let _ = index.verify();
    for i in 0..index.num_series().min(64) {
        let _ = index.series(i as u32);
    }
    if let Ok(names) = index.label_names() {
        for name in names.iter().take(8) {
            let _ = index.label_values(name);
        }
    }
    let _ = index.pair_counts();
    let _ = index.find_symbol("__name__");
});
