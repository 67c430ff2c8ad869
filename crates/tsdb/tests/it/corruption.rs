//! Corruption table, in the spirit of Prometheus's `TestWALRepair_ReadingError`: damage in
//! the WAL (torn record, bad header, bad checksum, bad length, flipped bits), in block
//! indexes, chunks and metadata. Start-up must succeed with exactly the intact prefix of the
//! WAL (or everything but the damaged block or chunk), report the damage, and keep
//! compacting and accepting writes afterwards.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use tocsin_model::storage::Appendable;
use tocsin_model::{Labels, MatchType, Matcher};
use tocsin_tsdb::wal::record::{self, HEADER_LEN, Record};
use tocsin_tsdb::wal::{list_segments, scan_segment};
use tocsin_tsdb::{Tsdb, TsdbOptions};

use crate::support::{self, dump};

type Data = BTreeMap<Labels, Vec<(i64, u64)>>;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn options() -> TsdbOptions {
    support::small_options()
}

fn label(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "wal_test"), ("i", &i.to_string())]).unwrap()
}

/// Writes `batches` batches of one sample for each of 40 series.
fn ingest(db: &Tsdb, batches: std::ops::Range<i64>, step: i64) {
    for k in batches {
        let mut app = db.appender();
        for i in 0..40 {
            // Irregular values so records are not tiny.
            let v = (k as f64 * 1.618 + i as f64 * 0.577).sin() * 1000.0;
            app.append(0, &label(i), k * step, v).unwrap();
        }
        app.commit().unwrap();
    }
}

/// Every record of the WAL in log order, with its segment path and byte offset.
fn wal_records(wal: &Path) -> Vec<(PathBuf, usize, Record)> {
    let mut out = Vec::new();
    for (_, path) in list_segments(wal).unwrap() {
        let scanned = scan_segment(&path).unwrap();
        assert!(scanned.corruption.is_none());
        for (kind, range) in scanned.records {
            let rec = record::decode(kind, &scanned.data[range.clone()]).unwrap();
            out.push((path.clone(), range.start - HEADER_LEN, rec));
        }
    }
    out
}

/// What replaying the first `n` records gives.
fn replay_prefix(records: &[(PathBuf, usize, Record)], n: usize) -> Data {
    let mut refs: HashMap<u64, Labels> = HashMap::new();
    let mut out: Data = BTreeMap::new();
    for (_, _, rec) in &records[..n] {
        match rec {
            Record::Series(list) => {
                for s in list {
                    refs.insert(s.series, s.labels.clone());
                }
            }
            Record::Samples(list) => {
                for s in list {
                    out.entry(refs[&s.series].clone())
                        .or_default()
                        .push((s.t, s.v.to_bits()));
                }
            }
            Record::Tombstones(_) => unreachable!("no deletions in this test"),
        }
    }
    out
}

enum Damage {
    /// Cut the file in the middle of the record.
    Torn,
    /// Overwrite one byte at this offset from the record start.
    Byte(usize, u8),
    /// XOR one byte at this offset from the record start.
    Flip(usize, u8),
}

fn damage(path: &Path, at: usize, how: &Damage) {
    let mut bytes = std::fs::read(path).unwrap();
    match how {
        Damage::Torn => bytes.truncate(at + HEADER_LEN + 3),
        Damage::Byte(off, b) => bytes[at + off] = *b,
        Damage::Flip(off, mask) => bytes[at + off] ^= mask,
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn wal_damage_keeps_the_exact_intact_prefix() {
    let pristine = tempfile::tempdir().unwrap();
    {
        let db = support::open(pristine.path(), options());
        ingest(&db, 0..500, 1);
        db.close().unwrap();
    }
    let records = wal_records(&pristine.path().join("wal"));
    let segments: Vec<PathBuf> = list_segments(&pristine.path().join("wal"))
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert!(
        segments.len() >= 3,
        "the test needs several segments, got {}",
        segments.len()
    );
    // (case, index of the damaged record in log order, damage)
    let first_of = |seg: usize| records.iter().position(|r| r.0 == segments[seg]).unwrap();
    let cases: Vec<(&str, usize, Damage)> = vec![
        ("torn_last_record", records.len() - 1, Damage::Torn),
        ("bad_header", first_of(1) + 3, Damage::Byte(0, 0x7f)),
        ("zeroed_header", first_of(1) + 4, Damage::Byte(0, 0)),
        ("bad_checksum", first_of(1) + 5, Damage::Flip(6, 0x10)),
        ("bad_length", first_of(0) + 10, Damage::Byte(1, 0x7f)),
        ("short_length", first_of(2) + 1, Damage::Flip(4, 0x01)),
        (
            "bad_content",
            first_of(2) + 2,
            Damage::Flip(HEADER_LEN + 7, 0x04),
        ),
        ("first_record", 0, Damage::Flip(HEADER_LEN, 0x80)),
    ];
    for (name, index, how) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), dir.path());
        let (path, at, _) = &records[index];
        let path = dir.path().join("wal").join(path.file_name().unwrap());
        damage(&path, *at, &how);

        let expected = replay_prefix(&records, index);
        let db = support::open(dir.path(), options());
        assert_eq!(
            db.open_report().wal_corruptions.len(),
            1,
            "{name}: damage reported once"
        );
        assert_eq!(
            dump(&*db),
            expected,
            "{name}: exactly the records before the damage"
        );

        // Writes, compaction and a restart still work, and report nothing new.
        ingest(&db, 1000..1010, 1);
        db.compact_head_range(0, 1000).unwrap();
        let after = dump(&*db);
        db.close().unwrap();
        drop(db);
        let db = support::open(dir.path(), options());
        assert!(
            db.open_report().wal_corruptions.is_empty(),
            "{name}: repaired for good"
        );
        assert_eq!(
            dump(&*db),
            after,
            "{name}: nothing lost after repair and compaction"
        );
        assert_eq!(
            db.blocks().len(),
            usize::from(!expected.is_empty()),
            "{name}"
        );
    }
}

/// A store with three blocks (0-1000, 1000-2000, 2000-3000) and data in the head.
fn store_with_blocks() -> (tempfile::TempDir, Data) {
    let dir = tempfile::tempdir().unwrap();
    // No merges while building it.
    let db = support::open(
        dir.path(),
        TsdbOptions {
            max_block_duration_ms: Some(1000),
            ..options()
        },
    );
    ingest(&db, 0..370, 10);
    db.compact().unwrap();
    assert_eq!(
        db.blocks().len(),
        3,
        "a head spanning 3.7 blocks leaves 0.7 in memory"
    );
    let data = dump(&*db);
    db.close().unwrap();
    (dir, data)
}

fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    out.sort();
    out
}

fn without_range(data: &Data, mint: i64, maxt: i64, only: Option<&Labels>) -> Data {
    data.iter()
        .map(|(l, s)| {
            let kept = s
                .iter()
                .filter(|(t, _)| !(*t >= mint && *t <= maxt && only.is_none_or(|o| o == l)))
                .copied()
                .collect::<Vec<_>>();
            (l.clone(), kept)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

#[test]
fn damaged_index_or_meta_moves_the_block_aside() {
    for target in ["index", "meta.json"] {
        let (dir, data) = store_with_blocks();
        let victim = block_dirs(dir.path())[1].clone();
        let meta = tocsin_tsdb::block::BlockMeta::read(&victim).unwrap();
        let path = victim.join(target);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
        std::fs::write(&path, bytes).unwrap();

        let db = support::open(dir.path(), options());
        assert_eq!(db.open_report().quarantined_blocks.len(), 1, "{target}");
        assert!(
            victim
                .with_file_name(format!("{}.corrupt", meta.ulid))
                .is_dir()
        );
        assert_eq!(
            dump(&*db),
            without_range(&data, meta.min_time, meta.max_time - 1, None),
            "{target}: everything but the damaged block"
        );
        // Compaction and writes continue.
        ingest(&db, 400..420, 10);
        db.compact().unwrap();
        db.close().unwrap();
    }
}

#[test]
fn damaged_chunk_is_skipped_reported_and_compaction_continues() {
    let (dir, data) = store_with_blocks();
    let victim = block_dirs(dir.path())[0].clone();
    let block = tocsin_tsdb::block::Block::open(&victim).unwrap();
    // Damage the first chunk of series 7.
    let ordinal = (0..block.num_series())
        .find(|&o| block.labels(o).unwrap() == label(7))
        .unwrap();
    let (labels, chunks) = block.index().series(ordinal).unwrap();
    let chunk = chunks[0];
    drop(block);
    let file = victim
        .join("chunks")
        .join(format!("{:06}", chunk.reference >> 32));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[(chunk.reference & 0xffff_ffff) as usize + 4] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();

    let db = support::open(dir.path(), options());
    assert!(db.open_report().quarantined_blocks.is_empty());
    let expected = without_range(&data, chunk.mint, chunk.maxt, Some(&labels));
    assert_eq!(dump(&*db), expected, "everything but the damaged chunk");
    // Merging the damaged block into a larger one still works and drops only that chunk.
    ingest(&db, 400..1000, 10);
    db.compact().unwrap();
    assert!(
        db.blocks().iter().any(|b| b.meta().compaction.level > 1),
        "blocks were merged"
    );
    let m = [Matcher::new(MatchType::Equal, "i", "7").unwrap()];
    let merged = support::select(&*db, &m, 0, 2999);
    assert_eq!(
        merged[&labels],
        expected[&labels]
            .iter()
            .filter(|(t, _)| *t <= 2999)
            .copied()
            .collect::<Vec<_>>()
    );
    db.close().unwrap();
}

#[test]
fn leftovers_of_interrupted_writes_are_removed_at_open() {
    let (dir, data) = store_with_blocks();
    let tmp_block = dir
        .path()
        .join("01JAAAAAAAAAAAAAAAAAAAAAAA.tmp-for-creation");
    std::fs::create_dir_all(tmp_block.join("chunks")).unwrap();
    let tmp_delete = dir
        .path()
        .join("01JBBBBBBBBBBBBBBBBBBBBBBB.tmp-for-deletion");
    std::fs::create_dir_all(&tmp_delete).unwrap();
    let tmp_checkpoint = dir.path().join("wal").join("checkpoint.00000099.tmp");
    std::fs::create_dir_all(&tmp_checkpoint).unwrap();
    let db = support::open(dir.path(), options());
    assert!(!tmp_block.exists() && !tmp_delete.exists() && !tmp_checkpoint.exists());
    assert_eq!(dump(&*db), data);
}
