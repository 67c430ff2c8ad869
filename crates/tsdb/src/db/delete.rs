//! Deleting series (tombstones), for the admin API: the head records deleted intervals
//! (logged in the WAL), blocks record them in their `tombstones` file; compaction drops the
//! deleted samples for good.

use tocsin_model::Matcher;
use tocsin_model::storage::check_selectable;

use super::Tsdb;
use crate::wal::record::{self, RecordType, RefTombstone};
use crate::{Error, Result, postings};

impl Tsdb {
    /// Deletes the samples in `[mint, maxt]` of every series matching `matchers`. Returns
    /// how many series (head and block entries) were affected.
    pub fn delete_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        check_selectable(matchers).map_err(|err| Error::Invalid(err.to_string()))?;
        let _serialised = self.compaction.lock();
        let wal = self.wal()?;
        let mut affected = 0;
        for block in self.blocks().iter() {
            affected += block.delete(matchers, mint, maxt)?;
        }
        let refs = {
            let index = self.head.postings.read();
            postings::select(&*index, matchers)
        };
        let mut tombstones = Vec::new();
        let mut series = Vec::new();
        for r in refs {
            if let Some(s) = self.head.series_by_ref(r) {
                tombstones.push(RefTombstone {
                    series: s.sref,
                    mint,
                    maxt,
                });
                series.push(s);
            }
        }
        if !tombstones.is_empty() {
            let mut w = wal.lock();
            let mut buf = Vec::new();
            // Series records first, for series no commit has logged yet.
            let unlogged: Vec<_> = series
                .iter()
                .filter(|s| !s.logged.load(std::sync::atomic::Ordering::Acquire))
                .collect();
            if !unlogged.is_empty() {
                let mut payload = Vec::new();
                let labels: Vec<_> = unlogged.iter().map(|s| (s.sref, s.labels())).collect();
                record::encode_series(&mut payload, labels.iter().map(|(r, l)| (*r, l)));
                record::frame(&mut buf, RecordType::Series, &payload);
            }
            let mut payload = Vec::new();
            record::encode_tombstones(&mut payload, &tombstones);
            record::frame(&mut buf, RecordType::Tombstones, &payload);
            w.write(&buf)?;
            for s in &unlogged {
                s.logged.store(true, std::sync::atomic::Ordering::Release);
            }
            for s in &series {
                s.data.lock().extra().deleted.push((mint, maxt));
            }
            affected += series.len();
        }
        Ok(affected)
    }
}
