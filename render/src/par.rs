//! Order-preserving parallel map over a slice, on scoped threads.
//!
//! Render's per-file and per-object work is independent, so it spreads over the machine's
//! cores; results come back in input order, so the output is the same bytes as a
//! single-threaded run. `LAYER_RENDER_THREADS=1` forces one thread (for profiling).

use std::num::NonZeroUsize;

/// Fewer items than this per thread are not worth a thread.
const MIN_ITEMS_PER_THREAD: usize = 64;

/// How many threads to use for `len` items.
fn threads_for(len: usize) -> usize {
    let available = std::env::var("LAYER_RENDER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
    available.min(len / MIN_ITEMS_PER_THREAD).max(1)
}

/// `items.iter().map(f).collect()`, on several threads, in input order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len());
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            // A panic in a worker is a bug; carry it to the caller unchanged.
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}

/// `items.into_iter().map(f).collect()`, on several threads, in input order.
pub fn map_vec<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len());
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    let mut rest = items;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}

/// `for item in items { f(item) }` over mutable items, on several threads.
pub fn for_each_mut<T: Send>(items: &mut [T], f: impl Fn(&mut T) + Sync) {
    let threads = threads_for(items.len());
    if threads == 1 {
        items.iter_mut().for_each(f);
        return;
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        for part in items.chunks_mut(chunk) {
            scope.spawn(move || part.iter_mut().for_each(f));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_input_order() {
        let items: Vec<u32> = (0..10_000).collect();
        let doubled = map(&items, |x| x * 2);
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn map_vec_keeps_input_order() {
        let items: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
        let lengths = map_vec(items.clone(), |s| s.len());
        assert_eq!(lengths, items.iter().map(String::len).collect::<Vec<_>>());
    }

    #[test]
    fn for_each_mut_reaches_every_item() {
        let mut items: Vec<u32> = (0..10_000).collect();
        for_each_mut(&mut items, |x| *x += 1);
        assert_eq!(items, (1..10_001).collect::<Vec<_>>());
    }
}
