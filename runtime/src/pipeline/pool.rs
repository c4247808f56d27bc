//! The threads that call into sinks: a bounded pool shared by every tenant.
//!
//! Guest calls are synchronous and may block (a sink waiting on its destination's socket), so they
//! cannot run on the replication loop's tokio threads. Until 1,000 tenants, each tenant had a
//! thread of its own; most tenants of a large config are idle most of the time, and a thread per
//! tenant is 10,000 stacks and a scheduler entry each for nothing. Here a fixed number of threads
//! take turns: a job is one call into one tenant's sink (a `connect`, one `publish` attempt, a
//! `close`). A tenant has at most one job queued or running at a time (the loop sends a batch only
//! after the previous one was answered), so its calls stay in order whichever thread runs them.
//!
//! A failed attempt that should be retried is not slept on: the job waits in `waiting` until its
//! backoff has passed, and the thread goes on with other tenants' calls, so a tenant whose
//! destination is down for an hour holds no thread. A stop (`cancel`) releases waiting jobs at once.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use super::worker::Job;

/// The shared queue. Threads exit when every handle to the pool is gone and the queue is empty.
pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Job>,
    /// Retries in their backoff, with the time each may run again. Few at a time (only failing
    /// tenants), so a scan beats a heap that cannot drop a cancelled entry early.
    waiting: Vec<(Instant, Job)>,
    /// No handle is left: threads leave once nothing is queued.
    closed: bool,
    threads: usize,
}

impl Pool {
    /// Starts `threads` threads (at least one).
    pub fn new(threads: usize) -> std::io::Result<Arc<Pool>> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        for n in 0..threads.max(1) {
            let serving = shared.clone();
            std::thread::Builder::new()
                .name(format!("sink-{n}"))
                .spawn(move || serving.serve())?;
            shared.queue.lock().expect("pool lock").threads += 1;
        }
        Ok(Arc::new(Pool { shared }))
    }

    /// Queues a job to run as soon as a thread is free.
    pub(super) fn submit(&self, job: Job) {
        self.shared
            .queue
            .lock()
            .expect("pool lock")
            .ready
            .push_back(job);
        self.shared.wake.notify_one();
    }

    /// Wakes the threads to look at waiting jobs again (one was cancelled).
    pub(super) fn nudge(&self) {
        self.shared.wake.notify_all();
    }

    /// Threads running (for the start-up log).
    pub fn threads(&self) -> usize {
        self.shared.queue.lock().expect("pool lock").threads
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.queue.lock().expect("pool lock").closed = true;
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn serve(&self) {
        while let Some(job) = self.next() {
            if let Some((due, job)) = job.run() {
                self.queue
                    .lock()
                    .expect("pool lock")
                    .waiting
                    .push((due, job));
                // Another thread may be asleep until a later due time.
                self.wake.notify_one();
            }
        }
    }

    /// The next job to run: a ready one, else a waiting one whose time has come or whose tenant
    /// is stopping; `None` when the pool is closed and empty.
    fn next(&self) -> Option<Job> {
        let mut q = self.queue.lock().expect("pool lock");
        loop {
            if let Some(job) = q.ready.pop_front() {
                return Some(job);
            }
            let now = Instant::now();
            if let Some(i) = q
                .waiting
                .iter()
                .position(|(due, job)| *due <= now || job.cancelled())
            {
                return Some(q.waiting.swap_remove(i).1);
            }
            if q.closed && q.waiting.is_empty() {
                q.threads -= 1;
                return None;
            }
            q = match q.waiting.iter().map(|(due, _)| *due).min() {
                Some(due) => {
                    let wait = due.saturating_duration_since(now);
                    self.wake.wait_timeout(q, wait).expect("pool lock").0
                }
                None => self.wake.wait(q).expect("pool lock"),
            };
        }
    }
}
