//! Function implementations, one file per family.

pub(crate) mod histogram;
pub(crate) mod instant;
pub(crate) mod labels;
pub mod math;
pub(crate) mod range;
