//! Backfills through the real binary: `conduit-wasm backfill` gives one tenant the rows that
//! exist while the application keeps writing and both tenants keep streaming; a tenant added to
//! the configuration gets the rows it was granted; a mistaken request is one line.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use conduit_e2e::bad_input::{case, check_table};
use conduit_e2e::chaos::Rng;
use conduit_e2e::*;

/// The JSON lines a tenant's sink wrote to its output file.
fn output(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The table a sink would hold after applying `lines` in order: id → v.
fn replay(lines: &[Value]) -> BTreeMap<i64, i64> {
    let mut rows = BTreeMap::new();
    for line in lines {
        match op(line) {
            "read" | "insert" | "update" => {
                let new = new_row(line);
                let id = new["id"].as_i64().expect("id");
                if let Some(old) = line.get("old").and_then(|o| o.get("id")) {
                    rows.remove(&old.as_i64().expect("old id"));
                }
                rows.insert(id, new["v"].as_i64().expect("v"));
            }
            "delete" => {
                rows.remove(&old_row(line)["id"].as_i64().expect("id"));
            }
            other => panic!("unexpected op {other}: {}", short(line)),
        }
    }
    rows
}

async fn table_now(client: &Client) -> BTreeMap<i64, i64> {
    client
        .query("SELECT id::int8, v::int8 FROM t", &[])
        .await
        .expect("reading t")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Waits until both output files hold the row `id` (inserted after everything else).
async fn wait_for_row(files: &[&Path], id: i64) {
    for file in files {
        eventually(
            &format!("row {id} in {}", file.display()),
            line_deadline(),
            async || {
                let lines = output(file);
                if lines.iter().any(|l| row_id(l) == Some(id)) {
                    Ok(())
                } else {
                    Err(format!("{} lines", lines.len()))
                }
            },
        )
        .await;
    }
}

async fn wait_for_log(r: &Running, text: &str) {
    eventually(
        &format!("{text:?} in the log"),
        line_deadline(),
        async || {
            if r.stderr().contains(text) {
                Ok(())
            } else {
                Err(r.stderr())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn one_tenant_gets_the_existing_rows_while_the_application_writes() {
    let f = Fixture::new().await;
    let rows = 35_000;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        .await;
    f.exec(&format!(
        "INSERT INTO t SELECT g, 0 FROM generate_series(1, {rows}) g"
    ))
    .await;
    let (a_out, b_out) = (
        f.state.path().join("a.jsonl"),
        f.state.path().join("b.jsonl"),
    );
    let file = f.tenants_file(vec![
        Tenant::new("a", stdout_json())
            .table("public.t")
            .stdout(&a_out),
        Tenant::new("b", stdout_json())
            .table("public.t")
            .stdout(&b_out),
    ]);
    let r = f.start_tenants(&file, &[]).await;

    // The application: updates, deletes and inserts at random keys, through the backfill.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, url) = (stop.clone(), f.pg.url());
        let mut rng = Rng::from_env("backfill");
        tokio::spawn(async move {
            let client = connect(&url).await;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 200 {
                let id = rng.range(1, rows as u64 + 2_000) as i32;
                let sql = match rng.range(0, 3) {
                    0 => "UPDATE t SET v = v + 1 WHERE id = $1",
                    1 => "DELETE FROM t WHERE id = $1",
                    _ => "INSERT INTO t VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET v = t.v + 1",
                };
                client.execute(sql, &[&id]).await.expect("a write");
                n += 1;
            }
            n
        })
    };
    let config = f.state.path().join("conduit.toml");
    let asked = conduit_command(["backfill", "--config"])
        .arg(&config)
        .args(["--tenant", "a", "--table", "t"])
        .output()
        .await
        .expect("running backfill");
    let said = String::from_utf8_lossy(&asked.stdout);
    assert!(
        asked.status.success() && said.contains("backfill 1 (public.t) started for a"),
        "{said} {}",
        String::from_utf8_lossy(&asked.stderr)
    );
    wait_for_log(&r, "backfill 1 of public.t delivered to a").await;
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.expect("the writer");
    f.exec("INSERT INTO t VALUES (0, 0)").await;
    wait_for_row(&[&a_out, &b_out], 0).await;
    let status = read_status_file(&file.state_dir, &file.slot).expect("a status file");
    r.terminate_ok().await;

    let (a, b) = (output(&a_out), output(&b_out));
    let reads = a.iter().filter(|l| op(l) == "read").count();
    assert!(reads > rows / 2, "{reads} reads");
    assert!(
        b.iter().all(|l| op(l) != "read"),
        "the other tenant only streams"
    );
    assert!(
        b.len() as u64 > writes / 2,
        "b streamed: {} lines for {writes} writes",
        b.len()
    );
    assert_eq!(
        replay(&a),
        table_now(&f.client).await,
        "tenant a's copy is the table ({writes} writes during the backfill)"
    );
    assert!(status.get("backfills").is_none(), "nothing left: {status}");
}

/// `backfill_new_tenants` (the default): a tenant added to the configuration gets the rows of
/// the tables it is granted, and a tenant granted another table gets that table's rows.
#[tokio::test]
async fn a_tenant_added_to_the_configuration_gets_the_rows_it_is_granted() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        .await;
    f.exec("CREATE TABLE other (id int PRIMARY KEY, v int NOT NULL)")
        .await;
    f.exec("INSERT INTO t SELECT g, g FROM generate_series(1, 500) g")
        .await;
    f.exec("INSERT INTO other VALUES (1, 1)").await;
    let (a_out, b_out) = (
        f.state.path().join("a.jsonl"),
        f.state.path().join("b.jsonl"),
    );
    let a = Tenant::new("a", stdout_json())
        .table("public.t")
        .stdout(&a_out);
    let first = f.tenants_file(vec![a.clone()]);
    let r = f.start_tenants(&first, &[]).await;
    f.exec("INSERT INTO t VALUES (501, 501)").await;
    wait_for_row(&[&a_out], 501).await;
    r.terminate_ok().await;

    // b is new; a is granted `other` too.
    let b = Tenant::new("b", stdout_json())
        .table("public.t")
        .filter("v <= 250")
        .stdout(&b_out);
    let a = a.table("public.other");
    let second = f.tenants_file(vec![a, b]);
    let r = f.start_tenants(&second, &[]).await;
    wait_for_log(&r, "of public.t delivered to b").await;
    wait_for_log(&r, "of public.other delivered to a").await;
    f.exec("INSERT INTO t VALUES (1000, 1)").await;
    wait_for_row(&[&a_out, &b_out], 1000).await;
    r.terminate_ok().await;
    let b_lines = output(&b_out);
    let mut read: Vec<i64> = b_lines
        .iter()
        .filter(|l| op(l) == "read")
        .filter_map(row_id)
        .collect();
    read.sort_unstable();
    assert_eq!(
        read,
        (1..=250).collect::<Vec<_>>(),
        "b gets the rows its grant lets it see, of the table it is granted"
    );
    let a_reads: Vec<(String, Option<i64>)> = output(&a_out)
        .iter()
        .filter(|l| op(l) == "read")
        .map(|l| (table(l).to_string(), row_id(l)))
        .collect();
    assert_eq!(
        a_reads,
        vec![("other".to_string(), Some(1))],
        "a gets the table newly granted to it, not the one it had"
    );
}

/// Each mistaken request: one line naming what is wrong and how to fix it, exit 1, and the
/// stream untouched (docs/errors.md, "Backfills").
#[tokio::test]
async fn a_mistaken_backfill_is_one_line() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, v int)").await;
    f.exec("CREATE TABLE secret (id int PRIMARY KEY)").await;
    f.exec("CREATE TABLE nokey (v int)").await;
    f.exec("ALTER TABLE nokey REPLICA IDENTITY FULL").await;
    f.exec(&format!(
        "CREATE PUBLICATION {} FOR TABLE t, secret, nokey",
        f.publication
    ))
    .await;
    f.exec("CREATE TABLE unpublished (id int PRIMARY KEY)")
        .await;
    let file = f.tenants_file(vec![Tenant::new("a", stdout_json())
        .table("public.t")
        .table("public.nokey")]);
    let nowhere = f.state.path().join("nowhere");
    let socket = nowhere.join("control-conduit.sock");
    let no_run = case(
        "backfill: no run",
        [
            "backfill".into(),
            "--state-dir".into(),
            nowhere.clone().into_os_string(),
        ],
        format!(
            "error: no run is listening at {} (No such file or directory (os error 2)): \
             backfills are done by a running `conduit-wasm run`; start it with the same state \
             directory and slot first",
            socket.display()
        ),
    );
    check_table(vec![no_run]).await;

    let r = f.start_tenants(&file, &[]).await;
    let config = f.state.path().join("conduit.toml");
    let ask = |name: &'static str, more: &[&str], line: &str| {
        let mut args = vec![
            "backfill".into(),
            "--config".into(),
            config.clone().into_os_string(),
        ];
        args.extend(more.iter().map(std::ffi::OsString::from));
        case(name, args, format!("error: {line}"))
    };
    check_table(vec![
        ask(
            "backfill: unknown tenant",
            &["--tenant", "nobody"],
            "no tenant \"nobody\" in this run: its tenants are a",
        ),
        ask(
            "backfill: table not published",
            &["--table", "unpublished"],
            "table public.unpublished is not in publication \"conduit_e2e_pub\": only published \
             tables can be backfilled; check the name or add the table to the publication",
        ),
        ask(
            "backfill: table not granted",
            &["--tenant", "a", "--table", "secret"],
            "tenant \"a\" is not granted public.secret: add a grant for it to the tenant's \
             configuration first",
        ),
        ask(
            "backfill: table without a key",
            &["--table", "nokey"],
            "public.nokey has no primary key or replica identity index, so it cannot be read in \
             key ranges: add a primary key (ALTER TABLE \"public\".\"nokey\" ADD PRIMARY KEY (…))",
        ),
        ask(
            "backfill: bad --where",
            &["--table", "t", "--where", "no_such_column > 1"],
            "--where does not fit public.t: column \"no_such_column\" does not exist; give a \
             condition on its columns",
        ),
    ])
    .await;
    let recorded = std::fs::read_to_string(f.state.path().join("state/backfill-conduit_e2e.json"))
        .unwrap_or_default();
    assert!(
        !recorded.contains("\"table\""),
        "nothing was recorded: {recorded}"
    );
    r.terminate_ok().await;
}

/// Applies `lines` of every table: (table, id) → v.
fn replay_tables(lines: &[Value]) -> BTreeMap<(String, i64), i64> {
    let mut out = BTreeMap::new();
    let mut tables: Vec<&str> = lines.iter().map(table).collect();
    tables.sort_unstable();
    tables.dedup();
    for t in tables {
        let mine: Vec<Value> = lines.iter().filter(|l| table(l) == t).cloned().collect();
        for (id, v) in replay(&mine) {
            out.insert((t.to_string(), id), v);
        }
    }
    out
}

async fn tables_now(client: &Client, names: &[&str]) -> BTreeMap<(String, i64), i64> {
    let mut out = BTreeMap::new();
    for name in names {
        for r in client
            .query(&format!("SELECT id::int8, v::int8 FROM {name}"), &[])
            .await
            .expect("reading a table")
        {
            out.insert((name.to_string(), r.get(0)), r.get(1));
        }
    }
    out
}

/// The key test with faults: an initial snapshot of two tables, then a backfill for one tenant,
/// while the application updates (keys too), deletes and inserts at random; the run is killed
/// during the snapshot and again during the backfill, and started again each time. Each tenant's output, applied in order, is its
/// granted view of the tables at the end.
#[tokio::test]
async fn snapshot_and_backfill_under_writes_key_changes_and_a_kill() {
    let f = Fixture::new().await;
    let rows: i64 = 100_000;
    for t in ["t1", "t2"] {
        f.exec(&format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, v int NOT NULL)"
        ))
        .await;
        f.exec(&format!(
            "INSERT INTO {t} SELECT g, 0 FROM generate_series(1, {rows}) g"
        ))
        .await;
    }
    let (a_out, b_out) = (
        f.state.path().join("a.jsonl"),
        f.state.path().join("b.jsonl"),
    );
    let mut file = f.tenants_file(vec![
        Tenant::new("a", stdout_json())
            .table("public.t1")
            .table("public.t2")
            .stdout(&a_out),
        Tenant::new("b", stdout_json())
            .table("public.t1")
            .stdout(&b_out),
    ]);
    file.snapshot = Some("initial".into());

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, url) = (stop.clone(), f.pg.url());
        let mut rng = Rng::from_env("backfill kill");
        tokio::spawn(async move {
            let client = connect(&url).await;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = if rng.range(0, 2) == 0 { "t1" } else { "t2" };
                let id = rng.range(1, rows as u64 + 5_000) as i32;
                let other = rng.range(1, rows as u64 + 5_000) as i32;
                let sql = match rng.range(0, 4) {
                    0 => format!("UPDATE {t} SET v = v + 1 WHERE id = $1 AND $2 > 0"),
                    1 => format!("DELETE FROM {t} WHERE id = $1 AND $2 > 0"),
                    2 => format!("UPDATE {t} SET id = $2, v = v + 1 WHERE id = $1"),
                    _ => format!(
                        "INSERT INTO {t} VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = {t}.v + 1"
                    ),
                };
                // A key change onto an existing key fails, as it would in an application.
                let _ = client.execute(&sql, &[&id, &other]).await;
                n += 1;
            }
            n
        })
    };
    // Killed during the initial snapshot: the next run keeps the slot and completes the
    // tables not done by backfill.
    let config = f.state.path().join("conduit.toml");
    file.write(&config);
    let first = Running::spawn(config_command(&config, &[]));
    eventually(
        "the snapshot under way",
        line_deadline(),
        async || match output(&a_out).len() {
            0 => Err("no line yet"),
            _ => Ok(()),
        },
    )
    .await;
    send_signal(first.pid(), "KILL");
    let killed = first.wait_exit(exit_deadline()).await;
    assert!(
        !killed.stderr.contains("initial snapshot delivered"),
        "killed too late to test the snapshot's resume"
    );
    let jobs = file.state_dir.join("backfill-conduit_e2e.json");
    let r = f.start_tenants(&file, &[]).await;
    assert!(
        r.stderr().contains("completed by backfill"),
        "{}",
        r.stderr()
    );
    eventually(
        "the snapshot's backfills to finish",
        line_deadline(),
        async || {
            let text = std::fs::read_to_string(&jobs).unwrap_or_default();
            if text.contains("\"jobs\": []") {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;

    let asked = conduit_command(["backfill", "--config"])
        .arg(&config)
        .args(["--tenant", "b"])
        .output()
        .await
        .expect("running backfill");
    assert!(asked.status.success(), "{asked:?}");
    // Killed once the first chunk is on disk for b and before the backfill ends.
    eventually(
        "the backfill's first durable chunk",
        line_deadline(),
        async || {
            let text = std::fs::read_to_string(&jobs).unwrap_or_default();
            if text.contains("\"after\": [") {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;
    send_signal(r.pid(), "KILL");
    let killed = r.wait_exit(exit_deadline()).await;
    assert!(
        !killed.stderr.contains("delivered to b"),
        "killed too late to test the resume"
    );

    let r = f.start_tenants(&file, &[]).await;
    wait_for_log(&r, "of public.t1 delivered to b").await;
    assert!(
        r.stderr().contains("starting after key"),
        "resumed, not restarted"
    );
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.expect("the writer");
    f.exec("INSERT INTO t1 VALUES (0, 0)").await;
    wait_for_row(&[&a_out, &b_out], 0).await;
    r.terminate_ok().await;

    let (a, b) = (output(&a_out), output(&b_out));
    let same = |got: BTreeMap<(String, i64), i64>, want: BTreeMap<(String, i64), i64>| {
        let keys: std::collections::BTreeSet<_> = got.keys().chain(want.keys()).collect();
        keys.into_iter()
            .filter(|k| got.get(*k) != want.get(*k))
            .take(10)
            .map(|k| format!("{k:?}: sink {:?}, table {:?}", got.get(k), want.get(k)))
            .collect::<Vec<_>>()
    };
    let a_diff = same(
        replay_tables(&a),
        tables_now(&f.client, &["t1", "t2"]).await,
    );
    assert!(a_diff.is_empty(), "tenant a ({writes} writes): {a_diff:#?}");
    let b_diff = same(replay_tables(&b), tables_now(&f.client, &["t1"]).await);
    assert!(b_diff.is_empty(), "tenant b ({writes} writes): {b_diff:#?}");
}
