#![allow(clippy::unwrap_used, reason = "test code")]

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::directory::Directory;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn directory(yaml: &str) -> Directory {
    Directory::from_files(&[("oncall.yml".to_owned(), yaml.to_owned())]).unwrap()
}

const PEOPLE: &str = "
users:
  - {id: ldn1, time_zone: Europe/London}
  - {id: ldn2, time_zone: Europe/London}
  - {id: ldn3, time_zone: Europe/London}
  - {id: nyc1, time_zone: America/New_York}
  - {id: nyc2, time_zone: America/New_York}
  - {id: nyc3, time_zone: America/New_York}
  - {id: tyo1, time_zone: Asia/Tokyo}
  - {id: tyo2, time_zone: Asia/Tokyo}
  - {id: tyo3, time_zone: Asia/Tokyo}
";

fn follow_the_sun() -> Directory {
    let mut yaml = PEOPLE.to_owned();
    yaml.push_str("schedules:\n  - id: sun\n    time_zone: UTC\n    layers:\n");
    for (name, zone, prefix) in [
        ("tokyo", "Asia/Tokyo", "tyo"),
        ("london", "Europe/London", "ldn"),
        ("newyork", "America/New_York", "nyc"),
    ] {
        yaml.push_str(&format!(
            "      - name: {name}\n        rotation: daily\n        handoff: \"09:00\"\n        \
             time_zone: {zone}\n        start: 2026-01-05\n        \
             participants: [{prefix}1, {prefix}2, {prefix}3]\n        restrictions:\n          \
             - {{weekdays: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"17:00\"}}\n"
        ));
    }
    directory(&yaml)
}

/// Who follow-the-sun should have at `at`, computed from civil calendars only: a region is
/// on duty when its local time is 09:00–17:00 on a weekday; the later region (Tokyo, London,
/// New York) wins overlaps; the person is the day's index since 2026-01-05 modulo 3.
fn oracle(at: Timestamp) -> Option<String> {
    let mut found = None;
    for (zone, prefix) in [
        ("Asia/Tokyo", "tyo"),
        ("Europe/London", "ldn"),
        ("America/New_York", "nyc"),
    ] {
        let local = at.to_zoned_datetime(TimeZone::get(zone).unwrap());
        let weekday = !matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
        if weekday && (9..17).contains(&local.hour()) {
            let days = Date::new(2026, 1, 5)
                .unwrap()
                .duration_until(local.date())
                .as_secs()
                / 86_400;
            found = Some(format!("{prefix}{}", days % 3 + 1));
        }
    }
    found
}

#[test]
fn follow_the_sun_is_right_at_every_hour_across_the_march_and_october_dst_changes() {
    let dir = follow_the_sun();
    let schedule = dir.schedule("sun").unwrap();
    // US springs forward 2026-03-08, the UK 2026-03-29; the UK falls back 2026-10-25, the US
    // 2026-11-01. Tokyo has no DST. Every hour and half past, from a week before to a week after.
    let mut checked = 0;
    for (from, to) in [
        ("2026-03-01T00:00:00Z", "2026-04-05T00:00:00Z"),
        ("2026-10-18T00:00:00Z", "2026-11-08T00:00:00Z"),
    ] {
        let (from, to) = (ts(from), ts(to));
        let mut at = from;
        while at < to {
            for probe in [at, at + SignedDuration::from_mins(30)] {
                let who: Vec<String> = schedule
                    .who(probe)
                    .unwrap()
                    .into_iter()
                    .map(|s| s.user)
                    .collect();
                assert_eq!(
                    who,
                    oracle(probe).into_iter().collect::<Vec<_>>(),
                    "at {probe}"
                );
                checked += 1;
            }
            at += SignedDuration::from_hours(1);
        }
    }
    assert_eq!(checked, 2 * (35 * 24 + 21 * 24));
}

#[test]
fn follow_the_sun_hand_checked_hours_around_the_uk_change() {
    let dir = follow_the_sun();
    let s = dir.schedule("sun").unwrap();
    let who = |at: &str| {
        s.who(ts(at))
            .unwrap()
            .into_iter()
            .map(|s| s.user)
            .collect::<Vec<_>>()
    };
    // Friday 2026-03-27, GMT: 08:30 UTC is 08:30 in London (before hours) and 17:30 in Tokyo.
    assert!(who("2026-03-27T08:30:00Z").is_empty());
    // Monday 2026-03-30, BST: 08:30 UTC is 09:30 in London. Day 84 since 2026-01-05 -> ldn1.
    assert_eq!(who("2026-03-30T08:30:00Z"), ["ldn1"]);
    // The same Monday, 13:30 UTC: 09:30 in New York (EDT) wins over London's 14:30.
    assert_eq!(who("2026-03-30T13:30:00Z"), ["nyc1"]);
    // Tuesday 2026-03-31 00:30 UTC: 09:30 in Tokyo, day 85 -> tyo2.
    assert_eq!(who("2026-03-31T00:30:00Z"), ["tyo2"]);
}

#[test]
fn weekly_handoff_stays_at_local_time_across_dst() {
    let dir = directory(&format!(
        "{PEOPLE}schedules:\n  - id: w\n    time_zone: America/New_York\n    layers:\n      \
         - {{name: main, rotation: weekly, handoff: \"09:00\", start: 2026-03-02, participants: [nyc1, nyc2]}}\n"
    ));
    let s = dir.schedule("w").unwrap();
    let shifts = s
        .shifts(ts("2026-03-02T14:00:00Z"), ts("2026-03-16T13:00:00Z"))
        .unwrap();
    // 09:00 EST is 14:00 UTC; after 2026-03-08, 09:00 EDT is 13:00 UTC.
    assert_eq!(shifts.len(), 2);
    assert_eq!(
        (shifts[0].user.as_str(), shifts[0].end),
        ("nyc1", ts("2026-03-09T13:00:00Z"))
    );
    assert_eq!(
        (shifts[1].user.as_str(), shifts[1].start),
        ("nyc2", ts("2026-03-09T13:00:00Z"))
    );
}

#[test]
fn restrictions_limit_duty_without_skipping_anyone() {
    let dir = directory(&format!(
        "{PEOPLE}schedules:\n  - id: d\n    time_zone: UTC\n    layers:\n      \
         - name: weekdays\n        rotation: daily\n        start: 2026-06-01\n        \
         participants: [ldn1, ldn2, ldn3]\n        restrictions: [{{weekdays: [mon, tue, wed, thu, fri], from: \"00:00\", to: \"24:00\"}}]\n"
    ));
    let s = dir.schedule("d").unwrap();
    // Mon 2026-06-01 is day 0 (ldn1). Sat 06-06 (day 5, ldn3) and Sun (day 6, ldn1) are off;
    // Monday 06-08 is day 7: ldn2, exactly as if the weekend had been on duty.
    let shifts = s
        .shifts(ts("2026-06-01T00:00:00Z"), ts("2026-06-09T00:00:00Z"))
        .unwrap();
    let users: Vec<&str> = shifts.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users, ["ldn1", "ldn2", "ldn3", "ldn1", "ldn2", "ldn2"]);
    assert_eq!(shifts[4].end, ts("2026-06-06T00:00:00Z"));
    assert_eq!(shifts[5].start, ts("2026-06-08T00:00:00Z"));
    let gaps = gaps(
        &shifts,
        ts("2026-06-01T00:00:00Z"),
        ts("2026-06-09T00:00:00Z"),
    );
    assert_eq!(
        gaps,
        [(ts("2026-06-06T00:00:00Z"), ts("2026-06-08T00:00:00Z"))]
    );
}

#[test]
fn overnight_restriction_wraps_past_midnight() {
    let dir = directory(&format!(
        "{PEOPLE}schedules:\n  - id: n\n    time_zone: UTC\n    layers:\n      \
         - name: nights\n        rotation: weekly\n        start: 2026-06-01\n        \
         participants: [ldn1]\n        restrictions: [{{weekdays: [fri], from: \"22:00\", to: \"06:00\"}}]\n"
    ));
    let s = dir.schedule("n").unwrap();
    let shifts = s
        .shifts(ts("2026-06-01T00:00:00Z"), ts("2026-06-08T00:00:00Z"))
        .unwrap();
    assert_eq!(shifts.len(), 1);
    assert_eq!(
        (shifts[0].start, shifts[0].end),
        (ts("2026-06-05T22:00:00Z"), ts("2026-06-06T06:00:00Z"))
    );
}

#[test]
fn later_layers_win_and_lower_ones_fill_their_gaps() {
    let dir = directory(&format!(
        "{PEOPLE}schedules:\n  - id: s\n    time_zone: UTC\n    layers:\n      \
         - {{name: base, rotation: weekly, start: 2026-06-01, participants: [ldn1]}}\n      \
         - name: days\n        rotation: daily\n        start: 2026-06-01\n        participants: [nyc1]\n        \
         restrictions: [{{from: \"09:00\", to: \"17:00\"}}]\n"
    ));
    let s = dir.schedule("s").unwrap();
    let shifts = s
        .shifts(ts("2026-06-01T00:00:00Z"), ts("2026-06-02T00:00:00Z"))
        .unwrap();
    let spans: Vec<(&str, &str)> = shifts
        .iter()
        .map(|s| (s.user.as_str(), s.source.as_str()))
        .collect();
    assert_eq!(
        spans,
        [("ldn1", "base"), ("nyc1", "days"), ("ldn1", "base")]
    );
    assert_eq!(shifts[1].start, ts("2026-06-01T09:00:00Z"));
    assert_eq!(shifts[1].end, ts("2026-06-01T17:00:00Z"));
}

#[test]
fn overrides_replace_someone_or_anyone_and_swaps_are_two_overrides() {
    let dir = directory(&format!(
        "{PEOPLE}schedules:\n  - id: s\n    time_zone: UTC\n    layers:\n      \
         - {{name: main, rotation: daily, start: 2026-06-01, participants: [ldn1, ldn2]}}\n    overrides:\n      \
         - {{user: ldn3, start: \"2026-06-01T10:00:00Z\", end: \"2026-06-01T12:00:00Z\"}}\n      \
         - {{user: ldn2, replaces: ldn1, start: \"2026-06-03T00:00:00Z\", end: \"2026-06-04T00:00:00Z\"}}\n      \
         - {{user: ldn1, replaces: ldn2, start: \"2026-06-04T00:00:00Z\", end: \"2026-06-05T00:00:00Z\"}}\n      \
         - {{user: nyc1, replaces: ldn2, start: \"2026-06-01T00:00:00Z\", end: \"2026-06-01T06:00:00Z\"}}\n"
    ));
    let s = dir.schedule("s").unwrap();
    let shifts = s
        .shifts(ts("2026-06-01T00:00:00Z"), ts("2026-06-06T00:00:00Z"))
        .unwrap();
    let spans: Vec<(&str, String)> = shifts
        .iter()
        .map(|s| (s.user.as_str(), format!("{}..{}", s.start, s.end)))
        .collect();
    assert_eq!(
        spans,
        [
            // nyc1 replaces ldn2 only: ldn1 has 06-01, so that override does nothing.
            (
                "ldn1",
                "2026-06-01T00:00:00Z..2026-06-01T10:00:00Z".to_owned()
            ),
            (
                "ldn3",
                "2026-06-01T10:00:00Z..2026-06-01T12:00:00Z".to_owned()
            ),
            (
                "ldn1",
                "2026-06-01T12:00:00Z..2026-06-02T00:00:00Z".to_owned()
            ),
            (
                "ldn2",
                "2026-06-02T00:00:00Z..2026-06-03T00:00:00Z".to_owned()
            ),
            // The swap: ldn2 takes ldn1's 06-03, ldn1 takes ldn2's 06-04.
            (
                "ldn2",
                "2026-06-03T00:00:00Z..2026-06-04T00:00:00Z".to_owned()
            ),
            (
                "ldn1",
                "2026-06-04T00:00:00Z..2026-06-05T00:00:00Z".to_owned()
            ),
            (
                "ldn1",
                "2026-06-05T00:00:00Z..2026-06-06T00:00:00Z".to_owned()
            ),
        ]
    );
    assert_eq!(shifts[4].source, "override");
}

#[test]
fn nobody_before_the_first_handoff_and_ranges_are_bounded() {
    let dir = directory(&format!(
        "{PEOPLE}schedules:\n  - id: s\n    time_zone: Europe/London\n    layers:\n      \
         - {{name: main, rotation: hourly, handoff: \"09:30\", start: 2026-06-01, participants: [ldn1, ldn2]}}\n"
    ));
    let s = dir.schedule("s").unwrap();
    assert!(s.who(ts("2026-06-01T08:29:00Z")).unwrap().is_empty());
    assert_eq!(s.who(ts("2026-06-01T08:30:00Z")).unwrap()[0].user, "ldn1");
    assert_eq!(s.who(ts("2026-06-01T09:45:00Z")).unwrap()[0].user, "ldn2");
    let err = s
        .shifts(ts("2026-01-01T00:00:00Z"), ts("2028-01-01T00:00:00Z"))
        .unwrap_err();
    assert!(err.to_string().contains("longer than 400 days"), "{err}");
    assert!(
        s.shifts(ts("2026-01-02T00:00:00Z"), ts("2026-01-01T00:00:00Z"))
            .is_err()
    );
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A rotation's shifts tile time: from the first handoff (or the range start) to the range
    /// end, each shift starts where the previous ended, and consecutive shifts change person.
    #[test]
    fn rotation_shifts_tile_time_without_gaps_or_overlaps(
        zone in 0usize..ZONES.len(),
        kind in 0usize..4,
        custom_minutes in 30u64..(5 * 24 * 60),
        handoff_minutes in 0u16..(24 * 60),
        start_day in 0i64..365,
        offset_hours in 0i64..(24 * 200),
        length_hours in 1i64..(24 * 40),
        people in 2usize..5,
    ) {
        let tz = TimeZone::get(ZONES[zone]).unwrap();
        let rotation = match kind {
            0 => Rotation::Fixed(Duration::from_secs(3600)),
            1 => Rotation::Days(1),
            2 => Rotation::Days(7),
            _ if custom_minutes % 1440 == 0 => Rotation::Days(i64::try_from(custom_minutes / 1440).unwrap()),
            _ => Rotation::Fixed(Duration::from_secs(custom_minutes * 60)),
        };
        let start_date = Date::new(2026, 1, 1).unwrap().checked_add(Span::new().days(start_day)).unwrap();
        let handoff = LocalTime { minutes: handoff_minutes };
        let start = handoff.on(start_date, &tz).unwrap();
        let participants: Vec<String> = (0..people).map(|i| format!("p{i}")).collect();
        let schedule = Schedule {
            id: "s".into(),
            name: "s".into(),
            tz: tz.clone(),
            layers: vec![Layer {
                name: "l".into(),
                tz,
                rotation,
                start: start.clone(),
                end: None,
                participants,
                restrictions: Vec::new(),
            }],
            overrides: Vec::new(),
        };
        let from = ts("2026-01-01T00:00:00Z") + SignedDuration::from_hours(offset_hours);
        let to = from + SignedDuration::from_hours(length_hours);
        let shifts = schedule.shifts(from, to).unwrap();
        let covered_from = from.max(start.timestamp());
        if covered_from >= to {
            prop_assert!(shifts.is_empty());
        } else {
            prop_assert_eq!(shifts.first().map(|s| s.start), Some(covered_from));
            prop_assert_eq!(shifts.last().map(|s| s.end), Some(to));
            for pair in shifts.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
                prop_assert_ne!(&pair[0].user, &pair[1].user);
            }
            for s in &shifts {
                prop_assert!(s.start < s.end);
                // Everyone in the middle of the range is who `who` says.
                let mid = s.start + s.start.duration_until(s.end) / 2;
                let who = schedule.who(mid).unwrap();
                prop_assert_eq!(who.len(), 1);
                prop_assert_eq!(&who[0].user, &s.user);
            }
        }
    }
}
