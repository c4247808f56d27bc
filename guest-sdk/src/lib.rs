#![doc = include_str!("../README.md")]

/// The code `wit-bindgen` generates from `wit/sink.wit`. The useful types are re-exported at the
/// crate root; the rest is here for sinks that need the raw bindings.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "sink-component",
        pub_export_macro: true,
        export_macro_name: "__export_sink_component",
        additional_derives: [PartialEq],
    });
}

pub mod format;
pub mod io;
mod json;
mod line;
pub mod net;
mod view;

pub use bindings::conduit::sink::types::{
    Batch, Change, Column, Datum, OldRow, Operation, Relation, SinkError, Value,
};
/// The `serde_json` the SDK builds its JSON with (with `preserve_order`), for sinks that want to
/// build JSON of their own without a second dependency.
pub use serde_json;
pub use view::ChangeView;

use std::fmt::Display;
use std::str::FromStr;

/// A sink: what the runtime's `connect`/`publish`/`close` calls reach. Export one per component
/// with [`export_sink!`].
pub trait Sink: Sized + 'static {
    /// Validate the configuration and open connections. Called once after instantiation, and
    /// again if the runtime re-creates the instance; a successful call replaces (drops) any
    /// previous instance.
    fn connect(config: Config) -> Result<Self, SinkError>;

    /// Store a batch of changes. Return `Ok` only once they are stored: the runtime then
    /// acknowledges them to PostgreSQL. Delivery is at least once; `(commit_lsn, seq)` identifies
    /// a change.
    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError>;

    /// Orderly shutdown after the last `publish`: flush and release resources.
    fn close(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Export `$ty` (a type implementing [`Sink`]) as the component's `conduit:sink/sink` interface.
/// Use it once, at the top level of a `cdylib` crate.
#[macro_export]
macro_rules! export_sink {
    ($ty:ty) => {
        const _: () = {
            type __ConduitSinkExport = $crate::__private::Exporter<$ty>;
            // The export symbols are named like `conduit:sink/sink@0.2.0#publish`, which native
            // linkers read as symbol versions; a native build (tests, clippy) only type-checks.
            #[cfg(target_arch = "wasm32")]
            $crate::__export_sink_component_impl!(
                __ConduitSinkExport with_types_in $crate::bindings
            );
            #[cfg(not(target_arch = "wasm32"))]
            $crate::__private::assert_exportable::<$ty>();
        };
    };
}

impl SinkError {
    /// An error worth retrying (destination briefly unreachable, rate limited): the runtime calls
    /// again with backoff. Line breaks in `message` become spaces (the message is one line).
    pub fn retryable(message: impl Into<String>) -> Self {
        SinkError {
            retryable: true,
            message: one_line(message.into()),
        }
    }

    /// An error that retrying will not fix (bad configuration, data the sink will never accept):
    /// the runtime stops and reports `message`. Say what is wrong and how to fix it.
    pub fn fatal(message: impl Into<String>) -> Self {
        SinkError {
            retryable: false,
            message: one_line(message.into()),
        }
    }

    /// Whether the runtime will retry the call.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The operator-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

fn one_line(message: String) -> String {
    if message.contains(['\n', '\r']) {
        message.replace("\r\n", " ").replace(['\n', '\r'], " ")
    } else {
        message
    }
}

impl Operation {
    /// `"insert"`, `"update"`, `"delete"`, `"truncate"` or `"read"` (a row an initial snapshot
    /// read: it existed before streaming started, it was not just inserted).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Truncate => "truncate",
            Operation::Read => "read",
        }
    }
}

impl Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operator's `--sink-config key=value` pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    entries: Vec<(String, String)>,
}

impl Config {
    pub fn new(entries: Vec<(String, String)>) -> Self {
        Config { entries }
    }

    /// The value of `key`; when a key is given more than once, the last one wins.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `default`.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// The non-empty value of `key`, or a non-retryable error telling the operator to set it.
    pub fn require(&self, key: &str) -> Result<&str, SinkError> {
        match self.get(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            Some(_) => Err(SinkError::fatal(format!(
                "sink config `{key}` is empty: pass --sink-config {key}=<value>"
            ))),
            None => Err(SinkError::fatal(format!(
                "missing sink config `{key}`: pass --sink-config {key}=<value>"
            ))),
        }
    }

    /// `key` parsed as `T`; `Ok(None)` when it is absent, a non-retryable error when it does not
    /// parse.
    pub fn parse<T>(&self, key: &str) -> Result<Option<T>, SinkError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                v.trim().parse().map(Some).map_err(|e| {
                    SinkError::fatal(format!("sink config `{key}={v}` is invalid: {e}"))
                })
            }
        }
    }

    /// All pairs, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn into_inner(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl From<Vec<(String, String)>> for Config {
    fn from(entries: Vec<(String, String)>) -> Self {
        Config { entries }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Config {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Config {
            entries: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Checks the invariants `ChangeView` relies on, so that a runtime bug is reported as an error
/// instead of a trap: every change refers to a relation of the batch and every row image has one
/// value per column.
pub fn validate_batch(batch: &Batch) -> Result<(), SinkError> {
    for (i, change) in batch.changes.iter().enumerate() {
        let Some(relation) = batch.relations.get(change.relation as usize) else {
            return Err(SinkError::fatal(format!(
                "malformed batch from the runtime: change {i} refers to relation {} but the batch \
                 has {} relations (a runtime bug; please report it)",
                change.relation,
                batch.relations.len()
            )));
        };
        let columns = relation.columns.len();
        let new = change.new.as_ref().map(Vec::len);
        let old = change.old.as_ref().map(|o| o.values.len());
        for (image, len) in [("new", new), ("old", old)] {
            if let Some(len) = len.filter(|&len| len != columns) {
                return Err(SinkError::fatal(format!(
                    "malformed batch from the runtime: change {i} has {len} {image} values but \
                     table {}.{} has {columns} columns (a runtime bug; please report it)",
                    relation.schema, relation.name
                )));
            }
        }
    }
    Ok(())
}

#[doc(hidden)]
pub mod __private {
    //! What `export_sink!` expands to. Not a public API.

    use crate::bindings::exports::conduit::sink::sink::Guest;
    use crate::{Batch, Config, Sink, SinkError};
    use std::any::Any;
    use std::cell::RefCell;
    use std::marker::PhantomData;

    thread_local! {
        // A component instance is single-threaded; this is the one sink instance.
        static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    /// Implements the generated `Guest` trait for a [`Sink`].
    pub struct Exporter<T>(PhantomData<T>);

    /// What `export_sink!` expands to on native targets: checks the type without exporting.
    pub const fn assert_exportable<T: Sink>() {}

    impl<T: Sink> Guest for Exporter<T> {
        fn connect(config: Vec<(String, String)>) -> Result<(), SinkError> {
            connect::<T>(Config::new(config))
        }

        fn publish(batch: Batch) -> Result<(), SinkError> {
            publish::<T>(&batch)
        }

        fn close() -> Result<(), SinkError> {
            close::<T>()
        }
    }

    pub fn connect<T: Sink>(config: Config) -> Result<(), SinkError> {
        // Before any sink code runs: a panic must be reported whichever way the sink was built.
        crate::io::install_panic_hook();
        // Drop a previous instance before the new one opens its connections.
        drop(INSTANCE.with(|cell| cell.borrow_mut().take()));
        let sink = T::connect(config)?;
        INSTANCE.with(|cell| *cell.borrow_mut() = Some(Box::new(sink)));
        Ok(())
    }

    pub fn publish<T: Sink>(batch: &Batch) -> Result<(), SinkError> {
        crate::validate_batch(batch)?;
        INSTANCE.with(|cell| {
            let mut slot = cell.borrow_mut();
            match slot.as_mut().and_then(|s| s.downcast_mut::<T>()) {
                Some(sink) => sink.publish(batch),
                None => Err(SinkError::fatal(
                    "publish called before a successful connect (a runtime bug; please report it)",
                )),
            }
        })
    }

    pub fn close<T: Sink>() -> Result<(), SinkError> {
        INSTANCE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let Some(sink) = slot.as_mut().and_then(|s| s.downcast_mut::<T>()) else {
                return Ok(());
            };
            sink.close()?;
            // Closed: a later publish is an error until connect is called again.
            *slot = None;
            Ok(())
        })
    }

    /// Whether a sink instance is connected (for tests).
    pub fn is_connected() -> bool {
        INSTANCE.with(|cell| cell.borrow().is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_helpers() {
        let config: Config = [("a", "1"), ("b", ""), ("a", "2"), ("n", "x")]
            .into_iter()
            .collect();
        assert_eq!(config.get("a"), Some("2"));
        assert_eq!(config.get("zz"), None);
        assert_eq!(config.get_or("zz", "d"), "d");
        assert_eq!(config.require("a"), Ok("2"));
        let missing = config.require("table").unwrap_err();
        assert!(!missing.retryable);
        assert_eq!(
            missing.message,
            "missing sink config `table`: pass --sink-config table=<value>"
        );
        assert!(config
            .require("b")
            .unwrap_err()
            .message
            .contains("is empty"));
        assert_eq!(config.parse::<u32>("a"), Ok(Some(2)));
        assert_eq!(config.parse::<u32>("zz"), Ok(None));
        let bad = config.parse::<u32>("n").unwrap_err();
        assert!(!bad.retryable);
        assert!(bad.message.starts_with("sink config `n=x` is invalid"));
        assert_eq!(config.len(), 4);
        assert_eq!(config.iter().next(), Some(("a", "1")));
    }

    #[test]
    fn error_constructors() {
        let e = SinkError::retryable("down\nagain");
        assert!(e.retryable && e.is_retryable());
        assert_eq!(e.message(), "down again");
        let e = SinkError::fatal("bad\r\nconfig");
        assert!(!e.retryable);
        assert_eq!(e.message, "bad config");
    }

    #[test]
    fn operation_names() {
        assert_eq!(Operation::Truncate.as_str(), "truncate");
        assert_eq!(Operation::Update.to_string(), "update");
        assert_eq!(Operation::Read.as_str(), "read");
    }

    struct Recorder {
        tag: String,
        seen: usize,
    }

    thread_local! {
        static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }
    use std::cell::RefCell;

    fn log(line: String) {
        LOG.with(|l| l.borrow_mut().push(line));
    }

    impl Sink for Recorder {
        fn connect(config: Config) -> Result<Self, SinkError> {
            let tag = config.require("tag")?.to_string();
            log(format!("connect {tag}"));
            Ok(Recorder { tag, seen: 0 })
        }
        fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
            self.seen += batch.changes.len();
            log(format!("publish {} {}", self.tag, self.seen));
            Ok(())
        }
        fn close(&mut self) -> Result<(), SinkError> {
            log(format!("close {}", self.tag));
            Ok(())
        }
    }

    impl Drop for Recorder {
        fn drop(&mut self) {
            log(format!("drop {}", self.tag));
        }
    }

    #[test]
    fn instance_lifecycle() {
        use crate::bindings::exports::conduit::sink::sink::Guest;
        type G = __private::Exporter<Recorder>;
        let empty = Batch {
            relations: vec![],
            changes: vec![],
        };
        let err = G::publish(empty.clone()).unwrap_err();
        assert!(!err.retryable, "publish before connect is fatal");
        assert!(G::close().is_ok(), "close before connect is a no-op");

        let err = G::connect(vec![]).unwrap_err();
        assert!(!err.retryable && err.message.contains("`tag`"));
        assert!(!__private::is_connected());

        G::connect(vec![("tag".into(), "one".into())]).unwrap();
        G::publish(empty.clone()).unwrap();
        G::connect(vec![("tag".into(), "two".into())]).unwrap();
        G::publish(empty.clone()).unwrap();
        G::close().unwrap();
        assert!(!__private::is_connected());
        assert!(
            G::publish(empty).is_err(),
            "publish after close is an error"
        );

        let log = LOG.with(|l| l.borrow().clone());
        assert_eq!(
            log,
            [
                "connect one",
                "publish one 0",
                "drop one",
                "connect two",
                "publish two 0",
                "close two",
                "drop two",
            ]
        );
    }

    #[test]
    fn malformed_batches_are_fatal_errors() {
        let relation = Relation {
            oid: 1,
            schema: "public".into(),
            name: "t".into(),
            columns: vec![Column {
                name: "id".into(),
                type_name: "integer".into(),
                type_oid: 23,
                key: true,
            }],
        };
        let change = Change {
            op: Operation::Insert,
            relation: 0,
            new: Some(vec![Value::Int(1)]),
            old: None,
            xid: 1,
            commit_lsn: 1,
            end_lsn: 2,
            commit_time: 0,
            seq: 0,
        };
        let mut batch = Batch {
            relations: vec![relation],
            changes: vec![change],
        };
        assert!(validate_batch(&batch).is_ok());
        batch.changes[0].relation = 3;
        let err = validate_batch(&batch).unwrap_err();
        assert!(!err.retryable && err.message.contains("relation 3"));
        batch.changes[0].relation = 0;
        batch.changes[0].new = Some(vec![]);
        let err = validate_batch(&batch).unwrap_err();
        assert!(err.message.contains("0 new values"), "{}", err.message);
    }
}
