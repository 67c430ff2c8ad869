//! Schedules: who is on call, when.
//!
//! A layer is a rotation: shift `k` starts at the first handoff plus `k` shift lengths and
//! goes to participant `k mod n`. Day-based rotations (daily, weekly, custom whole days) add
//! civil days in the layer's zone, so a 09:00 handoff stays at 09:00 local across DST; other
//! lengths (hourly, `12h`) are absolute. Restrictions follow PagerDuty: they limit when a
//! layer is on duty, but the rotation keeps its clock, so nobody is skipped or reordered: a
//! shift falling wholly outside the windows simply gives that person no duty that turn.
//!
//! Layers stack: for any instant the last layer with someone on duty wins (the lower ones
//! fill what it leaves uncovered). Overrides go on top: the latest matching override wins;
//! one with `replaces` applies only where that user would otherwise be on call (a swap is a
//! pair of such overrides), one without replaces whoever, or nobody.

use std::time::Duration;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, ZonedDateTime};
use serde::Serialize;

use crate::directory::OverrideSpec;

/// A wall-clock time of day; `24:00` is allowed as the end of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime {
    minutes: u16,
}

impl LocalTime {
    /// 00:00.
    pub const MIDNIGHT: Self = Self { minutes: 0 };

    /// Parses `HH:MM`; `24:00` only when `allow_24` (window ends).
    pub fn parse(text: &str, allow_24: bool) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a time like 09:00");
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
            return Err(bad());
        }
        Ok(Self {
            minutes: h * 60 + m,
        })
    }

    /// The instant this time falls on `date` in `tz`, resolving DST gaps and folds the way
    /// RFC 5545 does (a time in a gap moves forward by the gap; in a fold the earlier one).
    pub fn on(self, date: Date, tz: &TimeZone) -> Result<ZonedDateTime, jiff::Error> {
        let (date, minutes) = if self.minutes == 24 * 60 {
            (date.tomorrow()?, 0)
        } else {
            (date, self.minutes)
        };
        let time = Time::new(
            i8::try_from(minutes / 60).unwrap_or(0),
            i8::try_from(minutes % 60).unwrap_or(0),
            0,
            0,
        )?;
        date.to_datetime(time).to_zoned_datetime(tz.clone())
    }
}

/// How shifts advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Civil days in the layer's zone.
    Days(i64),
    /// Absolute time.
    Fixed(Duration),
}

/// A window a layer is on duty in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// Days the window starts on; empty: every day.
    pub weekdays: Vec<Weekday>,
    /// Start.
    pub from: LocalTime,
    /// End; at or before `from`: the next day.
    pub to: LocalTime,
}

/// One layer, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Name.
    pub name: String,
    /// Zone of the handoff and restrictions.
    pub tz: TimeZone,
    /// Shift length.
    pub rotation: Rotation,
    /// The first handoff.
    pub start: ZonedDateTime,
    /// No duty from here.
    pub end: Option<Timestamp>,
    /// In order.
    pub participants: Vec<String>,
    /// Empty: always on duty.
    pub restrictions: Vec<Restriction>,
}

/// An override, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The store's id for API-made overrides; `None` for ones in files.
    pub id: Option<String>,
    /// Who is on call.
    pub user: String,
    /// Only instead of this user.
    pub replaces: Option<String>,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
}

impl Override {
    /// From its spec.
    pub fn from_spec(spec: &OverrideSpec, id: Option<String>) -> Self {
        Self {
            id,
            user: spec.user.clone(),
            replaces: spec.replaces.clone(),
            start: spec.start,
            end: spec.end,
        }
    }
}

/// A schedule, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Default zone.
    pub tz: TimeZone,
    /// Bottom to top.
    pub layers: Vec<Layer>,
    /// In order of creation (later wins).
    pub overrides: Vec<Override>,
}

/// A span of time one person is on call for a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnCallShift {
    /// Schedule id.
    pub schedule: String,
    /// User id.
    pub user: String,
    /// Start (inclusive).
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
    /// The layer that put them there, or `override`.
    pub source: String,
}

/// Longest range `shifts` computes (a year and a bit): bounds the work of one request.
pub const MAX_RANGE: Duration = Duration::from_secs(400 * 86_400);

/// A piece of a layer's or override's coverage.
#[derive(Debug, Clone)]
struct Piece {
    start: Timestamp,
    end: Timestamp,
    user: String,
}

fn add(ts: Timestamp, d: Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    ts.checked_add(d).unwrap_or(Timestamp::MAX)
}

impl Layer {
    /// Start of shift `k`.
    fn shift_start(&self, k: i64) -> Option<Timestamp> {
        match self.rotation {
            Rotation::Days(days) => self
                .start
                .checked_add(Span::new().days(k.checked_mul(days)?))
                .ok()
                .map(|z| z.timestamp()),
            Rotation::Fixed(len) => {
                let secs = i64::try_from(len.as_millis()).ok()?.checked_mul(k)?;
                self.start
                    .timestamp()
                    .checked_add(SignedDuration::from_millis(secs))
                    .ok()
            }
        }
    }

    /// The index of the shift containing `at` (negative before the first handoff).
    fn shift_index(&self, at: Timestamp) -> i64 {
        let nominal_ms: i64 = match self.rotation {
            Rotation::Days(d) => d.saturating_mul(86_400_000),
            Rotation::Fixed(len) => i64::try_from(len.as_millis()).unwrap_or(i64::MAX),
        }
        .max(1);
        let elapsed = self.start.timestamp().duration_until(at).as_millis();
        let elapsed = i64::try_from(elapsed).unwrap_or(i64::MAX);
        let mut k = elapsed.div_euclid(nominal_ms);
        // DST makes civil days 23 or 25 hours: step to the shift that really holds `at`.
        for _ in 0..4 {
            match (self.shift_start(k), self.shift_start(k + 1)) {
                (Some(s), _) if s > at => k -= 1,
                (_, Some(e)) if e <= at => k += 1,
                _ => break,
            }
        }
        k
    }

    /// Rotation shifts overlapping `[from, to)`, unclipped, before restrictions.
    fn rotation_shifts(&self, from: Timestamp, to: Timestamp) -> Vec<Piece> {
        let mut out = Vec::new();
        let n = i64::try_from(self.participants.len()).unwrap_or(1).max(1);
        let first = self.shift_index(from).max(0);
        // Bounded: MAX_RANGE of one-minute shifts at most.
        for k in first..first.saturating_add(600_000) {
            let (Some(start), Some(end)) = (self.shift_start(k), self.shift_start(k + 1)) else {
                break;
            };
            if start >= to || self.end.is_some_and(|e| start >= e) {
                break;
            }
            let end = self.end.map_or(end, |e| end.min(e));
            let index = usize::try_from(k.rem_euclid(n)).unwrap_or(0);
            let Some(user) = self.participants.get(index) else {
                break;
            };
            out.push(Piece {
                start,
                end,
                user: user.clone(),
            });
        }
        out
    }

    /// The windows of the restrictions overlapping `[from, to)`, merged, in order.
    fn windows(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let first = from.to_zoned_datetime(self.tz.clone()).date();
        let last = to.to_zoned_datetime(self.tz.clone()).date();
        let mut out: Vec<(Timestamp, Timestamp)> = Vec::new();
        let mut day = first.yesterday().unwrap_or(first);
        while day <= last {
            for r in &self.restrictions {
                if !r.weekdays.is_empty() && !r.weekdays.contains(&day.weekday()) {
                    continue;
                }
                let end_day = if r.to <= r.from {
                    day.tomorrow().unwrap_or(day)
                } else {
                    day
                };
                let (Ok(s), Ok(e)) = (r.from.on(day, &self.tz), r.to.on(end_day, &self.tz)) else {
                    continue;
                };
                let (s, e) = (s.timestamp().max(from), e.timestamp().min(to));
                if s < e {
                    out.push((s, e));
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        out.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// Who this layer has on duty in `[from, to)`, clipped, restrictions applied.
    fn coverage(&self, from: Timestamp, to: Timestamp) -> Vec<Piece> {
        let shifts = self.rotation_shifts(from, to);
        let clip = |p: &Piece, s: Timestamp, e: Timestamp| {
            let (s, e) = (p.start.max(s), p.end.min(e));
            (s < e).then(|| Piece {
                start: s,
                end: e,
                user: p.user.clone(),
            })
        };
        if self.restrictions.is_empty() {
            return shifts.iter().filter_map(|p| clip(p, from, to)).collect();
        }
        let windows = self.windows(from, to);
        let mut out = Vec::new();
        for shift in &shifts {
            for &(s, e) in &windows {
                if let Some(p) = clip(shift, s, e) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Who is on this layer's duty at `at`, if anyone.
    pub fn at(&self, at: Timestamp) -> Option<String> {
        let later = add(at, Duration::from_millis(1));
        self.coverage(at, later).into_iter().next().map(|p| p.user)
    }
}

impl Schedule {
    /// The final schedule over `[from, to)`: maximal spans of one person from one source,
    /// in order. Time nobody covers is absent (see [`gaps`]).
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> crate::Result<Vec<OnCallShift>> {
        if to <= from {
            return Err(crate::Error::BadRequest(format!(
                "the range end {to} is not after its start {from}"
            )));
        }
        if from.duration_until(to) > SignedDuration::try_from(MAX_RANGE).unwrap_or_default() {
            return Err(crate::Error::BadRequest(format!(
                "the range {from} to {to} is longer than {} days; ask for less",
                MAX_RANGE.as_secs() / 86_400
            )));
        }
        let layers: Vec<(String, Vec<Piece>)> = self
            .layers
            .iter()
            .map(|l| (l.name.clone(), l.coverage(from, to)))
            .collect();
        let overrides: Vec<&Override> = self
            .overrides
            .iter()
            .filter(|o| o.start < to && o.end > from)
            .collect();
        let mut points: Vec<Timestamp> = vec![from, to];
        for (_, pieces) in &layers {
            for p in pieces {
                points.push(p.start);
                points.push(p.end);
            }
        }
        for o in &overrides {
            points.push(o.start.max(from));
            points.push(o.end.min(to));
        }
        points.sort();
        points.dedup();
        let mut cursors = vec![0usize; layers.len()];
        let mut out: Vec<OnCallShift> = Vec::new();
        for pair in points.windows(2) {
            let (s, e) = (pair[0], pair[1]);
            let mut found: Option<(String, String)> = None;
            for (i, (name, pieces)) in layers.iter().enumerate() {
                // Pieces of one layer are in order and do not overlap: walk them once.
                while cursors[i] < pieces.len() && pieces[cursors[i]].end <= s {
                    cursors[i] += 1;
                }
                if let Some(p) = pieces.get(cursors[i])
                    && p.start <= s
                {
                    found = Some((p.user.clone(), name.clone()));
                }
            }
            for o in &overrides {
                if o.start <= s && o.end >= e {
                    let applies = match (&o.replaces, &found) {
                        (None, _) => true,
                        (Some(r), Some((user, _))) => r == user,
                        (Some(_), None) => false,
                    };
                    if applies {
                        found = Some((o.user.clone(), "override".to_owned()));
                    }
                }
            }
            let Some((user, source)) = found else {
                continue;
            };
            match out.last_mut() {
                Some(last) if last.end == s && last.user == user && last.source == source => {
                    last.end = e;
                }
                _ => out.push(OnCallShift {
                    schedule: self.id.clone(),
                    user,
                    start: s,
                    end: e,
                    source,
                }),
            }
        }
        Ok(out)
    }

    /// Who is on call at `at`: the shift holding it (empty when nobody is), its extent
    /// clipped to eight days either side.
    pub fn who(&self, at: Timestamp) -> crate::Result<Vec<OnCallShift>> {
        let from = at
            .checked_sub(SignedDuration::from_hours(24 * 8))
            .unwrap_or(at);
        let to = add(at, Duration::from_secs(86_400 * 8));
        Ok(self
            .shifts(from, to)?
            .into_iter()
            .filter(|s| s.start <= at && at < s.end)
            .collect())
    }
}

/// The spans of `[from, to)` that no shift covers.
pub fn gaps(shifts: &[OnCallShift], from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut cursor = from;
    for s in shifts {
        if s.start > cursor {
            out.push((cursor, s.start.min(to)));
        }
        cursor = cursor.max(s.end);
    }
    if cursor < to {
        out.push((cursor, to));
    }
    out
}

#[cfg(test)]
mod tests;
