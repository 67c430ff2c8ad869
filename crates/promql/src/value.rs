//! Query results: Prometheus's four value types.

use tocsin_model::{Labels, Timestamp};

/// One float point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Milliseconds.
    pub t: Timestamp,
    /// Value.
    pub v: f64,
}

/// A labelled series with its points in time order (a range-vector element, or one series
/// of a range query's result).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels.
    pub labels: Labels,
    /// Points in time order.
    pub points: Vec<Point>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// Labels.
    pub labels: Labels,
    /// Evaluation time.
    pub t: Timestamp,
    /// Value.
    pub v: f64,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number at a time.
    Scalar(Point),
    /// A string at a time.
    String(Timestamp, String),
    /// An instant vector.
    Vector(Vec<VectorSample>),
    /// A range vector, or a range query's result.
    Matrix(Vec<Series>),
}

impl Value {
    /// Prometheus's `resultType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Scalar(_) => "scalar",
            Self::String(..) => "string",
            Self::Vector(_) => "vector",
            Self::Matrix(_) => "matrix",
        }
    }
}

/// Formats a float as Prometheus's API does (Go's `strconv.FormatFloat(f, 'f', -1, 64)` for
/// ordinary numbers, exponent form for very large or small ones, `+Inf`, `-Inf`, `NaN`).
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Go's 'g'-like shortest repr with exponent threshold 21, as strconv 'f', -1 would print
    // huge digit strings; Prometheus uses FormatFloat(v, 'f', -1, 64).
    let s = format!("{v}");
    if s.contains('e') {
        return s;
    }
    s
}
