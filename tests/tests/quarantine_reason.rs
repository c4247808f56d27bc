//! Why a tenant was quarantined, as the operator reads it: a sink that panics is quarantined with
//! its own panic message as the reason (status file and log), not the runtime's trap alone nor the
//! `note: run with RUST_BACKTRACE=1` hint Rust prints after every panic.

use conduit_e2e::*;

/// What `test-sinks/hostile` in mode `panic-every` with `n = 5` panics with at row 5.
const PANIC_MESSAGE: &str = "row id 5 is a multiple of 5";

#[tokio::test]
async fn a_panicking_sink_is_quarantined_with_its_panic_message() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE events (id int PRIMARY KEY)").await;
    let bad = Tenant::new("bad", sink("hostile"))
        .config("mode", "panic-every")
        .config("n", "5")
        .table("public.events")
        .limit("max_failures", 2);
    let file = f.tenants_file(vec![bad]);
    let run = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO events SELECT generate_series(1, 10)")
        .await;

    let bad = wait_for_tenant_state(
        &file.state_dir,
        &f.slot,
        "bad",
        "quarantined",
        line_deadline(),
    )
    .await;
    let reason = bad["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(PANIC_MESSAGE),
        "the status file's reason should carry the sink's panic message: {bad}"
    );
    assert!(
        !reason.contains("RUST_BACKTRACE"),
        "not the backtrace hint: {bad}"
    );
    let log = run.log();
    assert!(
        log.iter().any(|l| l.is_tenant("bad")
            && l.is_warning()
            && l.says_all(&["quarantined", PANIC_MESSAGE])),
        "the quarantine record should carry the panic message:\n{}",
        run.stderr()
    );
    run.terminate_quarantined().await;
}
