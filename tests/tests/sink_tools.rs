//! The sink authors' tools: `conduit-wasm test` (recorded events into a sink, no database) and
//! `conduit-wasm new` (project scaffolds).
//!
//! The golden files `tests/events/<name>.out` are what the Rust `stdout-json` sink prints for
//! `tests/events/<name>.jsonl`. After a deliberate change of the line format, rewrite them with
//! `CONDUIT_BLESS=1 cargo xtask test --test sink_tools` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conduit_e2e::{
    conduit_bin, conduit_test_output, events_dir, first_difference, line_deadline, sink,
    stdout_json, target_dir, Fixture, Running, Tenant, TenantsFile,
};

/// Every shipped events file, by name (`every-kind`, `large`, ...).
fn event_files() -> Vec<String> {
    let names = conduit_e2e::event_files();
    assert!(names.len() >= 5, "{names:?}");
    names
}

/// A compile cache shared by the tests of this binary (compiling a sink in a debug build of the
/// runtime takes seconds).
fn state_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("conduit-e2e-sink-tools-state");
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

fn conduit_test(sink: &Path, events: &Path, extra: &[&str]) -> Output {
    conduit_test_output(sink, events, &state_dir(), extra)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_golden(name: &str, out: &Output) {
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "conduit-wasm test on {name}.jsonl failed ({}):\nstderr:\n{}",
        out.status,
        text(&out.stderr)
    );
    let golden = events_dir().join(format!("{name}.out"));
    if std::env::var_os("CONDUIT_BLESS").is_some() {
        std::fs::write(&golden, &stdout).expect("writing golden");
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (CONDUIT_BLESS=1 writes it)", golden.display()));
    assert!(
        stdout == expected,
        "stdout-json's output for {name}.jsonl differs from {}: {}",
        golden.display(),
        first_difference(&expected, &stdout)
    );
}

#[test]
fn stdout_json_prints_the_golden_lines_for_every_shipped_file() {
    let sink = stdout_json();
    for name in event_files() {
        let out = conduit_test(&sink, &events_dir().join(format!("{name}.jsonl")), &[]);
        assert_golden(&name, &out);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("conduit-wasm test: ok: connect,") && stderr.contains("close"),
            "{stderr}"
        );
    }
}

#[test]
fn goldens_are_one_line_per_change_of_the_documented_shape() {
    for name in event_files() {
        let golden = events_dir().join(format!("{name}.out"));
        let Ok(expected) = std::fs::read_to_string(&golden) else {
            continue; // the golden test reports it
        };
        let batches = conduit_wasm::record::read_events(events_dir().join(format!("{name}.jsonl")))
            .unwrap_or_else(|e| panic!("{e}"));
        let changes: usize = batches.iter().map(|b| b.changes.len()).sum();
        assert_eq!(expected.lines().count(), changes, "{name}");
        for line in expected.lines() {
            let keys = conduit_e2e::line_keys(line)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line}"));
            let keys = match keys.split_last() {
                Some((last, rest)) if last == conduit_e2e::JSON_NULL_FIELD => rest,
                _ => &keys[..],
            };
            assert_eq!(keys, conduit_e2e::LINE_FIELDS, "{name}: {line}");
        }
    }
}

#[test]
fn null_and_unchanged_toast_stay_apart_in_the_golden() {
    let out = std::fs::read_to_string(events_dir().join("toast-and-keys.out")).unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let update = &lines[2];
    assert_eq!(update["op"], "update");
    assert_eq!(update["new"]["title"], serde_json::Value::Null);
    assert!(update["new"].get("body").is_none(), "{update}");
    assert_eq!(
        update["unchanged_toast"],
        serde_json::json!(["body", "meta"])
    );
    let key_change = &lines[3];
    assert_eq!(
        key_change["old"],
        serde_json::json!({"tenant": 1, "id": 10})
    );
    let truncates: Vec<_> = lines.iter().filter(|l| l["op"] == "truncate").collect();
    assert_eq!(truncates.len(), 2);
}

#[test]
fn slicing_batches_does_not_change_the_output() {
    let sink = stdout_json();
    for (name, n) in [("large", "777"), ("every-kind", "1"), ("batches", "1")] {
        let out = conduit_test(
            &sink,
            &events_dir().join(format!("{name}.jsonl")),
            &["--batch", n],
        );
        assert_golden(name, &out);
    }
}

#[test]
fn a_bad_events_file_is_one_line_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"batch\":0,\"relations\":[{\"oid\":1,\"schema\":\"a\",\"name\":\"b\",\"columns\":[{\"name\":\"x\",\"type\":\"int\",\"oid\":23,\"key\":true}]}]}\n\
         {\"op\":\"insert\",\"rel\":0,\"xid\":1,\"commit_lsn\":\"0/1\",\"end_lsn\":\"0/2\",\"commit_time\":\"1970-01-01T00:00:00.000000Z\",\"seq\":0,\"new\":[{\"int\":1}]}\n\
         {\"op\":\"insert\",\"rel\":0,\"xid\":1,\"commit_lsn\":\"0/1\",\"end_lsn\":\"0/2\",\"commit_time\":\"1970-01-01T00:00:00.000000Z\",\"seq\":1,\"new\":[{\"integer\":1}]}\n",
    )
    .unwrap();
    let out = conduit_test(&stdout_json(), &bad, &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ")
            && last.contains("bad.jsonl line 3: new.x: unknown value kind \"integer\""),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing was published: the file is checked batch by batch before each publish, and this
    // batch never reached the sink.
    assert_eq!(text(&out.stdout), "");

    let missing = conduit_test(&stdout_json(), &dir.path().join("nope.jsonl"), &[]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("nope.jsonl: not found"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_file_that_is_not_a_sink_is_refused_before_any_event_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("x.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let out = conduit_test(&not_wasm, &events_dir().join("unicode.jsonl"), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not a WebAssembly file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_sink_that_filters_everything_out_still_gets_every_call() {
    // filter-reshape with a table that never occurs: connect, publish, close all succeed and
    // nothing is printed.
    let out = conduit_test(
        &sink("filter-reshape"),
        &events_dir().join("batches.jsonl"),
        &["--sink-config", "table=does_not_exist"],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("5 publish call(s) with 2 change(s) from 5 batch(es)"),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "");

    // Without its required key, connect fails: one line, non-zero exit.
    let out = conduit_test(
        &sink("filter-reshape"),
        &events_dir().join("batches.jsonl"),
        &[],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.lines().last().is_some_and(
            |l| l.starts_with("error: connect failed: the sink returned a fatal error: ")
        ),
        "{stderr}"
    );
}

// ------------------------------------------------------------------------------------------------
// `conduit-wasm new`: every language's scaffold builds and passes `conduit-wasm test` on every
// shipped events file, printing `<op> <schema>.<table> xid=<xid> seq=<seq>` per change.

fn scaffold_passes(lang: &str) {
    if lang != "rust"
        && std::env::var_os("CONDUIT_SKIP_OTHER_SINKS").is_some_and(|v| !v.is_empty() && v != "0")
    {
        eprintln!("CONDUIT_SKIP_OTHER_SINKS is set: the {lang} scaffold is not tested");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("my-{lang}-sink");
    let project = dir.path().join(&name);
    let out = Command::new(conduit_bin())
        .args(["new", &name, "--lang", lang, "--dir"])
        .arg(&project)
        .output()
        .expect("running conduit-wasm new");
    assert!(
        out.status.success(),
        "new --lang {lang}: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("build.sh"),
        "{}",
        text(&out.stdout)
    );

    // The tools the non-Rust scaffolds need are the repository's pinned ones (xtask sets
    // CONDUIT_TOOLS_DIR); Rust builds share one target directory across runs.
    let tools = std::env::var_os("CONDUIT_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("tools"));
    let build = Command::new("bash")
        .arg(project.join("build.sh"))
        .env("CONDUIT_TOOLS_DIR", &tools)
        .env("CARGO_TARGET_DIR", target_dir().join("scaffold"))
        .output()
        .expect("running build.sh");
    assert!(
        build.status.success(),
        "the {lang} scaffold does not build ({}):\nstdout:\n{}\nstderr:\n{}",
        build.status,
        text(&build.stdout),
        text(&build.stderr)
    );
    let wasm = project.join(format!("{name}.wasm"));
    assert!(wasm.is_file(), "{} was not built", wasm.display());

    for events in event_files() {
        let path = events_dir().join(format!("{events}.jsonl"));
        let out = conduit_test(&wasm, &path, &[]);
        assert!(
            out.status.success(),
            "the {lang} scaffold fails `conduit-wasm test` on {events}.jsonl ({}):\n{}",
            out.status,
            text(&out.stderr)
        );
        let mut expected = String::new();
        for batch in conduit_wasm::record::read_events(&path).unwrap() {
            for c in &batch.changes {
                let rel = &batch.relations[c.relation as usize];
                use conduit_wasm::event::Operation;
                let op = match c.op {
                    Operation::Insert => "insert",
                    Operation::Update => "update",
                    Operation::Delete => "delete",
                    Operation::Truncate => "truncate",
                    Operation::Read => "read",
                };
                expected.push_str(&format!(
                    "{op} {}.{} xid={} seq={}\n",
                    rel.schema, rel.name, c.xid, c.seq
                ));
            }
        }
        let stdout = text(&out.stdout);
        assert!(
            stdout == expected,
            "the {lang} scaffold on {events}.jsonl: {}",
            first_difference(&expected, &stdout)
        );
    }
}

#[test]
fn new_rust_scaffold_builds_and_passes_test() {
    scaffold_passes("rust");
}

#[test]
fn new_c_scaffold_builds_and_passes_test() {
    scaffold_passes("c");
}

#[test]
fn new_python_scaffold_builds_and_passes_test() {
    scaffold_passes("python");
}

#[test]
fn new_js_scaffold_builds_and_passes_test() {
    scaffold_passes("js");
}

// ------------------------------------------------------------------------------------------------
// `conduit-wasm run --record FILE`: real changes into the file `conduit-wasm test --events`
// replays, so that replaying it prints exactly what the live run printed.

/// Starts `run stdout-json --record FILE` against a fixture and waits until it streams from the
/// fixture's slot (changes committed after that are delivered).
async fn start_recording(f: &Fixture, record: &Path) -> Running {
    f.start(f.run_config().arg("--record").arg(record)).await
}

/// SIGTERM; the run must exit 0. Returns what it printed, byte for byte (to be compared with the
/// replayed output).
async fn stop_recording(run: Running) -> String {
    let done = run.terminate_ok().await;
    assert!(
        done.stderr.contains("recording accepted batches to"),
        "{}",
        done.stderr
    );
    done.stdout_raw
}

#[tokio::test]
async fn run_record_replays_to_exactly_the_lines_the_live_run_printed() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE kinds (id int PRIMARY KEY, n int, body text, amount numeric(12,4),
             doc jsonb, js json, raw bytea, at timestamptz, tags text[], nums int[],
             f float8, ok boolean, d date, u uuid, iv interval, note text)",
    )
    .await;
    let record = f.state.path().join("events.jsonl");
    let mut run = start_recording(&f, &record).await;
    for sql in [
        // A TOASTed body (~200 kB, stored out of line), then NULLs, NaN and an infinite instant.
        "INSERT INTO kinds SELECT 1, 7, string_agg(md5(i::text), '' ORDER BY i), 12345.6789,
             '{\"a\": [1, 2.50, null], \"b\": {\"c\": \"ü\"}}', '{\"z\": 1,  \"a\": 2}',
             '\\x00ff10'::bytea, '2026-11-24 10:15:30.123456+02', '{a,NULL,\"b c\"}',
             '{1,-2,NULL}', 0.1, true, '2026-02-28', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
             '1 day 02:00:00', 'ünï \"q\" \\ tab	end'
         FROM generate_series(1, 6400) AS i",
        "INSERT INTO kinds (id, n, f, at, tags) VALUES (2, NULL, 'NaN', 'infinity', '{}')",
        // body is not sent: an unchanged TOAST value, not NULL.
        "UPDATE kinds SET amount = -0.0001, note = NULL WHERE id = 1",
        // a key change: the old key comes along.
        "UPDATE kinds SET id = 3 WHERE id = 2",
        "DELETE FROM kinds WHERE id = 3",
        // 50 changes in one transaction.
        "INSERT INTO kinds (id, n, amount, raw) SELECT g, g * 2, g / 7.0, decode(md5(g::text), 'hex')
         FROM generate_series(10, 59) AS g",
        "TRUNCATE kinds",
    ] {
        f.exec(sql).await;
    }
    run.wait_for_lines(56, line_deadline()).await;
    let live = stop_recording(run).await;
    assert_eq!(live.lines().count(), 56, "{live}");
    let unchanged: serde_json::Value = serde_json::from_str(live.lines().nth(2).unwrap()).unwrap();
    assert_eq!(unchanged["unchanged_toast"], serde_json::json!(["body"]));

    let recorded = std::fs::read_to_string(&record).unwrap();
    assert!(
        recorded.starts_with(conduit_wasm::record::HEADER),
        "{recorded:.200}"
    );
    for kind in [
        "\"unchanged-toast\"",
        "{\"numeric\":\"-0.0001\"}",
        "{\"json\":",
        "{\"bytes\":\"00ff10\"}",
        "{\"timestamptz\":\"2026-11-24T08:15:30.123456Z\"}",
        "{\"array\":[{\"text\":\"a\"},null,{\"text\":\"b c\"}]}",
        "{\"float\":\"NaN\"}",
    ] {
        assert!(recorded.contains(kind), "the recording has no {kind}");
    }
    let replay = conduit_test(&stdout_json(), &record, &[]);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let replayed = text(&replay.stdout);
    assert!(
        replayed == live,
        "replaying the recording: {}",
        first_difference(&live, &replayed)
    );

    // A second run continues the recording: it replays as both runs' output, in order.
    let mut run = start_recording(&f, &record).await;
    f.exec("INSERT INTO kinds (id, note) VALUES (100, 'after the restart')")
        .await;
    run.wait_for_lines(1, line_deadline()).await;
    let more = stop_recording(run).await;
    let replay = conduit_test(&stdout_json(), &record, &[]);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let both = format!("{live}{more}");
    let replayed = text(&replay.stdout);
    assert!(
        replayed == both,
        "replaying the continued recording: {}",
        first_difference(&both, &replayed)
    );
}

#[test]
fn run_record_names_the_tenant_with_config_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conduit.toml");
    TenantsFile {
        source: "postgres://127.0.0.1:1/never".into(),
        slot: "s".into(),
        publication: "p".into(),
        state_dir: dir.path().join("state"),
        max_wal_lag_mib: None,
        snapshot: Some("never".into()),
        tenants: vec![
            Tenant::new("acme", stdout_json()).table("public.a"),
            Tenant::new("globex", stdout_json()).table("public.a"),
        ],
    }
    .write(&config);
    let record = dir.path().join("events.jsonl");
    let run = |extra: &[&str]| {
        Command::new(conduit_bin())
            .arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--record")
            .arg(&record)
            .args(extra)
            .env_remove("CONDUIT_SOURCE")
            .env_remove("CONDUIT_STATE_DIR")
            .output()
            .expect("running conduit-wasm run")
    };
    for (extra, expected) in [
        (
            &[][..],
            "--record with --config records one tenant: add --record-tenant ID (one of acme, globex)",
        ),
        (
            &["--record-tenant", "initech"][..],
            "--record-tenant \"initech\": ",
        ),
    ] {
        let out = run(extra);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        let last = stderr.lines().last().unwrap_or("");
        assert!(last.contains(expected), "{stderr}");
    }
    // A single sink is the only thing a run without --config can record.
    let out = Command::new(conduit_bin())
        .arg("run")
        .arg(stdout_json())
        .arg("--record")
        .arg(&record)
        .args(["--record-tenant", "acme"])
        .output()
        .expect("running conduit-wasm run");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot be used with '--record-tenant <ID>'"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !record.exists(),
        "nothing is recorded before the checks pass"
    );
}
