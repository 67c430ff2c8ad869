//! Request bodies encoded and snappy-compressed once, then patched in place each round.
//!
//! A generator that encodes and compresses every request spends most of its CPU doing so,
//! and on a shared machine that CPU is taken from the server being measured. Only the
//! sample changes between rounds (labels stay, the value and timestamp move), so the
//! compressed body is built with those bytes as snappy *literals* that no copy ever reads
//! from: writing the new value and timestamp into the literals yields the same stream as
//! compressing the new request from scratch would decode to, at the cost of a few stores
//! per series.

use tocsin_model::Sample;

use crate::remote_write::V1Encoder;
use crate::remote_write::wire::{put_varint, varint_len};

/// Bytes at the end of each series message that change per round: the value (8 bytes),
/// the timestamp's key (1 byte) and the timestamp varint (`t_width` bytes).
const VALUE_AND_KEY: usize = 9;

/// Snappy's 2-byte-offset copies reach back this far.
const MAX_OFFSET: usize = 65_535;

/// A compressed remote_write 1.0 request with one sample per series whose samples can be
/// rewritten without recompressing.
#[derive(Debug, Clone)]
pub struct PatchableBody {
    compressed: Vec<u8>,
    /// Where each series' changing bytes start in `compressed`.
    slots: Vec<usize>,
    /// Width of the timestamp varint (6 bytes for any millisecond time between 1971 and
    /// 2109); a timestamp of another width needs a new body.
    t_width: usize,
}

impl PatchableBody {
    /// Encodes `labels` (each sorted by name) with one sample each at `t` and compresses.
    /// `values[i]` is the value of series `i`. `t` must not be 0 (it would be left out of
    /// the message, as protobuf does with default values).
    pub fn build<'a>(
        labels: impl ExactSizeIterator<Item = &'a [(String, String)]>,
        t: i64,
        values: impl Iterator<Item = f64>,
    ) -> Self {
        assert!(
            t != 0,
            "invariant: generated timestamps are wall-clock times"
        );
        let t_width = varint_len(t as u64);
        let varying = VALUE_AND_KEY + t_width;
        let mut encoder = V1Encoder::new();
        let mut ranges = Vec::with_capacity(labels.len());
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(16);
        for (series, v) in labels.zip(values) {
            pairs.clear();
            pairs.extend(series.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            encoder.add_series(&pairs, &[Sample::new(t, v)]);
            let end = encoder.as_bytes().len();
            ranges.push(end - varying..end);
        }
        let (compressed, slots) = compress_around(encoder.as_bytes(), &ranges);
        Self {
            compressed,
            slots,
            t_width,
        }
    }

    /// Series in the body.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the body has no series.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Sets every sample's timestamp to `t` and series `i`'s value to `values[i]`. Returns
    /// `false` (and changes nothing) when `t`'s varint has another width than the body was
    /// built for; build a new body then.
    pub fn patch(&mut self, t: i64, mut values: impl FnMut(usize) -> f64) -> bool {
        if t == 0 || varint_len(t as u64) != self.t_width {
            return false;
        }
        let mut stamp = Vec::with_capacity(10);
        put_varint(&mut stamp, t as u64);
        for (i, &slot) in self.slots.iter().enumerate() {
            let out = &mut self.compressed[slot..slot + VALUE_AND_KEY + self.t_width];
            out[..8].copy_from_slice(&values(i).to_bits().to_le_bytes());
            // out[8] is the timestamp's field key, written at build time.
            out[VALUE_AND_KEY..].copy_from_slice(&stamp);
        }
        true
    }

    /// The compressed body as it stands.
    pub fn as_bytes(&self) -> &[u8] {
        &self.compressed
    }
}

/// Compresses `data` in snappy's block format so that every byte in `varying` is part of a
/// literal and no copy reads from one. Returns the stream and, per range, where its bytes
/// start in the stream.
fn compress_around(data: &[u8], varying: &[std::ops::Range<usize>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(data.len() / 3 + 16);
    put_varint(&mut out, data.len() as u64);
    let mut fixed = vec![true; data.len()];
    for range in varying {
        fixed[range.clone()].fill(false);
    }
    // Last position (plus one) of each 4-byte hash, for finding copies.
    let mut table = vec![0u32; 1 << 14];
    let hash = |at: usize| {
        let word = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        (word.wrapping_mul(0x1e35_a7bd) >> 18) as usize
    };
    let mut slots = Vec::with_capacity(varying.len());
    let mut start = 0;
    for range in varying {
        compress_fixed(
            data,
            &fixed,
            start,
            range.start,
            &mut table,
            &hash,
            &mut out,
        );
        let literal = emit_literal_header(&mut out, range.len());
        slots.push(literal);
        out.extend_from_slice(&data[range.clone()]);
        start = range.end;
    }
    compress_fixed(data, &fixed, start, data.len(), &mut table, &hash, &mut out);
    (out, slots)
}

/// Greedy LZ77 over the unchanging bytes `data[from..to]`, as snappy copies and literals,
/// taking copies only from unchanging bytes.
fn compress_fixed(
    data: &[u8],
    fixed: &[bool],
    from: usize,
    to: usize,
    table: &mut [u32],
    hash: &dyn Fn(usize) -> usize,
    out: &mut Vec<u8>,
) {
    let mut literal_from = from;
    let mut pos = from;
    while pos + 4 <= to {
        let h = hash(pos);
        let candidate = table[h] as usize;
        table[h] = (pos + 1) as u32;
        if candidate == 0 {
            pos += 1;
            continue;
        }
        let source = candidate - 1;
        let offset = pos - source;
        if offset > MAX_OFFSET
            || !fixed[source..source + 4].iter().all(|&f| f)
            || data[source..source + 4] != data[pos..pos + 4]
        {
            pos += 1;
            continue;
        }
        let mut len = 4;
        while pos + len < to && fixed[source + len] && data[source + len] == data[pos + len] {
            len += 1;
        }
        if literal_from < pos {
            emit_literal_header(out, pos - literal_from);
            out.extend_from_slice(&data[literal_from..pos]);
        }
        emit_copy(out, offset, len);
        // Later series find their copies from here on.
        for at in (pos + 1..pos + len).filter(|&at| at + 4 <= to) {
            table[hash(at)] = (at + 1) as u32;
        }
        pos += len;
        literal_from = pos;
    }
    if literal_from < to {
        emit_literal_header(out, to - literal_from);
        out.extend_from_slice(&data[literal_from..to]);
    }
}

/// Writes a literal's tag for `len` bytes; returns where the bytes go.
fn emit_literal_header(out: &mut Vec<u8>, len: usize) -> usize {
    debug_assert!(len > 0);
    let n = len - 1;
    if n < 60 {
        out.push((n as u8) << 2);
    } else {
        let bytes = (usize::BITS - n.leading_zeros()).div_ceil(8) as usize;
        out.push(((59 + bytes) as u8) << 2);
        out.extend_from_slice(&n.to_le_bytes()[..bytes]);
    }
    out.len()
}

/// Writes copies of `len` bytes from `offset` back, in pieces snappy can express.
fn emit_copy(out: &mut Vec<u8>, offset: usize, mut len: usize) {
    debug_assert!((1..=MAX_OFFSET).contains(&offset));
    while len > 0 {
        // Keep at least 4 for the last piece, so it can use the short form.
        let piece = if len > 64 { (len - 4).min(64) } else { len };
        if (4..=11).contains(&piece) && offset < 2048 {
            out.push((((offset >> 8) as u8) << 5) | (((piece - 4) as u8) << 2) | 1);
            out.push(offset as u8);
        } else {
            out.push((((piece - 1) as u8) << 2) | 2);
            out.extend_from_slice(&(offset as u16).to_le_bytes());
        }
        len -= piece;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::loadgen::generate_series;
    use crate::remote_write::{compress, decode_v1, decompress};

    fn encode(series: &[crate::loadgen::GeneratedSeries], t: i64, round: u64) -> Vec<u8> {
        let mut encoder = V1Encoder::new();
        for s in series {
            let labels: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            encoder.add_series(&labels, &[Sample::new(t, s.value(round))]);
        }
        encoder.finish()
    }

    #[test]
    fn patched_body_decompresses_to_the_request_encoded_from_scratch() {
        let series = generate_series(2000);
        let t0 = 1_700_000_000_000;
        let mut body = PatchableBody::build(
            series.iter().map(|s| s.labels.as_slice()),
            t0,
            series.iter().map(|s| s.value(0)),
        );
        assert_eq!(body.len(), 2000);
        let raw = decompress(body.as_bytes(), 64 << 20).unwrap();
        assert_eq!(raw, encode(&series, t0, 0));
        for round in 1..4u64 {
            let t = t0 + round as i64 * 15_000;
            assert!(body.patch(t, |i| series[i].value(round)));
            let raw = decompress(body.as_bytes(), 64 << 20).unwrap();
            assert_eq!(raw, encode(&series, t, round), "round {round}");
            let request = decode_v1(&raw).unwrap();
            assert_eq!(request.sample_count(), 2000);
            assert!(request.series().all(|s| s.samples[0].t == t));
        }
        // Not much bigger than snappy's own output, so receivers decompress a realistic body.
        let reference = compress(&encode(&series, t0, 0)).len();
        assert!(
            body.as_bytes().len() < reference * 2,
            "{} bytes against snappy's {reference}",
            body.as_bytes().len()
        );
    }

    #[test]
    fn a_timestamp_of_another_width_is_refused_untouched() {
        let series = generate_series(3);
        let mut body = PatchableBody::build(
            series.iter().map(|s| s.labels.as_slice()),
            1_700_000_000_000,
            series.iter().map(|s| s.value(0)),
        );
        let before = body.as_bytes().to_vec();
        assert!(!body.patch(1_000, |_| 1.0));
        assert!(!body.patch(0, |_| 1.0));
        assert_eq!(body.as_bytes(), before.as_slice());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        // Arbitrary label sets (long values force long literals and copies over 64 bytes)
        // and samples: what decompresses is exactly what was encoded.
        #[test]
        fn patching_matches_fresh_encoding(
            sets in proptest::collection::vec(
                proptest::collection::btree_map("[a-c]{1,3}", "[a-b]{0,150}", 1..6),
                1..40,
            ),
            t1 in 1i64..(1 << 42),
            t2 in 1i64..(1 << 42),
            values in proptest::collection::vec(any::<f64>(), 40),
        ) {
            let labels: Vec<Vec<(String, String)>> =
                sets.iter().map(|m| m.clone().into_iter().collect()).collect();
            let fresh = |t: i64| {
                let mut encoder = V1Encoder::new();
                for (i, set) in labels.iter().enumerate() {
                    let pairs: Vec<(&str, &str)> =
                        set.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                    encoder.add_series(&pairs, &[Sample::new(t, values[i])]);
                }
                encoder.finish()
            };
            let mut body = PatchableBody::build(
                labels.iter().map(Vec::as_slice),
                t1,
                values.iter().copied(),
            );
            prop_assert_eq!(decompress(body.as_bytes(), 64 << 20).unwrap(), fresh(t1));
            let patched = body.patch(t2, |i| values[i]);
            prop_assert_eq!(patched, varint_len(t1 as u64) == varint_len(t2 as u64));
            if patched {
                prop_assert_eq!(decompress(body.as_bytes(), 64 << 20).unwrap(), fresh(t2));
            }
        }
    }
}
