//! Batched appends. Staging checks each sample against its series' newest committed sample
//! and the batch's own earlier samples (no lock but the series map's read lock); commit
//! writes one WAL write (new series records, then one samples record) and applies the batch
//! to the head while holding the WAL lock, so the head sees commits in log order and a
//! replay rebuilds exactly the same head.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tocsin_model::storage::{AppendError, Appender, CommitSummary, SeriesRef, StorageError};
use tocsin_model::{Labels, Timestamp};

use super::series::Applied;
use super::{Head, MemSeries, U64Map};
use crate::wal::Wal;
use crate::wal::record::{self, RecordType, RefSample};

/// The buffers of an appender, kept per thread between batches: a scraper or receiver
/// thread commits batch after batch, and regrowing these maps and vectors every time was a
/// measurable share of the append path.
#[derive(Default)]
struct Buffers {
    series: Vec<Arc<MemSeries>>,
    staged_last: U64Map<(u32, i64, u64)>,
    samples: Vec<(u32, i64, f64)>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Option<Buffers>> = const { std::cell::RefCell::new(None) };
}

fn take_buffers() -> Buffers {
    BUFFERS.with(|b| b.borrow_mut().take()).unwrap_or_default()
}

fn give_back(mut buffers: Buffers) {
    buffers.series.clear();
    buffers.staged_last.clear();
    buffers.samples.clear();
    // A huge one-off batch should not pin its memory.
    if buffers.samples.capacity() > 1 << 16 || buffers.staged_last.capacity() > 1 << 16 {
        return;
    }
    BUFFERS.with(|b| *b.borrow_mut() = Some(buffers));
}

/// What a batch staged for a series: its index in the batch, newest time and value bits.
type Staged = (u32, i64, u64);

/// One batch of appends to the head.
pub struct HeadAppender<'a> {
    head: &'a Head,
    wal: &'a Wal,
    /// Series touched by the batch; samples refer to them by index.
    series: Vec<Arc<MemSeries>>,
    /// ref → (index in `series`, newest staged time and value bits).
    staged_last: U64Map<(u32, i64, u64)>,
    samples: Vec<(u32, i64, f64)>,
    new_series: u64,
}

impl std::fmt::Debug for HeadAppender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadAppender")
            .field("samples", &self.samples.len())
            .finish_non_exhaustive()
    }
}

impl<'a> HeadAppender<'a> {
    pub(crate) fn new(head: &'a Head, wal: &'a Wal) -> Self {
        let buffers = take_buffers();
        Self {
            head,
            wal,
            series: buffers.series,
            staged_last: buffers.staged_last,
            samples: buffers.samples,
            new_series: 0,
        }
    }

    fn reject(&self, err: AppendError) -> AppendError {
        self.head.metrics.rejected(err.reason());
        err
    }

    /// Checks and stages a sample of `series`, taking the batch's handle on it when the
    /// batch has none yet. One lookup of the staged map per sample: this runs for every
    /// sample received.
    fn stage(&mut self, series: Arc<MemSeries>, t: Timestamp, v: f64) -> Result<(), AppendError> {
        let staged = self.staged_last.get(&series.sref).copied();
        self.stage_with(staged, series, t, v)
    }

    fn stage_with(
        &mut self,
        staged: Option<Staged>,
        series: Arc<MemSeries>,
        t: Timestamp,
        v: f64,
    ) -> Result<(), AppendError> {
        let min_valid = self.head.min_valid_time();
        if t < min_valid {
            return Err(self.reject(AppendError::TooOld {
                series: series.labels(),
                t,
                min_valid,
            }));
        }
        let (index, last) = match staged {
            Some((index, lt, lv)) => (Some(index), Some((lt, lv))),
            None => (None, series.last()),
        };
        if let Some((last_t, last_v)) = last {
            let window = self.head.opts.ooo_window;
            if t < last_t && window > 0 && t >= last_t.saturating_sub(window) {
                // Inside the out-of-order window: staged without moving the newest time.
                let index = match index {
                    Some(index) => index,
                    None => {
                        let sref = series.sref;
                        let index = self.push_series(series);
                        self.staged_last.insert(sref, (index, last_t, last_v));
                        index
                    }
                };
                self.samples.push((index, t, v));
                return Ok(());
            }
            if t < last_t {
                return Err(self.reject(AppendError::OutOfOrder {
                    series: series.labels(),
                    t,
                    newest: last_t,
                }));
            }
            if t == last_t {
                if v.to_bits() == last_v {
                    return Ok(());
                }
                return Err(self.reject(AppendError::DuplicateTimestamp {
                    series: series.labels(),
                    t,
                }));
            }
        }
        let sref = series.sref;
        let index = match index {
            Some(index) => index,
            None => self.push_series(series),
        };
        self.staged_last.insert(sref, (index, t, v.to_bits()));
        self.samples.push((index, t, v));
        Ok(())
    }

    fn push_series(&mut self, series: Arc<MemSeries>) -> u32 {
        self.series.push(series);
        (self.series.len() - 1) as u32
    }

    /// The series `sref` and what the batch staged for it, if the batch or the head knows it.
    fn known(&self, sref: SeriesRef) -> Option<(Option<Staged>, Arc<MemSeries>)> {
        if let Some(&staged) = self.staged_last.get(&sref) {
            return Some((Some(staged), Arc::clone(&self.series[staged.0 as usize])));
        }
        self.head.series_by_ref(sref).map(|series| (None, series))
    }
}

impl Appender for HeadAppender<'_> {
    fn append(
        &mut self,
        series: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        // A ref is trusted as Prometheus does: refs are never reused for another series, so
        // a stale one finds nothing and the labels are looked up instead.
        if series != 0
            && let Some((staged, found)) = self.known(series)
        {
            let sref = found.sref;
            return self.stage_with(staged, found, t, v).map(|()| sref);
        }
        if labels.is_empty() {
            return Err(self.reject(AppendError::InvalidSeries {
                series: labels.clone(),
                reason: "a series needs at least one label".to_owned(),
            }));
        }
        let (found, created) = self.head.get_or_create(labels);
        if created {
            self.new_series += 1;
        }
        let sref = found.sref;
        self.stage(found, t, v)?;
        Ok(sref)
    }

    fn append_by_ref(
        &mut self,
        series: SeriesRef,
        t: Timestamp,
        v: f64,
    ) -> Option<Result<SeriesRef, AppendError>> {
        let (staged, found) = self.known(series)?;
        let sref = found.sref;
        Some(self.stage_with(staged, found, t, v).map(|()| sref))
    }

    fn commit(mut self: Box<Self>) -> tocsin_model::storage::Result<CommitSummary> {
        if self.samples.is_empty() {
            return Ok(CommitSummary {
                samples: 0,
                new_series: self.new_series,
            });
        }
        let head = self.head;
        let mut wal = self.wal.lock();
        wal.check_open().map_err(StorageError::from)?;
        // A series dropped by head truncation since staging is looked up again (re-created).
        for s in &mut self.series {
            if s.removed.load(Ordering::Acquire) {
                *s = head.get_or_create(&s.labels()).0;
            }
        }
        let mut buf = wal.take_scratch();
        let unlogged: Vec<usize> = (0..self.series.len())
            .filter(|&i| !self.series[i].logged.load(Ordering::Acquire))
            .collect();
        if !unlogged.is_empty() {
            let start = record::begin_frame(&mut buf, RecordType::Series);
            let labels: Vec<(u64, Labels)> = unlogged
                .iter()
                .map(|&i| (self.series[i].sref, self.series[i].labels()))
                .collect();
            record::encode_series(&mut buf, labels.iter().map(|(r, l)| (*r, l)));
            record::finish_frame(&mut buf, start);
        }
        let start = record::begin_frame(&mut buf, RecordType::Samples);
        let series = &self.series;
        record::encode_samples(
            &mut buf,
            self.samples.iter().map(|&(i, t, v)| RefSample {
                series: series[i as usize].sref,
                t,
                v,
            }),
        );
        record::finish_frame(&mut buf, start);
        if let Err(err) = wal.write(&buf) {
            wal.put_scratch(buf);
            head.metrics.wal_write_failures.inc();
            tracing::error!(%err, samples = self.samples.len(), "commit refused: the WAL write failed");
            return Err(err.into());
        }
        wal.put_scratch(buf);
        for &i in &unlogged {
            self.series[i].logged.store(true, Ordering::Release);
        }
        let summary = apply_batch(
            head,
            self.samples
                .iter()
                .map(|&(i, t, v)| (&self.series[i as usize], t, v)),
        );
        drop(wal);
        Ok(CommitSummary {
            samples: summary,
            new_series: self.new_series,
        })
    }
}

impl Drop for HeadAppender<'_> {
    fn drop(&mut self) {
        give_back(Buffers {
            series: std::mem::take(&mut self.series),
            staged_last: std::mem::take(&mut self.staged_last),
            samples: std::mem::take(&mut self.samples),
        });
    }
}

/// Applies committed samples to their series (the caller holds the WAL lock, or is the
/// single replay worker for these series). Returns how many were stored.
pub(crate) fn apply_batch<'s>(
    head: &Head,
    samples: impl Iterator<Item = (&'s Arc<MemSeries>, i64, f64)>,
) -> u64 {
    let min_valid = head.min_valid_time();
    let (mut stored, mut chunks) = (0u64, 0i64);
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    for (series, t, v) in samples {
        if t < min_valid {
            // A compaction persisted this range after the sample was staged.
            head.metrics.rejected("too_old");
            continue;
        }
        let (outcome, added) = series.apply(t, v, &head.opts, head.chunk_files.as_deref());
        chunks += added;
        match outcome {
            Applied::Stored => {
                stored += 1;
                mint = mint.min(t);
                maxt = maxt.max(t);
            }
            Applied::Duplicate => {}
            // Another batch for the same series committed first.
            Applied::OutOfOrder => head.metrics.rejected("out_of_order"),
            Applied::Conflict => head.metrics.rejected("duplicate_timestamp"),
        }
    }
    head.observe_times(mint, maxt);
    head.metrics.samples_appended.inc_by(stored);
    if chunks != 0 {
        head.metrics.head_chunks.add(chunks);
    }
    stored
}
