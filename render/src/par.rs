//! Order-preserving parallel map on scoped threads.
//!
//! Render's per-file and per-object work is independent, so it spreads over the machine's
//! cores; results come back in input order, so the output is the same bytes as a
//! single-threaded run. Threads take the next block of items as they finish one, so a core
//! that another process slows down does not hold the others back. `LAYER_RENDER_THREADS=1`
//! forces one thread (for profiling).

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Fewer small items than this per thread are not worth a thread.
const MIN_ITEMS_PER_THREAD: usize = 64;

/// Blocks per thread: enough that threads finish close together.
const BLOCKS_PER_THREAD: usize = 8;

/// The threads available to render.
fn available() -> usize {
    std::env::var("LAYER_RENDER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// How many threads to use for `len` items, each worth `min_items` of a thread's time.
fn threads_for(len: usize, min_items: usize) -> usize {
    available().min(len / min_items).max(1)
}

/// Runs `work(block)` for every block in `0..blocks` on `threads` threads, each taking the
/// next block when it is done with one; results come back in block order.
fn run<R: Send>(blocks: usize, threads: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let (next, work) = (&next, &work);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let block = next.fetch_add(1, Ordering::Relaxed);
                        if block >= blocks {
                            return mine;
                        }
                        mine.push((block, work(block)));
                    }
                })
            })
            .collect();
        let mut done = Vec::with_capacity(blocks);
        for handle in handles {
            // A panic in a worker is a bug; carry it to the caller unchanged.
            match handle.join() {
                Ok(part) => done.extend(part),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        done
    });
    done.sort_unstable_by_key(|(block, _)| *block);
    done.into_iter().map(|(_, r)| r).collect()
}

/// The block size for `len` items on `threads` threads.
fn block_len(len: usize, threads: usize, min_items: usize) -> usize {
    (len / (threads * BLOCKS_PER_THREAD)).max(min_items).max(1)
}

fn map_in<T: Sync, R: Send>(items: &[T], min_items: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len(), min_items);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let size = block_len(items.len(), threads, min_items);
    let blocks: Vec<&[T]> = items.chunks(size).collect();
    let parts = run(blocks.len(), threads, |b| {
        blocks[b].iter().map(&f).collect::<Vec<R>>()
    });
    concat(parts)
}

/// The parts, one after the other, moved once into a vector of the right size.
fn concat<R>(parts: Vec<Vec<R>>) -> Vec<R> {
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out
}

/// `items.iter().map(f).collect()`, on several threads, in input order. For many small
/// items, such as objects.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_in(items, MIN_ITEMS_PER_THREAD, f)
}

/// [`map`] for items that are each worth a thread, such as files.
pub fn map_coarse<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_in(items, 1, f)
}

/// `items.into_iter().map(f).collect()`, on several threads, in input order.
pub fn map_vec<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len(), MIN_ITEMS_PER_THREAD);
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let size = block_len(items.len(), threads, MIN_ITEMS_PER_THREAD);
    let mut blocks = Vec::new();
    let mut items = items.into_iter();
    loop {
        let block: Vec<T> = items.by_ref().take(size).collect();
        if block.is_empty() {
            break;
        }
        blocks.push(Mutex::new(block));
    }
    let parts = run(blocks.len(), threads, |b| {
        // Each block is taken exactly once, so the lock is never contended.
        let block = match blocks[b].lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        block.into_iter().map(&f).collect::<Vec<R>>()
    });
    concat(parts)
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
    fn map_coarse_keeps_input_order_with_few_items() {
        let items: Vec<u32> = (0..5).collect();
        assert_eq!(map_coarse(&items, |x| x + 1), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn map_vec_keeps_input_order() {
        let items: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
        let lengths = map_vec(items.clone(), |s| s.len());
        assert_eq!(lengths, items.iter().map(String::len).collect::<Vec<_>>());
    }

    #[test]
    fn blocks_come_back_in_order_whoever_runs_them() {
        // Early blocks are slow, so later ones finish first on the other threads.
        let out = run(32, 4, |b| {
            if b < 4 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            b
        });
        assert_eq!(out, (0..32).collect::<Vec<_>>());
    }
}
