//! The agent's on-disk queue: one file per remote_write request (snappy-compressed
//! protobuf, exactly what is sent), written and fsynced before sending and deleted only
//! after the receiver acknowledged it, so neither a receiver restart nor an agent crash
//! loses a sample. Resending after a lost acknowledgement repeats identical samples, which
//! receivers accept as no-ops.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Files in sequence order.
#[derive(Debug)]
pub struct DiskQueue {
    dir: PathBuf,
    next: u64,
    max_bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

impl DiskQueue {
    /// Opens (creating) the queue in `dir`; holds at most `max_bytes` (oldest dropped, with
    /// an error log, when full).
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut queue = Self {
            dir: dir.to_path_buf(),
            next: 0,
            max_bytes,
        };
        queue.next = queue.entries()?.last().map_or(0, |(seq, _)| seq + 1);
        Ok(queue)
    }

    /// Queued requests, oldest first: `(sequence, path)`.
    pub fn entries(&self) -> Result<Vec<(u64, PathBuf)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".rw"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            out.push((seq, entry.path()));
        }
        out.sort();
        Ok(out)
    }

    /// Bytes queued.
    pub fn bytes(&self) -> u64 {
        self.entries()
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Appends a request durably (write, fsync, rename, fsync the directory).
    pub fn push(&mut self, body: &[u8]) -> Result<()> {
        while self.max_bytes > 0 && self.bytes() + body.len() as u64 > self.max_bytes {
            let Some((_, oldest)) = self.entries()?.into_iter().next() else {
                break;
            };
            tracing::error!(file = %oldest.display(), "agent queue is full; dropping its oldest request");
            std::fs::remove_file(&oldest).map_err(io(&oldest))?;
        }
        let name = format!("{:020}.rw", self.next);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let path = self.dir.join(name);
        {
            use std::io::Write as _;
            let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(body).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        self.next += 1;
        Ok(())
    }

    /// Removes an acknowledged request.
    pub fn ack(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(io(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_in_order_and_bounds_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut queue = DiskQueue::open(dir.path(), 0).unwrap();
        queue.push(b"one").unwrap();
        queue.push(b"two").unwrap();
        let mut queue = DiskQueue::open(dir.path(), 10).unwrap();
        queue.push(b"three").unwrap();
        let bodies: Vec<Vec<u8>> = queue
            .entries()
            .unwrap()
            .iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect();
        // "one" was dropped to stay under 10 bytes.
        assert_eq!(bodies, [b"two".to_vec(), b"three".to_vec()]);
        let (_, first) = &queue.entries().unwrap()[0];
        queue.ack(first).unwrap();
        assert_eq!(queue.entries().unwrap().len(), 1);
    }
}
