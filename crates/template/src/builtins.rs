//! Go's builtin template functions (`text/template/funcs.go`).

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::gofmt;
use crate::gotime::GoTime;
use crate::value::Value;
use crate::{Func, Funcs, MethodReceiver};

const BUILTINS: &[&str] = &[
    "and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or",
    "print", "printf", "println", "slice", "urlquery",
];

pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

pub(crate) fn register(funcs: &mut Funcs) {
    register_time_methods(funcs);
    funcs.insert_special("and", Func::And);
    funcs.insert_special("or", Func::Or);
    funcs.insert_special("call", Func::Call);
    funcs.insert_checked("not", 1, Some(1), |a| Ok(Value::Bool(!a[0].is_true())));
    funcs.insert_checked("len", 1, Some(1), |a| length(&a[0]));
    funcs.insert_checked("index", 1, None, |a| index(&a[0], &a[1..]));
    funcs.insert_checked("slice", 1, None, |a| slice(&a[0], &a[1..]));
    funcs.insert_checked("print", 0, None, |a| Ok(Value::String(gofmt::sprint(a))));
    funcs.insert_checked("println", 0, None, |a| {
        Ok(Value::String(gofmt::sprintln(a)))
    });
    funcs.insert_checked("printf", 1, None, |a| {
        let format = expect_string(&a[0])?;
        Ok(Value::String(gofmt::sprintf(format, &a[1..])))
    });
    funcs.insert_checked("html", 0, None, |a| {
        Ok(Value::String(html_escape(&eval_args(a))))
    });
    funcs.insert_checked("js", 0, None, |a| {
        Ok(Value::String(js_escape(&eval_args(a))))
    });
    funcs.insert_checked("urlquery", 0, None, |a| {
        Ok(Value::String(query_escape(&eval_args(a))))
    });
    funcs.insert_checked("eq", 1, None, |a| eq(&a[0], &a[1..]).map(Value::Bool));
    funcs.insert_checked("ne", 2, Some(2), |a| {
        eq(&a[0], &a[1..]).map(|b| Value::Bool(!b))
    });
    funcs.insert_checked("lt", 2, Some(2), |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o == Ordering::Less))
    });
    funcs.insert_checked("le", 2, Some(2), |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o != Ordering::Greater))
    });
    funcs.insert_checked("gt", 2, Some(2), |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o == Ordering::Greater))
    });
    funcs.insert_checked("ge", 2, Some(2), |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o != Ordering::Less))
    });
}

/// The methods of Go's `time.Time` that templates use.
fn register_time_methods(funcs: &mut Funcs) {
    fn time(receiver: &Value) -> Result<&GoTime, String> {
        match receiver {
            Value::Time(t) => Ok(t),
            other => Err(format!("not a time: {}", other.type_name())),
        }
    }
    fn args(name: &str, a: &[Value], want: usize) -> Result<(), String> {
        if a.len() == want {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {want} got {}",
                a.len()
            ))
        }
    }
    funcs.insert_method(MethodReceiver::Time, "Format", |r, a| {
        args("Format", a, 1)?;
        Ok(Value::String(time(r)?.format(expect_string(&a[0])?)))
    });
    funcs.insert_method(MethodReceiver::Time, "String", |r, a| {
        args("String", a, 0)?;
        Ok(Value::String(time(r)?.to_string()))
    });
    funcs.insert_method(MethodReceiver::Time, "UTC", |r, a| {
        args("UTC", a, 0)?;
        Ok(Value::Time(time(r)?.utc()))
    });
    funcs.insert_method(MethodReceiver::Time, "IsZero", |r, a| {
        args("IsZero", a, 0)?;
        Ok(Value::Bool(time(r)?.is_zero()))
    });
    funcs.insert_method(MethodReceiver::Time, "Unix", |r, a| {
        args("Unix", a, 0)?;
        Ok(Value::Int(time(r)?.unix_secs))
    });
    funcs.insert_method(MethodReceiver::Time, "UnixMilli", |r, a| {
        args("UnixMilli", a, 0)?;
        let t = time(r)?;
        Ok(Value::Int(
            t.unix_secs * 1000 + i64::from(t.nanos / 1_000_000),
        ))
    });
    funcs.insert_method(MethodReceiver::Time, "UnixNano", |r, a| {
        args("UnixNano", a, 0)?;
        let t = time(r)?;
        Ok(Value::Int(
            t.unix_secs
                .saturating_mul(1_000_000_000)
                .saturating_add(i64::from(t.nanos)),
        ))
    });
    for (name, layout) in [
        ("Year", "2006"),
        ("Day", "2"),
        ("Hour", "15"),
        ("Minute", "4"),
        ("Second", "5"),
        ("YearDay", "__2"),
    ] {
        funcs.insert_method(MethodReceiver::Time, name, move |r, a| {
            args(name, a, 0)?;
            let text = time(r)?.format(layout);
            Ok(Value::Int(text.trim().parse().unwrap_or_default()))
        });
    }
}

/// A string argument, or Go's message for a value of the wrong type.
pub(crate) fn expect_string(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// The single string argument as is, otherwise `fmt.Sprint` of all of them.
fn eval_args(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.clone(),
        _ => gofmt::sprint(args),
    }
}

fn length(v: &Value) -> Result<Value, String> {
    let n = match v {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Nil => return Err("len of untyped nil".to_owned()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index_arg(index: &Value, len: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".to_owned()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    match usize::try_from(x) {
        Ok(i) if i < len => Ok(i),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let mut item = item.clone();
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".to_owned());
    }
    for idx in indexes {
        item = match item {
            Value::List(mut l) => {
                let i = index_arg(idx, l.len())?;
                l.swap_remove(i)
            }
            Value::String(s) => {
                let i = index_arg(idx, s.len())?;
                Value::Int(i64::from(s.as_bytes()[i]))
            }
            Value::Map(mut m) => match idx {
                Value::String(k) => match m.remove(k) {
                    Some(v) => v,
                    None => Value::zero_of_map_elem(&m),
                },
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::Nil => return Err("index of nil pointer".to_owned()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let len = match item {
        Value::Nil => return Err("slice of untyped nil".to_owned()),
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    if indexes.len() == 3 && matches!(item, Value::String(_)) {
        return Err("cannot 3-index slice a string".to_owned());
    }
    let mut idx = [0usize, len, len];
    for (i, v) in indexes.iter().enumerate() {
        let x = match v {
            Value::Int(x) => *x,
            Value::Nil => return Err("cannot index slice/array with nil".to_owned()),
            other => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    other.type_name()
                ));
            }
        };
        idx[i] = usize::try_from(x)
            .ok()
            .filter(|&x| x <= len)
            .ok_or_else(|| format!("index out of range: {x}"))?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::List(l[idx[0]..idx[1]].to_vec()),
        _ => Value::Nil,
    })
}

const BAD_COMPARISON: &str = "incompatible types for comparison";

/// Go's `eq`: true if the first argument equals any of the others.
fn eq(first: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".to_owned());
    }
    for other in others {
        let truth = match (first, other) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Nil, Value::Nil) => true,
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::Nil, _) | (_, Value::Nil) => false,
            (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    first,
                    first.type_name(),
                    other.type_name(),
                    other
                ));
            }
            _ => return Err(BAD_COMPARISON.to_owned()),
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's ordering for `lt le gt ge`: only between two ints, two floats or two strings.
fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    let basic = |v: &Value| match v {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_) => Ok(()),
        _ => Err("invalid type for comparison".to_owned()),
    };
    basic(a)?;
    basic(b)?;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        // NaN compares false both ways in Go; Equal makes lt/gt false (le/ge true, unlike Go).
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Equal)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(_), Value::Bool(_)) => Err("invalid type for comparison".to_owned()),
        _ => Err(BAD_COMPARISON.to_owned()),
    }
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if !c.is_ascii() && c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
