//! The schedule report: is the schedule covered, and is the load fair?
//!
//! Over a range: the gaps nobody covers, and per person the hours on call, the night hours
//! (22:00–06:00 in the person's own zone), the weekend hours (Saturday and Sunday in their
//! zone), and the pages they received out of hours (at night or on a weekend, their time),
//! counted from the pages the escalation engine recorded.

use std::collections::BTreeMap;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tocsin_store::oncall::PageRow;

use crate::directory::Directory;
use crate::schedule::{LocalTime, OnCallShift, gaps};

/// One person's load.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PersonLoad {
    /// User id.
    pub user: String,
    /// Hours on call.
    pub hours: f64,
    /// Of which between 22:00 and 06:00 in their zone.
    pub night_hours: f64,
    /// Of which on Saturday or Sunday in their zone.
    pub weekend_hours: f64,
    /// Shifts (maximal spans).
    pub shifts: usize,
    /// Distinct escalation steps that paged them.
    pub pages: usize,
    /// Of which at night or on a weekend, their time.
    pub pages_out_of_hours: usize,
}

/// An uncovered span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Schedule id.
    pub schedule: String,
    /// Range start.
    pub from: Timestamp,
    /// Range end.
    pub to: Timestamp,
    /// Share of the range covered, 0 to 1.
    pub coverage: f64,
    /// Uncovered spans.
    pub gaps: Vec<Gap>,
    /// Per person, by id.
    pub people: Vec<PersonLoad>,
}

fn hours(d: SignedDuration) -> f64 {
    d.as_secs_f64() / 3600.0
}

fn overlap(a: (Timestamp, Timestamp), b: (Timestamp, Timestamp)) -> SignedDuration {
    let (s, e) = (a.0.max(b.0), a.1.min(b.1));
    if s < e {
        s.duration_until(e)
    } else {
        SignedDuration::ZERO
    }
}

fn at(time: LocalTime, date: Date, tz: &TimeZone) -> Option<Timestamp> {
    time.on(date, tz).ok().map(|z| z.timestamp())
}

/// Night (22–06) and weekend time of `[start, end)` in `tz`.
pub fn night_and_weekend(
    start: Timestamp,
    end: Timestamp,
    tz: &TimeZone,
) -> (SignedDuration, SignedDuration) {
    let (mut night, mut weekend) = (SignedDuration::ZERO, SignedDuration::ZERO);
    let first = start.to_zoned_datetime(tz.clone()).date();
    let last = end.to_zoned_datetime(tz.clone()).date();
    let six = LocalTime::parse("06:00", false).unwrap_or(LocalTime::MIDNIGHT);
    let ten = LocalTime::parse("22:00", false).unwrap_or(LocalTime::MIDNIGHT);
    let mut day = first;
    // Bounded by the range's days.
    for _ in 0..500 {
        if day > last {
            break;
        }
        let midnight = at(LocalTime::MIDNIGHT, day, tz);
        let morning = at(six, day, tz);
        let evening = at(ten, day, tz);
        let next = day
            .tomorrow()
            .ok()
            .and_then(|d| at(LocalTime::MIDNIGHT, d, tz));
        if let (Some(m), Some(s), Some(t), Some(n)) = (midnight, morning, evening, next) {
            night += overlap((start, end), (m, s)) + overlap((start, end), (t, n));
            if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                weekend += overlap((start, end), (m, n));
            }
        }
        let Ok(d) = day.tomorrow() else { break };
        day = d;
    }
    (night, weekend)
}

/// Whether `t` is at night or on a weekend in `tz`.
pub fn out_of_hours(t: Timestamp, tz: &TimeZone) -> bool {
    let local = t.to_zoned_datetime(tz.clone());
    let hour = local.hour();
    matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday) || !(6..22).contains(&hour)
}

/// Builds the report of `schedule` over `[from, to)` from its final shifts and the pages
/// recorded in that range.
pub fn build(
    directory: &Directory,
    schedule: &str,
    from: Timestamp,
    to: Timestamp,
    shifts: &[OnCallShift],
    pages: &[PageRow],
) -> Report {
    let mut people: BTreeMap<String, PersonLoad> = BTreeMap::new();
    for shift in shifts {
        let tz = directory
            .users
            .get(&shift.user)
            .map_or(TimeZone::UTC, |u| u.tz.clone());
        let entry = people
            .entry(shift.user.clone())
            .or_insert_with(|| PersonLoad {
                user: shift.user.clone(),
                ..PersonLoad::default()
            });
        entry.shifts += 1;
        entry.hours += hours(shift.start.duration_until(shift.end));
        let (night, weekend) = night_and_weekend(shift.start, shift.end, &tz);
        entry.night_hours += hours(night);
        entry.weekend_hours += hours(weekend);
    }
    // One page per escalation step and person, however many contacts it reached.
    let mut steps = BTreeMap::new();
    for p in pages {
        if !people.contains_key(&p.user_id) {
            continue;
        }
        steps
            .entry((
                p.escalation_id.clone(),
                p.generation,
                p.step,
                p.repeat_no,
                p.user_id.clone(),
            ))
            .or_insert(p.created_at);
    }
    for ((_, _, _, _, user), created) in steps {
        let Some(entry) = people.get_mut(&user) else {
            continue;
        };
        let Ok(t) = Timestamp::from_millisecond(created) else {
            continue;
        };
        let tz = directory
            .users
            .get(&user)
            .map_or(TimeZone::UTC, |u| u.tz.clone());
        entry.pages += 1;
        if out_of_hours(t, &tz) {
            entry.pages_out_of_hours += 1;
        }
    }
    let holes = gaps(shifts, from, to);
    let total = hours(from.duration_until(to));
    let uncovered: f64 = holes.iter().map(|(s, e)| hours(s.duration_until(*e))).sum();
    Report {
        schedule: schedule.to_owned(),
        from,
        to,
        coverage: if total > 0.0 {
            (total - uncovered) / total
        } else {
            0.0
        },
        gaps: holes
            .into_iter()
            .map(|(start, end)| Gap { start, end })
            .collect(),
        people: people.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn shift(user: &str, start: &str, end: &str) -> OnCallShift {
        OnCallShift {
            schedule: "s".into(),
            user: user.into(),
            start: ts(start),
            end: ts(end),
            source: "main".into(),
        }
    }

    fn page(user: &str, step: i64, contact: &str, at: &str) -> PageRow {
        PageRow {
            id: 0,
            escalation_id: "e".into(),
            generation: 0,
            step,
            repeat_no: 0,
            user_id: user.into(),
            contact: contact.into(),
            created_at: ts(at).as_millisecond(),
            status: "sent".into(),
            sent_at: None,
            error: None,
        }
    }

    #[test]
    fn nights_and_weekends_are_counted_in_each_persons_zone() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        // Friday 2026-06-05 12:00Z to Saturday 12:00Z is Fri 21:00 to Sat 21:00 in Tokyo:
        // nights 22:00–06:00 (8h); weekend from Sat 00:00 (21h).
        let (night, weekend) = night_and_weekend(
            ts("2026-06-05T12:00:00Z"),
            ts("2026-06-06T12:00:00Z"),
            &tokyo,
        );
        assert_eq!((hours(night), hours(weekend)), (8.0, 21.0));
        // The UK's autumn change makes the night of 2026-10-24/25 nine hours long.
        let london = TimeZone::get("Europe/London").unwrap();
        let (night, _) = night_and_weekend(
            ts("2026-10-24T12:00:00Z"),
            ts("2026-10-25T12:00:00Z"),
            &london,
        );
        assert_eq!(hours(night), 9.0);
        assert!(
            out_of_hours(ts("2026-06-08T21:30:00Z"), &london),
            "22:30 BST"
        );
        assert!(
            !out_of_hours(ts("2026-06-08T08:30:00Z"), &london),
            "09:30 BST on a Monday"
        );
        assert!(
            out_of_hours(ts("2026-06-06T12:00:00Z"), &london),
            "a Saturday"
        );
    }

    #[test]
    fn the_report_has_gaps_hours_and_pages_out_of_hours_per_person() {
        let dir = Directory::from_files(&[(
            "d.yml".into(),
            "users:\n  - {id: a, time_zone: UTC}\n  - {id: b, time_zone: America/New_York}\n"
                .into(),
        )])
        .unwrap();
        let shifts = [
            shift("a", "2026-06-01T00:00:00Z", "2026-06-01T12:00:00Z"),
            shift("b", "2026-06-01T18:00:00Z", "2026-06-02T00:00:00Z"),
        ];
        let pages = [
            // One step reaching two contacts counts once; 03:00 UTC is night for a.
            page("a", 0, "inbox", "2026-06-01T03:00:00Z"),
            page("a", 0, "webhook:x", "2026-06-01T03:00:00Z"),
            // 19:00 UTC is 15:00 in New York: in hours for b.
            page("b", 1, "inbox", "2026-06-01T19:00:00Z"),
            // Not on this schedule: left out.
            page("z", 2, "inbox", "2026-06-01T19:00:00Z"),
        ];
        let r = build(
            &dir,
            "s",
            ts("2026-06-01T00:00:00Z"),
            ts("2026-06-02T00:00:00Z"),
            &shifts,
            &pages,
        );
        assert_eq!(
            r.gaps,
            [Gap {
                start: ts("2026-06-01T12:00:00Z"),
                end: ts("2026-06-01T18:00:00Z")
            }]
        );
        assert!((r.coverage - 0.75).abs() < 1e-9);
        let a = &r.people[0];
        assert_eq!(
            (
                a.user.as_str(),
                a.hours,
                a.night_hours,
                a.pages,
                a.pages_out_of_hours
            ),
            ("a", 12.0, 6.0, 1, 1)
        );
        let b = &r.people[1];
        // 18:00–24:00 UTC is 14:00–20:00 in New York: no night hours.
        assert_eq!(
            (
                b.user.as_str(),
                b.hours,
                b.night_hours,
                b.pages,
                b.pages_out_of_hours
            ),
            ("b", 6.0, 0.0, 1, 0)
        );
    }
}
