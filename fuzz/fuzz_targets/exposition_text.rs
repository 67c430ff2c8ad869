//! The Prometheus text format parser: never panics, stays bounded, and whatever it
//! accepts has names and values it can write back and read again the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_ingest::exposition::{Entry, Format, Parser, write_sample};

fuzz_target!(|data: &[u8]| {
    check(data, Format::PrometheusText);
});

fn check(data: &[u8], format: Format) {
    let Ok(mut parser) = Parser::from_bytes(data, format) else {
        return;
    };
    // Each entry consumes at least one byte, so this bounds the loop.
    for _ in 0..=data.len() {
        match parser.next() {
            Ok(Some(Entry::Sample(sample))) => {
                let labels: Vec<(&str, &str)> = sample
                    .labels
                    .iter()
                    .map(|(n, v)| (n.as_ref(), v.as_ref()))
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                let mut text = String::new();
                write_sample(&mut text, &sample.name, &labels, sample.value, None, format);
                if format == Format::OpenMetrics {
                    text.push_str("# EOF\n");
                }
                let mut again = Parser::new(&text, format);
                match again.next() {
                    Ok(Some(Entry::Sample(back))) => {
                        assert_eq!(back.name, sample.name);
                        assert_eq!(back.value.to_bits(), sample.value.to_bits());
                        assert_eq!(back.labels.len(), labels.len());
                    }
                    other => panic!("wrote {text:?}, read back {other:?}"),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
    }
    panic!("parser did not finish within {} entries", data.len() + 1);
}
