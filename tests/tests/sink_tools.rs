//! The sink authors' tools: `conduit-wasm test` (recorded events into a sink, no database) and
//! `conduit-wasm new` (project scaffolds).
//!
//! (`run --record`, whose recordings `test` replays, is tested in `record.rs`.)
//!
//! The golden files `tests/events/<name>.out` are what the Rust `stdout-json` sink prints for
//! `tests/events/<name>.jsonl`. After a deliberate change of the line format, rewrite them with
//! `CONDUIT_BLESS=1 cargo xtask test --test sink_tools` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conduit_e2e::{
    conduit_bin, conduit_test_output, events_dir, first_difference, sink, stdout_json, target_dir,
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

/// The README's `conduit-wasm test my-sink.wasm`, run in a sink project outside the repository:
/// without `--events` it publishes the built-in sample (tests/events/sample.jsonl, compiled in),
/// so a new project can be tested before anything was recorded.
#[test]
fn test_without_events_publishes_the_built_in_sample_from_outside_the_repository() {
    let project = tempfile::tempdir().unwrap();
    let repo = events_dir().join("../..").canonicalize().unwrap();
    assert!(!project.path().canonicalize().unwrap().starts_with(&repo));
    std::fs::copy(stdout_json(), project.path().join("my-sink.wasm")).unwrap();
    let out = Command::new(conduit_bin())
        .current_dir(project.path())
        .args(["test", "my-sink.wasm", "--state-dir"])
        .arg(state_dir())
        .env_remove("RUST_LOG")
        .output()
        .expect("running conduit-wasm test");
    // Exactly what stdout-json prints for the file the binary embeds.
    assert_golden("sample", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no --events: publishing the built-in sample events")
            && stderr.contains(
                "ok: connect, 4 publish call(s) with 7 change(s) from 4 batch(es), close"
            ),
        "{stderr}"
    );
    // It shows a sink every operation.
    let stdout = text(&out.stdout);
    for op in ["read", "insert", "update", "delete", "truncate"] {
        assert!(
            stdout.contains(&format!("{{\"op\":\"{op}\"")),
            "no {op}: {stdout}"
        );
    }
    // `--help` says what the sample holds.
    let help = Command::new(conduit_bin())
        .args(["test", "--help"])
        .output()
        .expect("running conduit-wasm test --help");
    let help = text(&help.stdout);
    assert!(
        help.contains("Without it, built-in sample events: 4 batches with 7 changes"),
        "{help}"
    );
}

/// `bash sinks-other/install-tools.sh`, as the README runs it, installs where a scaffold's
/// `build.sh` looks: every script's default tools directory is the same.
#[test]
fn install_tools_puts_the_tools_where_the_scaffolds_look() {
    let repo = events_dir().join("../..");
    let default_of = |path: &str| {
        let text = std::fs::read_to_string(repo.join(path)).unwrap();
        let start = text
            .find("${CONDUIT_TOOLS_DIR:-")
            .unwrap_or_else(|| panic!("{path} has no default tools directory"));
        let rest = &text[start + "${CONDUIT_TOOLS_DIR:-".len()..];
        rest[..rest.find('}').unwrap()].to_string()
    };
    let install = default_of("sinks-other/install-tools.sh");
    assert_eq!(install, "$HOME/.cache/conduit-wasm/tools");
    for script in [
        "sinks-other/build.sh",
        "templates/c/build.sh",
        "templates/python/build.sh",
        "templates/js/build.sh",
    ] {
        assert_eq!(default_of(script), install, "{script}");
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

/// `conduit-wasm new <name> --lang <lang>` in a temporary directory (outside the repository);
/// returns the directory (dropped: removed) and the project in it.
fn new_project(lang: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join(name);
    let out = Command::new(conduit_bin())
        .args(["new", name, "--lang", lang, "--dir"])
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
    (dir, project)
}

/// Runs the project's `build.sh`; returns the component it built.
fn build_project(lang: &str, name: &str, project: &Path) -> PathBuf {
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
    wasm
}

fn scaffold_passes(lang: &str) {
    if lang != "rust"
        && std::env::var_os("CONDUIT_SKIP_OTHER_SINKS").is_some_and(|v| !v.is_empty() && v != "0")
    {
        eprintln!("CONDUIT_SKIP_OTHER_SINKS is set: the {lang} scaffold is not tested");
        return;
    }
    let name = format!("my-{lang}-sink");
    let (_dir, project) = new_project(lang, &name);
    let wasm = build_project(lang, &name, &project);

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

/// The README's Rust example (the block after its marker under "Write a sink in Rust") is the
/// `src/lib.rs` of a project `conduit-wasm new --lang rust` made, so the README and the template
/// use the same SDK and cannot drift apart: it builds, and does what the README says.
#[test]
fn the_readme_rust_example_builds_in_a_new_rust_project() {
    let readme = std::fs::read_to_string(events_dir().join("../../README.md")).unwrap();
    let marker = "<!-- the Rust example: tests/tests/sink_tools.rs builds it in a new project -->";
    let after = &readme[readme
        .find(marker)
        .unwrap_or_else(|| panic!("README.md has no line {marker}"))
        + marker.len()..];
    let start = after
        .find("```rust\n")
        .expect("a ```rust block after the marker")
        + 8;
    let code = &after[start..start + after[start..].find("```").unwrap()];
    assert!(code.contains("impl Sink for"), "{code}");

    let (_dir, project) = new_project("rust", "readme-example");
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("conduit-sink-sdk"), "{manifest}");
    std::fs::write(project.join("src/lib.rs"), code).unwrap();
    let wasm = build_project("rust", "readme-example", &project);

    // "With the example above as src/lib.rs, add --sink-config table=orders": the sample's one
    // delete is of customers id 2.
    let out = Command::new(conduit_bin())
        .args(["test", "--sink-config", "table=customers", "--state-dir"])
        .arg(state_dir())
        .arg(&wasm)
        .env_remove("RUST_LOG")
        .output()
        .expect("running conduit-wasm test");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("deleted ") && lines[0].contains('2'),
        "{stdout}"
    );
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
