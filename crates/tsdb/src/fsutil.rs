//! File-system steps every on-disk change is built from: fsync'd writes, fsync'd renames and
//! directory syncs, so a crash leaves either the old or the new state, never a mix.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// fsyncs a directory so entries created, renamed or removed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("fsync directory", dir))
}

/// Writes `bytes` to a new file at `path` and fsyncs it.
pub(crate) fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(Error::io("create file", path))?;
    file.write_all(bytes)
        .map_err(Error::io("write file", path))?;
    file.sync_all().map_err(Error::io("fsync file", path))
}

/// Renames `from` to `to` and fsyncs the parent directory.
pub(crate) fn rename_synced(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(Error::io("rename", from))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Removes a directory tree; a missing one is fine.
pub(crate) fn remove_dir_all_if_exists(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io("remove directory", dir)(err)),
    }
}

/// Total bytes of the files under `dir` (0 if it does not exist).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
