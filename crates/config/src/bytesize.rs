//! Byte sizes as Prometheus writes them (`512MB`, `1GiB`, `0`). Like Prometheus's
//! `units.Base2Bytes`, `KB`, `MB`, ... are powers of 1024, the same as `KiB`, `MiB`, ...

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// Why a size string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {input:?}: {reason}; write it like 0, 512KB, 64MB or 2GiB")]
pub struct ParseByteSizeError {
    input: String,
    reason: &'static str,
}

const UNITS: [(&str, u64); 6] = [
    ("EB", 1 << 60),
    ("PB", 1 << 50),
    ("TB", 1 << 40),
    ("GB", 1 << 30),
    ("MB", 1 << 20),
    ("KB", 1 << 10),
];

impl ByteSize {
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = ParseByteSizeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ParseByteSizeError {
            input: input.to_owned(),
            reason,
        };
        let digits_end = input
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(input.len());
        if digits_end == 0 {
            return Err(fail("expected a whole number first"));
        }
        let amount: u64 = input[..digits_end]
            .parse()
            .map_err(|_| fail("the number is too large"))?;
        let unit = &input[digits_end..];
        let multiplier = match unit {
            "" | "B" => 1,
            _ => {
                let normalized = unit.replacen("iB", "B", 1);
                UNITS
                    .iter()
                    .find(|(name, _)| *name == normalized)
                    .map(|(_, size)| *size)
                    .ok_or_else(|| fail("unknown unit (use B, KB, MB, GB, TB, PB or EB)"))?
            }
        };
        amount
            .checked_mul(multiplier)
            .map(Self)
            .ok_or_else(|| fail("it is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, size) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{name}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Accept both `0` (a YAML integer) and `"64MB"`.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Int(n) => Ok(Self(n)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_base2_units() {
        assert_eq!("0".parse::<ByteSize>().unwrap().0, 0);
        assert_eq!("512".parse::<ByteSize>().unwrap().0, 512);
        assert_eq!("1KB".parse::<ByteSize>().unwrap().0, 1024);
        assert_eq!("1KiB".parse::<ByteSize>().unwrap().0, 1024);
        assert_eq!("64MB".parse::<ByteSize>().unwrap().0, 64 << 20);
        assert_eq!("2GiB".parse::<ByteSize>().unwrap().0, 2 << 30);
    }

    #[test]
    fn refuses_malformed_sizes() {
        for bad in ["", "MB", "1.5GB", "1 GB", "1gb", "-1", "1XB", "99999999EB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(n in any::<u64>()) {
            prop_assert_eq!(ByteSize(n).to_string().parse::<ByteSize>().unwrap(), ByteSize(n));
        }
    }
}
