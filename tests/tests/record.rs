//! `conduit-wasm run --record FILE`: real changes into the file `conduit-wasm test --events`
//! replays, so that replaying it prints exactly what the live run printed; and the checks of
//! `--record` / `--record-tenant` before anything is recorded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conduit_e2e::{
    conduit_bin, conduit_test_output, first_difference, line_deadline, stdout_json, Fixture,
    Running, Tenant, TenantsFile,
};

/// A compile cache shared by the tests of this binary.
fn state_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("conduit-e2e-record-state");
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

fn conduit_test(sink: &Path, events: &Path, extra: &[&str]) -> Output {
    conduit_test_output(sink, events, &state_dir(), extra)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

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
        extra: String::new(),
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
