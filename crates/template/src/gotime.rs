//! A Go `time.Time` for templates: an instant with the zone it is shown in, printed and
//! formatted (`.Format "2006-01-02"`) exactly as Go does.

use std::fmt::{self, Write as _};

/// An instant and the fixed zone it is displayed in (Go's `time.Time` in a location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub unix_secs: i64,
    /// Nanoseconds within the second, 0..1e9.
    pub nanos: u32,
    /// Offset from UTC in seconds east.
    pub offset_secs: i32,
    /// Zone abbreviation (`UTC`, `CET`); Go prints the offset when it is empty.
    pub zone: String,
}

impl GoTime {
    /// A UTC time from Unix milliseconds (an alert's `StartsAt`).
    pub fn from_unix_millis(ms: i64) -> Self {
        Self {
            unix_secs: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as u32,
            offset_secs: 0,
            zone: "UTC".to_owned(),
        }
    }

    /// A UTC time from Unix nanoseconds.
    pub fn from_unix_nanos(ns: i128) -> Self {
        Self {
            unix_secs: ns.div_euclid(1_000_000_000) as i64,
            nanos: ns.rem_euclid(1_000_000_000) as u32,
            offset_secs: 0,
            zone: "UTC".to_owned(),
        }
    }

    /// The same instant in UTC.
    pub fn utc(&self) -> Self {
        Self {
            offset_secs: 0,
            zone: "UTC".to_owned(),
            ..self.clone()
        }
    }

    /// Go's zero time (`0001-01-01 00:00:00 +0000 UTC`), which `IsZero` reports.
    pub(crate) fn is_zero(&self) -> bool {
        self.unix_secs == -62_135_596_800 && self.nanos == 0
    }

    fn civil(&self) -> Civil {
        let local = self.unix_secs + i64::from(self.offset_secs);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (year, month, day) = crate::prometheus::civil_from_days(days);
        // 1970-01-01 was a Thursday.
        let weekday = (days + 4).rem_euclid(7) as usize;
        let yday = days - days_from_civil(year, 1, 1) + 1;
        Civil {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            minute: ((sod / 60) % 60) as u32,
            second: (sod % 60) as u32,
            weekday,
            yday: yday as u32,
        }
    }

    /// Go's `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let Some((chunk, len)) = next_chunk(rest) else {
                let ch = rest.chars().next().unwrap_or_default();
                out.push(ch);
                rest = &rest[ch.len_utf8()..];
                continue;
            };
            rest = &rest[len..];
            self.write_chunk(&mut out, &c, chunk);
        }
        out
    }

    fn write_chunk(&self, out: &mut String, c: &Civil, chunk: Chunk) {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        let month = MONTHS[(c.month as usize).saturating_sub(1) % 12];
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        let _ = match chunk {
            Chunk::Year4 => write!(out, "{:04}", c.year),
            Chunk::Year2 => write!(out, "{:02}", c.year.rem_euclid(100)),
            Chunk::MonthLong => write!(out, "{month}"),
            Chunk::MonthShort => write!(out, "{}", &month[..3]),
            Chunk::MonthNum => write!(out, "{}", c.month),
            Chunk::MonthNum0 => write!(out, "{:02}", c.month),
            Chunk::DayLong => write!(out, "{}", DAYS[c.weekday]),
            Chunk::DayShort => write!(out, "{}", &DAYS[c.weekday][..3]),
            Chunk::Day => write!(out, "{}", c.day),
            Chunk::Day0 => write!(out, "{:02}", c.day),
            Chunk::DaySpace => write!(out, "{:>2}", c.day),
            Chunk::YearDay0 => write!(out, "{:03}", c.yday),
            Chunk::YearDaySpace => write!(out, "{:>3}", c.yday),
            Chunk::Hour24 => write!(out, "{:02}", c.hour),
            Chunk::Hour12 => write!(out, "{hour12}"),
            Chunk::Hour12_0 => write!(out, "{hour12:02}"),
            Chunk::Minute => write!(out, "{}", c.minute),
            Chunk::Minute0 => write!(out, "{:02}", c.minute),
            Chunk::Second => write!(out, "{}", c.second),
            Chunk::Second0 => write!(out, "{:02}", c.second),
            Chunk::PmUpper => write!(out, "{}", if c.hour >= 12 { "PM" } else { "AM" }),
            Chunk::PmLower => write!(out, "{}", if c.hour >= 12 { "pm" } else { "am" }),
            Chunk::ZoneName => {
                if self.zone.is_empty() {
                    write_offset(out, self.offset_secs, false, true, false)
                } else {
                    write!(out, "{}", self.zone)
                }
            }
            Chunk::Offset {
                z,
                colon,
                seconds,
                hours_only,
            } => {
                if z && self.offset_secs == 0 {
                    write!(out, "Z")
                } else {
                    write_offset(out, self.offset_secs, colon, !hours_only, seconds)
                }
            }
            Chunk::Fraction { digits, trim, sep } => {
                let frac = format!("{:09}", self.nanos);
                let mut f = &frac[..digits];
                if trim {
                    f = f.trim_end_matches('0');
                }
                if !f.is_empty() {
                    out.push(sep);
                    out.push_str(f);
                }
                Ok(())
            }
        };
    }
}

/// `-07`, `-0700`, `-07:00`, `-07:00:00` as Go writes zone offsets.
fn write_offset(
    out: &mut String,
    offset: i32,
    colon: bool,
    minutes: bool,
    seconds: bool,
) -> fmt::Result {
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    write!(out, "{sign}{:02}", abs / 3600)?;
    if minutes {
        if colon {
            out.push(':');
        }
        write!(out, "{:02}", (abs / 60) % 60)?;
    }
    if seconds {
        if colon {
            out.push(':');
        }
        write!(out, "{:02}", abs % 60)?;
    }
    Ok(())
}

/// Go's `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: usize,
    yday: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    Year4,
    Year2,
    MonthLong,
    MonthShort,
    MonthNum,
    MonthNum0,
    DayLong,
    DayShort,
    Day,
    Day0,
    DaySpace,
    YearDay0,
    YearDaySpace,
    Hour24,
    Hour12,
    Hour12_0,
    Minute,
    Minute0,
    Second,
    Second0,
    PmUpper,
    PmLower,
    ZoneName,
    Offset {
        z: bool,
        colon: bool,
        seconds: bool,
        hours_only: bool,
    },
    Fraction {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// The layout element at the start of `s` and its length, following Go's `nextStdChunk`.
fn next_chunk(s: &str) -> Option<(Chunk, usize)> {
    let b = s.as_bytes();
    let starts = |p: &str| s.starts_with(p);
    let lower_after = |n: usize| b.get(n).is_none_or(|c| !c.is_ascii_lowercase());
    Some(match b[0] {
        b'J' if starts("January") => (Chunk::MonthLong, 7),
        b'J' if starts("Jan") && lower_after(3) => (Chunk::MonthShort, 3),
        b'M' if starts("Monday") => (Chunk::DayLong, 6),
        b'M' if starts("Mon") && lower_after(3) => (Chunk::DayShort, 3),
        b'M' if starts("MST") => (Chunk::ZoneName, 3),
        b'0' => match b.get(1) {
            Some(b'1') => (Chunk::MonthNum0, 2),
            Some(b'2') => (Chunk::Day0, 2),
            Some(b'3') => (Chunk::Hour12_0, 2),
            Some(b'4') => (Chunk::Minute0, 2),
            Some(b'5') => (Chunk::Second0, 2),
            Some(b'6') => (Chunk::Year2, 2),
            Some(b'0') if b.get(2) == Some(&b'2') => (Chunk::YearDay0, 3),
            _ => return None,
        },
        b'1' if b.get(1) == Some(&b'5') => (Chunk::Hour24, 2),
        b'1' => (Chunk::MonthNum, 1),
        b'2' if starts("2006") => (Chunk::Year4, 4),
        b'2' => (Chunk::Day, 1),
        b'_' if starts("_2006") => return None,
        b'_' if starts("__2") => (Chunk::YearDaySpace, 3),
        b'_' if starts("_2") => (Chunk::DaySpace, 2),
        b'3' => (Chunk::Hour12, 1),
        b'4' => (Chunk::Minute, 1),
        b'5' => (Chunk::Second, 1),
        b'P' if starts("PM") => (Chunk::PmUpper, 2),
        b'p' if starts("pm") => (Chunk::PmLower, 2),
        b'-' | b'Z' => {
            let z = b[0] == b'Z';
            for (pat, colon, seconds, hours_only) in [
                ("07:00:00", true, true, false),
                ("070000", false, true, false),
                ("07:00", true, false, false),
                ("0700", false, false, false),
                ("07", false, false, true),
            ] {
                if s[1..].starts_with(pat) {
                    return Some((
                        Chunk::Offset {
                            z,
                            colon,
                            seconds,
                            hours_only,
                        },
                        1 + pat.len(),
                    ));
                }
            }
            return None;
        }
        b'.' | b',' => {
            let digit = *b.get(1)?;
            if digit != b'0' && digit != b'9' {
                return None;
            }
            let n = b[1..].iter().take_while(|&&c| c == digit).count();
            // Go: only a fraction when not followed by another digit.
            if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            (
                Chunk::Fraction {
                    digits: n.min(9),
                    trim: digit == b'9',
                    sep: char::from(b[0]),
                },
                1 + n,
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let t = GoTime::from_unix_millis(1_234_567_890_120);
        assert_eq!(t.to_string(), "2009-02-13 23:31:30.12 +0000 UTC");
        assert_eq!(
            t.format(
                "Mon Jan _2 15:04:05.000 MST 2006 | 3:04PM | 02/01/06 | Z07:00 | -0700 | .999999"
            ),
            "Fri Feb 13 23:31:30.120 UTC 2009 | 11:31PM | 13/02/09 | Z | +0000 | .12"
        );
        let cet = GoTime {
            offset_secs: 3600,
            zone: "CET".to_owned(),
            ..GoTime::from_unix_millis(0)
        };
        assert_eq!(cet.to_string(), "1970-01-01 01:00:00 +0100 CET");
        assert_eq!(
            cet.format("Z07:00 -07 002 Monday January"),
            "+01:00 +01 001 Thursday January"
        );
    }
}
