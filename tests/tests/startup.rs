//! What `run` does before it streams, and in which order.
//!
//! Compiling a sink takes from a fraction of a second to 20 s and more (a Python sink) the first
//! time. A change committed before the replication slot exists is never delivered, so the slot
//! must exist before the compile starts (issue 14 item 16: a row inserted during a 5 s compile
//! was lost), and a first compile says so in the log instead of leaving a silent pause.

use conduit_e2e::*;

/// The INFO line of a compile that did not find the component in the cache.
fn compiling_line(sink: &std::path::Path) -> String {
    format!(
        "compiling {} for the first time (cached afterwards)",
        sink.display()
    )
}

#[tokio::test]
async fn the_slot_exists_before_the_sink_compiles_and_a_row_written_meanwhile_arrives() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, v text)").await;
    let compiling = compiling_line(&stdout_json());

    // A fresh state directory, so the compile cache is empty; `--snapshot never`, so a row that
    // the slot missed would not come back through a snapshot either.
    let mut c = f.run_config().spawn();
    eventually("the first-compile line", streaming_deadline(), async || {
        let stderr = c.stderr();
        if stderr.contains(&compiling) {
            return Ok(());
        }
        assert!(c.is_running(), "conduit-wasm exited:\n{stderr}");
        Err(stderr)
    })
    .await;
    // The sink is compiling (or has just finished): the slot must already be there, so that
    // what is committed now is kept for the sink.
    let slot = f.slot_info().await;
    assert!(
        slot.is_some(),
        "no replication slot {:?} while the sink compiles: a change committed now would be \
         lost\n{}",
        f.slot,
        c.stderr()
    );
    f.exec("INSERT INTO t VALUES (1, 'written while the sink compiles')")
        .await;
    c.wait_for_line("the row written during the compile", line_deadline(), |l| {
        l["op"] == "insert" && l["new"]["id"] == 1
    })
    .await;

    // The log says it in that order: slot, then compile.
    let stderr = c.stderr();
    let created = stderr
        .find("created replication slot")
        .unwrap_or_else(|| panic!("no 'created replication slot' line:\n{stderr}"));
    let compiled = stderr.find(&compiling).expect("seen above");
    assert!(
        created < compiled,
        "the sink was compiled before the slot was created:\n{stderr}"
    );
    c.terminate_ok().await;

    // The next run loads the compiled sink from the cache and does not say it compiles.
    let c = f.start_conduit().await;
    let done = c.terminate_ok().await;
    assert!(
        !done.stderr.contains("compiling"),
        "a cached sink was compiled again:\n{}",
        done.stderr
    );
}
