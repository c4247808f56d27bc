//! Partitioned tables: whose name a change carries, what an update that moves a row to another
//! partition looks like, and grants on the partitioned table.
//!
//! A publication `run` creates publishes via the partition root (`publish_via_partition_root`,
//! `--publish-via-partition-root`, default true): every change of a partition carries the root's
//! name, partitions created later are covered, and a sink sees one table as the application
//! does. With it off, changes carry each partition's name, and a grant on the root still covers
//! them.

use conduit_e2e::*;

/// `orders`, partitioned by region into `orders_eu` and `orders_us`.
const SCHEMA: &str =
    "CREATE TABLE orders (id int, region text, amount int, PRIMARY KEY (id, region))
                          PARTITION BY LIST (region);
                      CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
                      CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');";

/// Inserts into both partitions, updates a row in place, moves row 1 from `eu` to `us`, and
/// deletes row 2.
const CHANGES: [&str; 4] = [
    "INSERT INTO orders VALUES (1, 'eu', 10), (2, 'us', 20)",
    "UPDATE orders SET amount = 11 WHERE id = 1",
    "UPDATE orders SET region = 'us' WHERE id = 1",
    "DELETE FROM orders WHERE id = 2",
];

/// `(op, table, id, region)` of each line: the region of the new row, else of the old one.
fn summary(lines: &[Value]) -> Vec<(String, String, i64, String)> {
    lines
        .iter()
        .map(|l| {
            let row = if l["new"].is_object() {
                &l["new"]
            } else {
                &l["old"]
            };
            (
                op(l).to_string(),
                table(l).to_string(),
                row["id"].as_i64().unwrap_or(-1),
                row["region"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

fn row(op: &str, table: &str, id: i64, region: &str) -> (String, String, i64, String) {
    (op.into(), table.into(), id, region.into())
}

#[tokio::test]
async fn the_publication_run_creates_streams_partitions_under_the_roots_name() {
    let f = Fixture::new().await;
    f.exec(SCHEMA).await;
    let mut c = f.start_conduit().await;
    for sql in CHANGES {
        f.exec(sql).await;
    }
    // A partition created after the publication is covered too, under the root's name.
    f.exec(
        "CREATE TABLE orders_apac PARTITION OF orders FOR VALUES IN ('apac');
         INSERT INTO orders VALUES (3, 'apac', 30)",
    )
    .await;
    let lines = c.wait_for_lines(7, line_deadline()).await.to_vec();
    // Observed on PostgreSQL 15: the update that moves row 1 from orders_eu to orders_us is
    // executed as a delete from one partition and an insert into the other, and pgoutput sends
    // those two, not an update, both under the root's name.
    assert_eq!(
        summary(&lines),
        [
            row("insert", "orders", 1, "eu"),
            row("insert", "orders", 2, "us"),
            row("update", "orders", 1, "eu"),
            row("delete", "orders", 1, "eu"),
            row("insert", "orders", 1, "us"),
            row("delete", "orders", 2, "us"),
            row("insert", "orders", 3, "apac"),
        ],
        "{lines:#?}"
    );
    assert!(
        c.stderr()
            .contains("WITH (publish_via_partition_root = true)"),
        "{}",
        c.stderr()
    );
    c.terminate_ok().await;
}

#[tokio::test]
async fn a_grant_on_the_root_covers_partitions_published_under_their_own_names() {
    let f = Fixture::new().await;
    f.exec(SCHEMA).await;
    let file = f.tenants_file(vec![]);
    let sink = stdout_json().to_string_lossy().to_string();
    let config = format!(
        "publish_via_partition_root = false
{}
[[tenants]]
id = \"eu\"
sink = {sink:?}
[[tenants.grants]]
tables = [\"public.orders\"]
where = \"region = 'eu'\"

[[tenants]]
id = \"everything\"
sink = {sink:?}
[[tenants.grants]]
tables = [\"public.*\"]
",
        file.to_toml()
    );
    let mut run = f.start_config_text(&config, &[]).await;
    for sql in CHANGES {
        f.exec(sql).await;
    }
    // Without the root publishing, each change carries its partition's name, and the move of
    // row 1 is a delete in orders_eu and an insert in orders_us.
    let all = run
        .wait_for_tenant_changes("everything", 6, line_deadline())
        .await;
    assert_eq!(
        summary(&all),
        [
            row("insert", "orders_eu", 1, "eu"),
            row("insert", "orders_us", 2, "us"),
            row("update", "orders_eu", 1, "eu"),
            row("delete", "orders_eu", 1, "eu"),
            row("insert", "orders_us", 1, "us"),
            row("delete", "orders_us", 2, "us"),
        ],
        "{all:#?}"
    );
    // The grant names the root: it covers orders_eu, and its where-clause keeps the eu rows.
    let eu = run.wait_for_tenant_changes("eu", 3, line_deadline()).await;
    assert_eq!(
        summary(&eu),
        [
            row("insert", "orders_eu", 1, "eu"),
            row("update", "orders_eu", 1, "eu"),
            row("delete", "orders_eu", 1, "eu"),
        ],
        "{eu:#?}"
    );
    run.terminate_ok().await;
}
