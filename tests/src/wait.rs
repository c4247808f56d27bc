//! Deadlines, and [`eventually`]: the one way the tests wait for something.
//!
//! Nothing in the tests sleeps to synchronise. A test that needs something to have happened
//! polls for it with [`eventually`] (or [`eventually_blocking`] outside async code) under one of
//! the deadlines below; when the deadline passes, the test fails naming what it waited for and
//! the last state it saw.

use std::fmt::Display;
use std::time::Duration;

/// How often [`eventually`] and [`eventually_blocking`] check their condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Scales every deadline below: `CONDUIT_E2E_TIMEOUT_SCALE=3` on a slow machine.
fn scale() -> f64 {
    std::env::var("CONDUIT_E2E_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

fn scaled(secs: u64) -> Duration {
    Duration::from_secs_f64(secs as f64 * scale())
}

/// How long changes may take to come out of the sink (includes the first start of the runtime,
/// which may compile the sink).
pub fn line_deadline() -> Duration {
    scaled(90)
}

/// How long `conduit-wasm` may take to exit after SIGTERM, or to fail on bad input.
pub fn exit_deadline() -> Duration {
    scaled(60)
}

/// How long the runtime may take to start streaming from its slot.
pub fn streaming_deadline() -> Duration {
    scaled(90)
}

/// Checks `condition` every [`POLL_INTERVAL`] until it returns `Ok(value)`, and returns the
/// value. `Err(state)` means "not yet": `state` is what the condition observed, and when
/// `deadline` passes the test fails naming `what` and the last `state`.
///
/// The condition is an async closure, so it may borrow mutably what it polls:
///
/// ```ignore
/// let n = eventually("3 entries in the stream", line_deadline(), async || {
///     let len = redis.cmd(&["XLEN", key]).int();
///     if len >= 3 { Ok(len) } else { Err(format!("{len} entries")) }
/// })
/// .await;
/// ```
///
/// A condition that sees something that can never get better (the process exited, an
/// unexpected error) panics itself, with its own message.
pub async fn eventually<T, S: Display>(
    what: &str,
    deadline: Duration,
    mut condition: impl AsyncFnMut() -> Result<T, S>,
) -> T {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        match condition().await {
            Ok(value) => return value,
            Err(state) if tokio::time::Instant::now() >= until => timed_out(what, deadline, state),
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// [`eventually`] for code that is not async (it blocks the thread between checks).
pub fn eventually_blocking<T, S: Display>(
    what: &str,
    deadline: Duration,
    mut condition: impl FnMut() -> Result<T, S>,
) -> T {
    let until = std::time::Instant::now() + deadline;
    loop {
        match condition() {
            Ok(value) => return value,
            Err(state) if std::time::Instant::now() >= until => timed_out(what, deadline, state),
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
    }
}

fn timed_out(what: &str, deadline: Duration, state: impl Display) -> ! {
    panic!("timed out after {deadline:?} waiting for {what}; last seen: {state}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_returns_the_value_once_the_condition_holds() {
        let mut calls = 0;
        let v = eventually("the third call", Duration::from_secs(10), async || {
            calls += 1;
            if calls == 3 {
                Ok(calls * 10)
            } else {
                Err(format!("call {calls}"))
            }
        })
        .await;
        assert_eq!(v, 30);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for the impossible; last seen: still 7")]
    async fn eventually_names_what_and_the_last_state_on_timeout() {
        eventually("the impossible", Duration::from_millis(120), async || {
            Err::<(), _>("still 7")
        })
        .await;
    }

    #[test]
    #[should_panic(expected = "waiting for a blocking thing; last seen: no")]
    fn eventually_blocking_names_what_and_the_last_state_on_timeout() {
        eventually_blocking("a blocking thing", Duration::from_millis(120), || {
            Err::<(), _>("no")
        });
    }
}
