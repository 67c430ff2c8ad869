//! `meta.json`: what a block covers and where it came from, and block ids (ULIDs).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, fsutil};

/// Version of the block format this code writes and reads.
pub const BLOCK_VERSION: u32 = 1;

/// Counts in a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples.
    pub num_samples: u64,
    /// Series.
    pub num_series: u64,
    /// Chunks.
    pub num_chunks: u64,
}

/// How a block was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// 1 for blocks cut from the head; a merge is one more than its highest input.
    pub level: u32,
    /// Ids of the level-1 blocks whose data this block holds (itself, for level 1).
    pub sources: Vec<String>,
}

/// The content of `meta.json` (field names as Prometheus's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// Block id (a ULID; also the directory name).
    pub ulid: String,
    /// First timestamp covered (inclusive, ms).
    pub min_time: i64,
    /// End of the covered range (exclusive, ms).
    pub max_time: i64,
    /// Counts.
    pub stats: BlockStats,
    /// Lineage.
    pub compaction: Compaction,
    /// Format version.
    pub version: u32,
}

impl BlockMeta {
    /// Reads `dir/meta.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("meta.json");
        let text = std::fs::read(&path).map_err(Error::io("read block meta", &path))?;
        let meta: Self = serde_json::from_slice(&text).map_err(|err| Error::Corrupt {
            path: path.clone(),
            reason: format!("invalid meta.json: {err}"),
        })?;
        if meta.version != BLOCK_VERSION {
            return Err(Error::Corrupt {
                path,
                reason: format!(
                    "block format version {} is not supported (this build reads {BLOCK_VERSION})",
                    meta.version
                ),
            });
        }
        if meta.min_time >= meta.max_time {
            return Err(Error::Corrupt {
                path,
                reason: format!("empty time range {}..{}", meta.min_time, meta.max_time),
            });
        }
        Ok(meta)
    }

    /// Writes `dir/meta.json` (fsynced).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text =
            serde_json::to_vec_pretty(self).map_err(|err| Error::Invalid(err.to_string()))?;
        fsutil::write_file_synced(&dir.join("meta.json"), &text)
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new ULID: 48 bits of milliseconds and 80 bits that differ between calls and processes,
/// so ids sort by creation time.
pub fn new_ulid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() as u64 & ((1 << 48) - 1);
    let seed = [
        now.as_nanos() as u64,
        u64::from(std::process::id()),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    ];
    let mut bytes = Vec::with_capacity(24);
    for s in seed {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    let random = xxhash_rust::xxh3::xxh3_128(&bytes) & ((1u128 << 80) - 1);
    let value = (u128::from(ms) << 80) | random;
    (0..26)
        .rev()
        .map(|i| CROCKFORD[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// Whether `name` looks like a block directory name.
pub fn is_ulid(name: &str) -> bool {
    name.len() == 26 && name.bytes().all(|b| CROCKFORD.contains(&b))
}
