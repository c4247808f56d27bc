//! {{name}}: a conduit-wasm sink. Prints one line per row change: `<op> <schema>.<table> xid=<xid> seq=<seq>`.
//!
//! Built on `conduit-sink-sdk` (guest-sdk/, whose README documents it): implement [`Sink`] and
//! export it. The types it hands over (Batch, Change, Value, ...) are generated from wit/sink.wit,
//! which documents them.

use std::io::Write;

use conduit_sink_sdk::{Batch, Config, Sink, SinkError};

struct Lines;

impl Sink for Lines {
    /// Validate the configuration (`--sink-config key=value` pairs) and open connections here.
    fn connect(_config: Config) -> Result<Self, SinkError> {
        Ok(Lines)
    }

    /// Store the batch; return Ok only once it is stored (the runtime then acknowledges it).
    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut out = String::new();
        for change in batch.changes() {
            // `read` is a row an initial snapshot read (it existed before streaming started).
            out.push_str(&format!(
                "{} {} xid={} seq={}\n",
                change.op(),
                change.qualified_table(),
                change.xid(),
                change.seq()
            ));
        }
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
            // Worth retrying: standard output may be briefly blocked.
            .map_err(|e| SinkError::retryable(format!("writing to standard output: {e}")))
    }

    /// Orderly shutdown: flush and release resources.
    fn close(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

conduit_sink_sdk::export_sink!(Lines);
