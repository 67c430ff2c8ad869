//! Durations in Prometheus's notation (`1d2h30m`, `15s`, `500ms`), as used in every
//! Prometheus and Alertmanager file. Parsing follows `model.ParseDuration`: integer amounts,
//! units `y w d h m s ms` in that order, each at most once; `y` is 365 days (not 365.25).

use std::fmt;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration with millisecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}; write it like 30s, 5m, 1h30m or 2d")]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl Duration {
    /// The zero duration.
    pub const ZERO: Self = Self { millis: 0 };

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            millis: secs * 1000,
        }
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Whether this is the zero duration.
    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }

    /// The same duration as a [`std::time::Duration`].
    pub const fn as_std(self) -> StdDuration {
        StdDuration::from_millis(self.millis)
    }
}

impl From<Duration> for StdDuration {
    fn from(value: Duration) -> Self {
        value.as_std()
    }
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ParseDurationError {
            input: input.to_owned(),
            reason,
        };
        if input == "0" {
            return Ok(Self::ZERO);
        }
        if input.is_empty() {
            return Err(fail("it is empty"));
        }
        let bytes = input.as_bytes();
        let mut pos = 0;
        // Index into UNITS of the next unit allowed: units must strictly decrease.
        let mut next_unit = 0;
        let mut total: u64 = 0;
        while pos < bytes.len() {
            let digits_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos == digits_start {
                return Err(fail("expected a whole number before each unit"));
            }
            let amount: u64 = input[digits_start..pos]
                .parse()
                .map_err(|_| fail("the number is too large"))?;
            let rest = &input[pos..];
            // `ms` must be tried before `m`.
            let unit = if rest.starts_with("ms") {
                6
            } else {
                match rest.as_bytes().first() {
                    Some(b'y') => 0,
                    Some(b'w') => 1,
                    Some(b'd') => 2,
                    Some(b'h') => 3,
                    Some(b'm') => 4,
                    Some(b's') => 5,
                    Some(_) => return Err(fail("unknown unit (use y, w, d, h, m, s or ms)")),
                    None => return Err(fail("missing unit after the number")),
                }
            };
            if unit < next_unit {
                return Err(fail(
                    "units must go from largest to smallest, each at most once",
                ));
            }
            next_unit = unit + 1;
            pos += UNITS[unit].0.len();
            total = amount
                .checked_mul(UNITS[unit].1)
                .and_then(|v| total.checked_add(v))
                .filter(|&v| v <= i64::MAX as u64)
                .ok_or_else(|| fail("it is too long"))?;
        }
        Ok(Self { millis: total })
    }
}

impl fmt::Display for Duration {
    /// Formats like Prometheus: largest units first, `0s` for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (name, size) in UNITS {
            // Prometheus only prints years and weeks when they divide evenly.
            if (name == "y" || name == "w") && !rest.is_multiple_of(size) {
                continue;
            }
            let amount = rest / size;
            if amount > 0 {
                write!(f, "{amount}{name}")?;
                rest -= amount * size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<Duration>().unwrap().as_millis()
    }

    #[test]
    fn parses_prometheus_examples() {
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        assert_eq!(ms("15s"), 15_000);
        assert_eq!(ms("1m30s"), 90_000);
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("1h1m1s1ms"), 3_661_001);
        assert_eq!(ms("2d"), 172_800_000);
        assert_eq!(ms("1w"), 604_800_000);
        assert_eq!(ms("1y"), 31_536_000_000);
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in [
            "", "s", "1", "1.5s", "-1s", "1m1h", "1s1s", "1x", " 1s", "1s ", "1S",
        ] {
            let err = bad.parse::<Duration>().unwrap_err();
            assert!(err.to_string().contains("30s, 5m"), "{bad}: {err}");
        }
        assert!("99999999999999999999y".parse::<Duration>().is_err());
        assert!("300000000y".parse::<Duration>().is_err());
    }

    #[test]
    fn displays_like_prometheus() {
        for (text, shown) in [
            ("0", "0s"),
            ("90s", "1m30s"),
            ("1h", "1h"),
            ("14d", "2w"),
            ("8d", "8d"),
            ("365d", "1y"),
            ("1500ms", "1s500ms"),
        ] {
            assert_eq!(text.parse::<Duration>().unwrap().to_string(), shown);
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(millis in 0u64..(1u64 << 50)) {
            let d = Duration::from_millis(millis);
            prop_assert_eq!(d.to_string().parse::<Duration>().unwrap(), d);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = text.parse::<Duration>();
        }
    }
}
