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
    let done = run.terminate_ok().await;
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
