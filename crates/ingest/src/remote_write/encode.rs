//! Encoding remote_write requests, for senders (the agent, the load generator) and tests.
//! Writes protobuf directly into one buffer: no intermediate message structs.

use std::collections::HashMap;

use tocsin_model::Sample;

use super::wire::{FIXED64, LEN, VARINT, put_key, put_varint, varint_len};

fn sample_len(sample: &Sample) -> usize {
    let mut len = 1 + 8;
    if sample.t != 0 {
        len += 1 + varint_len(sample.t as u64);
    }
    len
}

fn put_sample(out: &mut Vec<u8>, sample: &Sample) {
    put_key(out, 2, LEN);
    put_varint(out, sample_len(sample) as u64);
    put_key(out, 1, FIXED64);
    out.extend_from_slice(&sample.v.to_bits().to_le_bytes());
    if sample.t != 0 {
        put_key(out, 2, VARINT);
        put_varint(out, sample.t as u64);
    }
}

fn string_field_len(text: &str) -> usize {
    1 + varint_len(text.len() as u64) + text.len()
}

fn put_string_field(out: &mut Vec<u8>, field: u64, text: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text);
}

/// Builds a remote_write 1.0 `WriteRequest`.
#[derive(Debug, Default)]
pub struct V1Encoder {
    buf: Vec<u8>,
    series: usize,
    samples: usize,
}

impl V1Encoder {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a series. Labels are written in the order given (senders sort them by name).
    pub fn add_series(&mut self, labels: &[(&str, &str)], samples: &[Sample]) {
        let label_len =
            |(name, value): &(&str, &str)| string_field_len(name) + string_field_len(value);
        let mut series_len = 0;
        for label in labels {
            let len = label_len(label);
            series_len += 1 + varint_len(len as u64) + len;
        }
        for sample in samples {
            let len = sample_len(sample);
            series_len += 1 + varint_len(len as u64) + len;
        }
        let out = &mut self.buf;
        put_key(out, 1, LEN);
        put_varint(out, series_len as u64);
        for label in labels {
            put_key(out, 1, LEN);
            put_varint(out, label_len(label) as u64);
            put_string_field(out, 1, label.0.as_bytes());
            put_string_field(out, 2, label.1.as_bytes());
        }
        for sample in samples {
            put_sample(out, sample);
        }
        self.series += 1;
        self.samples += samples.len();
    }

    /// Series added so far.
    pub fn series(&self) -> usize {
        self.series
    }

    /// Samples added so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The encoded message so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Starts over, keeping the buffer.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.series = 0;
        self.samples = 0;
    }

    /// The encoded message.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Builds a remote_write 2.0 `Request` (symbol table plus label references).
#[derive(Debug)]
pub struct V2Encoder {
    symbols: Vec<String>,
    index: HashMap<String, u32>,
    series: Vec<u8>,
}

impl Default for V2Encoder {
    fn default() -> Self {
        // The spec requires the empty string first.
        let mut index = HashMap::new();
        index.insert(String::new(), 0);
        Self {
            symbols: vec![String::new()],
            index,
            series: Vec::new(),
        }
    }
}

impl V2Encoder {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    fn symbol(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = u32::try_from(self.symbols.len()).expect("invariant: fewer than 2^32 symbols");
        self.symbols.push(text.to_owned());
        self.index.insert(text.to_owned(), id);
        id
    }

    /// Adds a series with float samples.
    pub fn add_series(&mut self, labels: &[(&str, &str)], samples: &[Sample]) {
        let refs: Vec<u32> = labels
            .iter()
            .flat_map(|(n, v)| [self.symbol(n), self.symbol(v)])
            .collect();
        let mut body = Vec::new();
        let packed_len: usize = refs.iter().map(|&r| varint_len(u64::from(r))).sum();
        put_key(&mut body, 1, LEN);
        put_varint(&mut body, packed_len as u64);
        for r in refs {
            put_varint(&mut body, u64::from(r));
        }
        for sample in samples {
            put_sample(&mut body, sample);
        }
        put_key(&mut self.series, 5, LEN);
        put_varint(&mut self.series, body.len() as u64);
        self.series.extend_from_slice(&body);
    }

    /// The encoded message.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.series.len() + self.symbols.len() * 16);
        for symbol in &self.symbols {
            put_string_field(&mut out, 4, symbol.as_bytes());
        }
        out.extend_from_slice(&self.series);
        out
    }
}
