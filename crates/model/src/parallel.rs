//! Spreading per-series work (chunk decoding in the store, draining sample iterators in the
//! query engine) over the cores, on rayon's persistent pool: threads spawned per query would
//! each start from fresh allocator pages, which cost more than they saved.

use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};

/// `items.map(f)` in order, in pieces of at least `min_per_task` items (below that, handing
/// work to another thread costs more than it saves). A panic in `f` is re-raised.
pub fn map<T: Send, U: Send>(
    items: Vec<T>,
    min_per_task: usize,
    f: impl Fn(T) -> U + Sync + Send,
) -> Vec<U> {
    let min_per_task = min_per_task.max(1);
    if items.len() < 2 * min_per_task || rayon::current_num_threads() < 2 {
        return items.into_iter().map(f).collect();
    }
    items
        .into_par_iter()
        .with_min_len(min_per_task)
        .map(f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::map;

    #[test]
    fn keeps_order_for_every_split() {
        for n in [0usize, 1, 2, 3, 7, 100, 1001] {
            for min in [1usize, 2, 10, 5000] {
                let items: Vec<usize> = (0..n).collect();
                let out = map(items, min, |x| x * 2);
                assert_eq!(
                    out,
                    (0..n).map(|x| x * 2).collect::<Vec<_>>(),
                    "n={n} min={min}"
                );
            }
        }
    }
}
