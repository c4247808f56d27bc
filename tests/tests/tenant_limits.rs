//! A tenant that cannot start beside healthy ones (named, the run exits 3), and one memory budget
//! for all tenants' queues. (More tenants than a process used to hold: `many_tenants.rs`.)

use std::path::{Path, PathBuf};

use conduit_e2e::*;
use serde_json::Value;

fn out_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.jsonl"))
}

/// The row ids of the changes in a tenant's output file (empty when it does not exist yet).
fn delivered(file: &Path) -> Vec<i64> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter_map(|l| row_id(&l))
        .collect()
}

fn status(f: &Fixture) -> Value {
    let path = f
        .state
        .path()
        .join("state")
        .join(format!("status-{}.json", f.slot));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("reading {}: {e}", path.display());
    }))
    .expect("status JSON")
}

#[tokio::test]
async fn a_tenant_that_cannot_start_is_named_and_the_run_exits_non_zero() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE items (id bigint PRIMARY KEY, owner bigint, v text)")
        .await;
    let out = f.state.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let healthy = ["h1", "h2"].map(|id| {
        Tenant::new(id, stdout_json())
            .table("public.items")
            .stdout(out_file(&out, id))
    });
    // The hostile sink without its `mode`: its connect rejects the configuration.
    let broken = Tenant::new("broken", sink("hostile")).table("public.items");
    let mut tenants = healthy.to_vec();
    tenants.push(broken);
    let file = f.tenants_file(tenants);
    let run = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO items SELECT i, 0, 'v' FROM generate_series(1, 500) i")
        .await;
    for id in ["h1", "h2"] {
        eventually(
            "the healthy tenants to get every row",
            line_deadline(),
            async || {
                let n = delivered(&out_file(&out, id)).len();
                if n == 500 {
                    Ok(())
                } else {
                    Err(format!("{id}: {n} of 500"))
                }
            },
        )
        .await;
    }
    let finished = run.terminate(exit_deadline()).await;
    let log = log_lines(&finished.stderr);
    assert!(
        log.iter()
            .any(|l| l.is_tenant("broken") && l.says_all(&["quarantined", "mode"])),
        "an error line should name the tenant and its sink's reason:\n{}",
        finished.stderr
    );
    assert_eq!(
        finished.status.code(),
        Some(3),
        "a run that ends with a quarantined tenant exits 3:\n{}",
        finished.stderr
    );
    let last = finished
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(
        last.contains("1 of 3 tenants ended quarantined (\\\"broken\\\")")
            || last.contains("1 of 3 tenants ended quarantined (\"broken\")"),
        "the last line should say so, naming the tenant: {last}"
    );
}

#[tokio::test]
async fn all_queues_together_stay_within_their_memory_budget() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE items (id bigint PRIMARY KEY, owner bigint, v text)")
        .await;
    const N: usize = 20;
    let out = f.state.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // Small batches into fsynced files: the sinks are slower than the stream, so queues build.
    let tenants = (0..N)
        .map(|k| {
            let id = format!("t{k}");
            Tenant::new(&id, stdout_json())
                .table("public.items")
                .filter(format!("owner = {k}"))
                .limit("max_batch", 20)
                .stdout(out_file(&out, &id))
        })
        .collect();
    let mut file = f.tenants_file(tenants);
    file.extra = "queue_memory_mib = 1".into();
    let run = f.start_tenants(&file, &[]).await;
    // One transaction of 60,000 rows of ~200 bytes: 3,000 per tenant, about 12 MiB queued in all
    // if nothing bounded the sum.
    f.exec(&format!(
        "INSERT INTO items SELECT i, i % {N}, repeat('x', 200) FROM generate_series(0, 59999) i"
    ))
    .await;
    for k in 0..N {
        let id = format!("t{k}");
        eventually(
            "every tenant to get its rows",
            line_deadline(),
            async || {
                let n = delivered(&out_file(&out, &id)).len();
                if n == 3_000 {
                    Ok(())
                } else {
                    Err(format!("{id}: {n} of 3000"))
                }
            },
        )
        .await;
    }
    let memory = eventually(
        "the status file to show the queues' memory",
        line_deadline(),
        async || {
            let s = status(&f);
            match s.get("queue_memory") {
                Some(m) if m["used"] == 0 => Ok(m.clone()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let (peak, limit) = (
        memory["peak"].as_u64().unwrap(),
        memory["limit"].as_u64().unwrap(),
    );
    assert_eq!(limit, 1 << 20);
    // A tenant's share of a part larger than one call is queued in slices of one call (20
    // changes of ~0.6 KiB): the budget is overshot by at most the slice that crossed it and the
    // one each tenant refills while over it. Without the budget the peak was the whole
    // transaction's 60,000 changes' worth in the queues (measured: 22.3 MiB, 22 times the budget).
    let slack = N as u64 * 2 * 20 * 700;
    assert!(
        peak <= limit + slack,
        "peak {peak} bytes, budget {limit}: all queues together must stay near the budget"
    );
    assert!(
        peak >= limit / 2,
        "the queues should have filled the budget: peak {peak}"
    );
    run.terminate_ok().await;
}
