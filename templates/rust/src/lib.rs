//! {{name}}: a conduit-wasm sink. Prints one line per row change: `<op> <schema>.<table> xid=<xid> seq=<seq>`.
//!
//! The types (Batch, Change, Value, ...) are generated from wit/sink.wit, which documents them.
//! Inside the conduit-wasm repository, the `conduit-sink-sdk` crate (guest-sdk/) offers a `Sink`
//! trait, change views and the stdout-json format on top of the same bindings.

use std::io::Write;

wit_bindgen::generate!({ path: "wit", world: "sink-component" });

use conduit::sink::types::{Batch, Operation, SinkError};
use exports::conduit::sink::sink::Guest;

struct Component;

impl Guest for Component {
    /// Validate the configuration (`--sink-config key=value` pairs) and open connections here.
    fn connect(_config: Vec<(String, String)>) -> Result<(), SinkError> {
        Ok(())
    }

    /// Store the batch; return Ok only once it is stored (the runtime then acknowledges it).
    fn publish(batch: Batch) -> Result<(), SinkError> {
        let mut out = String::new();
        for change in &batch.changes {
            let rel = &batch.relations[change.relation as usize];
            let op = match change.op {
                Operation::Insert => "insert",
                Operation::Update => "update",
                Operation::Delete => "delete",
                Operation::Truncate => "truncate",
                // A row an initial snapshot read (it existed before streaming started).
                Operation::Read => "read",
            };
            out.push_str(&format!(
                "{op} {}.{} xid={} seq={}\n",
                rel.schema, rel.name, change.xid, change.seq
            ));
        }
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| SinkError {
                // Worth retrying: standard output may be briefly blocked.
                retryable: true,
                message: format!("writing to standard output: {e}"),
            })
    }

    /// Orderly shutdown: flush and release resources.
    fn close() -> Result<(), SinkError> {
        Ok(())
    }
}

export!(Component);
