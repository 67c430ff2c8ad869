//! Zero-copy decoding of remote_write requests into a flat, borrowed form.

use tocsin_model::Sample;

use super::wire::{FIXED64, LEN, Reader, VARINT};

/// A label as sent: name and value bytes, not yet checked for UTF-8 (the receiver checks
/// them per series, so one bad series does not sink the request).
pub type RawLabel<'a> = (&'a [u8], &'a [u8]);

/// Why a request body is not a valid message. Nothing of such a request is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The protobuf structure is broken.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
}

#[derive(Debug, Clone, Copy)]
struct SeriesEntry {
    labels_end: u32,
    samples_end: u32,
    exemplars: u32,
    histograms: u32,
}

/// A decoded request: series whose labels borrow from the body.
#[derive(Debug, Default)]
pub struct WriteRequest<'a> {
    series: Vec<SeriesEntry>,
    labels: Vec<RawLabel<'a>>,
    samples: Vec<Sample>,
    /// Metadata entries (1.0) or series carrying only metadata (2.0); not stored.
    pub metadata: usize,
}

/// One series of a request.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'r, 'a> {
    /// Its labels in the order sent.
    pub labels: &'r [RawLabel<'a>],
    /// Its float samples.
    pub samples: &'r [Sample],
    /// Exemplars sent with it (not stored).
    pub exemplars: u32,
    /// Native histogram samples sent with it (not supported by the store).
    pub histograms: u32,
}

impl<'a> WriteRequest<'a> {
    fn with_capacity_for(body_len: usize) -> Self {
        // Typical node_exporter-like series: ~10 labels and 1 sample in ~250 bytes.
        let series = body_len / 256 + 1;
        Self {
            series: Vec::with_capacity(series),
            labels: Vec::with_capacity(series * 10),
            samples: Vec::with_capacity(series),
            metadata: 0,
        }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether there are no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Float samples in all series.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// Exemplars in all series.
    pub fn exemplar_count(&self) -> u64 {
        self.series.iter().map(|s| u64::from(s.exemplars)).sum()
    }

    /// Histogram samples in all series.
    pub fn histogram_count(&self) -> u64 {
        self.series.iter().map(|s| u64::from(s.histograms)).sum()
    }

    /// The series in the order sent.
    pub fn series(&self) -> impl ExactSizeIterator<Item = SeriesView<'_, 'a>> + '_ {
        let mut labels_start = 0usize;
        let mut samples_start = 0usize;
        self.series.iter().map(move |entry| {
            let labels_end = entry.labels_end as usize;
            let samples_end = entry.samples_end as usize;
            let view = SeriesView {
                labels: &self.labels[labels_start..labels_end],
                samples: &self.samples[samples_start..samples_end],
                exemplars: entry.exemplars,
                histograms: entry.histograms,
            };
            labels_start = labels_end;
            samples_start = samples_end;
            view
        })
    }

    fn finish_series(&mut self, exemplars: u32, histograms: u32) -> Result<(), DecodeError> {
        let too_many = || DecodeError::Malformed("more than 2^32 labels or samples".to_owned());
        self.series.push(SeriesEntry {
            labels_end: u32::try_from(self.labels.len()).map_err(|_| too_many())?,
            samples_end: u32::try_from(self.samples.len()).map_err(|_| too_many())?,
            exemplars,
            histograms,
        });
        Ok(())
    }
}

/// A `Sample` message: value (1, double) and timestamp (2, int64) in both versions; 2.0's
/// start timestamp (3) is skipped.
#[inline]
fn sample(buf: &[u8]) -> Result<Sample, DecodeError> {
    let mut r = Reader::new(buf, "Sample");
    let mut out = Sample::new(0, 0.0);
    while !r.is_empty() {
        let (field, wire_type) = r.key()?;
        match field {
            1 => {
                r.expect(field, wire_type, FIXED64)?;
                out.v = f64::from_bits(r.fixed64()?);
            }
            2 => {
                r.expect(field, wire_type, VARINT)?;
                out.t = r.varint()? as i64;
            }
            _ => r.skip(wire_type)?,
        }
    }
    Ok(out)
}

/// Decodes a remote_write 1.0 `prometheus.WriteRequest`.
pub fn decode_v1(body: &[u8]) -> Result<WriteRequest<'_>, DecodeError> {
    let mut request = WriteRequest::with_capacity_for(body.len());
    let mut r = Reader::new(body, "WriteRequest");
    while !r.is_empty() {
        let (field, wire_type) = r.key()?;
        match field {
            1 => {
                r.expect(field, wire_type, LEN)?;
                let series = r.bytes()?;
                v1_series(&mut request, series)?;
            }
            3 => {
                r.skip(wire_type)?;
                request.metadata += 1;
            }
            _ => r.skip(wire_type)?,
        }
    }
    Ok(request)
}

fn v1_series<'a>(request: &mut WriteRequest<'a>, buf: &'a [u8]) -> Result<(), DecodeError> {
    let mut r = Reader::new(buf, "TimeSeries");
    let (mut exemplars, mut histograms) = (0u32, 0u32);
    while !r.is_empty() {
        let (field, wire_type) = r.key()?;
        match field {
            1 => {
                r.expect(field, wire_type, LEN)?;
                let mut label = Reader::new(r.bytes()?, "Label");
                let (mut name, mut value): RawLabel<'a> = (&[], &[]);
                while !label.is_empty() {
                    let (field, wire_type) = label.key()?;
                    match field {
                        1 => {
                            label.expect(field, wire_type, LEN)?;
                            name = label.bytes()?;
                        }
                        2 => {
                            label.expect(field, wire_type, LEN)?;
                            value = label.bytes()?;
                        }
                        _ => label.skip(wire_type)?,
                    }
                }
                request.labels.push((name, value));
            }
            2 => {
                r.expect(field, wire_type, LEN)?;
                request.samples.push(sample(r.bytes()?)?);
            }
            3 => {
                r.skip(wire_type)?;
                exemplars = exemplars.saturating_add(1);
            }
            4 => {
                r.skip(wire_type)?;
                histograms = histograms.saturating_add(1);
            }
            _ => r.skip(wire_type)?,
        }
    }
    request.finish_series(exemplars, histograms)
}

/// Decodes a remote_write 2.0 `io.prometheus.write.v2.Request`: labels are resolved
/// through the symbol table into slices of the body.
pub fn decode_v2(body: &[u8]) -> Result<WriteRequest<'_>, DecodeError> {
    let mut symbols: Vec<&[u8]> = Vec::new();
    let mut series: Vec<&[u8]> = Vec::new();
    let mut r = Reader::new(body, "Request");
    while !r.is_empty() {
        let (field, wire_type) = r.key()?;
        match field {
            4 => {
                r.expect(field, wire_type, LEN)?;
                symbols.push(r.bytes()?);
            }
            5 => {
                r.expect(field, wire_type, LEN)?;
                series.push(r.bytes()?);
            }
            _ => r.skip(wire_type)?,
        }
    }
    let mut request = WriteRequest::with_capacity_for(body.len());
    let mut refs: Vec<u64> = Vec::with_capacity(32);
    for buf in series {
        refs.clear();
        let mut r = Reader::new(buf, "TimeSeries");
        let (mut exemplars, mut histograms) = (0u32, 0u32);
        let (mut has_samples, mut has_metadata) = (false, false);
        while !r.is_empty() {
            let (field, wire_type) = r.key()?;
            match (field, wire_type) {
                (1, LEN) => {
                    let mut packed = Reader::new(r.bytes()?, "labels_refs");
                    while !packed.is_empty() {
                        refs.push(packed.varint()?);
                    }
                }
                (1, VARINT) => refs.push(r.varint()?),
                (2, _) => {
                    r.expect(field, wire_type, LEN)?;
                    request.samples.push(sample(r.bytes()?)?);
                    has_samples = true;
                }
                (3, _) => {
                    r.skip(wire_type)?;
                    histograms = histograms.saturating_add(1);
                }
                (4, _) => {
                    r.skip(wire_type)?;
                    exemplars = exemplars.saturating_add(1);
                }
                (5, _) => {
                    r.skip(wire_type)?;
                    has_metadata = true;
                }
                _ => r.skip(wire_type)?,
            }
        }
        if !refs.len().is_multiple_of(2) {
            return Err(DecodeError::Malformed(format!(
                "TimeSeries has {} labels_refs; they must come in name/value pairs",
                refs.len()
            )));
        }
        for pair in refs.chunks_exact(2) {
            let symbol = |r: u64| {
                usize::try_from(r)
                    .ok()
                    .and_then(|i| symbols.get(i).copied())
                    .ok_or_else(|| {
                        DecodeError::Malformed(format!(
                            "labels_refs {r} is outside the symbol table of {} entries",
                            symbols.len()
                        ))
                    })
            };
            request.labels.push((symbol(pair[0])?, symbol(pair[1])?));
        }
        if has_metadata && !has_samples && histograms == 0 && exemplars == 0 {
            request.metadata += 1;
        }
        request.finish_series(exemplars, histograms)?;
    }
    Ok(request)
}
