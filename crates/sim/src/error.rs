//! Errors of the simulator: bad fleet settings, faults and mitigations that name something
//! the fleet does not have, and storage failures while writing samples.

use tocsin_model::Timestamp;
use tocsin_model::storage::StorageError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet settings cannot describe a fleet.
    #[error("fleet settings: {0}")]
    Config(String),
    /// A fault or mitigation names a service the fleet does not have.
    #[error("unknown service {name:?}; the fleet has: {known}")]
    UnknownService {
        /// The name given.
        name: String,
        /// The fleet's services, comma-separated.
        known: String,
    },
    /// A fault or mitigation names a region the fleet does not run in.
    #[error("unknown region {name:?}; the fleet runs in: {known}")]
    UnknownRegion {
        /// The name given.
        name: String,
        /// The fleet's regions, comma-separated.
        known: String,
    },
    /// A fault or mitigation names an instance index the service does not have.
    #[error(
        "service {service:?} has {count} instances in {region}; instance {index} does not exist (use 0 to {last})",
        last = count.saturating_sub(1)
    )]
    UnknownInstance {
        /// The service.
        service: String,
        /// The region.
        region: String,
        /// The index given.
        index: usize,
        /// Instances the service has there.
        count: usize,
    },
    /// A fault's parameters are out of range or do not fit its target.
    #[error("fault {kind} on {target}: {reason}")]
    InvalidFault {
        /// The fault's kind.
        kind: &'static str,
        /// What it targets.
        target: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// A mitigation's parameters are out of range or do not fit its target.
    #[error("mitigation {kind} on {target}: {reason}")]
    InvalidMitigation {
        /// The mitigation's kind.
        kind: &'static str,
        /// What it targets.
        target: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// A mitigation was dated before samples already written.
    #[error(
        "mitigation at {at} is before the last emitted scrape at {last}; apply mitigations in time order, at or after the simulator's current time"
    )]
    InThePast {
        /// The mitigation's time (ms).
        at: Timestamp,
        /// The last scrape written (ms).
        last: Timestamp,
    },
    /// No scenario has that name.
    #[error("unknown scenario {name:?}; the catalogue has: {known}")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The catalogue's names, comma-separated.
        known: String,
    },
    /// The store refused the batch as a whole.
    #[error("writing simulated samples failed: {0}")]
    Storage(#[from] StorageError),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
