//! What an operator relies on: `status` tells a live run from a dead one, and a tenant's lag is
//! measured from the slot's real position.

use conduit_e2e::*;

/// `status --config` on a run killed with SIGKILL: says the run is gone and exits non-zero,
/// where it used to print "running" and exit 0.
#[tokio::test]
async fn status_tells_a_killed_run_from_a_live_one() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let file = f.tenants_file(vec![Tenant::new("a", stdout_json()).table("public.t")]);
    let r = f.start_tenants(&file, &[]).await;
    let config = f.state.path().join("conduit.toml");
    let status = |config: std::path::PathBuf| async move {
        Running::spawn(conduit_command([
            std::ffi::OsString::from("status"),
            "--config".into(),
            config.into(),
        ]))
        .wait_exit(exit_deadline())
        .await
    };
    eventually("a status file", line_deadline(), async || {
        read_status_file(&file.state_dir, &file.slot).ok_or("none yet")
    })
    .await;
    let live = status(config.clone()).await;
    assert!(live.status.success(), "{}", live.stderr);
    assert!(
        live.stdout_text.contains(": running (pid"),
        "{}",
        live.stdout_text
    );

    send_signal(r.pid(), "KILL");
    r.wait_exit(exit_deadline()).await;
    let dead = status(config).await;
    assert_eq!(dead.status.code(), Some(1), "{}", dead.stderr);
    assert!(
        dead.stdout_text.contains("NOT RUNNING"),
        "{}",
        dead.stdout_text
    );
    assert!(
        dead.stderr.contains("is not running: process") && dead.stderr.contains("start it again"),
        "{}",
        dead.stderr
    );
}

/// A tenant that has delivered nothing yet lags from the slot's position, not from 0/0 (which
/// counted the server's whole WAL history, tens of MiB on a new cluster, as held back).
#[tokio::test]
async fn a_new_tenant_lags_from_the_slot_not_from_zero() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let wal = current_lsn(&f.client).await;
    assert!(
        wal.0 > 4 << 20,
        "the cluster's WAL is at {wal}: too little to tell"
    );
    let file = f.tenants_file(vec![Tenant::new("a", stdout_json()).table("public.t")]);
    let r = f.start_tenants(&file, &[]).await;
    let status = eventually("a status file", line_deadline(), async || {
        read_status_file(&file.state_dir, &file.slot).ok_or("none yet")
    })
    .await;
    let lag = tenant_status(&status, "a").expect("tenant a")["lag_bytes"]
        .as_u64()
        .expect("lag_bytes");
    assert!(lag < 1 << 20, "lag {lag} bytes with the server at {wal}");
    r.terminate_ok().await;
}

/// With `--log-format json` every line of standard error is a JSON object, the fatal one too.
#[tokio::test]
async fn the_fatal_line_is_json_too() {
    let done = Running::spawn(conduit_command([
        std::ffi::OsString::from("run"),
        stdout_json().into(),
        "--source".into(),
        "not a url".into(),
        "--log-format".into(),
        "json".into(),
    ]))
    .wait_exit(exit_deadline())
    .await;
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    let lines: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    let last: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    assert_eq!(last["level"], "ERROR");
    assert!(
        last["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("error: invalid source URL")),
        "{last}"
    );
}
