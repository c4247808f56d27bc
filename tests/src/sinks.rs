//! Where the binary under test, the example sinks and the recorded events are.

use std::path::{Path, PathBuf};

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `$CARGO_TARGET_DIR` (relative to the workspace), else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_dir().join(dir), // join keeps an absolute path as it is
        None => workspace_dir().join("target"),
    }
}

/// The `conduit-wasm` binary under test. Panics with instructions when it is missing.
pub fn conduit_bin() -> PathBuf {
    let path = std::env::var_os("CONDUIT_WASM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join("conduit-wasm"));
    assert!(
        path.is_file(),
        "conduit-wasm binary not found at {}: run the end-to-end tests with `cargo xtask test` \
         (or `cargo build -p conduit-wasm` first), or set CONDUIT_WASM_BIN",
        path.display()
    );
    path
}

/// The directory holding the example sinks (`stdout-json.wasm`, `filter-reshape.wasm`).
pub fn sinks_dir() -> PathBuf {
    std::env::var_os("CONDUIT_SINKS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("sinks"))
}

/// `<sinks dir>/<name>.wasm`. Panics with instructions when it is missing.
pub fn sink(name: &str) -> PathBuf {
    let path = sinks_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "example sink {} not found: run the end-to-end tests with `cargo xtask test` (which \
         builds the sinks into target/sinks), or set CONDUIT_SINKS_DIR",
        path.display()
    );
    path
}

/// The `stdout-json` example sink.
pub fn stdout_json() -> PathBuf {
    sink("stdout-json")
}

/// `tests/events`: the recorded events files (`<name>.jsonl`) and their goldens (`<name>.out`).
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// Every shipped events file, by name (`every-kind`, `large`, ...), sorted.
pub fn event_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .expect("tests/events")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "jsonl").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names
}
