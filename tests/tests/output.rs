//! A tenant's output: delivery through `capabilities.stdout` (a file, every byte, durable before
//! the slot moves past it), and the bounded log channel that a sink's stdout is without it,
//! whose overflow is reported as dropped logs, never mistaken for delivery. Issue 14, item 2:
//! `stdout-json` as a tenant over 200,000 rows once delivered 37,222 lines while the slot moved
//! past all of them.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use conduit_e2e::*;

/// Rows of the large case: well past the 64 KiB per call log budget (each line is ~230 bytes,
/// each call up to 1,000 of them).
const ROWS: i64 = 200_000;

/// A config file of this fixture's stream with one `stdout-json` tenant `id` seeing `public.t`,
/// with `capabilities` as given.
fn config(f: &Fixture, id: &str, capabilities: &str) -> String {
    format!(
        "{}[[tenants]]\nid = {id:?}\nsink = {:?}\ncapabilities = {{ {capabilities} }}\n\n\
         [[tenants.grants]]\ntables = [\"public.t\"]\n",
        f.tenants_file(vec![]).to_toml(),
        stdout_json().to_string_lossy()
    )
}

/// Inserts `rows` rows in one transaction; returns the server's WAL position after the commit.
async fn insert_rows(f: &Fixture, rows: i64) -> Lsn {
    f.exec(&format!(
        "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, {rows}) AS i"
    ))
    .await;
    current_lsn(&f.client).await
}

/// Waits until the slot is acknowledged at or past `lsn`: from then on, the server may remove
/// the WAL, so whatever the sink was to deliver must already be delivered.
async fn wait_acknowledged(f: &Fixture, lsn: Lsn) {
    wait_for_slot(
        &f.client,
        &f.slot,
        &format!("confirmed_flush_lsn reaching {lsn}"),
        line_deadline() * 3,
        |s| {
            s.and_then(|s| s.confirmed_flush_lsn)
                .is_some_and(|c| c >= lsn)
        },
    )
    .await;
}

/// The ids of the insert lines of a JSON-lines file; panics on a line that is not one.
fn ids_in(path: &Path) -> Vec<i64> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:.200}"));
            assert_eq!(op(&v), "insert", "{l:.200}");
            row_id(&v).unwrap_or_else(|| panic!("no id: {l:.200}"))
        })
        .collect()
}

fn assert_every_id_once(ids: &[i64], rows: i64) {
    let distinct: HashSet<i64> = ids.iter().copied().collect();
    let missing: Vec<i64> = (1..=rows)
        .filter(|i| !distinct.contains(i))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} lines, {} distinct ids of {rows}; first missing: {missing:?}",
        ids.len(),
        distinct.len()
    );
    assert_eq!(ids.len() as i64, rows, "every line once");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in commit order");
}

#[tokio::test]
async fn a_tenants_stdout_file_holds_every_line_before_the_slot_moves_past_it() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, payload text)")
        .await;
    // Relative to the config file, which is in the fixture's state directory.
    let out = f.state.path().join("acme.jsonl");
    let run = f
        .start_config_text(&config(&f, "acme", "stdout = \"acme.jsonl\""), &[])
        .await;
    let started = Instant::now();
    let lsn = insert_rows(&f, ROWS).await;
    wait_acknowledged(&f, lsn).await;
    eprintln!(
        "{ROWS} rows into stdout-json with capabilities.stdout: acknowledged {:.1?} after the \
         insert began",
        started.elapsed()
    );
    // Read at once: the slot was acknowledged, so every line must already be in the file.
    assert_every_id_once(&ids_in(&out), ROWS);
    let log = run.log();
    assert!(
        !log.iter().any(|l| l.is_output_of("acme", "stdout")),
        "with the grant, stdout goes to the file, not the log"
    );
    run.terminate_ok().await;
    assert_every_id_once(&ids_in(&out), ROWS);
}

#[tokio::test]
async fn the_log_channel_overflows_as_dropped_logs_not_as_delivery() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, payload text)")
        .await;
    let mut run = f.start_config_text(&config(&f, "acme", ""), &[]).await;
    let rows = 5_000;
    let started = Instant::now();
    let lsn = insert_rows(&f, rows).await;
    wait_acknowledged(&f, lsn).await;
    eprintln!(
        "{rows} rows into stdout-json without capabilities.stdout: acknowledged {:.1?} after the \
         insert began",
        started.elapsed()
    );
    let log = run
        .wait_for_log("the log overflow warning", line_deadline(), |log| {
            log.iter()
                .any(|l| l.is_tenant("acme") && l.is_warning() && l.says_all(&["dropped"]))
        })
        .await;
    let logged = tenant_changes(&log, "acme").len();
    assert!(
        (logged as i64) < rows,
        "a call's log output is bounded: {logged} of {rows} lines logged"
    );
    let warnings: Vec<&LogLine> = log
        .iter()
        .filter(|l| l.is_tenant("acme") && l.is_warning() && l.says_all(&["dropped"]))
        .collect();
    for w in &warnings {
        assert!(
            w.says_all(&["log", "not delivered", "capabilities.stdout"])
                && w.stream.as_deref() == Some("stdout"),
            "the warning says the output was logs, not delivery, and how to deliver it: {}",
            w.raw
        );
    }
    run.terminate_ok().await;
}

#[tokio::test]
async fn the_single_sink_cli_writes_every_line_to_its_stdout() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, payload text)")
        .await;
    let rows = 20_000;
    let mut run = f.start(f.run_config().tables("t")).await;
    let lsn = insert_rows(&f, rows).await;
    wait_acknowledged(&f, lsn).await;
    let got = run
        .wait_for_lines(rows as usize, line_deadline())
        .await
        .iter()
        .map(|l| row_id(l).expect("an id"))
        .collect::<Vec<_>>();
    assert_every_id_once(&got, rows);
    run.terminate_ok().await;
}
