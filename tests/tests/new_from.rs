//! `conduit-wasm new <name> --lang rust --from nats|kafka`: a project with the example broker
//! sink's sources builds outside the repository, and the component it builds is that sink (its
//! config is checked by `connect`, and an ungranted broker is refused by the sandbox).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conduit_e2e::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `new --from`, then the project's `build.sh` (Rust builds share `target/scaffold`, as the
/// scaffold tests do); returns the temporary directory and the component.
fn new_from(example: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join(name);
    let out = Command::new(conduit_bin())
        .args(["new", name, "--lang", "rust", "--from", example, "--dir"])
        .arg(&project)
        .output()
        .expect("running conduit-wasm new");
    assert!(
        out.status.success(),
        "new --from {example}: {}",
        text(&out.stderr)
    );
    let build = Command::new("bash")
        .arg(project.join("build.sh"))
        .env("CARGO_TARGET_DIR", target_dir().join("scaffold"))
        .output()
        .expect("running build.sh");
    assert!(
        build.status.success(),
        "the --from {example} project does not build:\n{}",
        text(&build.stderr)
    );
    let wasm = project.join(format!("{name}.wasm"));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    (dir, wasm)
}

/// `conduit-wasm test <wasm>` on the built-in sample events with `config`.
fn conduit_test(wasm: &Path, config: &[&str], state: &Path) -> Output {
    let mut cmd = Command::new(conduit_bin());
    cmd.arg("test").arg("--state-dir").arg(state);
    for c in config {
        cmd.args(["--sink-config", c]);
    }
    cmd.arg(wasm)
        .env_remove("RUST_LOG")
        .output()
        .expect("running conduit-wasm test")
}

#[test]
fn the_nats_and_kafka_starting_points_build_and_are_those_sinks() {
    let state = tempfile::tempdir().unwrap();
    for (example, name, good, bad, says) in [
        (
            "nats",
            "orders-to-nats",
            "addr=127.0.0.1:9",
            "subject=cdc.{tabel}",
            "unknown field `{tabel}`",
        ),
        (
            "kafka",
            "orders-to-kafka",
            "bootstrap=127.0.0.1:9",
            "topic=cdc/{table}",
            "cannot have",
        ),
    ] {
        let (_dir, wasm) = new_from(example, name);
        // A bad config: refused by the sink's connect, in one line naming what to fix.
        let out = conduit_test(&wasm, &[good, bad], state.path());
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{example}: {stderr}");
        assert!(stderr.contains(says), "{example}: {stderr}");
        // A good one: it tries the broker, which `conduit-wasm test` grants no TCP to.
        let out = conduit_test(&wasm, &[good], state.path());
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{example}: {stderr}");
        assert!(stderr.contains("127.0.0.1:9"), "{example}: {stderr}");
        assert!(stderr.contains(NET_DENIED), "{example}: {stderr}");
    }
}
