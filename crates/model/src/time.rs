//! Timestamps (milliseconds since the Unix epoch) as text, without a calendar library: the
//! API bodies, the CLI and the rule engine all print them the same way.

/// RFC 3339 in UTC with exactly three fractional digits: `2024-01-02T03:04:05.678Z`.
pub fn rfc3339_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Go's `time.Time` JSON form in UTC: like [`rfc3339_millis`], with trailing zeros of the
/// fraction trimmed and no fraction at all on a whole second (`2024-01-02T03:04:05Z`).
pub fn rfc3339_go(ms: i64) -> String {
    let full = rfc3339_millis(ms);
    let (head, fraction) = full.split_at(full.len() - 5); // ".mmmZ"
    let digits = fraction[1..4].trim_end_matches('0');
    if digits.is_empty() {
        format!("{head}Z")
    } else {
        format!("{head}.{digits}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            rfc3339_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(rfc3339_go(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_go(1_700_000_000_120), "2023-11-14T22:13:20.12Z");
        assert_eq!(rfc3339_go(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
