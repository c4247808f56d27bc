//! A sink built against the previous contract, `conduit:sink@0.1.0` (`wit/v0.1.0/sink.wit`),
//! which has no `read` operation. Prints one line per change, `<op> <schema>.<table> xid=<xid>
//! seq=<seq>` (the scaffolds' format), so a test can see that the runtime still runs it without a
//! rebuild and hands it snapshot reads as inserts.

wit_bindgen::generate!({ path: "../../wit/v0.1.0", world: "sink-component" });

use conduit::sink::types::{Batch, Operation, SinkError};
use exports::conduit::sink::sink::Guest;

struct Component;

impl Guest for Component {
    fn connect(_config: Vec<(String, String)>) -> Result<(), SinkError> {
        Ok(())
    }

    fn publish(batch: Batch) -> Result<(), SinkError> {
        let mut out = String::new();
        for change in &batch.changes {
            let rel = &batch.relations[change.relation as usize];
            let op = match change.op {
                Operation::Insert => "insert",
                Operation::Update => "update",
                Operation::Delete => "delete",
                Operation::Truncate => "truncate",
            };
            out.push_str(&format!(
                "{op} {}.{} xid={} seq={}\n",
                rel.schema, rel.name, change.xid, change.seq
            ));
        }
        let stdout = wasip2::cli::stdout::get_stdout();
        for chunk in out.as_bytes().chunks(4096) {
            stdout
                .blocking_write_and_flush(chunk)
                .map_err(|e| SinkError {
                    retryable: true,
                    message: format!("writing to standard output: {e:?}"),
                })?;
        }
        Ok(())
    }

    fn close() -> Result<(), SinkError> {
        Ok(())
    }
}

export!(Component);
