//! The guest call path: changes per second through `publish` into the no-op sink
//! (`target/sinks/noop.wasm`, built by `cargo xtask build-sinks`), for batch sizes 1, 100 and
//! 1000 and rows of 4 and 16 text columns.
//!
//! What one iteration costs: lowering the batch (its one relation description and every change's
//! values) into the guest's memory through `cabi_realloc`, the call itself under the epoch
//! deadline, and the guest lifting the batch into its Rust types and dropping them. The instance
//! is the runtime's own `SinkInstance` (pooling allocator, memory cap, no capabilities), so this
//! is exactly what a tenant's worker thread pays per batch.
//!
//! `cargo bench -p conduit-wasm --bench guest_call`

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use conduit_wasm::event::{Batch, Change, Column, Operation, Relation, Value};
use conduit_wasm::sandbox::{Capabilities, SandboxEngine, SinkInstance, SinkLimits};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// `target/sinks/noop.wasm`, honouring `CONDUIT_SINKS_DIR` and `CARGO_TARGET_DIR`.
fn noop_sink() -> PathBuf {
    let dir = std::env::var_os("CONDUIT_SINKS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("sinks")
        });
    let path = dir.join("noop.wasm");
    if !path.is_file() {
        panic!(
            "{} is missing: run cargo xtask build-sinks first",
            path.display()
        );
    }
    path
}

/// One relation of `columns` text columns and `size` inserts into it, each value a short text.
fn batch(size: usize, columns: usize) -> Batch {
    let relation = Relation {
        oid: 16_384,
        schema: "public".into(),
        name: "bench_rows".into(),
        columns: (0..columns)
            .map(|c| Column {
                name: format!("column_{c}"),
                type_name: "text".into(),
                type_oid: 25,
                key: c == 0,
            })
            .collect(),
    };
    let changes = (0..size)
        .map(|i| Change {
            op: Operation::Insert,
            relation: 0,
            new: Some(
                (0..columns)
                    .map(|c| Value::Text(format!("row {i} value {c}")))
                    .collect(),
            ),
            old: None,
            xid: 731,
            commit_lsn: 0x0154_7C08,
            end_lsn: 0x0154_7C38,
            commit_time: 1_795_482_803_417_581,
            seq: i as u32,
        })
        .collect();
    Batch {
        relations: vec![relation],
        changes,
    }
}

fn publish(c: &mut Criterion) {
    let wasm = std::fs::read(noop_sink()).expect("reading noop.wasm");
    let engine = SandboxEngine::new(None).expect("engine");
    let component = engine
        .compile(&wasm, "noop.wasm")
        .expect("compiling noop.wasm");
    let mut sink = SinkInstance::new(
        &engine,
        &component,
        SinkLimits::default(),
        Capabilities::none(Arc::from("bench")),
        Vec::new(),
    )
    .expect("linking noop.wasm");
    sink.connect().expect("noop connect");

    let mut group = c.benchmark_group("publish");
    group
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    for columns in [4, 16] {
        for size in [1, 100, 1000] {
            let b = batch(size, columns);
            group.throughput(Throughput::Elements(size as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("{columns}_text_columns"), size),
                &b,
                |bench, b| bench.iter(|| sink.publish(black_box(b)).expect("noop publish")),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
