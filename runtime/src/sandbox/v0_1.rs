//! Calling a sink built against the previous contract, `conduit:sink@0.1.0` (`wit/v0.1.0/`).
//!
//! 0.1.0 and 0.2.0 differ in one type: 0.1.0's `operation` has no `read`. Every other type
//! (`value`, `datum`, `relation`, `column`, `old-row`, `sink-error`, `config`) is the same, and
//! wasmtime checks component types by structure (names and shapes), so the event model's Rust
//! types lower into a 0.1.0 sink as they are. Only `change` (which holds an `operation`) and
//! `batch` (which holds changes) need types of their own, and those are borrowed views: a batch
//! is converted by building one `Vec` of small records that point into the original batch (one
//! allocation of ~80 bytes per change, no row data copied), with `read` mapped to `insert`. That
//! is all an old sink costs beyond a current one, plus checking the function's type once per call.
//! Measured on `tests/events/large.jsonl` (5000 changes of 5 columns) in a debug build of the
//! runtime: 88 ns per change to build the view, against 1.46 µs per change to deep-copy the batch
//! into types of its own (what a second `bindgen!` would need); lowering into the guest and the
//! guest's work take 7–11 µs per change there.
//!
//! Written by hand rather than with `bindgen!`: a second `bindgen!` would generate a second copy
//! of every type, and handing a batch to an old sink would then mean copying every value.

use wasmtime::component::{ComponentExportIndex, ComponentType, Func, InstancePre, Lower};
use wasmtime::Store;

use super::state::StoreState;
use crate::event::{self, Batch, OldRow, Relation, SinkError, Value};

/// The interface a 0.1.0 sink exports.
pub const SINK_INTERFACE: &str = "conduit:sink/sink@0.1.0";

/// 0.1.0's `operation`.
#[derive(ComponentType, Lower, Clone, Copy, Debug, PartialEq, Eq)]
#[component(enum)]
#[repr(u8)]
pub enum Operation {
    #[component(name = "insert")]
    Insert,
    #[component(name = "update")]
    Update,
    #[component(name = "delete")]
    Delete,
    #[component(name = "truncate")]
    Truncate,
}

impl From<event::Operation> for Operation {
    /// A snapshot read is an insert to a sink that cannot tell them apart.
    fn from(op: event::Operation) -> Operation {
        match op {
            event::Operation::Insert | event::Operation::Read => Operation::Insert,
            event::Operation::Update => Operation::Update,
            event::Operation::Delete => Operation::Delete,
            event::Operation::Truncate => Operation::Truncate,
        }
    }
}

/// 0.1.0's `change`, borrowing its rows from an event-model [`event::Change`].
#[derive(ComponentType, Lower, Debug)]
#[component(record)]
pub struct Change<'a> {
    pub op: Operation,
    pub relation: u32,
    pub new: Option<&'a [Value]>,
    pub old: Option<&'a OldRow>,
    pub xid: u32,
    #[component(name = "commit-lsn")]
    pub commit_lsn: u64,
    #[component(name = "end-lsn")]
    pub end_lsn: u64,
    #[component(name = "commit-time")]
    pub commit_time: i64,
    pub seq: u32,
}

/// 0.1.0's `batch`, borrowing from an event-model [`Batch`].
#[derive(ComponentType, Lower, Debug)]
#[component(record)]
pub struct BatchV01<'a> {
    pub relations: &'a [Relation],
    pub changes: Vec<Change<'a>>,
}

impl<'a> BatchV01<'a> {
    /// The batch as a 0.1.0 sink receives it: reads become inserts, nothing else changes.
    pub fn view(batch: &'a Batch) -> BatchV01<'a> {
        BatchV01 {
            relations: &batch.relations,
            changes: batch
                .changes
                .iter()
                .map(|c| Change {
                    op: c.op.into(),
                    relation: c.relation,
                    new: c.new.as_deref(),
                    old: c.old.as_ref(),
                    xid: c.xid,
                    commit_lsn: c.commit_lsn,
                    end_lsn: c.end_lsn,
                    commit_time: c.commit_time,
                    seq: c.seq,
                })
                .collect(),
        }
    }
}

type Config<'a> = (&'a [(String, String)],);
type Outcome = (Result<(), SinkError>,);

/// A 0.1.0 sink component, linked and ready to instantiate (the counterpart of the generated
/// `SinkComponentPre`).
#[derive(Clone)]
pub struct SinkV01Pre {
    pre: InstancePre<StoreState>,
    connect: ComponentExportIndex,
    publish: ComponentExportIndex,
    close: ComponentExportIndex,
}

/// A live 0.1.0 sink instance's three functions.
pub struct SinkV01 {
    connect: Func,
    publish: Func,
    close: Func,
}

impl SinkV01Pre {
    pub fn new(pre: InstancePre<StoreState>) -> anyhow::Result<SinkV01Pre> {
        let component = pre.component();
        let iface = component
            .get_export_index(None, SINK_INTERFACE)
            .ok_or_else(|| anyhow::anyhow!("no exported instance named `{SINK_INTERFACE}`"))?;
        let func = |name: &str| {
            component
                .get_export_index(Some(&iface), name)
                .ok_or_else(|| anyhow::anyhow!("`{SINK_INTERFACE}` does not export `{name}`"))
        };
        Ok(SinkV01Pre {
            connect: func("connect")?,
            publish: func("publish")?,
            close: func("close")?,
            pre,
        })
    }

    /// Instantiates the component and checks its three functions' types against 0.1.0's.
    pub fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<SinkV01> {
        let instance = self.pre.instantiate(&mut *store)?;
        let func = |store: &mut Store<StoreState>, index: &ComponentExportIndex| {
            instance
                .get_func(&mut *store, index)
                .ok_or_else(|| wasmtime::format_err!("sink function export not found"))
        };
        let sink = SinkV01 {
            connect: func(store, &self.connect)?,
            publish: func(store, &self.publish)?,
            close: func(store, &self.close)?,
        };
        sink.connect.typed::<Config<'_>, Outcome>(&*store)?;
        sink.publish.typed::<(&BatchV01<'_>,), Outcome>(&*store)?;
        sink.close.typed::<(), Outcome>(&*store)?;
        Ok(sink)
    }
}

impl SinkV01 {
    pub fn call_connect(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<(), SinkError>> {
        let f = self.connect.typed::<Config<'_>, Outcome>(&*store)?;
        Ok(f.call(store, (config,))?.0)
    }

    /// Publishes `batch` with its reads turned into inserts.
    pub fn call_publish(
        &self,
        store: &mut Store<StoreState>,
        batch: &Batch,
    ) -> wasmtime::Result<Result<(), SinkError>> {
        let view = BatchV01::view(batch);
        let f = self.publish.typed::<(&BatchV01<'_>,), Outcome>(&*store)?;
        Ok(f.call(store, (&view,))?.0)
    }

    pub fn call_close(
        &self,
        store: &mut Store<StoreState>,
    ) -> wasmtime::Result<Result<(), SinkError>> {
        let f = self.close.typed::<(), Outcome>(&*store)?;
        Ok(f.call(store, ())?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Change as EventChange, Column, Operation as Op};

    fn change(op: Op, seq: u32) -> EventChange {
        EventChange {
            op,
            relation: 0,
            new: (op != Op::Truncate).then(|| vec![Value::Int(seq.into())]),
            old: None,
            xid: 0,
            commit_lsn: 0x100,
            end_lsn: 0x100,
            commit_time: 7,
            seq,
        }
    }

    #[test]
    fn reads_become_inserts_and_rows_are_borrowed() {
        let batch = Batch {
            relations: vec![Relation {
                oid: 1,
                schema: "public".into(),
                name: "t".into(),
                columns: vec![Column {
                    name: "id".into(),
                    type_name: "integer".into(),
                    type_oid: 23,
                    key: true,
                }],
            }],
            changes: vec![
                change(Op::Read, 0),
                change(Op::Insert, 1),
                change(Op::Update, 2),
                change(Op::Delete, 3),
                change(Op::Truncate, 4),
            ],
        };
        let view = BatchV01::view(&batch);
        let ops: Vec<Operation> = view.changes.iter().map(|c| c.op).collect();
        assert_eq!(
            ops,
            [
                Operation::Insert,
                Operation::Insert,
                Operation::Update,
                Operation::Delete,
                Operation::Truncate
            ]
        );
        assert!(std::ptr::eq(view.relations, batch.relations.as_slice()));
        for (v, c) in view.changes.iter().zip(&batch.changes) {
            assert_eq!(
                v.new.map(<[Value]>::as_ptr),
                c.new.as_ref().map(|n| n.as_ptr())
            );
            assert_eq!(
                (v.commit_lsn, v.end_lsn, v.seq),
                (c.commit_lsn, c.end_lsn, c.seq)
            );
        }
    }
}
