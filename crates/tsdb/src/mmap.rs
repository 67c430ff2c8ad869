//! Read-only memory maps of block files: the only `unsafe` in the crate.
//!
//! Why it is sound: `memmap2::Mmap::map` is unsafe because another process or thread could
//! change or truncate the file while it is mapped, which would change bytes behind a `&[u8]`
//! (undefined behaviour) or raise SIGBUS. The files mapped here are block files (chunks,
//! index) that tocsin writes once into a temporary directory, fsyncs and renames into place;
//! after that nothing in tocsin opens them for writing again, compaction writes new blocks
//! instead of changing old ones, and deletion only unlinks the path (the mapping keeps the
//! inode alive until it is dropped). The data directory is locked against a second tocsin.
//! The remaining risk is a person or another program editing block files in place, which
//! `docs/format/README.md` forbids, as Prometheus does for its blocks.
//!
//! Start-up also maps the WAL segments and head chunk files it replays, only when it holds
//! the directory's lock (so no other tocsin writes them) and before it writes anything: the
//! WAL writer and the head chunk writer always start new files, and a damaged file is cut
//! (`set_len`) only after its map is dropped.
#![allow(unsafe_code)]

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A whole file mapped read-only.
#[derive(Debug)]
pub struct MappedFile {
    map: Option<memmap2::Mmap>,
    path: PathBuf,
}

impl MappedFile {
    /// Maps `path`. Empty files are not mapped (mmap of length 0 fails).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(Error::io("open block file", path))?;
        let len = file
            .metadata()
            .map_err(Error::io("stat block file", path))?
            .len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: block files are immutable once renamed into place; see the module
            // documentation for the invariants this relies on.
            Some(unsafe { memmap2::Mmap::map(&file) }.map_err(Error::io("map block file", path))?)
        };
        Ok(Self {
            map,
            path: path.to_path_buf(),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
