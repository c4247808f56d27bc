//! Per-sink resource limits.

use std::time::Duration;

/// What one sink instance may use. The defaults are meant for an ordinary sink that formats
/// changes and hands them to a destination; raise them for sinks that buffer a lot.
#[derive(Debug, Clone)]
pub struct SinkLimits {
    /// Cap on the sink's linear memory (all memories of the instance together).
    pub memory_bytes: usize,
    /// Wall-clock budget of guest execution per call, enforced by epoch interruption. A guest
    /// blocked in a host call (a slow socket) is not interrupted until the call returns.
    pub call_deadline: Duration,
}

impl Default for SinkLimits {
    fn default() -> Self {
        SinkLimits {
            memory_bytes: 256 << 20,
            call_deadline: Duration::from_secs(30),
        }
    }
}
