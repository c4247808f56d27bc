//! Bad input: one clear message on stderr and a non-zero exit, within a deadline. The expected
//! substrings live in `conduit_e2e::expect`.

use std::path::PathBuf;

use conduit_e2e::*;

/// A core WebAssembly module (magic, version 1): valid WASM, but not a component.
const CORE_MODULE: &[u8] = b"\0asm\x01\0\0\0";
/// An empty component (magic, version 0x0d, layer 1): a component that exports nothing.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

/// Writes `bytes` to `<dir>/<name>`.
fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---- the source ---------------------------------------------------------------------------------

#[tokio::test]
async fn unreachable_server() {
    let port = unused_port();
    let state = tempfile::tempdir().unwrap();
    RunConfig::new(stdout_json())
        .source(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .slot("s")
        .publication("p")
        .state_dir(state.path())
        .run_to_exit()
        .await
        .assert_failed_with(&expect::unreachable("127.0.0.1", port));
}

#[tokio::test]
async fn unreachable_server_from_conduit_source_env() {
    // Without --source, CONDUIT_SOURCE is the source (and no scratch cluster is started).
    let port = unused_port();
    let state = tempfile::tempdir().unwrap();
    RunConfig::new(stdout_json())
        .env(
            "CONDUIT_SOURCE",
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        )
        .slot("s")
        .publication("p")
        .state_dir(state.path())
        .run_to_exit()
        .await
        .assert_failed_with(&expect::unreachable("127.0.0.1", port));
}

#[tokio::test]
async fn authentication_failed() {
    let f = Fixture::with_options(
        ScratchOptions::default()
            .fsync_off()
            .scram("conduit", "right-password"),
    )
    .await;
    f.run_config()
        .source(f.pg.url_for("conduit", Some("wrong-password"), "postgres"))
        .run_to_exit()
        .await
        .assert_failed_with(&expect::auth_failed());
}

#[tokio::test]
async fn wal_level_not_logical() {
    let f =
        Fixture::with_options(ScratchOptions::default().fsync_off().without_logical_wal()).await;
    assert_eq!(f.query_value("SHOW wal_level").await, "replica");
    f.run_config()
        .run_to_exit()
        .await
        .assert_failed_with(&expect::wal_level());
}

#[tokio::test]
async fn role_without_replication() {
    let f = Fixture::new().await;
    // Publication and slot exist (made by a superuser), so the first thing the role cannot do
    // is open the replication connection.
    f.exec(&format!(
        "CREATE ROLE app LOGIN NOREPLICATION;
         CREATE TABLE t (id int PRIMARY KEY);
         GRANT SELECT ON t TO app;
         CREATE PUBLICATION {} FOR ALL TABLES;",
        f.publication
    ))
    .await;
    // (A slot cannot be created in a transaction that has written.)
    f.exec(&format!(
        "SELECT pg_create_logical_replication_slot('{}', 'pgoutput')",
        f.slot
    ))
    .await;
    f.run_config()
        .source(f.pg.url_for("app", None, "postgres"))
        .run_to_exit()
        .await
        .assert_failed_with(&expect::no_replication_role());
}

#[tokio::test]
async fn slot_already_active() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let mut first = f.start_conduit().await;
    let other_state = tempfile::tempdir().unwrap();
    f.run_config()
        .state_dir(other_state.path())
        .run_to_exit()
        .await
        .assert_failed_with(&expect::slot_active());
    // The first process is not disturbed.
    assert!(first.is_running(), "first process still runs");
    f.exec("INSERT INTO t VALUES (1)").await;
    first.wait_for_lines(1, line_deadline()).await;
    first.terminate_ok().await;
}

#[tokio::test]
async fn unknown_table_in_tables() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE real_table (id int PRIMARY KEY)").await;
    f.run_config()
        .tables("real_table,no_such_table_xyz")
        .run_to_exit()
        .await
        .assert_failed_with(&expect::unknown_table("no_such_table_xyz"));
}

// ---- the sink -----------------------------------------------------------------------------------

/// `run` with a bad sink against a working source.
async fn run_with_sink(sink: PathBuf, e: Expect) {
    let f = Fixture::new().await;
    let mut cfg = f.run_config();
    cfg.sink = sink;
    cfg.run_to_exit().await.assert_failed_with(&e);
}

#[tokio::test]
async fn sink_file_missing() {
    let dir = tempfile::tempdir().unwrap();
    run_with_sink(dir.path().join("no-such-sink.wasm"), expect::sink_missing()).await;
}

#[tokio::test]
async fn sink_not_webassembly() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(&dir, "notes.wasm", b"this is a text file, not a sink\n");
    run_with_sink(p, expect::not_wasm()).await;
}

#[tokio::test]
async fn sink_is_a_core_module() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(&dir, "core.wasm", CORE_MODULE);
    run_with_sink(p, expect::core_module()).await;
}

#[tokio::test]
async fn sink_component_without_sink_interface() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(&dir, "empty.wasm", EMPTY_COMPONENT);
    run_with_sink(p, expect::no_sink_export()).await;
}

// ---- `conduit-wasm check` -----------------------------------------------------------------------

#[tokio::test]
async fn check_accepts_the_example_sinks() {
    for name in ["stdout-json", "filter-reshape"] {
        let f = check(&sink(name)).await;
        assert_eq!(
            f.status.code(),
            Some(0),
            "check {name}: {}\nstdout:\n{}\nstderr:\n{}",
            f.status,
            f.stdout_text,
            f.stderr
        );
        assert!(
            !(f.stdout_text.trim().is_empty() && f.stderr.trim().is_empty()),
            "check {name} describes the sink"
        );
    }
}

#[tokio::test]
async fn check_rejects_bad_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (dir.path().join("missing.wasm"), expect::sink_missing()),
        (
            write_file(&dir, "text.wasm", b"hello\n"),
            expect::not_wasm(),
        ),
        (
            write_file(&dir, "core.wasm", CORE_MODULE),
            expect::core_module(),
        ),
        (
            write_file(&dir, "empty.wasm", EMPTY_COMPONENT),
            expect::no_sink_export(),
        ),
    ];
    for (path, e) in cases {
        let f = check(&path).await;
        // The message may go to stderr or stdout; judge both.
        let mut out = f;
        out.stderr = format!("{}\n{}", out.stderr, out.stdout_text);
        out.assert_failed_with(&e);
    }
}
