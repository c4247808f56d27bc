//! The newcomer's first run: a scratch PostgreSQL with a table that keeps changing.

use std::time::Duration;

use anyhow::Context as _;

use crate::scratch::{ScratchCluster, ScratchOptions};

/// Starts the scratch cluster, creates `demo_orders`, and keeps inserting, updating and deleting
/// rows in it in the background until the process ends.
pub async fn start() -> anyhow::Result<ScratchCluster> {
    tracing::info!("no --source given: starting a scratch PostgreSQL for a demo");
    let cluster = ScratchCluster::start(ScratchOptions::default())
        .await
        .context("starting a scratch PostgreSQL (pass --source to use your own)")?;
    let client = cluster
        .connect()
        .await
        .context("connecting to the scratch PostgreSQL")?;
    client
        .batch_execute(
            "CREATE TABLE demo_orders (
                 id bigserial PRIMARY KEY,
                 customer text NOT NULL,
                 amount numeric(10,2) NOT NULL,
                 status text NOT NULL DEFAULT 'new',
                 created_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .context("creating the demo table")?;
    eprintln!(
        "scratch PostgreSQL is up; demo_orders changes every 500 ms. Connect with:\n  psql '{}'",
        cluster.url()
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let customers = ["ada", "grace", "linus", "barbara", "ken"];
        for n in 0u64.. {
            tick.tick().await;
            let customer = customers[(n % customers.len() as u64) as usize];
            let sql = match n % 4 {
                3 => "UPDATE demo_orders SET status = 'shipped' WHERE id = (SELECT max(id) FROM demo_orders)".to_string(),
                _ => format!(
                    "INSERT INTO demo_orders (customer, amount) VALUES ('{customer}', {}.{:02})",
                    10 + n % 90,
                    n % 100
                ),
            };
            if let Err(e) = client.batch_execute(&sql).await {
                tracing::debug!("demo writer stopped: {e}");
                break;
            }
        }
    });
    Ok(cluster)
}
