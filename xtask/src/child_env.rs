//! The environment of the cargo commands xtask runs.
//!
//! `cargo xtask` is `cargo run --package xtask`, so this process carries the variables cargo sets
//! for a package it runs (`CARGO_MANIFEST_DIR=<repo>/xtask`, `CARGO_PKG_NAME=xtask`, ...). A cargo
//! started from here would pass them on, and build scripts that track one of them see a change
//! against a cargo started from a shell: ring's tracks `CARGO_MANIFEST_DIR`, so ring, rustls,
//! wasmtime-wasi-http and the runtime were rebuilt (2–3 minutes) each time one went from the
//! README's `cargo install`/`cargo build --release -p conduit-wasm` to `cargo xtask demo` or back.

use std::ffi::OsStr;
use std::process::Command;

/// Whether `cargo run` sets `name` for the package it runs (and a shell does not).
fn set_by_cargo_run(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "OUT_DIR"
        )
}

/// Removes from `cmd` the variables `cargo run` gave this process, so that the cargo it runs
/// sees the environment a shell would give it.
pub fn without_cargo_run_vars(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if set_by_cargo_run(&name) {
            cmd.env_remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtasks_cargo_runs_without_the_package_variables_of_cargo_run() {
        // `cargo test` sets them for this process as `cargo run` does for xtask.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let ws = crate::Workspace {
            root: ".".into(),
            target_dir: "target".into(),
            cargo: "cargo".into(),
        };
        let cmd = ws.cargo();
        let removed: Vec<_> = cmd
            .get_envs()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        for name in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_PKG_VERSION"] {
            assert!(removed.iter().any(|r| r == name), "{name}: {removed:?}");
        }
        assert!(set_by_cargo_run(OsStr::new("CARGO_PKG_AUTHORS")));
        for kept in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!set_by_cargo_run(OsStr::new(kept)), "{kept}");
        }
    }
}
