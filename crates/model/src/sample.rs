/// Milliseconds since the Unix epoch, as Prometheus stores time.
pub type Timestamp = i64;

/// The bit pattern Prometheus writes to mark a series stale (a NaN no arithmetic produces).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as a float. Compare with [`is_stale_nan`], never with `==` (it is a NaN).
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `value` is Prometheus's stale marker (and not any other NaN).
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// One float sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When, in milliseconds.
    pub t: Timestamp,
    /// The value; may be NaN, infinite, or the stale marker.
    pub v: f64,
}

impl Sample {
    /// A sample.
    pub const fn new(t: Timestamp, v: f64) -> Self {
        Self { t, v }
    }

    /// Equality that treats NaNs with the same bits as equal (`PartialEq` on f64 does not),
    /// which is what storage round-trips must preserve.
    pub fn bitwise_eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_a_specific_nan() {
        assert!(STALE_NAN.is_nan());
        assert!(is_stale_nan(STALE_NAN));
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(1.0));
        assert!(Sample::new(1, STALE_NAN).bitwise_eq(&Sample::new(1, STALE_NAN)));
        assert!(!Sample::new(1, STALE_NAN).bitwise_eq(&Sample::new(1, f64::NAN)));
    }
}
