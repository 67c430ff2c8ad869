//! A table keyed by series ref, in pages: refs are handed out in sequence, so neighbours
//! share a page, a lookup is one probe of a small map, and walking refs in order stays in
//! cache. Used where start-up handles every series (loading head chunks, replaying the WAL).

use super::U64Map;

/// Refs per page.
const PAGE: u64 = 4096;

/// Values by ref; a missing page reads as absent.
#[derive(Debug)]
pub(crate) struct RefPages<T> {
    pages: U64Map<Box<[T]>>,
}

impl<T> Default for RefPages<T> {
    fn default() -> Self {
        Self {
            pages: U64Map::default(),
        }
    }
}

impl<T: Default + Clone> RefPages<T> {
    /// The value of `key`, if its page exists.
    pub(crate) fn get(&self, key: u64) -> Option<&T> {
        self.pages.get(&(key / PAGE))?.get((key % PAGE) as usize)
    }

    /// The page holding `key` and the index of `key` in it.
    pub(crate) fn page_of(&self, key: u64) -> (u64, usize) {
        (key / PAGE, (key % PAGE) as usize)
    }

    /// A whole page.
    pub(crate) fn page(&self, page: u64) -> Option<&[T]> {
        self.pages.get(&page).map(|p| &p[..])
    }

    /// The value of `key`, if its page exists.
    pub(crate) fn get_mut(&mut self, key: u64) -> Option<&mut T> {
        self.pages
            .get_mut(&(key / PAGE))?
            .get_mut((key % PAGE) as usize)
    }

    /// The value of `key`, its page created with default values when missing.
    pub(crate) fn entry(&mut self, key: u64) -> &mut T {
        let page = self
            .pages
            .entry(key / PAGE)
            .or_insert_with(|| vec![T::default(); PAGE as usize].into_boxed_slice());
        &mut page[(key % PAGE) as usize]
    }

    /// Every value of every page.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.pages.values().flat_map(|p| p.iter())
    }
}

impl RefPages<u32> {
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &Self) {
        for (page, values) in &other.pages {
            let mine = self
                .pages
                .entry(*page)
                .or_insert_with(|| vec![0; PAGE as usize].into_boxed_slice());
            for (a, b) in mine.iter_mut().zip(values.iter()) {
                *a += *b;
            }
        }
    }
}

/// Refs per page of a [`RefSlots`]: 8 KiB of pointers.
const SLOTS_PAGE: u64 = 1024;

/// The live series by ref. Like [`RefPages`] (neighbouring refs share a page and cache
/// lines, where a hash map scattered them: looking a series up by ref was a third of the
/// CPU of remote_write ingestion), and a page is freed when its last value goes: refs of
/// churned series are never reused, so emptied pages would otherwise pile up. A page with
/// one live series left costs its 8 KiB until that series goes too.
#[derive(Debug)]
pub(crate) struct RefSlots<V> {
    /// Per page: how many slots hold a value, and the slots.
    pages: U64Map<(u32, Box<[Option<V>]>)>,
}

impl<V> Default for RefSlots<V> {
    fn default() -> Self {
        Self {
            pages: U64Map::default(),
        }
    }
}

impl<V> RefSlots<V> {
    /// The page of `key` (callers stripe their tables by it, so a page has one lock).
    pub(crate) fn page_of(key: u64) -> u64 {
        key / SLOTS_PAGE
    }

    fn slot(key: u64) -> usize {
        (key % SLOTS_PAGE) as usize
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: u64) -> Option<&V> {
        self.pages.get(&Self::page_of(key))?.1[Self::slot(key)].as_ref()
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub(crate) fn insert(&mut self, key: u64, value: V) -> Option<V> {
        let (live, slots) = self.pages.entry(Self::page_of(key)).or_insert_with(|| {
            (
                0,
                std::iter::repeat_with(|| None)
                    .take(SLOTS_PAGE as usize)
                    .collect(),
            )
        });
        let old = slots[Self::slot(key)].replace(value);
        if old.is_none() {
            *live += 1;
        }
        old
    }

    /// Takes the value of `key` out, freeing its page when it was the last.
    pub(crate) fn remove(&mut self, key: u64) -> Option<V> {
        let page = Self::page_of(key);
        let (live, slots) = self.pages.get_mut(&page)?;
        let old = slots[Self::slot(key)].take()?;
        *live -= 1;
        if *live == 0 {
            self.pages.remove(&page);
        }
        Some(old)
    }

    /// Every value.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.pages
            .values()
            .flat_map(|(_, slots)| slots.iter().flatten())
    }

    /// Pages held (tests check that emptied pages are freed).
    #[cfg(test)]
    pub(crate) fn pages(&self) -> usize {
        self.pages.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Against a BTreeMap: the same values after any inserts and removes, and no page
        /// kept without a value in it.
        #[test]
        fn ref_slots_behave_like_a_map(ops in proptest::collection::vec((any::<bool>(), 0u64..5000, any::<u32>()), 0..400)) {
            let mut slots = RefSlots::default();
            let mut model = BTreeMap::new();
            for (insert, key, value) in ops {
                if insert {
                    prop_assert_eq!(slots.insert(key, value), model.insert(key, value));
                } else {
                    prop_assert_eq!(slots.remove(key), model.remove(&key));
                }
                prop_assert_eq!(slots.get(key), model.get(&key));
            }
            let mut values: Vec<u32> = slots.values().copied().collect();
            values.sort_unstable();
            let mut expected: Vec<u32> = model.values().copied().collect();
            expected.sort_unstable();
            prop_assert_eq!(values, expected);
            let pages: std::collections::BTreeSet<u64> = model.keys().map(|k| RefSlots::<u32>::page_of(*k)).collect();
            prop_assert_eq!(slots.pages(), pages.len());
        }
    }
}
