//! Regular sealed chunks: timestamps on a fixed step (scrapes and rule evaluations are, give or
//! take a few late samples) stored as a start, a step and the exceptions, and values as one pco
//! page. Decoding the timestamps is a loop with no setup, where a pco page costs about as much
//! again as the values (a profiled instant query spent half its chunk time there).
//!
//! Layout: uvarint sample count `n`, zigzag varint `t0`, uvarint `step`, uvarint exception
//! count, then each exception as (uvarint gap in index from the previous exception, or from 0
//! for the first; zigzag varint offset from the grid), then the value page (pco f64).
//! Sample `i`'s timestamp is `t0 + i·step`, plus its exception's offset if it has one.

use tocsin_model::Sample;

use super::dense::{compress_page, decompress_page};
use crate::encoding::{Decoder, put_uvarint, put_varint};
use crate::{Error, Result};

/// More exceptions than one in this many samples and the timestamps are not regular enough
/// to be worth it (the dense encoding's pco page is used instead).
const MAX_EXCEPTION_SHARE: usize = 8;

/// Encodes `samples` (strictly increasing timestamps) as a regular chunk, or `None` when their
/// timestamps are too irregular or too few.
pub fn encode_regular(samples: &[Sample]) -> Option<Vec<u8>> {
    if samples.len() < 2 {
        return None;
    }
    let step = typical_step(samples)?;
    // When the first sample is off the step, the grid is anchored on the second.
    let t0 = if samples[1].t - samples[0].t == step {
        samples[0].t
    } else {
        samples[1].t.checked_sub(step)?
    };
    let mut exceptions: Vec<(usize, i64)> = Vec::new();
    for (i, sample) in samples.iter().enumerate() {
        let on_grid = (i as i64)
            .checked_mul(step)
            .and_then(|d| t0.checked_add(d))?;
        let offset = sample.t.checked_sub(on_grid)?;
        if offset != 0 {
            exceptions.push((i, offset));
            if exceptions.len() * MAX_EXCEPTION_SHARE > samples.len() {
                return None;
            }
        }
    }
    let values: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let v_page = compress_page(&values);
    let mut out = Vec::with_capacity(v_page.len() + 16 + exceptions.len() * 4);
    put_uvarint(&mut out, samples.len() as u64);
    put_varint(&mut out, t0);
    put_uvarint(&mut out, step as u64);
    put_uvarint(&mut out, exceptions.len() as u64);
    let mut previous = 0;
    for (i, offset) in exceptions {
        put_uvarint(&mut out, (i - previous) as u64);
        put_varint(&mut out, offset);
        previous = i;
    }
    out.extend_from_slice(&v_page);
    Some(out)
}

/// The step most consecutive samples are apart: the first gap, unless the second and third
/// agree on another (a late first sample should not make every other one an exception).
fn typical_step(samples: &[Sample]) -> Option<i64> {
    let gap = |i: usize| samples.get(i + 1).map(|next| next.t - samples[i].t);
    let first = gap(0)?;
    let step = match (gap(1), gap(2)) {
        (Some(a), Some(b)) if a == b && a != first => a,
        _ => first,
    };
    (step > 0).then_some(step)
}

/// Decodes a regular chunk. Every malformed input is an error (fuzzed), including timestamps
/// that would overflow or not increase.
pub(crate) fn decode(data: &[u8]) -> Result<Vec<Sample>> {
    const WHAT: &str = "regular chunk";
    let mut d = Decoder::new(WHAT, data);
    let n =
        usize::try_from(d.uvarint()?).map_err(|_| Error::decode(WHAT, "sample count overflows"))?;
    let t0 = d.varint()?;
    let step = i64::try_from(d.uvarint()?)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| Error::decode(WHAT, "step must be positive and fit 63 bits"))?;
    let exception_count = usize::try_from(d.uvarint()?)
        .map_err(|_| Error::decode(WHAT, "exception count overflows"))?;
    // Every exception takes at least two bytes and every value at least a bit: refuse counts
    // the input cannot hold before allocating for them.
    if exception_count > n || exception_count > d.remaining() / 2 {
        return Err(Error::decode(
            WHAT,
            format!("implausible exception count {exception_count} for {n} samples"),
        ));
    }
    if n > d.remaining().saturating_mul(64) + 64 {
        return Err(Error::decode(WHAT, format!("implausible sample count {n}")));
    }
    // The grid's last point fits in an i64, so every point before it does too.
    i64::try_from(n.saturating_sub(1))
        .ok()
        .and_then(|last| last.checked_mul(step))
        .and_then(|span| t0.checked_add(span))
        .ok_or_else(|| Error::decode(WHAT, "timestamps overflow"))?;
    let mut timestamps: Vec<i64> = (0..n as i64).map(|i| t0 + i * step).collect();
    let mut index = 0usize;
    for k in 0..exception_count {
        let gap = usize::try_from(d.uvarint()?)
            .map_err(|_| Error::decode(WHAT, "exception index overflows"))?;
        if k > 0 && gap == 0 {
            return Err(Error::decode(
                WHAT,
                "exceptions must have increasing indexes",
            ));
        }
        index = index
            .checked_add(gap)
            .filter(|&i| i < n)
            .ok_or_else(|| Error::decode(WHAT, format!("exception index past {n} samples")))?;
        let offset = d.varint()?;
        timestamps[index] = timestamps[index]
            .checked_add(offset)
            .ok_or_else(|| Error::decode(WHAT, "timestamps overflow"))?;
    }
    if timestamps.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::decode(WHAT, "timestamps do not increase"));
    }
    let values: Vec<f64> = decompress_page("regular chunk values", d.rest())?;
    if values.len() != n {
        return Err(Error::decode(
            WHAT,
            format!(
                "header says {n} samples, the value page holds {}",
                values.len()
            ),
        ));
    }
    Ok(timestamps
        .into_iter()
        .zip(values)
        .map(|(t, v)| Sample::new(t, v))
        .collect())
}
