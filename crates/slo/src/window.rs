//! Budget windows: rolling (`28d`) or calendar months.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use tocsin_config::Duration;
use tocsin_model::Timestamp;

/// The period a budget covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeWindow {
    /// The last `duration` at any instant.
    Rolling(Duration),
    /// From the first of the current month (in `time_zone`) until now; the budget is that of
    /// the whole month.
    CalendarMonth {
        /// IANA zone name (`UTC` by default).
        time_zone: String,
    },
}

const DAY_MS: i64 = 86_400_000;

impl Serialize for TimeWindow {
    /// `{"kind": "rolling", "duration": "30d"}` or
    /// `{"kind": "calendar_month", "time_zone": "UTC"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        match self {
            Self::Rolling(d) => {
                map.serialize_entry("kind", "rolling")?;
                map.serialize_entry("duration", &d.to_string())?;
            }
            Self::CalendarMonth { time_zone } => {
                map.serialize_entry("kind", "calendar_month")?;
                map.serialize_entry("time_zone", time_zone)?;
            }
        }
        map.end()
    }
}

impl TimeWindow {
    /// The window's nominal length for generated rules and burn factors: the rolling
    /// duration, or 30 days for calendar months (Prometheus rules cannot follow the calendar).
    pub fn nominal(&self) -> Duration {
        match self {
            Self::Rolling(d) => *d,
            Self::CalendarMonth { .. } => Duration::from_secs(30 * 86_400),
        }
    }

    /// The period in force at `now` (ms): its start, and its full length in ms (for calendar
    /// months, the length of the whole month).
    pub fn period_at(&self, now: Timestamp) -> (Timestamp, i64) {
        match self {
            Self::Rolling(d) => {
                let len = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                (now.saturating_sub(len), len)
            }
            Self::CalendarMonth { time_zone } => month_bounds(now, time_zone)
                .unwrap_or((now.saturating_sub(30 * DAY_MS), 30 * DAY_MS)),
        }
    }

    /// A short description (`30d`, `calendar month (UTC)`).
    pub fn describe(&self) -> String {
        match self {
            Self::Rolling(d) => d.to_string(),
            Self::CalendarMonth { time_zone } => format!("calendar month ({time_zone})"),
        }
    }
}

fn month_bounds(now: Timestamp, time_zone: &str) -> Option<(Timestamp, i64)> {
    let tz = jiff::tz::TimeZone::get(time_zone).ok()?;
    let zoned = jiff::Timestamp::from_millisecond(now)
        .ok()?
        .to_zoned_datetime(tz);
    let start = zoned.first_of_month().ok()?.start_of_day().ok()?;
    let next = start.checked_add(jiff::Span::new().months(1)).ok()?;
    let start_ms = start.timestamp().as_millisecond();
    Some((start_ms, next.timestamp().as_millisecond() - start_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_months_start_on_the_first_and_last_the_whole_month() {
        // 2026-02-15T12:00:00Z
        let now = jiff::Timestamp::from_second(1_771_156_800)
            .map(|t| t.as_millisecond())
            .unwrap_or_default();
        let window = TimeWindow::CalendarMonth {
            time_zone: "UTC".to_owned(),
        };
        let (start, len) = window.period_at(now);
        assert_eq!(
            jiff::Timestamp::from_millisecond(start)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            "2026-02-01T00:00:00Z"
        );
        assert_eq!(len, 28 * DAY_MS);
    }

    #[test]
    fn windows_serialise_with_their_kind() {
        let rolling = serde_json::to_string(&TimeWindow::Rolling(Duration::from_secs(86_400)));
        assert_eq!(
            rolling.ok().as_deref(),
            Some(r#"{"kind":"rolling","duration":"1d"}"#)
        );
        let month = serde_json::to_string(&TimeWindow::CalendarMonth {
            time_zone: "UTC".to_owned(),
        });
        assert_eq!(
            month.ok().as_deref(),
            Some(r#"{"kind":"calendar_month","time_zone":"UTC"}"#)
        );
    }

    #[test]
    fn rolling_windows_end_now() {
        let window = TimeWindow::Rolling(Duration::from_secs(28 * 86_400));
        assert_eq!(window.period_at(100 * DAY_MS), (72 * DAY_MS, 28 * DAY_MS));
        assert_eq!(window.nominal().to_string(), "4w");
    }
}
