//! Alertmanager's template functions (`template/template.go`, `DefaultFuncs`) and the methods
//! its notification data offers (`KV.SortedPairs`, `Alerts.Firing`, ...).
//!
//! Notification data is passed as maps and lists in Alertmanager's shape: a label or
//! annotation set (`KV`) is a map of strings, an alert a map with `Status`, `Labels`,
//! `Annotations`, `StartsAt`, `EndsAt`, `GeneratorURL`, `Fingerprint`, and the data a map with
//! `Receiver`, `Status`, `Alerts`, `GroupLabels`, `CommonLabels`, `CommonAnnotations`,
//! `ExternalURL`.

use std::collections::BTreeMap;

use crate::builtins::expect_string;
use crate::gotime::GoTime;
use crate::prometheus::{humanize_duration, to_float};
use crate::value::Value;
use crate::{Funcs, MethodReceiver, MissingKey, Template, TemplateError};

/// Parses a notification template as Alertmanager does: its functions and methods, and
/// `missingkey=zero` (a missing label prints as the empty string). Add template files with
/// [`Template::add`].
pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
    let mut t = Template::parse(name, text, &funcs())?;
    t.set_missing_key(MissingKey::Zero);
    Ok(t)
}

/// Go's builtins plus Alertmanager's default functions (`toUpper toLower title trimSpace join
/// match reReplaceAll safeHtml safeUrl urlUnescape stringSlice humanizeDuration date tz`) and the
/// methods of its data types:
///
/// - on maps (`KV`): `SortedPairs` (a list of `{Name, Value}` maps sorted by name), `Names`,
///   `Values` (in name order), `Remove NAMES` (a copy without those keys);
/// - on lists: `Firing` and `Resolved` (alerts whose `Status` is `firing`/`resolved`), and
///   `Names`/`Values` of a list of pairs (`.SortedPairs.Values`).
pub fn funcs() -> Funcs {
    let mut f = Funcs::builtins();
    register_methods(&mut f);
    f.insert_checked("toUpper", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_uppercase()))
    });
    f.insert_checked("toLower", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_lowercase()))
    });
    // Alertmanager's title lower-cases the rest of each word (cases.Title without NoLower).
    f.insert_checked("title", 1, Some(1), |a| {
        let s = expect_string(&a[0])?.to_lowercase();
        Ok(Value::String(crate::prometheus::title(&s)))
    });
    f.insert_checked("trimSpace", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.trim().to_owned()))
    });
    f.insert_checked("join", 2, Some(2), |a| {
        let sep = expect_string(&a[0])?;
        let Value::List(items) = &a[1] else {
            return Err(format!(
                "wrong type for value; expected []string; got {}",
                a[1].type_name()
            ));
        };
        let parts = items
            .iter()
            .map(|v| expect_string(v).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::String(parts.join(sep)))
    });
    f.insert_checked("match", 2, Some(2), |a| {
        let re = regex::Regex::new(expect_string(&a[0])?)
            .map_err(|e| format!("error parsing regexp: {e}"))?;
        Ok(Value::Bool(re.is_match(expect_string(&a[1])?)))
    });
    f.insert_checked("reReplaceAll", 3, Some(3), |a| {
        let re = regex::Regex::new(expect_string(&a[0])?)
            .map_err(|e| format!("error parsing regexp: {e}"))?;
        Ok(Value::String(
            re.replace_all(expect_string(&a[2])?, expect_string(&a[1])?)
                .into_owned(),
        ))
    });
    f.insert_checked("safeHtml", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_owned()))
    });
    f.insert_checked("safeUrl", 1, Some(1), |a| {
        Ok(Value::String(expect_string(&a[0])?.to_owned()))
    });
    f.insert_checked("urlUnescape", 1, Some(1), |a| {
        url_unescape(expect_string(&a[0])?).map(Value::String)
    });
    f.insert_checked("stringSlice", 0, None, |a| {
        a.iter()
            .map(|v| expect_string(v).map(Value::from))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List)
    });
    f.insert_checked("date", 2, Some(2), |a| {
        let layout = expect_string(&a[0])?;
        match &a[1] {
            Value::Time(t) => Ok(Value::String(t.format(layout))),
            other => Err(format!(
                "wrong type for value; expected time.Time; got {}",
                other.type_name()
            )),
        }
    });
    f.insert_checked("tz", 2, Some(2), |a| {
        let name = expect_string(&a[0])?;
        let Value::Time(t) = &a[1] else {
            return Err(format!(
                "wrong type for value; expected time.Time; got {}",
                a[1].type_name()
            ));
        };
        in_zone(name, t).map(Value::Time)
    });
    f.insert_checked("humanizeDuration", 1, Some(1), |a| {
        Ok(Value::String(humanize_duration(to_float(&a[0])?)))
    });
    f
}

fn expect_kv(receiver: &Value) -> Result<&BTreeMap<String, Value>, String> {
    match receiver {
        Value::Map(m) => Ok(m),
        other => Err(format!("not a label set: {}", other.type_name())),
    }
}

fn expect_list(receiver: &Value) -> Result<&[Value], String> {
    match receiver {
        Value::List(l) => Ok(l),
        other => Err(format!("not a list: {}", other.type_name())),
    }
}

fn no_args(name: &str, args: &[Value]) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want 0 got {}",
            args.len()
        ))
    }
}

fn pair(name: &str, value: &Value) -> Value {
    let mut p = BTreeMap::new();
    p.insert("Name".to_owned(), Value::String(name.to_owned()));
    p.insert("Value".to_owned(), value.clone());
    Value::Map(p)
}

fn register_methods(f: &mut Funcs) {
    f.insert_method(MethodReceiver::Map, "SortedPairs", |r, a| {
        no_args("SortedPairs", a)?;
        // BTreeMap iterates in key order, which is Alertmanager's sort.
        Ok(Value::List(
            expect_kv(r)?.iter().map(|(k, v)| pair(k, v)).collect(),
        ))
    });
    f.insert_method(MethodReceiver::Map, "Names", |r, a| {
        no_args("Names", a)?;
        Ok(Value::List(
            expect_kv(r)?
                .keys()
                .map(|k| Value::String(k.clone()))
                .collect(),
        ))
    });
    f.insert_method(MethodReceiver::Map, "Values", |r, a| {
        no_args("Values", a)?;
        Ok(Value::List(expect_kv(r)?.values().cloned().collect()))
    });
    f.insert_method(MethodReceiver::Map, "Remove", |r, a| {
        let [Value::List(keys)] = a else {
            return Err(format!(
                "wrong number of args for Remove: want 1 got {}",
                a.len()
            ));
        };
        let mut kv = expect_kv(r)?.clone();
        for k in keys {
            kv.remove(expect_string(k)?);
        }
        Ok(Value::Map(kv))
    });
    for (name, status) in [("Firing", "firing"), ("Resolved", "resolved")] {
        f.insert_method(MethodReceiver::List, name, move |r, a| {
            no_args(name, a)?;
            Ok(Value::List(
                expect_list(r)?
                    .iter()
                    .filter(|alert| match alert {
                        Value::Map(m) => m.get("Status").and_then(Value::as_str) == Some(status),
                        _ => false,
                    })
                    .cloned()
                    .collect(),
            ))
        });
    }
    for (name, field) in [("Names", "Name"), ("Values", "Value")] {
        f.insert_method(MethodReceiver::List, name, move |r, a| {
            no_args(name, a)?;
            Ok(Value::List(
                expect_list(r)?
                    .iter()
                    .map(|p| match p {
                        Value::Map(m) => m.get(field).cloned().unwrap_or_default(),
                        _ => Value::Nil,
                    })
                    .collect(),
            ))
        });
    }
}

/// Go's `t.In(time.LoadLocation(name))`: the same instant shown in a zone of the system's
/// time-zone database (`""` and `UTC` are UTC, `Local` the server's zone).
fn in_zone(name: &str, t: &GoTime) -> Result<GoTime, String> {
    let zone = match name {
        "" | "UTC" => return Ok(t.utc()),
        "Local" => jiff::tz::TimeZone::system(),
        _ => jiff::tz::TimeZone::get(name).map_err(|_| format!("unknown time zone {name}"))?,
    };
    let nanos = i32::try_from(t.nanos).map_err(|e| e.to_string())?;
    let instant = jiff::Timestamp::new(t.unix_secs, nanos).map_err(|e| e.to_string())?;
    let info = zone.to_offset_info(instant);
    Ok(GoTime {
        offset_secs: info.offset().seconds(),
        zone: info.abbreviation().to_owned(),
        ..t.clone()
    })
}

/// Go's `url.QueryUnescape`.
fn url_unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                let Some(hex) = hex else {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {}", crate::gofmt::quote(&bad)));
                };
                out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, t: GoTime) -> Result<String, String> {
        let tmpl = parse("t", text).map_err(|e| e.to_string())?;
        tmpl.execute(&Value::Time(t)).map_err(|e| e.to_string())
    }

    #[test]
    fn tz_shows_the_instant_in_a_zone() {
        let t = GoTime::from_unix_millis(1_767_225_600_250);
        assert_eq!(
            render("{{ tz \"UTC\" . }}", t.clone()).unwrap(),
            "2026-01-01 00:00:00.25 +0000 UTC"
        );
        let err = render("{{ tz \"Nowhere/Atlantis\" . }}", t.clone()).unwrap_err();
        assert!(
            err.ends_with("error calling tz: unknown time zone Nowhere/Atlantis"),
            "{err}"
        );
        if jiff::tz::TimeZone::get("Europe/Berlin").is_err() {
            eprintln!("SKIPPED: no time-zone database on this machine");
            return;
        }
        assert_eq!(
            render(
                "{{ tz \"Europe/Berlin\" . }} {{ date \"15:04 MST\" (tz \"America/New_York\" .) }}",
                t
            )
            .unwrap(),
            "2026-01-01 01:00:00.25 +0100 CET 19:00 EST"
        );
    }
}
