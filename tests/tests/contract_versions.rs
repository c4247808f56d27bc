//! The sink contract's versions: a sink built against the previous contract
//! (`conduit:sink@0.1.0`, `test-sinks/contract-v0-1`) still runs without a rebuild and receives
//! snapshot reads as inserts; `check` names the version a sink was built against.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conduit_e2e::{conduit_bin, sink, stdout_json};

fn snapshot_events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events/snapshot.jsonl")
}

fn conduit(args: &[&std::ffi::OsStr]) -> Output {
    let state = std::env::temp_dir().join("conduit-e2e-contract-versions-state");
    std::fs::create_dir_all(&state).expect("state dir");
    Command::new(conduit_bin())
        .args(args)
        .arg("--state-dir")
        .arg(&state)
        .env_remove("RUST_LOG")
        .output()
        .expect("running conduit-wasm")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_sink_built_against_0_1_0_gets_reads_as_inserts() {
    let old = sink("contract-v0-1");
    let events = snapshot_events();
    let out = conduit(&[
        "test".as_ref(),
        old.as_os_str(),
        "--events".as_ref(),
        events.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "insert public.customers xid=0 seq=0\n\
         insert public.customers xid=0 seq=1\n\
         insert sales.orders xid=0 seq=2\n\
         insert sales.orders xid=0 seq=3\n\
         insert public.customers xid=780 seq=0\n\
         update sales.orders xid=780 seq=1\n"
    );

    // A current sink sees the same changes as reads.
    let out = conduit(&[
        "test".as_ref(),
        stdout_json().as_os_str(),
        "--events".as_ref(),
        events.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ops: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["op"].to_string())
        .collect();
    assert_eq!(
        ops,
        [
            "\"read\"",
            "\"read\"",
            "\"read\"",
            "\"read\"",
            "\"insert\"",
            "\"update\""
        ]
    );
}

#[test]
fn check_names_the_contract_version() {
    let check = |path: &Path| {
        let out = Command::new(conduit_bin())
            .arg("check")
            .arg(path)
            .env_remove("RUST_LOG")
            .output()
            .expect("running conduit-wasm check");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let current = check(&stdout_json());
    assert!(
        current.contains("\ncontract: conduit:sink@0.2.0 (current)\n"),
        "{current}"
    );
    assert!(current.contains("  conduit:sink/sink@0.2.0\n"), "{current}");
    let old = check(&sink("contract-v0-1"));
    assert!(
        old.contains(
            "\ncontract: conduit:sink@0.1.0 (older than the current 0.2.0: snapshot reads arrive \
             as inserts; rebuild against wit/sink.wit to tell them apart)\n"
        ),
        "{old}"
    );
}
