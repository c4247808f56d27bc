//! One memory budget for all tenants' queues together.
//!
//! Each tenant's queue is bounded in changes (`max_queue`), but a hundred tenants each holding
//! their share of one large transaction added up to 426 MiB (BENCHMARKS.md) with nothing bounding
//! the sum. Tenants account what they hold in memory here; while the sum is over the budget, a
//! tenant queues what arrives on disk (its backlog file, in order behind what is in memory)
//! instead, and refills from disk only what one call needs. Counted on the loop's thread at
//! queue and dequeue; an atomic only so the pipeline's future stays `Send`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// 64 MiB: a thousand tenants' next batches of small rows, or a hundred tenants' shares of a
/// large transaction, with the process well inside 192 MiB (see BENCHMARKS.md).
pub const DEFAULT_QUEUE_MEMORY: usize = 64 << 20;

#[derive(Debug)]
pub struct QueueMemory {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl QueueMemory {
    pub fn new(limit: usize) -> QueueMemory {
        QueueMemory {
            limit,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    pub fn add(&self, bytes: usize) {
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(used, Ordering::Relaxed);
    }

    pub fn sub(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The queues together hold the budget or more: new changes go to disk.
    pub fn exceeded(&self) -> bool {
        self.used.load(Ordering::Relaxed) >= self.limit
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most the queues held at once in this run.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}
