//! Chunk files (`chunks/000001`, ...): a header, then chunks back to back, each with its
//! length, encoding and CRC32-C. A chunk is addressed by `file index << 32 | byte offset`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chunkenc::Encoding;
use crate::encoding::{Decoder, put_uvarint};
use crate::mmap::MappedFile;
use crate::query::ChunkBytes;
use crate::{Error, Result};

/// First four bytes of a chunk file.
pub(crate) const CHUNKS_MAGIC: u32 = 0x85BD_40DD;
/// Bytes before the first chunk.
pub(crate) const CHUNKS_HEADER_LEN: usize = 8;
/// A chunk file is closed when it passes this size.
const MAX_FILE_SIZE: u64 = 512 << 20;

/// Writes chunk files into a block's `chunks/` directory.
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    dir: PathBuf,
    file: Option<(BufWriter<File>, PathBuf)>,
    index: u32,
    offset: u64,
    buf: Vec<u8>,
}

impl ChunkWriter {
    /// Writes into `dir` (created).
    pub(crate) fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io("create chunks directory", dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            file: None,
            index: 0,
            offset: 0,
            buf: Vec::new(),
        })
    }

    fn roll(&mut self) -> Result<()> {
        self.finish_file()?;
        self.index += 1;
        let path = self.dir.join(format!("{:06}", self.index));
        let file = File::create(&path).map_err(Error::io("create chunk file", &path))?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        let mut header = [0u8; CHUNKS_HEADER_LEN];
        header[..4].copy_from_slice(&CHUNKS_MAGIC.to_be_bytes());
        header[4] = 1;
        writer
            .write_all(&header)
            .map_err(Error::io("write chunk file", &path))?;
        self.file = Some((writer, path));
        self.offset = CHUNKS_HEADER_LEN as u64;
        Ok(())
    }

    /// Appends a chunk; returns its reference.
    pub(crate) fn write(&mut self, encoding: Encoding, data: &[u8]) -> Result<u64> {
        if self.file.is_none() || self.offset + data.len() as u64 + 16 > MAX_FILE_SIZE {
            self.roll()?;
        }
        self.buf.clear();
        put_uvarint(&mut self.buf, data.len() as u64);
        self.buf.push(encoding as u8);
        self.buf.extend_from_slice(data);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[encoding as u8]), data);
        self.buf.extend_from_slice(&crc.to_be_bytes());
        let reference = (u64::from(self.index) << 32) | self.offset;
        let (writer, path) = self.file.as_mut().expect("invariant: roll() opened a file");
        writer
            .write_all(&self.buf)
            .map_err(Error::io("write chunk file", path.clone()))?;
        self.offset += self.buf.len() as u64;
        Ok(reference)
    }

    fn finish_file(&mut self) -> Result<()> {
        if let Some((writer, path)) = self.file.take() {
            let file = writer
                .into_inner()
                .map_err(|err| Error::io("write chunk file", &path)(err.into_error()))?;
            file.sync_all()
                .map_err(Error::io("fsync chunk file", &path))?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the last file.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.finish_file()
    }
}

/// The chunk files of one block, mapped.
#[derive(Debug)]
pub struct ChunkReader {
    files: Vec<Arc<MappedFile>>,
}

impl ChunkReader {
    /// Maps every file in `dir` and checks its header.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(Error::io("list chunks directory", dir))?
            .flatten()
            .map(|e| e.path())
            .collect();
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for (i, path) in paths.iter().enumerate() {
            let expected = format!("{:06}", i + 1);
            if path.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
                return Err(Error::Corrupt {
                    path: path.clone(),
                    reason: format!("unexpected chunk file name (expected {expected})"),
                });
            }
            let file = MappedFile::open(path)?;
            let bytes = file.bytes();
            if bytes.len() < CHUNKS_HEADER_LEN
                || u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) != CHUNKS_MAGIC
            {
                return Err(Error::Corrupt {
                    path: path.clone(),
                    reason: "bad chunk file header".to_owned(),
                });
            }
            files.push(Arc::new(file));
        }
        Ok(Self { files })
    }

    /// The chunk at `reference`, checksum verified.
    pub(crate) fn chunk(&self, reference: u64) -> Result<(Encoding, ChunkBytes)> {
        let index = (reference >> 32) as usize;
        let offset = (reference & 0xffff_ffff) as usize;
        let file = index
            .checked_sub(1)
            .and_then(|i| self.files.get(i))
            .ok_or_else(|| Error::decode("chunk reference", format!("no chunk file {index}")))?;
        let bytes = file.bytes();
        let at = bytes
            .get(offset..)
            .filter(|_| offset >= CHUNKS_HEADER_LEN)
            .ok_or_else(|| {
                Error::decode(
                    "chunk reference",
                    format!("offset {offset} outside file {index}"),
                )
            })?;
        let (encoding, start, end) = parse_chunk(at)?;
        Ok((
            encoding,
            ChunkBytes::Mapped {
                file: Arc::clone(file),
                start: offset + start,
                end: offset + end,
            },
        ))
    }
}

/// Parses one framed chunk at the start of `at`; returns its encoding and data range.
pub fn parse_chunk(at: &[u8]) -> Result<(Encoding, usize, usize)> {
    let mut d = Decoder::new("chunk", at);
    let len =
        usize::try_from(d.uvarint()?).map_err(|_| Error::decode("chunk", "length too large"))?;
    let encoding_byte = d.u8()?;
    let start = d.position();
    let data = d.bytes(len)?;
    let stored = d.u32_be()?;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&[encoding_byte]), data);
    if crc != stored {
        return Err(Error::decode(
            "chunk",
            format!("checksum mismatch (stored {stored:08x}, computed {crc:08x})"),
        ));
    }
    Ok((Encoding::from_byte(encoding_byte)?, start, start + len))
}
