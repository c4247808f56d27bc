//! `conduit-wasm validate --config FILE`: everything `run` checks, without streaming.

use std::path::Path;

use crate::config::FileConfig;
use crate::error::SetupError;
use crate::sandbox::SandboxEngine;
use crate::source::conninfo::ConnInfo;
use crate::source::setup::{self, StreamSpec};

use crate::launch::{check_grants, check_process_limits, plans_from_file, LinkedSinks};

pub async fn validate(path: &Path, source: Option<String>) -> anyhow::Result<()> {
    let file = FileConfig::load(path)?;
    let plans = plans_from_file(&file)?;
    let engine = SandboxEngine::new(None)?;
    let mut linked = LinkedSinks::default();
    for plan in &plans {
        plan.instance(&engine, &mut linked)?;
    }
    let mut by_sink: Vec<(String, usize)> = Vec::new();
    for plan in &plans {
        let sink = plan.sink.to_string();
        match by_sink.iter_mut().find(|(s, _)| *s == sink) {
            Some((_, n)) => *n += 1,
            None => by_sink.push((sink, 1)),
        }
    }
    for (sink, tenants) in by_sink {
        println!(
            "sink {sink} ok ({tenants} tenant{})",
            if tenants == 1 { "" } else { "s" }
        );
    }
    let stdout_files = plans
        .iter()
        .filter(|p| p.capabilities.output.file().is_some())
        .count();
    check_process_limits(plans.len(), stdout_files)?;
    let spec = StreamSpec {
        slot: file.slot.clone(),
        publication: file.publication_name(),
        publication_given: file.publication.is_some(),
        tables: file.tables.clone(),
        via_root: file.publish_via_partition_root,
    };
    let Some(url) = source.or(file.source_url()?) else {
        println!("no source given: grants were parsed but not checked against a schema");
        for plan in &plans {
            if let Some(grants) = &plan.grants {
                crate::route::TenantGrants::new(plan.id.to_string(), grants)
                    .map_err(|e| SetupError::new(e.to_string()))?;
            }
        }
        return Ok(());
    };
    let conn = ConnInfo::parse(&url)?;
    let client = setup::connect_sql(&conn).await?;
    setup::preflight(&client, &conn, &spec).await?;
    check_grants(&client, &spec, &plans).await?;
    println!(
        "{}: valid ({} tenants; grants checked against {})",
        path.display(),
        plans.len(),
        conn.endpoint
    );
    Ok(())
}
