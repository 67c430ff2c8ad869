//! One instance's series and the values it reports: the labels are built once, on the first
//! scrape that reports a series; later scrapes append by the store's series ref.

use tocsin_model::storage::{AppendError, Appender, SeriesRef};
use tocsin_model::{Labels, STALE_NAN, Timestamp};

/// A series of an instance and the ref the store gave it.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) labels: Labels,
    pub(crate) sref: SeriesRef,
}

impl Slot {
    pub(crate) fn new(labels: Labels) -> Self {
        Self { labels, sref: 0 }
    }
}

/// Counts of what a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    pub(crate) samples: u64,
    pub(crate) refused: u64,
}

pub(crate) fn append(
    app: &mut dyn Appender,
    slot: &mut Slot,
    t: Timestamp,
    v: f64,
    n: &mut Appended,
) {
    let result = match (slot.sref != 0)
        .then(|| app.append_by_ref(slot.sref, t, v))
        .flatten()
    {
        Some(r) => r,
        None => app.append(0, &slot.labels, t, v),
    };
    match result {
        Ok(sref) => {
            slot.sref = sref;
            n.samples += 1;
        }
        Err(error) => refused(&error, n),
    }
}

fn refused(error: &AppendError, n: &mut Appended) {
    n.refused += 1;
    tracing::debug!(reason = error.reason(), %error, "store refused a simulated sample");
}

/// The series of one instance, in the order its scrape reports them, with their current
/// values (counters accumulate, gauges are overwritten).
#[derive(Debug)]
pub(crate) struct InstanceSeries {
    /// `service`, `instance`, `region`, `job`.
    base: Vec<(&'static str, String)>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) values: Vec<f64>,
    pub(crate) up: Slot,
    /// `build_info` for the running version.
    pub(crate) build_info: Option<(String, Slot)>,
    /// Restarts seen: (deploys/rollbacks/restarts, OOM kills since the last of those).
    pub(crate) epoch: (u32, u64),
    pub(crate) start_time_s: f64,
    /// Scrapes failing and stale markers already written.
    pub(crate) stale: bool,
    pub(crate) burst: bool,
    pub(crate) disk_extra: f64,
}

impl InstanceSeries {
    pub(crate) fn new(service: &str, instance: String, region: &str, start_time_s: f64) -> Self {
        let base = vec![
            ("instance", instance),
            ("job", service.to_owned()),
            ("region", region.to_owned()),
            ("service", service.to_owned()),
        ];
        let up = Slot::new(labels(&base, "up", &[]));
        Self {
            base,
            slots: Vec::new(),
            values: Vec::new(),
            up,
            build_info: None,
            epoch: (0, 0),
            start_time_s,
            stale: false,
            burst: false,
            disk_extra: 0.0,
        }
    }

    /// Zeroes counters (the process restarted).
    pub(crate) fn reset(&mut self, start_time_s: f64) {
        self.values.iter_mut().for_each(|v| *v = 0.0);
        self.start_time_s = start_time_s;
        self.burst = false;
    }

    pub(crate) fn writer(&mut self) -> Writer<'_> {
        Writer { inst: self, at: 0 }
    }

    /// Appends this scrape's values, `up` 1 and `build_info` for `version`.
    pub(crate) fn append_all(
        &mut self,
        app: &mut dyn Appender,
        t: Timestamp,
        version: &str,
        n: &mut Appended,
    ) {
        append(app, &mut self.up, t, 1.0, n);
        let changed = self
            .build_info
            .as_ref()
            .is_none_or(|(v, _)| v.as_str() != version);
        if changed {
            if let Some((_, mut old)) = self.build_info.take() {
                // The old version's series ends now, as a scrape would mark it.
                append(app, &mut old, t, STALE_NAN, n);
            }
            let l = labels(&self.base, "build_info", &[("version", version)]);
            self.build_info = Some((version.to_owned(), Slot::new(l)));
        }
        if let Some((_, slot)) = &mut self.build_info {
            append(app, slot, t, 1.0, n);
        }
        for (slot, v) in self.slots.iter_mut().zip(&self.values) {
            append(app, slot, t, *v, n);
        }
    }

    /// A failed scrape: `up` 0, and on the first failure a stale marker for every series the
    /// last successful scrape reported (Prometheus's scrape loop does the same).
    pub(crate) fn append_down(&mut self, app: &mut dyn Appender, t: Timestamp, n: &mut Appended) {
        append(app, &mut self.up, t, 0.0, n);
        if self.stale {
            return;
        }
        self.stale = true;
        if let Some((_, slot)) = &mut self.build_info {
            append(app, slot, t, STALE_NAN, n);
        }
        for slot in &mut self.slots {
            append(app, slot, t, STALE_NAN, n);
        }
    }

    /// Forgets store refs (a different store).
    pub(crate) fn forget_refs(&mut self) {
        self.up.sref = 0;
        if let Some((_, s)) = &mut self.build_info {
            s.sref = 0;
        }
        self.slots.iter_mut().for_each(|s| s.sref = 0);
    }

    pub(crate) fn series(&self) -> usize {
        self.slots.len() + 1 + usize::from(self.build_info.is_some())
    }
}

fn labels(
    base: &[(&'static str, String)],
    name: &'static str,
    extra: &[(&'static str, &str)],
) -> Labels {
    Labels::from_pairs(
        base.iter()
            .map(|(n, v)| (*n, v.as_str()))
            .chain(std::iter::once(("__name__", name)))
            .chain(extra.iter().copied()),
    )
    .expect("invariant: simulated label names are fixed and distinct")
}

/// Writes one scrape's values in order; a series seen for the first time gets its labels.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    inst: &'a mut InstanceSeries,
    at: usize,
}

impl Writer<'_> {
    fn slot(&mut self, name: &'static str, extra: &[(&'static str, &str)]) -> usize {
        let at = self.at;
        if at == self.inst.slots.len() {
            let l = labels(&self.inst.base, name, extra);
            self.inst.slots.push(Slot::new(l));
            self.inst.values.push(0.0);
        }
        debug_assert_eq!(
            self.inst.slots[at].labels.metric_name(),
            Some(name),
            "series written out of order"
        );
        self.at += 1;
        at
    }

    /// Adds `inc` to a counter.
    pub(crate) fn add(&mut self, name: &'static str, extra: &[(&'static str, &str)], inc: f64) {
        let at = self.slot(name, extra);
        self.inst.values[at] += inc;
    }

    /// Sets a gauge.
    pub(crate) fn set(&mut self, name: &'static str, extra: &[(&'static str, &str)], v: f64) {
        let at = self.slot(name, extra);
        self.inst.values[at] = v;
    }
}
