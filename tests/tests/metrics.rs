//! Metrics and health (`--metrics-addr`): scrapes taken during real runs and parsed as
//! Prometheus parses them; counters against what the sinks printed, lag back to 0 once caught
//! up, reconnects after the walsender is terminated, quarantine and stalls as gauges and
//! readiness, heartbeats, `conduit-wasm top`, the Grafana dashboard's metric names, and a real
//! Prometheus server scraping a run.

use std::collections::BTreeSet;
use std::path::Path;

use conduit_e2e::*;

fn local_addr() -> String {
    format!("127.0.0.1:{}", unused_port())
}

/// A tenant's counters equal what its sink printed, also across a reconnect; a quarantined
/// tenant is 1; lag returns to 0; /healthz and /readyz are ok; `top --once` shows both tenants;
/// and every metric the dashboard queries is in the scrape.
#[tokio::test]
async fn metrics_follow_a_run() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let addr = local_addr();
    let mut file = f.tenants_file(vec![
        Tenant::new("a", stdout_json()).table("public.t"),
        Tenant::new("q", sink("hostile"))
            .config("mode", "panic-every")
            .config("n", "5")
            .table("public.t")
            .limit("max_failures", 2),
    ]);
    file.extra = format!("metrics_addr = {addr:?}");
    let mut r = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO t SELECT generate_series(1, 10)").await;
    f.exec("INSERT INTO t SELECT generate_series(11, 20)").await;
    let printed = r.wait_for_tenant_changes("a", 20, line_deadline()).await;
    let s = wait_for_metrics(
        &r,
        &addr,
        "counters and lag of a caught-up run",
        line_deadline(),
        |s| {
            let seen = (
                metric(s, "conduit_tenant_delivered_changes_total", Some("a")),
                metric(s, "conduit_tenant_quarantined", Some("q")),
                metric(s, "conduit_tenant_lag_seconds", Some("a")),
                metric(s, "conduit_tenant_queued_changes", Some("a")),
            );
            if seen == (Some(printed.len() as f64), Some(1.0), Some(0.0), Some(0.0)) {
                Ok(s.clone())
            } else {
                Err(format!(
                    "(delivered a, quarantined q, lag seconds a, queued a) = {seen:?}"
                ))
            }
        },
    )
    .await;
    assert_eq!(
        metric(&s, "conduit_tenant_quarantined", Some("a")),
        Some(0.0)
    );
    assert_eq!(metric(&s, "conduit_tenant_stalled", Some("a")), Some(0.0));
    assert!(metric(&s, "conduit_tenant_call_failures_total", Some("q")) >= Some(1.0));
    assert!(metric(&s, "conduit_tenant_delivered_batches_total", Some("a")) >= Some(1.0));
    assert!(metric(&s, "conduit_source_transactions_total", None) >= Some(2.0));
    assert!(metric(&s, "conduit_source_received_bytes_total", None) > Some(0.0));
    assert_eq!(metric(&s, "conduit_source_streaming", None), Some(1.0));
    assert_eq!(
        metric(&s, "conduit_source_reconnects_total", None),
        Some(0.0)
    );
    for path in ["/healthz", "/readyz"] {
        let (code, body) = http_get(&addr, path).await.unwrap();
        assert_eq!((code, body.as_str()), (200, "ok\n"), "{path}");
    }
    dashboard_names_exist(&s);

    let top = Running::spawn(conduit_command(["top", "--once", "--metrics-addr", &addr]))
        .wait_exit(exit_deadline())
        .await;
    assert!(top.status.success(), "{}", top.stderr);
    let rows: Vec<&str> = top.stdout_text.lines().collect();
    assert!(
        rows.iter()
            .any(|l| l.starts_with("a ") && l.contains("active"))
            && rows
                .iter()
                .any(|l| l.starts_with("q ") && l.contains("quarantined")),
        "top --once should list both tenants:\n{}",
        top.stdout_text
    );

    // The walsender goes away: one reconnect, and the counters still match the sink's output
    // (changes delivered again after the reconnect are counted again, as the sink saw them).
    let terminated = f
        .query_value(&format!(
            "SELECT pg_terminate_backend(active_pid)::text FROM pg_replication_slots \
             WHERE slot_name = '{}'",
            f.slot
        ))
        .await;
    assert_eq!(terminated, "true");
    wait_for_metrics(
        &r,
        &addr,
        "one reconnect",
        line_deadline(),
        |s| match metric(s, "conduit_source_reconnects_total", None) {
            Some(n) if n >= 1.0 => Ok(()),
            other => Err(format!("reconnects {other:?}")),
        },
    )
    .await;
    r.wait_streaming(&f.client, &f.slot).await;
    f.exec("INSERT INTO t SELECT generate_series(21, 30)").await;
    let printed = r.wait_for_tenant_changes("a", 30, line_deadline()).await;
    wait_for_metrics(
        &r,
        &addr,
        "counters after the reconnect",
        line_deadline(),
        |s| {
            let n = metric(s, "conduit_tenant_delivered_changes_total", Some("a"));
            let printed = tenant_changes(&r.log(), "a").len().max(printed.len()) as f64;
            if n == Some(printed) {
                Ok(())
            } else {
                Err(format!("delivered {n:?}, the sink printed {printed}"))
            }
        },
    )
    .await;
    // Tenant `q` ended quarantined: the run says so with exit code 3.
    r.terminate_quarantined().await;
}

/// Every `conduit_…` name the Grafana dashboard's queries use is in a real scrape.
fn dashboard_names_exist(scrape: &prometheus_parse::Scrape) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/grafana/conduit-wasm.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(
        exprs.len() >= 5,
        "the dashboard should have queries: {exprs:?}"
    );
    let have = metric_names(scrape);
    let mut missing = BTreeSet::new();
    for expr in &exprs {
        for name in metric_names_in(expr) {
            if !have.contains(&name) {
                missing.insert(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics a scrape does not have: {missing:?}\nscrape has: {have:?}"
    );
}

fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    // Panels' queries, and the template variables' (`label_values(…)`).
                    ("expr" | "query", Value::String(e)) => out.push(e.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// The metric names in a PromQL expression: words starting with `conduit_`.
fn metric_names_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("conduit_") {
        let word: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + word.len()..];
        names.push(word);
    }
    names
}

/// A `slow` tenant stuck in a call past the stall timeout: /readyz fails naming it, the
/// stalled gauge is 1, its lag in seconds grows, an ERROR names it; all recover after, and its
/// lag returns to 0 (seconds and bytes) once it caught up.
#[tokio::test]
async fn readiness_fails_while_a_tenant_is_stalled() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let addr = local_addr();
    let mut file = f.tenants_file(vec![
        Tenant::new("slow", sink("hostile"))
            .config("mode", "slow")
            .config("n", "10")
            .config("spin_ms", "5000")
            .table("public.t")
            .limit("call_deadline_ms", 120_000),
        Tenant::new("b", stdout_json()).table("public.t"),
    ]);
    file.extra = format!("metrics_addr = {addr:?}\nstall_timeout = 1");
    let mut r = f.start_tenants(&file, &[]).await;
    eventually("ready", line_deadline(), async || {
        match http_get(&addr, "/readyz").await {
            Ok((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    f.exec("INSERT INTO t VALUES (10)").await;
    let body = eventually("/readyz failing", line_deadline(), async || match http_get(
        &addr, "/readyz",
    )
    .await
    {
        Ok((503, body)) => Ok(body),
        other => Err(format!("{other:?}\nstderr:\n{}", r.stderr())),
    })
    .await;
    assert!(body.contains("stalled tenants: slow"), "{body}");
    let s = scrape(&addr).await.unwrap();
    assert_eq!(
        metric(&s, "conduit_tenant_stalled", Some("slow")),
        Some(1.0)
    );
    assert_eq!(metric(&s, "conduit_tenant_stalled", Some("b")), Some(0.0));
    assert!(metric(&s, "conduit_tenant_lag_seconds", Some("slow")) > Some(0.0));
    assert!(
        r.log()
            .iter()
            .any(|l| l.level == "ERROR" && l.is_tenant("slow") && l.says_all(&["tenant stalled"])),
        "an ERROR line should name the stalled tenant:\n{}",
        r.stderr()
    );

    eventually(
        "/readyz ok again",
        line_deadline(),
        async || match http_get(&addr, "/readyz").await {
            Ok((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    r.wait_for_tenant_changes("slow", 1, line_deadline()).await;
    wait_for_metrics(
        &r,
        &addr,
        "the slow tenant caught up",
        line_deadline(),
        |s| {
            let seen = ["stalled", "lag_seconds", "lag_bytes"]
                .map(|m| metric(s, &format!("conduit_tenant_{m}"), Some("slow")));
            if seen == [Some(0.0); 3] {
                Ok(())
            } else {
                Err(format!("(stalled, lag seconds, lag bytes) = {seen:?}"))
            }
        },
    )
    .await;
    r.terminate_ok().await;
}

/// With `--heartbeat 1` and idle tables, the slot still advances and the tenant's lag in
/// seconds measures the heartbeats' age: above 0, below a few seconds; the sink sees nothing.
#[tokio::test]
async fn heartbeats_measure_lag_while_tables_are_idle() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let addr = local_addr();
    let r = f
        .start(
            f.run_config()
                .arg("--metrics-addr")
                .arg(&addr)
                .arg("--heartbeat")
                .arg("1"),
        )
        .await;
    let start = current_lsn(&f.client).await;
    wait_for_slot(
        &f.client,
        &f.slot,
        "the slot past heartbeats",
        line_deadline(),
        |i| {
            i.and_then(|i| i.confirmed_flush_lsn)
                .is_some_and(|l| l > start)
        },
    )
    .await;
    wait_for_metrics(
        &r,
        &addr,
        "lag seconds from heartbeats",
        line_deadline(),
        |s| match metric(s, "conduit_tenant_lag_seconds", Some("default")) {
            Some(v) if v > 0.0 && v < 10.0 => Ok(()),
            other => Err(format!("lag seconds {other:?}")),
        },
    )
    .await;
    let done = r.terminate_ok().await;
    assert!(
        done.lines.is_empty(),
        "heartbeats are not changes: {:?}",
        done.lines
    );
}

/// The initial snapshot's figures stay after it: every row read, every table done.
#[tokio::test]
async fn snapshot_progress_is_kept_after_the_snapshot() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    f.exec("INSERT INTO t SELECT generate_series(1, 100)").await;
    let addr = local_addr();
    let cfg = f
        .run_config()
        .snapshot(Some("initial"))
        .arg("--metrics-addr")
        .arg(&addr);
    let mut r = f.start(cfg).await;
    r.wait_for_lines(100, line_deadline()).await;
    wait_for_metrics(&r, &addr, "the snapshot's figures", line_deadline(), |s| {
        let seen = ["running", "rows_read", "tables_done", "tables_total"]
            .map(|m| metric(s, &format!("conduit_snapshot_{m}"), None));
        if seen == [Some(0.0), Some(100.0), Some(1.0), Some(1.0)] {
            Ok(())
        } else {
            Err(format!(
                "(running, rows read, tables done, tables total) = {seen:?}"
            ))
        }
    })
    .await;
    r.terminate_ok().await;
}

/// A real Prometheus server scrapes a run and answers a query for the tenant lag metric.
#[tokio::test]
async fn prometheus_scrapes_a_run() {
    let prometheus = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect(
            "the prometheus binary is missing: apt-get install prometheus (.ci/run installs it)",
        );
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let addr = local_addr();
    let r = f
        .start(f.run_config().arg("--metrics-addr").arg(&addr))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: conduit\n    \
             static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let web = local_addr();
    let mut server = tokio::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting prometheus");
    f.exec("INSERT INTO t VALUES (1)").await;
    let answer = eventually(
        "Prometheus has the tenant lag",
        line_deadline(),
        async || {
            let (code, body) =
                http_get(&web, "/api/v1/query?query=conduit_tenant_lag_bytes").await?;
            let v: Value =
                serde_json::from_str(&body).map_err(|e| format!("{code} {e}: {body}"))?;
            let result = &v["data"]["result"];
            match result.as_array() {
                Some(rows) if rows.iter().any(|row| row["metric"]["tenant"] == "default") => Ok(v),
                _ => Err(format!("{code}: {body}")),
            }
        },
    )
    .await;
    assert_eq!(answer["status"], "success", "{answer}");
    server.kill().await.ok();
    r.terminate_ok().await;
}
