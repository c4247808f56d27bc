//! Turning flags or a config file into tenants: their sinks, grants, limits and capabilities.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;

use crate::assemble::TypeRegistry;
use crate::config::FileConfig;
use crate::error::SetupError;
use crate::pipeline::worker::RetryPolicy;
use crate::pipeline::Sink;
use crate::route::{Grant, Partitions, RouteError, TenantGrants, TenantRouter};
use crate::sandbox::{
    inspect_file, precheck_file, Capabilities, SandboxEngine, SinkLimits, SinkPre,
};
use crate::source::catalog::{self, load_types};
use crate::source::setup::StreamSpec;

/// Makes an in-process sink (see [`SinkSource::InProcess`]).
pub type MakeSink = Arc<dyn Fn() -> Box<dyn Sink> + Send + Sync>;

/// Where a tenant's sink comes from.
#[derive(Clone)]
pub enum SinkSource {
    /// A WebAssembly component file, run in the sandbox.
    Component(PathBuf),
    /// A sink implemented in Rust in this process, for in-process tests of the pipeline; it
    /// bypasses the sandbox (no limits, no capabilities apply).
    InProcess { name: String, make: MakeSink },
}

impl fmt::Display for SinkSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSource::Component(path) => write!(f, "{}", path.display()),
            SinkSource::InProcess { name, .. } => write!(f, "in-process sink {name}"),
        }
    }
}

/// One tenant, checked as far as can be without the database.
pub struct TenantPlan {
    pub id: Arc<str>,
    pub sink: SinkSource,
    pub config: Vec<(String, String)>,
    pub limits: SinkLimits,
    pub capabilities: Capabilities,
    /// `None`: everything in the publication (the single-sink CLI).
    pub grants: Option<Vec<Grant>>,
    pub max_batch: usize,
    pub batch_wait: Duration,
    pub max_queue: usize,
    pub retry: RetryPolicy,
}

impl TenantPlan {
    /// An error about this tenant's sink: named by the tenant when there are several.
    fn who(&self, e: String) -> SetupError {
        match &self.grants {
            Some(_) => SetupError::new(format!("tenant {:?}: {e}", &*self.id)),
            None => SetupError::new(e),
        }
    }

    /// Checks the sink file without compiling it ([`precheck_file`]): what `run` can say about
    /// a sink before it touches the database.
    pub fn precheck(&self) -> Result<(), SetupError> {
        match &self.sink {
            SinkSource::Component(path) => precheck_file(path)
                .map(drop)
                .map_err(|e| self.who(e.to_string())),
            SinkSource::InProcess { .. } => Ok(()),
        }
    }

    /// Compiles and links the tenant's sink (once per sink file: see [`LinkedSinks`]); errors
    /// name the tenant when there are several.
    pub fn instance(
        &self,
        engine: &SandboxEngine,
        linked: &mut LinkedSinks,
    ) -> Result<Box<dyn Sink>, SetupError> {
        let path = match &self.sink {
            SinkSource::Component(path) => path,
            SinkSource::InProcess { make, .. } => return Ok(make()),
        };
        let pre = linked.get(engine, path).map_err(|e| self.who(e))?;
        Ok(Box::new(pre.instance(
            self.limits.clone(),
            self.capabilities.clone(),
            self.config.clone(),
        )))
    }
}

/// Sink files compiled and linked so far, by path: a thousand tenants running one component
/// compile (or load from the compile cache) and link it once, and share its code in memory.
#[derive(Default)]
pub struct LinkedSinks(HashMap<PathBuf, Result<SinkPre, String>>);

impl LinkedSinks {
    fn get(&mut self, engine: &SandboxEngine, path: &Path) -> Result<SinkPre, String> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.0
            .entry(key)
            .or_insert_with(|| {
                let (component, _) = inspect_file(engine, path).map_err(|e| e.to_string())?;
                SinkPre::new(engine, &component).map_err(|e| format!("{}: {e:#}", path.display()))
            })
            .clone()
    }

    /// How many distinct sink files were linked.
    pub fn distinct(&self) -> usize {
        self.0.len()
    }
}

pub fn plans_from_file(file: &FileConfig) -> Result<Vec<TenantPlan>, SetupError> {
    file.tenants
        .iter()
        .map(|t| {
            let failures = t.limits.max_failures.max(1);
            Ok(TenantPlan {
                id: Arc::from(t.id.as_str()),
                sink: SinkSource::Component(t.sink.clone()),
                config: t.sink_config().map_err(SetupError::new)?,
                limits: t.sink_limits(),
                capabilities: t.sink_capabilities().map_err(SetupError::new)?,
                grants: Some(t.grants.clone()),
                max_batch: t.limits.max_batch,
                batch_wait: Duration::from_millis(t.limits.batch_wait_ms),
                max_queue: t.limits.max_queue,
                retry: RetryPolicy {
                    max_consecutive_traps: failures,
                    max_consecutive_failures: Some(failures),
                    ..RetryPolicy::default()
                },
            })
        })
        .collect()
}

/// Parses every tenant's grants and checks them against the tables the stream will carry. One
/// router per plan (`None` for a tenant that sees everything).
pub async fn check_grants(
    client: &Client,
    spec: &StreamSpec,
    plans: &[TenantPlan],
) -> Result<Vec<Option<TenantRouter>>, SetupError> {
    if plans.iter().all(|p| p.grants.is_none()) {
        return Ok(plans.iter().map(|_| None).collect());
    }
    let mut types = TypeRegistry::default();
    load_types(client, &mut types, None).await?;
    let tables = catalog::stream_tables(client, spec, &types).await?;
    let partitions = Arc::new(catalog::partition_ancestors(client).await?);
    let mut routers = Vec::new();
    for plan in plans {
        let Some(grants) = &plan.grants else {
            routers.push(None);
            continue;
        };
        let parsed = TenantGrants::new(plan.id.to_string(), grants)
            .map_err(|e| SetupError::new(e.to_string()))?
            .with_partitions(partitions.clone());
        for warning in parsed.check(&tables).map_err(|e| match &e {
            RouteError::UnknownTable {
                tenant,
                grant,
                pattern,
            } => match root_of(&partitions, pattern)
                .filter(|root| tables.iter().any(|t| t.qualified_name() == *root))
            {
                // The root is published, via the root: no change carries the partition's name.
                Some(root) => SetupError::new(format!(
                    "tenant {tenant:?}: grant {grant}: table {pattern} is a partition of {root}, \
                     and publication {:?} publishes its changes under {root}: grant {root} \
                     instead (a where-clause on the partition key keeps one partition's rows)",
                    spec.publication
                )),
                None => SetupError::new(format!(
                    "{e}: fix the table in the grant (schema.table), or add it to publication {:?}",
                    spec.publication
                )),
            },
            e => SetupError::new(e.to_string()),
        })? {
            tracing::warn!(tenant = %plan.id, "{warning}");
        }
        routers.push(Some(TenantRouter::new(parsed)));
    }
    Ok(routers)
}

/// The root of the partition a grant's exact pattern names (`schema.table`), if it is one.
fn root_of(partitions: &Partitions, pattern: &str) -> Option<String> {
    partitions.iter().find_map(|((schema, table), up)| {
        let (root_schema, root) = up.last()?;
        (format!("{schema}.{table}") == pattern).then(|| format!("{root_schema}.{root}"))
    })
}
