//! Writes every row change to standard output as one line of JSON (`ChangeView::to_json`),
//! snapshot rows included, with `"op":"read"`.

use conduit_sink_sdk::{Batch, Config, Sink, SinkError};
use std::io::{BufWriter, Write};

struct StdoutJson;

impl Sink for StdoutJson {
    fn connect(_config: Config) -> Result<Self, SinkError> {
        Ok(StdoutJson)
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        // The SDK's stdout: std's discards output on wasm32-unknown-unknown (see its `io`).
        let mut out = BufWriter::with_capacity(64 * 1024, conduit_sink_sdk::io::stdout());
        batch
            .write_json_lines(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| SinkError::retryable(format!("writing to standard output: {e}")))
    }
}

conduit_sink_sdk::export_sink!(StdoutJson);
