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
