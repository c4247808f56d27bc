//! A misbehaving sink (`test-sinks/hostile`) runs as tenant "bad" beside a well-behaved tenant
//! "good" (`stdout-json`) granted the same table, in one `conduit-wasm run --config`. Whatever
//! "bad" does, the process stays up, "good" receives every change in order, and "bad"'s failure is
//! reported with its id and the reason (log and status file) — or, for misbehaviour the sandbox
//! simply makes harmless (files, network, floods of output), "bad" stays active and the harm does
//! not happen.
//!
//! Standard error is read as JSON (`--log-format json`): a sink's stdout/stderr lines are log
//! records with `fields.tenant` and `fields.stream`.

use std::time::{Duration, Instant};

use conduit_e2e::*;

/// Rows inserted, in `TXNS` transactions of equal size, ids 1..=ROWS.
const ROWS: i64 = 30;
const TXNS: i64 = 6;

/// The bad tenant's limits.
const MEMORY_MIB: u64 = 32;
const DEADLINE_MS: u64 = 300;
const MAX_FAILURES: u64 = 3;

/// Containment: a failing tenant is quarantined within MAX_FAILURES × (deadline + backoff) plus
/// this margin (which absorbs delivery, instantiation and the status file's 1 s period).
const BACKOFF_ALLOWANCE: Duration = Duration::from_secs(1);
const CONTAINMENT_MARGIN: Duration = Duration::from_secs(10);
/// Resident memory the process may reach while a tenant with a 32 MiB cap eats memory.
const RSS_LIMIT_MIB: u64 = 500;
/// Standard error the process may write while a tenant writes 8 MiB per call to its stdout.
const STDERR_LIMIT: usize = 1 << 20;

/// What the runtime and the hostile sink say, in one place.
mod says {
    /// The quarantine record (WARN/ERROR, tenant field).
    pub const QUARANTINED: &str = "quarantined";
    /// Reasons (any one, case-insensitive) in the quarantine message and the status file.
    pub const DEADLINE: &[&str] = &["deadline"];
    pub const MEMORY: &[&str] = &["memory"];
    pub const STACK: &[&str] = &["stack"];
    pub const PANIC: &[&str] = &["multiple of 7", "panic", "unreachable"];
    /// The panic message the sink prints on its stderr before it traps.
    pub const PANIC_MESSAGE: &str = "hostile panic-every: row id 7 is a multiple of 7";
    /// The host's warning when a sink writes more than its per-call output budget.
    pub const OUTPUT_DROPPED: &str = "dropped";
    /// What the hostile sink prints (its stderr) when the sandbox refused it.
    pub const OPEN_FAILED: &str = "hostile open-file: opening /etc/passwd failed";
    pub const LIST_FAILED: &str = "hostile open-file: listing / failed";
    pub const NO_ENV: &str = "hostile open-file: 0 environment variables visible";
    pub const CONNECT_FAILED: &str = "hostile connect: connecting to";
    /// What it prints when the sandbox let it through (must never appear).
    pub const BREACHES: &[&str] = &[
        "the host should have denied it",
        "hostile recurse: returned",
    ];
}

fn quarantine_time(max_failures: u64, deadline_ms: u64) -> Duration {
    (Duration::from_millis(deadline_ms) + BACKOFF_ALLOWANCE) * max_failures as u32
        + CONTAINMENT_MARGIN
}

/// The bad tenant with the small limits.
fn bad(mode: &str) -> Tenant {
    Tenant::new("bad", sink("hostile"))
        .config("mode", mode)
        .table("public.events")
        .limit("memory_mib", MEMORY_MIB)
        .limit("call_deadline_ms", DEADLINE_MS)
        .limit("max_failures", MAX_FAILURES)
}

/// A run of "good" and `bad` with ROWS rows inserted, and what "good" printed.
struct Scenario {
    f: Fixture,
    file: TenantsFile,
    r: Running,
    /// When the first row was committed.
    first_commit: Instant,
    /// The commit of the transaction holding each id.
    commits: Vec<(i64, Instant)>,
}

async fn scenario(bad: Tenant, env: &[(&str, &str)]) -> Scenario {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE events (id int PRIMARY KEY, note text)")
        .await;
    let good = Tenant::new("good", stdout_json())
        .table("public.events")
        .limit("memory_mib", MEMORY_MIB)
        .limit("call_deadline_ms", DEADLINE_MS);
    let file = f.tenants_file(vec![good, bad]);
    let r = f.start_tenants(&file, env).await;

    let first_commit = Instant::now();
    let mut commits = Vec::new();
    let per_txn = ROWS / TXNS;
    for t in 0..TXNS {
        let (lo, hi) = (t * per_txn + 1, (t + 1) * per_txn);
        f.exec(&format!(
            "INSERT INTO events SELECT i, 'row ' || i FROM generate_series({lo}, {hi}) i"
        ))
        .await;
        let at = Instant::now();
        commits.extend((lo..=hi).map(|id| (id, at)));
    }
    Scenario {
        f,
        file,
        r,
        first_commit,
        commits,
    }
}

impl Scenario {
    /// Waits for "good" to print ROWS changes and checks they are exactly ids 1..=ROWS, in order,
    /// once each.
    async fn assert_good_gets_everything(&mut self) {
        let lines = self
            .r
            .wait_for_tenant_changes("good", ROWS as usize, line_deadline())
            .await;
        for l in &lines {
            assert_well_formed(l);
            assert_eq!(op(l), "insert", "{}", short(l));
            assert_eq!(table(l), "events", "{}", short(l));
        }
        let ids: Vec<i64> = lines
            .iter()
            .map(|l| row_id(l).unwrap_or_else(|| panic!("no id: {}", short(l))))
            .collect();
        assert_eq!(
            ids,
            (1..=ROWS).collect::<Vec<_>>(),
            "good must get every row once, in order"
        );
        let positions: Vec<(Lsn, u64)> = lines
            .iter()
            .map(|l| (lsn(l, "commit_lsn"), seq(l)))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "(commit_lsn, seq) must increase: {positions:?}"
        );
    }

    /// Waits for the quarantine record of "bad" and checks it names one of `reasons`; returns
    /// the time from `since` to when it was seen.
    async fn assert_quarantined(&mut self, reasons: &[&str], since: Instant) -> Duration {
        let log = self
            .r
            .wait_for_log(
                "tenant bad to be quarantined",
                quarantine_time(MAX_FAILURES, DEADLINE_MS) * 3 + line_deadline(),
                |log| {
                    log.iter().any(|l| {
                        l.is_tenant("bad") && l.is_warning() && l.says_all(&[says::QUARANTINED])
                    })
                },
            )
            .await;
        let took = since.elapsed();
        let line = log
            .iter()
            .find(|l| l.is_tenant("bad") && l.is_warning() && l.says_all(&[says::QUARANTINED]))
            .expect("just seen");
        assert!(
            reasons.iter().any(|r| line.says_all(&[r])),
            "the quarantine record should give the reason (one of {reasons:?}): {}",
            line.raw
        );
        assert!(
            !log.iter()
                .any(|l| l.is_tenant("good") && l.says_all(&[says::QUARANTINED])),
            "good must not be quarantined:\n{}",
            self.r.stderr()
        );

        let status = self.file.wait_for_tenant_state("bad", "quarantined").await;
        let reason = status
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        assert!(
            reasons.iter().any(|r| reason.contains(&r.to_lowercase())),
            "status file reason should be one of {reasons:?}: {status}"
        );
        self.assert_status("good", "active").await;

        // `conduit-wasm status` shows it too.
        let shown = status_command(&self.file.state_dir, &self.file.slot, false).await;
        assert!(shown.status.success(), "status failed: {}", shown.stderr);
        assert!(
            shown
                .stdout_text
                .lines()
                .chain(shown.stderr.lines())
                .any(|l| l.contains("bad") && l.contains("quarantined")),
            "`conduit-wasm status` should list bad as quarantined:\n{}\n{}",
            shown.stdout_text,
            shown.stderr
        );
        took
    }

    async fn assert_status(&self, id: &str, state: &str) {
        self.file.wait_for_tenant_state(id, state).await;
    }

    /// The ids "bad" printed on its stdout.
    fn bad_ids(&self) -> Vec<i64> {
        tenant_changes(&self.r.log(), "bad")
            .iter()
            .filter_map(row_id)
            .collect()
    }

    /// Checks the process is up and never printed a sandbox breach, sends SIGTERM, and checks it
    /// exits without panicking and that the exit summary names the tenants (and, when
    /// `quarantined`, bad's quarantine).
    async fn finish(mut self, quarantined: bool) -> Finished {
        assert!(
            self.r.is_running(),
            "conduit-wasm must stay up:\n{}",
            self.r.stderr()
        );
        let stderr = self.r.stderr();
        for breach in says::BREACHES {
            assert!(
                !stderr.contains(breach),
                "the sandbox let the sink through ({breach:?}):\n{stderr}"
            );
        }
        let before = stderr.len();
        let done = self.r.terminate(exit_deadline()).await;
        // The host's own panic would be a plain-text line; a sink's panic message is a JSON log
        // record of its stderr.
        assert!(
            !log_lines(&done.stderr)
                .iter()
                .any(|l| l.level.is_empty() && l.message.contains("panicked at")),
            "conduit-wasm panicked:\n{}",
            done.stderr
        );
        let summary = log_lines(&done.stderr[before.min(done.stderr.len())..]);
        for id in ["good", "bad"] {
            assert!(
                summary.iter().any(|l| l.is_tenant(id)),
                "the exit summary should name tenant {id} (exit {}):\n{}",
                done.status,
                done.stderr
            );
        }
        if quarantined {
            assert!(
                summary
                    .iter()
                    .any(|l| l.is_tenant("bad") && l.says_all(&[says::QUARANTINED])),
                "the exit summary should list bad as quarantined (exit {}):\n{}",
                done.status,
                done.stderr
            );
        }
        // A run that ends with a tenant quarantined says so with its exit code (3), else exits 0.
        let code = if quarantined { 3 } else { 0 };
        assert_eq!(
            done.status.code(),
            Some(code),
            "exit code with bad {}quarantined:\n{}",
            if quarantined { "" } else { "not " },
            done.stderr
        );
        eprintln!("conduit-wasm exited with {}", done.status);
        drop(self.f);
        done
    }
}

#[tokio::test]
async fn infinite_loop_is_stopped_by_the_deadline() {
    let mut s = scenario(bad("loop"), &[]).await;
    s.assert_good_gets_everything().await;
    let took = s.assert_quarantined(says::DEADLINE, s.first_commit).await;
    let bound = quarantine_time(MAX_FAILURES, DEADLINE_MS);
    eprintln!("loop: quarantined {took:?} after the first commit (bound {bound:?})");
    assert!(
        took <= bound,
        "quarantine took {took:?}, more than {bound:?}"
    );
    assert!(s.bad_ids().is_empty(), "bad never finished a call");
    s.finish(true).await;
}

#[tokio::test]
async fn slow_batch_is_stopped_by_the_deadline() {
    let n = 10;
    let mut s = scenario(
        bad("slow")
            .config("n", n.to_string())
            .config("spin_ms", "60000"),
        &[],
    )
    .await;
    s.assert_good_gets_everything().await;
    let since = s
        .commits
        .iter()
        .find(|(id, _)| id % n == 0)
        .map(|(_, at)| *at)
        .expect("a row id divisible by n");
    let took = s.assert_quarantined(says::DEADLINE, since).await;
    let bound = quarantine_time(MAX_FAILURES, DEADLINE_MS);
    eprintln!("slow: quarantined {took:?} after the slow row's commit (bound {bound:?})");
    assert!(
        took <= bound,
        "quarantine took {took:?}, more than {bound:?}"
    );
    let bad_ids = s.bad_ids();
    assert!(
        bad_ids.iter().all(|id| *id < n),
        "bad must get nothing from the slow batch on: {bad_ids:?}"
    );
    s.finish(true).await;
}

#[tokio::test]
async fn memory_hog_is_stopped_by_the_memory_cap() {
    let mut s = scenario(bad("grow"), &[]).await;
    let pid = s.r.pid();
    let rss = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let rss = rss.clone();
        tokio::spawn(async move {
            while let Some(kib) = vm_rss_kib(pid) {
                rss.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    s.assert_good_gets_everything().await;
    let took = s.assert_quarantined(says::MEMORY, s.first_commit).await;
    eprintln!("grow: quarantined {took:?} after the first commit");
    let peak_mib = rss.load(std::sync::atomic::Ordering::Relaxed) / 1024;
    eprintln!("grow: peak VmRSS {peak_mib} MiB");
    assert!(
        peak_mib > 0 && peak_mib < RSS_LIMIT_MIB,
        "resident memory peaked at {peak_mib} MiB (limit {RSS_LIMIT_MIB} MiB)"
    );
    s.finish(true).await;
    sampler.abort();
}

#[tokio::test]
async fn unbounded_recursion_is_stopped_by_the_stack_limit() {
    let mut s = scenario(bad("recurse"), &[]).await;
    s.assert_good_gets_everything().await;
    let took = s.assert_quarantined(says::STACK, s.first_commit).await;
    eprintln!("recurse: quarantined {took:?} after the first commit");
    s.finish(true).await;
}

#[tokio::test]
async fn deterministic_panic_quarantines_the_tenant() {
    // The batch holding row 7 panics on every attempt (the decision is by row, so a fresh
    // instance panics again): it is a poison batch, and retrying forever would hold the slot and
    // burn CPU. Right: retry max_failures times, then quarantine with the reason, deliver nothing
    // to bad from that batch on, and leave good alone.
    let mut s = scenario(bad("panic-every").config("n", "7"), &[]).await;
    s.assert_good_gets_everything().await;
    let since = s.commits[6].1;
    let took = s.assert_quarantined(says::PANIC, since).await;
    eprintln!("panic-every: quarantined {took:?} after row 7's commit");
    let log = s.r.log();
    assert!(
        log.iter()
            .any(|l| l.is_output_of("bad", "stderr") && l.message.contains(says::PANIC_MESSAGE)),
        "bad's panic message should be in the log, tagged with the tenant:\n{}",
        s.r.stderr()
    );
    let bad_ids = s.bad_ids();
    assert!(
        bad_ids.iter().all(|id| *id < 7),
        "bad must get nothing from the poison batch on: {bad_ids:?}"
    );
    s.finish(true).await;
}

#[tokio::test]
async fn reading_files_and_environment_is_refused() {
    let canary = format!("canary-{}-{:?}", std::process::id(), Instant::now());
    let mut s = scenario(bad("open-file"), &[("CONDUIT_E2E_CANARY", canary.as_str())]).await;
    s.assert_good_gets_everything().await;
    let log =
        s.r.wait_for_log("bad to report its refused open", line_deadline(), |log| {
            log.iter()
                .any(|l| l.is_output_of("bad", "stderr") && l.message.contains(says::OPEN_FAILED))
        })
        .await;
    for expected in [says::LIST_FAILED, says::NO_ENV] {
        assert!(
            log.iter()
                .any(|l| l.is_output_of("bad", "stderr") && l.message.contains(expected)),
            "bad should report {expected:?}:\n{}",
            s.r.stderr()
        );
    }
    s.assert_status("bad", "active").await;

    let stderr = s.r.stderr();
    let stdout =
        s.r.lines.iter().map(|l| l.to_string()).collect::<String>() + &s.r.non_json.join("\n");
    let passwd = std::fs::read_to_string("/etc/passwd").expect("reading /etc/passwd");
    for line in passwd.lines().filter(|l| l.len() >= 8) {
        assert!(
            !stderr.contains(line) && !stdout.contains(line),
            "a line of /etc/passwd leaked into the output: {line:?}"
        );
    }
    assert!(
        !stderr.contains(&canary) && !stdout.contains(&canary),
        "the process environment leaked into the sink"
    );
    s.finish(false).await;
}

#[tokio::test]
async fn connecting_to_an_address_not_granted_is_refused() {
    // bad may connect somewhere else, just not to the listener.
    connect_where_not_granted(Some(format!("127.0.0.1:{}", unused_port()))).await;
}

#[tokio::test]
async fn connecting_without_the_network_capability_is_refused() {
    connect_where_not_granted(None).await;
}

async fn connect_where_not_granted(granted: Option<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let target = listener.local_addr().expect("listener address");
    let mut bad = bad("connect").config("addr", target.to_string());
    if let Some(addr) = granted {
        bad = bad.tcp(addr);
    }
    let mut s = scenario(bad, &[]).await;
    s.assert_good_gets_everything().await;
    s.r.wait_for_log("bad's connection error", line_deadline(), |log| {
        log.iter()
            .any(|l| l.is_output_of("bad", "stderr") && l.message.contains(says::CONNECT_FAILED))
    })
    .await;
    s.assert_status("bad", "active").await;
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener the sink was denied got a connection: {other:?}"),
    }
    let done = s.finish(false).await;
    // Last, so that everything else has been checked when it fails: the operator is told.
    let port = target.port().to_string();
    assert_net_denial_logged(&done.stderr, &port, "bad");
}

#[tokio::test]
async fn output_flood_is_truncated_not_fatal() {
    let mut s = scenario(bad("flood"), &[]).await;
    s.assert_good_gets_everything().await;
    let log =
        s.r.wait_for_log(
            "the host to drop bad's excess output",
            line_deadline(),
            |log| {
                log.iter().any(|l| {
                    l.is_tenant("bad") && l.is_warning() && l.says_all(&[says::OUTPUT_DROPPED])
                })
            },
        )
        .await;
    // bad gets every row too: its calls return Ok however much it writes.
    s.assert_status("bad", "active").await;
    let delivered = wait_for_delivered(&s, "bad", ROWS as u64).await;
    eprintln!("flood: bad delivered {delivered} changes");
    assert!(
        !log.iter()
            .any(|l| l.is_tenant("bad") && l.says_all(&[says::QUARANTINED])),
        "a flood of output must not quarantine the tenant:\n{}",
        s.r.stderr()
    );
    let total = s.r.stderr_len();
    eprintln!("flood: {total} bytes on stderr");
    assert!(
        total < STDERR_LIMIT,
        "the host log received {total} bytes (limit {STDERR_LIMIT})"
    );
    s.finish(false).await;
}

/// Waits until the status file says tenant `id` delivered at least `n` changes.
async fn wait_for_delivered(s: &Scenario, id: &str, n: u64) -> u64 {
    let what = format!("tenant {id} to deliver {n} changes");
    eventually(&what, line_deadline(), async || {
        let delivered = read_status_file(&s.file.state_dir, &s.file.slot)
            .and_then(|st| {
                tenant_status(&st, id)
                    .and_then(|t| t.get("delivered_changes"))
                    .and_then(Value::as_u64)
            })
            .unwrap_or(0);
        if delivered >= n {
            Ok(delivered)
        } else {
            Err(format!("{delivered} delivered"))
        }
    })
    .await
}
