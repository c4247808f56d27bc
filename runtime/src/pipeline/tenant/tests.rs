//! Unit tests of [`super::Tenant`]'s batching decisions.

use super::*;
use crate::pipeline::batcher::tests::{rel, txn};

fn tenant(max_batch: usize, batch_wait: Duration) -> Tenant {
    let setup = TenantSetup {
        id: "t".into(),
        router: None,
        worker: Err("no sink in this test".into()),
        max_batch,
        max_queue: 1_000,
        batch_wait,
    };
    Tenant::new(setup, Position::default(), None)
}

#[test]
fn a_short_batch_waits_only_right_after_a_call() {
    let wait = Duration::from_millis(5);
    let mut t = tenant(10, wait);
    let a = rel("a");
    let now = Instant::now();
    t.batcher.push(txn(100, 1, &a));
    assert_eq!(
        t.held_until(now),
        None,
        "after a quiet spell it goes at once"
    );
    t.last_sent = Some(now);
    assert_eq!(t.held_until(now), Some(now + wait));
    assert_eq!(t.held_until(now + wait), None, "the wait is over");
    t.batcher.push(txn(200, 9, &a));
    assert_eq!(t.held_until(now), None, "a full batch goes at once");
}

#[test]
fn nothing_queued_means_nothing_to_wait_for() {
    let mut t = tenant(10, Duration::from_secs(1));
    let now = Instant::now();
    t.last_sent = Some(now);
    assert_eq!(t.held_until(now), None);
    let mut zero = tenant(10, Duration::ZERO);
    zero.last_sent = Some(now);
    zero.batcher.push(txn(100, 1, &rel("a")));
    assert_eq!(zero.held_until(now), None, "batch_wait 0 never holds back");
}
