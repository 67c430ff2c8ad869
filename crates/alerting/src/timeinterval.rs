//! Alertmanager's time intervals (`times`, `weekdays`, `days_of_month`, `months`, `years`,
//! `location`): an instant is inside when every listed field contains it.

use serde::{Deserialize, Deserializer};

use crate::time::Millis;

/// One interval; empty fields match everything.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    /// Minutes of the day, `[start, end)`.
    #[serde(default)]
    pub times: Vec<TimeRange>,
    /// Days of the week, Sunday = 0.
    #[serde(default)]
    pub weekdays: Vec<WeekdayRange>,
    /// Days of the month; negative counts from the end (-1 = last day).
    #[serde(default)]
    pub days_of_month: Vec<DayOfMonthRange>,
    /// Months, 1-12.
    #[serde(default)]
    pub months: Vec<MonthRange>,
    /// Years.
    #[serde(default)]
    pub years: Vec<YearRange>,
    /// Time zone (default UTC).
    #[serde(default)]
    pub location: Option<Location>,
}

/// A time zone by IANA name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// As written.
    pub name: String,
    tz: jiff::tz::TimeZone,
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let tz = if name == "Local" {
            jiff::tz::TimeZone::system()
        } else {
            jiff::tz::TimeZone::get(&name).map_err(|err| {
                serde::de::Error::custom(format!("unknown time zone location {name:?}: {err}"))
            })?
        };
        Ok(Self { name, tz })
    }
}

/// `start_time`/`end_time` as minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive.
    pub start: u32,
    /// Exclusive.
    pub end: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    start_time: String,
    end_time: String,
}

fn parse_clock(text: &str) -> Result<u32, String> {
    let bad = || format!("invalid time of day {text:?}; write HH:MM between 00:00 and 24:00");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawTimeRange::deserialize(d)?;
        let start = parse_clock(&raw.start_time).map_err(serde::de::Error::custom)?;
        let end = parse_clock(&raw.end_time).map_err(serde::de::Error::custom)?;
        if start >= end {
            return Err(serde::de::Error::custom(format!(
                "start time {} must be before end time {}",
                raw.start_time, raw.end_time
            )));
        }
        Ok(Self { start, end })
    }
}

fn split_range(text: &str) -> (&str, &str) {
    text.split_once(':').unwrap_or((text, text))
}

macro_rules! inclusive_range {
    ($name:ident, $doc:literal, $parse:expr, $check:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            /// Inclusive.
            pub begin: i32,
            /// Inclusive.
            pub end: i32,
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                let (a, b) = split_range(&text);
                let parse: fn(&str) -> Result<i32, String> = $parse;
                let begin = parse(a).map_err(serde::de::Error::custom)?;
                let end = parse(b).map_err(serde::de::Error::custom)?;
                let check: fn(i32, i32) -> Result<(), String> = $check;
                check(begin, end)
                    .map_err(|m| serde::de::Error::custom(format!("{text:?}: {m}")))?;
                Ok(Self { begin, end })
            }
        }
    };
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn named(list: &[&str], text: &str, what: &str, offset: i32) -> Result<i32, String> {
    let lower = text.trim().to_lowercase();
    if let Some(i) = list.iter().position(|n| *n == lower) {
        return Ok(i32::try_from(i).unwrap_or(0) + offset);
    }
    if offset == 1
        && let Ok(n) = lower.parse::<i32>()
    {
        return Ok(n);
    }
    Err(format!("{text:?} is not a valid {what}"))
}

fn number(text: &str) -> Result<i32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

inclusive_range!(
    WeekdayRange,
    "Weekdays, `monday:friday` or `saturday`.",
    |t| named(&WEEKDAYS, t, "weekday", 0),
    |b, e| if b > e {
        Err("start day cannot be after end day".into())
    } else {
        Ok(())
    }
);
inclusive_range!(
    DayOfMonthRange,
    "Days of the month, `1:5`, `-3:-1`.",
    number,
    |b, e| {
        if b == 0 || e == 0 || !(-31..=31).contains(&b) || !(-31..=31).contains(&e) {
            return Err("days of month must be between 1 and 31 or -31 and -1".into());
        }
        if (b > 0 && e > 0 && b > e) || (b < 0 && e < 0 && b > e) || (b < 0 && e > 0) {
            return Err("start day cannot be after end day".into());
        }
        Ok(())
    }
);
inclusive_range!(
    MonthRange,
    "Months, `1:3` or `may:august`.",
    |t| named(&MONTHS, t, "month", 1),
    |b, e| {
        if !(1..=12).contains(&b) || !(1..=12).contains(&e) {
            return Err("months must be between 1 and 12".into());
        }
        if b > e {
            Err("start month cannot be after end month".into())
        } else {
            Ok(())
        }
    }
);
inclusive_range!(YearRange, "Years, `2024:2026`.", number, |b, e| if b > e {
    Err("start year cannot be after end year".into())
} else {
    Ok(())
});

impl TimeInterval {
    /// Whether `at` is inside the interval.
    pub fn contains(&self, at: Millis) -> bool {
        let Ok(ts) = jiff::Timestamp::from_millisecond(at) else {
            return false;
        };
        let tz = self
            .location
            .as_ref()
            .map_or(jiff::tz::TimeZone::UTC, |l| l.tz.clone());
        let z = tz.to_datetime(ts);
        if !self.times.is_empty() {
            let minute =
                u32::try_from(i32::from(z.hour()) * 60 + i32::from(z.minute())).unwrap_or(0);
            if !self
                .times
                .iter()
                .any(|r| r.start <= minute && minute < r.end)
            {
                return false;
            }
        }
        if !self.weekdays.is_empty() {
            let day = i32::from(z.weekday().to_sunday_zero_offset());
            if !self.weekdays.iter().any(|r| r.begin <= day && day <= r.end) {
                return false;
            }
        }
        if !self.days_of_month.is_empty() {
            let days = i32::from(z.days_in_month());
            let day = i32::from(z.day());
            let inside = self.days_of_month.iter().any(|r| {
                let resolve = |d: i32| if d < 0 { days + d + 1 } else { d };
                let (b, e) = (resolve(r.begin).max(1), resolve(r.end).min(days));
                b <= day && day <= e
            });
            if !inside {
                return false;
            }
        }
        if !self.months.is_empty() {
            let month = i32::from(z.month());
            if !self
                .months
                .iter()
                .any(|r| r.begin <= month && month <= r.end)
            {
                return false;
            }
        }
        if !self.years.is_empty() {
            let year = i32::from(z.year());
            if !self.years.iter().any(|r| r.begin <= year && year <= r.end) {
                return false;
            }
        }
        true
    }
}

/// Whether any interval contains `at`.
pub fn any_contains(intervals: &[TimeInterval], at: Millis) -> bool {
    intervals.iter().any(|i| i.contains(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Millis {
        crate::time::parse_rfc3339(text).unwrap()
    }

    fn interval(yaml: &str) -> TimeInterval {
        tocsin_config::yaml::from_str("t.yml", yaml).unwrap()
    }

    #[test]
    fn business_hours_in_a_zone() {
        let ti = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']\nlocation: Europe/Berlin\n",
        );
        // Monday 2026-11-30 08:30 UTC is 09:30 in Berlin.
        assert!(ti.contains(at("2026-11-30T08:30:00Z")));
        assert!(!ti.contains(at("2026-11-30T16:30:00Z")));
        // Saturday.
        assert!(!ti.contains(at("2026-11-28T10:00:00Z")));
    }

    #[test]
    fn negative_days_count_from_the_month_end() {
        let ti = interval("days_of_month: ['-1']\nmonths: ['february']\n");
        assert!(ti.contains(at("2028-02-29T12:00:00Z")));
        assert!(!ti.contains(at("2028-02-28T12:00:00Z")));
        assert!(!ti.contains(at("2028-03-31T12:00:00Z")));
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in [
            "times: [{start_time: '17:00', end_time: '09:00'}]",
            "weekdays: ['friday:monday']",
            "days_of_month: ['0']",
            "months: ['13']",
            "location: Mars/Olympus",
            "times: [{start_time: '9:00', end_time: '10:00'}]",
        ] {
            assert!(
                tocsin_config::yaml::from_str::<TimeInterval>("t.yml", bad).is_err(),
                "{bad}"
            );
        }
    }
}
