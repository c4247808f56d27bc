//! Many tenants on one stream, routed through the index of their row predicates: each receives
//! exactly its rows, in commit order, and rows that move between tenants leave one as a delete
//! and reach the other.

use std::collections::BTreeMap;

use conduit_e2e::*;

/// Tenants `v0` … `v{VALUES-1}`, granted `tenant = k`: with the mixed ones, 205 tenants, more
/// than the 128 sink instances a process could hold before issue 13.
const VALUES: i64 = 200;
const ROWS: i64 = 1_000;

/// A row change as `(id, old tenant, new tenant)` (no old: an insert; no new: a delete).
type RowChange = (i64, Option<i64>, Option<i64>);

/// A tenant of this test: its `where` (none: every row) and the same predicate in Rust, on
/// `(tenant, id)`.
struct Spec {
    id: String,
    filter: Option<String>,
    accepts: Box<dyn Fn(i64, i64) -> bool>,
}

fn specs() -> Vec<Spec> {
    let mut out: Vec<Spec> = (0..VALUES)
        .map(|k| Spec {
            id: format!("v{k}"),
            filter: Some(format!("tenant = {k}")),
            accepts: Box::new(move |t, _| t == k),
        })
        .collect();
    let mut add = |id: &str, filter: Option<&str>, accepts: Box<dyn Fn(i64, i64) -> bool>| {
        out.push(Spec {
            id: id.into(),
            filter: filter.map(String::from),
            accepts,
        })
    };
    add(
        "pair",
        Some("tenant IN (1, 2)"),
        Box::new(|t, _| t == 1 || t == 2),
    );
    add(
        "and",
        Some("tenant = 3 AND id > 500"),
        Box::new(|t, id| t == 3 && id > 500),
    );
    add("ge", Some("tenant >= 97"), Box::new(|t, _| t >= 97));
    add(
        "or",
        Some("tenant = 4 OR id < 10"),
        Box::new(|t, id| t == 4 || id < 10),
    );
    add("all", None, Box::new(|_, _| true));
    out
}

/// What a tenant receives of one row change, as the router's rules say: an insert or update
/// whose new row is its own; an update or delete whose old row was its own (an update that
/// takes the row out of its rows is a delete).
fn routed(
    accepts: &dyn Fn(i64, i64) -> bool,
    id: i64,
    old: Option<i64>,
    new: Option<i64>,
) -> Option<&'static str> {
    let new_in = new.is_some_and(|t| accepts(t, id));
    let old_in = old.is_some_and(|t| accepts(t, id));
    match (old, new) {
        (None, Some(_)) if new_in => Some("insert"),
        (Some(_), Some(_)) if new_in => Some("update"),
        (Some(_), _) if old_in => Some("delete"),
        _ => None,
    }
}

#[tokio::test]
async fn every_tenant_receives_exactly_its_rows_in_order() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE t (id int PRIMARY KEY, tenant int NOT NULL, v text NOT NULL);
         ALTER TABLE t REPLICA IDENTITY FULL",
    )
    .await;
    let specs = specs();
    let out = f.state.path();
    let tenants = specs
        .iter()
        .map(|s| {
            // Delivered into a file, in full (the log keeps only so much of a call's output).
            let t = Tenant::new(&s.id, stdout_json())
                .table("public.t")
                .stdout(out.join(format!("{}.jsonl", s.id)));
            match &s.filter {
                Some(w) => t.filter(w),
                None => t,
            }
        })
        .collect();
    let file = f.tenants_file(tenants);
    let run = f.start_tenants(&file, &[]).await;

    // Four transactions; the state of each row (its tenant) is followed here to know what each
    // tenant must receive of each.
    let statements = [
        format!(
            "INSERT INTO t SELECT g, g % {VALUES}, 'a' FROM generate_series(0, {}) g",
            ROWS - 1
        ),
        // Every seventh row moves to the next tenant.
        format!("UPDATE t SET tenant = (tenant + 1) % {VALUES} WHERE id % 7 = 0"),
        // Stays with its tenant.
        "UPDATE t SET v = 'b' WHERE id % 11 = 0".to_string(),
        "DELETE FROM t WHERE id % 5 = 0".to_string(),
    ];
    let mut rows: BTreeMap<i64, i64> = BTreeMap::new();
    // Per transaction, each row change as (id, old tenant, new tenant).
    let mut txns: Vec<Vec<RowChange>> = Vec::new();
    for (n, sql) in statements.iter().enumerate() {
        f.exec(sql).await;
        let mut changes = Vec::new();
        for id in 0..ROWS {
            let old = rows.get(&id).copied();
            let new = match n {
                0 => Some(id % VALUES),
                1 if id % 7 == 0 => old.map(|t| (t + 1) % VALUES),
                2 if id % 11 == 0 => old,
                3 if id % 5 == 0 => None,
                _ => continue,
            };
            changes.push((id, if n == 0 { None } else { old }, new));
            match new {
                Some(t) => rows.insert(id, t),
                None => rows.remove(&id),
            };
        }
        txns.push(changes);
    }
    wait_all_confirmed(&f.client, &f.slot).await;
    run.terminate_ok().await;

    let mut total = 0;
    for spec in &specs {
        let path = out.join(format!("{}.jsonl", spec.id));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let commits: Vec<Lsn> = lines.iter().map(|l| lsn(l, "commit_lsn")).collect();
        assert!(
            commits.windows(2).all(|w| w[0] <= w[1]),
            "tenant {}: transactions out of commit order: {commits:?}",
            spec.id
        );
        // Grouped by transaction; within one, sorted (the order a statement visits rows in is
        // PostgreSQL's business).
        let mut got: Vec<Vec<(String, i64)>> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if i == 0 || commits[i] != commits[i - 1] {
                got.push(Vec::new());
            }
            let id = row_id(line).unwrap_or_else(|| panic!("no id in {line}"));
            got.last_mut().unwrap().push((op(line).to_string(), id));
        }
        got.iter_mut().for_each(|g| g.sort());
        let expected: Vec<Vec<(String, i64)>> = txns
            .iter()
            .map(|changes| {
                let mut g: Vec<(String, i64)> = changes
                    .iter()
                    .filter_map(|&(id, old, new)| {
                        routed(&*spec.accepts, id, old, new).map(|o| (o.to_string(), id))
                    })
                    .collect();
                g.sort();
                g
            })
            .filter(|g| !g.is_empty())
            .collect();
        assert!(!expected.is_empty(), "tenant {} has rows", spec.id);
        assert_eq!(got, expected, "tenant {} ({:?})", spec.id, spec.filter);
        for line in &lines {
            let image = if op(line) == "delete" { "old" } else { "new" };
            let row = &line[image];
            let (t, id) = (row["tenant"].as_i64(), row["id"].as_i64());
            assert!(
                t.zip(id).is_some_and(|(t, id)| (spec.accepts)(t, id)),
                "tenant {} received a row outside its grant: {line}",
                spec.id
            );
        }
        total += lines.len();
    }
    // 1,000 inserts, 143 + 91 updates, 200 deletes reach "all" alone.
    assert!(total > 2 * 1_434, "{total} changes delivered in all");
}
