//! The `tombstones` file of a block: deleted time ranges per series ordinal, replaced
//! atomically (temporary file, fsync, rename) on every deletion.

use std::collections::HashMap;
use std::path::Path;

use crate::encoding::{Decoder, put_uvarint, put_varint};
use crate::{Error, Result, fsutil};

const MAGIC: u32 = 0x0130_BA30;

/// Encodes tombstones.
pub fn encode_tombstones(tombstones: &HashMap<u32, Vec<(i64, i64)>>) -> Vec<u8> {
    let mut entries: Vec<(u32, i64, i64)> = tombstones
        .iter()
        .flat_map(|(&o, list)| list.iter().map(move |&(a, b)| (o, a, b)))
        .collect();
    entries.sort_unstable();
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.push(1);
    let mut body = Vec::new();
    put_uvarint(&mut body, entries.len() as u64);
    for (o, a, b) in entries {
        put_uvarint(&mut body, u64::from(o));
        put_varint(&mut body, a);
        put_varint(&mut body, b);
    }
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out
}

/// Decodes a tombstones file; ordinals must be below `num_series`.
pub fn decode_tombstones(bytes: &[u8], num_series: usize) -> Result<HashMap<u32, Vec<(i64, i64)>>> {
    let mut d = Decoder::new("tombstones", bytes);
    if d.u32_be()? != MAGIC || d.u8()? != 1 {
        return Err(Error::decode("tombstones", "bad magic number or version"));
    }
    if bytes.len() < 9 {
        return Err(Error::decode("tombstones", "file too short"));
    }
    let body = &bytes[5..bytes.len() - 4];
    let stored = u32::from_be_bytes([
        bytes[bytes.len() - 4],
        bytes[bytes.len() - 3],
        bytes[bytes.len() - 2],
        bytes[bytes.len() - 1],
    ]);
    if crc32c::crc32c(body) != stored {
        return Err(Error::decode("tombstones", "checksum mismatch"));
    }
    let mut d = Decoder::new("tombstones", body);
    let n = d.uvarint()?;
    let mut out: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    for _ in 0..n {
        let o = d.uvarint()?;
        let (a, b) = (d.varint()?, d.varint()?);
        if o as usize >= num_series {
            return Err(Error::decode(
                "tombstones",
                format!("series {o} out of range"),
            ));
        }
        out.entry(o as u32).or_default().push((a, b));
    }
    Ok(out)
}

pub(crate) fn read(path: &Path, num_series: usize) -> Result<HashMap<u32, Vec<(i64, i64)>>> {
    match std::fs::read(path) {
        Ok(bytes) => decode_tombstones(&bytes, num_series).map_err(|err| Error::Corrupt {
            path: path.to_path_buf(),
            reason: err.to_string(),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(err) => Err(Error::io("read tombstones", path)(err)),
    }
}

pub(crate) fn write(dir: &Path, tombstones: &HashMap<u32, Vec<(i64, i64)>>) -> Result<()> {
    let tmp = dir.join("tombstones.tmp");
    fsutil::write_file_synced(&tmp, &encode_tombstones(tombstones))?;
    fsutil::rename_synced(&tmp, &dir.join("tombstones"))
}
