//! `conduit-wasm backfill`: asks a running `run` to deliver the rows that already exist of some
//! tables to some tenants, while it keeps streaming (see `pipeline::backfill`).

use std::path::PathBuf;

use clap::Args;

use crate::error::SetupError;
use crate::pipeline::backfill::control::{self, Request};

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The configuration file of the run (for its state_dir and slot).
    #[arg(long, conflicts_with = "slot")]
    pub config: Option<PathBuf>,
    /// The run's state directory [default: the config file's, else .conduit-wasm].
    #[arg(long, env = "CONDUIT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The run's replication slot [default: conduit].
    #[arg(long)]
    pub slot: Option<String>,
    /// Only this tenant [default: every tenant, each through its own grants].
    #[arg(long)]
    pub tenant: Option<String>,
    /// A table to read, as schema.table or table (repeatable) [default: every published table
    /// the tenant is granted].
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Only rows matching this SQL condition, e.g. "created_at > now() - interval '7 days'".
    #[arg(long = "where", value_name = "SQL")]
    pub filter: Option<String>,
}

pub async fn backfill(args: BackfillArgs) -> anyhow::Result<()> {
    let (state_dir, slot) = super::run_location(args.config.as_deref(), args.state_dir, args.slot)?;
    let request = Request {
        tenant: args.tenant,
        tables: args.tables,
        filter: args.filter,
    };
    let answer = control::ask(&control::socket_path(&state_dir, &slot), &request)
        .await
        .map_err(SetupError::new)?;
    println!("{answer}");
    Ok(())
}
