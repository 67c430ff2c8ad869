//! iCalendar (RFC 5545) feeds of shifts: one VEVENT per shift, times in UTC, CRLF line
//! ends, lines folded at 75 octets (never inside a UTF-8 character), TEXT values escaped.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::directory::Directory;
use crate::schedule::OnCallShift;

/// A calendar of `shifts`. `name` is the calendar's title; `now` stamps the events.
pub fn calendar(
    name: &str,
    shifts: &[OnCallShift],
    directory: &Directory,
    now: Timestamp,
) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//tocsin//on-call//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for shift in shifts {
        let user = directory
            .users
            .get(&shift.user)
            .map_or(shift.user.as_str(), |u| u.display_name());
        let schedule = directory
            .schedules
            .get(&shift.schedule)
            .map_or(shift.schedule.as_str(), |s| s.name.as_str());
        line(&mut out, "BEGIN:VEVENT");
        line(
            &mut out,
            &format!(
                "UID:{}-{}-{}@tocsin",
                shift.schedule,
                shift.user,
                shift.start.as_second()
            ),
        );
        line(&mut out, &format!("DTSTAMP:{}", utc(now)));
        line(&mut out, &format!("DTSTART:{}", utc(shift.start)));
        line(&mut out, &format!("DTEND:{}", utc(shift.end)));
        line(
            &mut out,
            &format!(
                "SUMMARY:{}",
                escape(&format!("On call: {schedule} ({user})"))
            ),
        );
        line(
            &mut out,
            &format!(
                "DESCRIPTION:{}",
                escape(&format!(
                    "{user} is on call for {schedule}; from {}",
                    shift.source
                ))
            ),
        );
        line(&mut out, "TRANSP:TRANSPARENT");
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// `20260329T010000Z`.
fn utc(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 3.3.11: backslash, semicolon and comma are escaped; newlines become `\n`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded (RFC 5545 3.1): at most 75 octets per physical line,
/// continuation lines start with one space.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    let _ = write!(out, "\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let content = format!("SUMMARY:{}", "é".repeat(60));
        line(&mut out, &content);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(
                physical.len() <= 75,
                "{} octets: {physical:?}",
                physical.len()
            );
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, content);
    }

    #[test]
    fn a_calendar_has_crlf_and_one_event_per_shift() {
        let dir = Directory::default();
        let start: Timestamp = "2026-03-29T00:00:00Z".parse().unwrap_or_default();
        let end: Timestamp = "2026-03-29T08:00:00Z".parse().unwrap_or_default();
        let shift = OnCallShift {
            schedule: "ops".into(),
            user: "alice".into(),
            start,
            end,
            source: "weekly".into(),
        };
        let cal = calendar("ops, primary", &[shift], &dir, start);
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        assert!(!cal.replace("\r\n", "").contains('\n'));
        assert!(cal.contains("X-WR-CALNAME:ops\\, primary\r\n"));
        assert!(cal.contains("DTSTART:20260329T000000Z\r\nDTEND:20260329T080000Z\r\n"));
        assert_eq!(cal.matches("BEGIN:VEVENT").count(), 1);
    }
}
