//! Many tenants on one slot: routing, projection, independent positions, and the slot held at the
//! least of them.

use std::ffi::OsString;

use conduit_e2e::*;
use serde_json::Value;

fn ids(lines: &[Value]) -> Vec<i64> {
    lines.iter().filter_map(row_id).collect()
}

#[tokio::test]
async fn each_tenant_sees_only_its_rows_and_columns() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE orders (id int PRIMARY KEY, tenant text, region text, amount numeric, secret text);
         ALTER TABLE orders REPLICA IDENTITY FULL;
         CREATE TABLE other (id int PRIMARY KEY)",
    )
    .await;
    let file = f.tenants_file(vec![]);
    let config = format!(
        "{}
[[tenants]]
id = \"acme\"
sink = {sink:?}
[[tenants.grants]]
tables = [\"public.orders\"]
deny_columns = [\"secret\"]
where = \"tenant = 'acme' AND region IN ('eu', 'us')\"
operations = [\"insert\", \"update\", \"delete\"]

[[tenants]]
id = \"everything\"
sink = {sink:?}
[[tenants.grants]]
tables = [\"public.*\"]
",
        file.to_toml(),
        sink = stdout_json().to_string_lossy()
    );
    let path = f.state.path().join("conduit.toml");
    std::fs::write(&path, config).unwrap();
    let mut run = Running::spawn(conduit_command([
        OsString::from("run"),
        "--config".into(),
        path.into(),
        "--log-format".into(),
        "json".into(),
    ]));
    run.wait_streaming(&f.client, &f.slot).await;

    f.exec(
        "INSERT INTO orders VALUES
            (1, 'acme', 'eu', 10.50, 's1'), (2, 'globex', 'eu', 20, 's2'),
            (3, 'acme', 'apac', 30, 's3'), (4, 'acme', 'us', 40, 's4');
         INSERT INTO other VALUES (100)",
    )
    .await;
    f.exec("UPDATE orders SET amount = 11 WHERE id = 1").await;
    // Row 4 leaves acme's rows: acme must see it go (as a delete), not keep a stale copy.
    f.exec("UPDATE orders SET region = 'apac' WHERE id = 4")
        .await;
    f.exec("DELETE FROM orders WHERE id IN (1, 2)").await;
    f.exec("TRUNCATE other").await;

    let acme = run
        .wait_for_tenant_changes("acme", 5, line_deadline())
        .await;
    // everything: 5 inserts, 2 updates, 2 deletes and the truncate of `other`.
    let all = run
        .wait_for_tenant_changes("everything", 10, line_deadline())
        .await;
    assert_eq!(
        all.iter()
            .map(|l| (op(l).to_string(), table(l).to_string()))
            .collect::<Vec<_>>(),
        [
            ("insert", "orders"),
            ("insert", "orders"),
            ("insert", "orders"),
            ("insert", "orders"),
            ("insert", "other"),
            ("update", "orders"),
            ("update", "orders"),
            ("delete", "orders"),
            ("delete", "orders"),
            ("truncate", "other"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        new_row(&all[0])["secret"],
        "s1",
        "the unrestricted tenant sees every column"
    );

    let summary: Vec<(String, i64)> = acme
        .iter()
        .map(|l| (op(l).to_string(), row_id(l).unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("insert", 1),
            ("insert", 4),
            ("update", 1),
            ("delete", 4),
            ("delete", 1)
        ]
        .map(|(o, i)| (o.to_string(), i)),
        "acme: only its rows (tenant = 'acme' in eu/us), row 4 leaving as a delete: {acme:#?}"
    );
    for line in &acme {
        for image in ["new", "old"] {
            if let Some(row) = line[image].as_object() {
                let cols: Vec<&str> = row.keys().map(String::as_str).collect();
                assert_eq!(
                    cols,
                    ["id", "tenant", "region", "amount"],
                    "{image} of {line}"
                );
            }
        }
        assert_eq!(table(line), "orders");
    }
    assert_eq!(new_row(&acme[0])["amount"], "10.50");
    assert_eq!(
        old_row(&acme[2])["amount"],
        "10.50",
        "old rows are projected, not dropped"
    );
    assert!(!ids(&acme).contains(&2) && !ids(&acme).contains(&3));
    run.terminate_ok().await;
}

#[tokio::test]
async fn a_quarantined_tenant_holds_the_slot_and_catches_up_after_a_fix() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    // `filter-reshape` refuses to start without its `table` config: this tenant is quarantined
    // from the start, while `good` streams.
    let broken = Tenant::new("late", sink("filter-reshape")).table("public.t");
    let good = Tenant::new("good", stdout_json()).table("public.t");
    let file = f.tenants_file(vec![broken.clone(), good.clone()]);
    let state_dir = file.state_dir.clone();
    let mut run = f.start_tenants(&file, &[]).await;
    let before = current_lsn(&f.client).await;
    f.exec("INSERT INTO t VALUES (1)").await;
    f.exec("INSERT INTO t VALUES (2)").await;
    let got = run
        .wait_for_tenant_changes("good", 2, line_deadline())
        .await;
    assert_eq!(ids(&got), [1, 2]);
    let late =
        wait_for_tenant_state(&state_dir, &f.slot, "late", "quarantined", line_deadline()).await;
    assert!(
        late["reason"].as_str().unwrap_or("").contains("table"),
        "the reason names the problem: {late}"
    );
    let log = run.log();
    assert!(
        log.iter()
            .any(|l| l.is_tenant("late") && l.is_warning() && l.says_all(&["quarantined"])),
        "a log line names the quarantined tenant:\n{}",
        run.stderr()
    );
    // The slot may not move past what the quarantined tenant accepted (nothing of this run).
    let slot = f.slot_info().await.unwrap().confirmed_flush_lsn.unwrap();
    assert!(
        slot <= before,
        "slot at {slot}, before the inserts {before}"
    );
    let done = run.terminate_quarantined().await;
    assert!(
        log_lines(&done.stderr)
            .iter()
            .any(|l| l.is_tenant("late") && l.says_all(&["quarantined"])),
        "the exit summary lists the quarantined tenant"
    );
    let summary = status_command(&state_dir, &f.slot, false).await;
    assert!(summary.status.success(), "{}", summary.stderr);
    assert!(summary.stdout_text.contains("late") && summary.stdout_text.contains("quarantined"));

    // Fixed: the tenant gets what it missed, from the slot; `good` gets nothing twice.
    let fixed = Tenant::new("late", stdout_json()).table("public.t");
    let file = f.tenants_file(vec![fixed, good]);
    let mut run = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO t VALUES (3)").await;
    let late = run
        .wait_for_tenant_changes("late", 3, line_deadline())
        .await;
    assert_eq!(
        ids(&late),
        [1, 2, 3],
        "the fixed tenant catches up in order"
    );
    let good = run
        .wait_for_tenant_changes("good", 1, line_deadline())
        .await;
    assert_eq!(
        ids(&good),
        [3],
        "the healthy tenant is not sent what it accepted before"
    );
    let done = run.terminate_ok().await;
    assert!(done.status.success());
    let slot = f.slot_info().await.unwrap().confirmed_flush_lsn.unwrap();
    assert!(
        slot > before,
        "with both tenants current, the slot moves on"
    );
}

#[tokio::test]
async fn validate_names_the_tenant_and_the_spot() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE orders (id int PRIMARY KEY, tenant text)")
        .await;
    let path = f.state.path().join("conduit.toml");
    let validate = |where_clause: &str| {
        let file = f.tenants_file(vec![Tenant::new("acme", stdout_json())
            .table("public.orders")
            .filter(where_clause)]);
        file.write(&path);
        Running::spawn(conduit_command([
            OsString::from("validate"),
            "--config".into(),
            path.clone().into(),
        ]))
        .wait_exit(exit_deadline())
    };
    let ok = validate("tenant = 'acme'").await;
    assert!(ok.status.success(), "{}", ok.stderr);
    let bad = validate("tenant = ").await;
    assert!(!bad.status.success());
    let line = bad.stderr.lines().last().unwrap_or("");
    assert!(
        line.contains("\"acme\"") && line.contains("offset"),
        "{line}"
    );
    let bad = validate("tenat = 'acme'").await;
    let line = bad.stderr.lines().last().unwrap_or("");
    assert!(!bad.status.success() && line.contains("tenat"), "{line}");
    let bad = validate("id = 'one'").await;
    let line = bad.stderr.lines().last().unwrap_or("");
    assert!(!bad.status.success() && line.contains("\"id\""), "{line}");
}

#[tokio::test]
async fn a_slow_tenant_does_not_hold_up_the_others() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, pad text)")
        .await;
    // `slow` takes about half a second per batch of 10 changes and may keep only 100 in memory;
    // if its queue held up the stream, `fast` would get the 4000 changes at `slow`'s pace
    // (200 s), far past the deadline below.
    let slow = Tenant::new("slow", sink("hostile"))
        .table("public.t")
        .config("mode", "slow")
        .config("n", "1")
        .config("spin_ms", "500")
        .limit("max_batch", 10)
        .limit("max_queue", 100);
    // Small batches keep each call's output under the runtime's per-call log bound.
    let fast = Tenant::new("fast", stdout_json())
        .table("public.t")
        .limit("max_batch", 50)
        .limit("max_queue", 100);
    let mut file = f.tenants_file(vec![slow, fast.clone()]);
    file.max_wal_lag_mib = Some(1);
    let state_dir = file.state_dir.clone();
    let mut run = f.start_tenants(&file, &[]).await;

    // 400 transactions of 10 rows, ~2.5 MiB of WAL.
    let mut sql = String::new();
    for txn in 0..400 {
        let first = txn * 10 + 1;
        sql += &format!(
            "BEGIN; INSERT INTO t SELECT g, repeat('x', 600) FROM generate_series({first}, {}) g; \
             COMMIT;\n",
            first + 9
        );
    }
    f.exec(&sql).await;
    let last_lsn = current_lsn(&f.client).await;

    let got = run
        .wait_for_tenant_changes("fast", 4000, line_deadline())
        .await;
    assert_eq!(ids(&got), (1..=4000).collect::<Vec<_>>());
    let slow_so_far = tenant_changes(&run.log(), "slow").len();
    assert!(
        slow_so_far < 4000,
        "the slow tenant should still be behind ({slow_so_far} delivered)"
    );
    // It is behind, visibly: its share waits on disk, and the log names it as holding WAL back.
    let what = "the slow tenant to have spilled changes";
    let status = wait_for_status(what, &state_dir, &f.slot, line_deadline(), |s| {
        tenant_status(s, "slow").is_some_and(|t| t["spilled_changes"].as_u64() > Some(0))
    })
    .await;
    let slow_status = tenant_status(&status, "slow").unwrap();
    assert!(
        slow_status["queued_changes"].as_u64() > Some(100),
        "{slow_status}"
    );
    run.wait_for_log("a WAL lag warning naming `slow`", line_deadline(), |log| {
        log.iter()
            .any(|l| l.is_tenant("slow") && l.is_warning() && l.says_all(&["holds back", "WAL"]))
    })
    .await;
    let slot = f.slot_info().await.unwrap().confirmed_flush_lsn.unwrap();
    assert!(
        slot < last_lsn,
        "the slot waits for the slow tenant: at {slot}, the inserts end at {last_lsn}"
    );

    // Stopped and restarted as a fast sink, it gets the rest: nothing lost, nothing twice.
    let done = run.terminate_ok().await;
    let before = tenant_changes(&log_lines(&done.stderr), "slow");
    let spill_dir = state_dir.join("backlog").join(&f.slot);
    assert!(
        !spill_dir.join("slow.jsonl").exists(),
        "the backlog file is removed at exit"
    );
    let recovered = Tenant::new("slow", stdout_json())
        .table("public.t")
        .limit("max_batch", 50);
    let file = f.tenants_file(vec![recovered, fast]);
    let mut run = f.start_tenants(&file, &[]).await;
    let after = run
        .wait_for_tenant_changes("slow", 4000 - before.len(), line_deadline())
        .await;
    let mut all = ids(&before);
    all.extend(ids(&after));
    assert_eq!(
        all,
        (1..=4000).collect::<Vec<_>>(),
        "before the restart: {} changes; after: {}",
        before.len(),
        after.len()
    );
    run.terminate_ok().await;
}
