//! The dynamic value a template sees: Go's `interface{}` reduced to what templates use.

use std::collections::BTreeMap;

use crate::gofmt;
use crate::gotime::GoTime;

/// A value passed to, or produced by, a template.
///
/// `Int` and `Float` stay distinct because Go's comparison functions (`eq`, `lt`, ...) refuse
/// to compare an integer with a float, and templates written for Prometheus rely on that
/// error being reported rather than silently coerced.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Go's nil (an unset `interface{}`); prints as `<no value>` in an action.
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A Go `int`.
    Int(i64),
    /// A Go `float64`.
    Float(f64),
    /// A string.
    String(String),
    /// A slice.
    List(Vec<Self>),
    /// A map with string keys; ranged over in key order, as Go does.
    Map(BTreeMap<String, Self>),
    /// A Go `time.Time` (an alert's `StartsAt`, Prometheus's `toTime`): prints as Go does and
    /// has `.Format`, `.Unix`, `.UTC`, ... methods.
    Time(GoTime),
}

impl Value {
    /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Self::Nil => false,
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
            Self::Float(f) => *f != 0.0,
            Self::String(s) => !s.is_empty(),
            Self::List(l) => !l.is_empty(),
            Self::Map(m) => !m.is_empty(),
            // A struct in Go, and structs are always true.
            Self::Time(_) => true,
        }
    }

    /// The Go type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Nil => "<nil>",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float64",
            Self::String(_) => "string",
            Self::List(_) => "[]interface {}",
            Self::Map(_) => "map[string]interface {}",
            Self::Time(_) => "time.Time",
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The zero value of a map's element type, which `missingkey=zero` and `index` return for
    /// an absent key. Our maps are untyped, so the element type is inferred: when every value
    /// has the same scalar type, its zero; an empty map is taken to be a label set
    /// (`map[string]string`, the common case); otherwise nil, as for `map[string]interface{}`.
    pub(crate) fn zero_of_map_elem(map: &BTreeMap<String, Self>) -> Self {
        let mut values = map.values();
        let Some(first) = values.next() else {
            return Self::String(String::new());
        };
        let same = |v: &Self| std::mem::discriminant(v) == std::mem::discriminant(first);
        if !values.all(same) {
            return Self::Nil;
        }
        match first {
            Self::String(_) => Self::String(String::new()),
            Self::Int(_) => Self::Int(0),
            Self::Float(_) => Self::Float(0.0),
            Self::Bool(_) => Self::Bool(false),
            _ => Self::Nil,
        }
    }
}

/// `%v` formatting, which is also how an action prints a value.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&gofmt::sprint(std::slice::from_ref(self)))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<Vec<Self>> for Value {
    fn from(l: Vec<Self>) -> Self {
        Self::List(l)
    }
}

impl From<BTreeMap<String, Self>> for Value {
    fn from(m: BTreeMap<String, Self>) -> Self {
        Self::Map(m)
    }
}

impl From<GoTime> for Value {
    fn from(t: GoTime) -> Self {
        Self::Time(t)
    }
}

/// A label set becomes a map of strings (Go's `map[string]string`).
impl From<&BTreeMap<String, String>> for Value {
    fn from(labels: &BTreeMap<String, String>) -> Self {
        Self::Map(
            labels
                .iter()
                .map(|(k, v)| (k.clone(), Self::String(v.clone())))
                .collect(),
        )
    }
}
