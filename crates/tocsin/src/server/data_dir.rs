use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The data directory, held with an exclusive lock so two servers never write the same
/// files (which would corrupt the WAL and blocks).
#[derive(Debug)]
pub(crate) struct DataDir {
    path: PathBuf,
    // Holding the file holds the lock; the OS releases it when the process dies.
    _lock: File,
}

impl DataDir {
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        let lock_path = path.join("lock");
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => bail!(
                "data directory {} is in use by another tocsin process (lock file {}); stop \
                 that process or choose another directory with --data-dir",
                path.display(),
                lock_path.display()
            ),
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
        // The PID helps an operator find the holder; the lock itself is what matters.
        lock.set_len(0).ok();
        let _ = writeln!(lock, "{}", std::process::id());
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(&dir.path().join("data")).unwrap();
        let err = DataDir::open(&dir.path().join("data")).unwrap_err();
        assert!(
            format!("{err:#}").contains("in use by another tocsin process"),
            "{err:#}"
        );
        drop(first);
        DataDir::open(&dir.path().join("data")).unwrap();
    }
}
