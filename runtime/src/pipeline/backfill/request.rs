//! Turning a request into backfills (checked against the tenants, their grants and the live
//! schema), and starting recorded backfills.

use std::sync::Arc;

use super::control::Request;
use crate::assemble::RelationInfo;
use crate::pipeline::stream_loop::Loop;
use crate::source::backfill::{table_key, ChunkReader};
use crate::source::catalog;

/// `schema.table`, or `table` in `public`.
pub fn split_name(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or(("public", name))
}

impl Loop<'_> {
    /// The published tables as the catalog describes them now, each with the stream's own
    /// description when a change of it has been seen (so that routing reuses its plans).
    async fn published(&self) -> Result<Vec<Arc<RelationInfo>>, String> {
        let spec = &self.cfg.spec;
        let tables = catalog::stream_tables(&self.client, spec, self.assembler.types())
            .await
            .map_err(|e| e.to_string())?;
        Ok(tables
            .into_iter()
            .map(|t| {
                self.assembler
                    .relation_info(t.relation.oid)
                    .filter(|s| s.relation.columns == t.relation.columns)
                    .unwrap_or(t)
            })
            .collect())
    }

    async fn estimated_rows(&self, oid: u32) -> u64 {
        self.client
            .query_one(
                "SELECT GREATEST(reltuples, 0)::int8 FROM pg_class WHERE oid = $1",
                &[&oid],
            )
            .await
            .map(|r| r.get::<_, i64>(0) as u64)
            .unwrap_or(0)
    }

    /// Checks a request and records its backfills; the answer is one line either way.
    pub(in crate::pipeline) async fn on_backfill_request(
        &mut self,
        request: Request,
    ) -> Result<String, String> {
        let ids = self.tenants.ids();
        let tenants: Vec<String> = match &request.tenant {
            Some(t) if !ids.contains(t) => {
                return Err(format!(
                    "no tenant {t:?} in this run: its tenants are {}",
                    ids.join(", ")
                ))
            }
            Some(t) => vec![t.clone()],
            None => ids,
        };
        let publication = &self.cfg.spec.publication;
        let published = self.published().await?;
        let mut chosen: Vec<Arc<RelationInfo>> = Vec::new();
        for name in &request.tables {
            let (schema, table) = split_name(name);
            let Some(rel) = published
                .iter()
                .find(|r| r.relation.schema == schema && r.relation.name == table)
            else {
                return Err(format!(
                    "table {schema}.{table} is not in publication {publication:?}: only \
                     published tables can be backfilled; check the name or add the table to \
                     the publication"
                ));
            };
            let sees = |t: &String| self.tenants.sees(t, schema, table) == Some(true);
            match &request.tenant {
                Some(t) if !sees(t) => {
                    return Err(format!(
                        "tenant {t:?} is not granted {schema}.{table}: add a grant for it to \
                         the tenant's configuration first"
                    ))
                }
                None if !tenants.iter().any(sees) => {
                    return Err(format!(
                        "no tenant is granted {schema}.{table}: nothing to backfill"
                    ))
                }
                _ => {}
            }
            chosen.push(rel.clone());
        }
        if request.tables.is_empty() {
            chosen = published
                .into_iter()
                .filter(|r| {
                    let rel = &r.relation;
                    tenants
                        .iter()
                        .any(|t| self.tenants.sees(t, &rel.schema, &rel.name) == Some(true))
                })
                .collect();
            if chosen.is_empty() {
                return Err(format!(
                    "no published table is granted to {}: nothing to backfill",
                    tenants.join(", ")
                ));
            }
        }
        let checker = match &request.filter {
            Some(_) => Some(
                ChunkReader::open(&self.cfg.conn)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        for rel in &chosen {
            table_key(&self.client, rel)
                .await
                .map_err(|e| e.to_string())?;
            if let (Some(filter), Some(checker)) = (&request.filter, &checker) {
                checker.check_filter(rel, filter).await.map_err(|e| {
                    format!(
                        "--where does not fit {}: {e}; give a condition on its columns",
                        rel.qualified_name()
                    )
                })?;
            }
        }
        let mut started = Vec::new();
        for rel in &chosen {
            let rel_tenants: Vec<String> = tenants
                .iter()
                .filter(|t| {
                    self.tenants
                        .sees(t, &rel.relation.schema, &rel.relation.name)
                        == Some(true)
                })
                .cloned()
                .collect();
            let estimated = self.estimated_rows(rel.relation.oid).await;
            let id = self
                .backfills
                .add(
                    rel_tenants,
                    rel.qualified_name(),
                    request.filter.clone(),
                    estimated,
                    "requested",
                )
                .map_err(|e| format!("{e:#}"))?;
            started.push(format!("{id} ({})", rel.qualified_name()));
        }
        self.start_backfills().await;
        Ok(format!(
            "backfill {} started for {}; `conduit-wasm status` shows its progress",
            started.join(", "),
            tenants.join(", ")
        ))
    }

    /// Records backfills of `tables` (every published table when `None`) for those of
    /// `tenants` that are granted each; a table without a key is left out with a warning.
    pub(in crate::pipeline) async fn plan_backfills(
        &mut self,
        tenants: &[String],
        tables: Option<&[String]>,
        reason: &str,
    ) -> anyhow::Result<()> {
        let published = self.published().await.map_err(anyhow::Error::msg)?;
        for rel in published {
            let name = rel.qualified_name();
            if tables.is_some_and(|t| !t.contains(&name)) {
                continue;
            }
            let (schema, table) = (&rel.relation.schema, &rel.relation.name);
            let who: Vec<String> = tenants
                .iter()
                .filter(|t| self.tenants.sees(t, schema, table) == Some(true))
                .cloned()
                .collect();
            if who.is_empty() {
                continue;
            }
            if let Err(e) = table_key(&self.client, &rel).await {
                tracing::warn!(
                    "{reason} {}: the rows of {name} that exist are not delivered: {e}",
                    who.join(", ")
                );
                continue;
            }
            let estimated = self.estimated_rows(rel.relation.oid).await;
            let id = self
                .backfills
                .add(who.clone(), name.clone(), None, estimated, reason)?;
            tracing::info!("backfill {id} of {name} for {} ({reason})", who.join(", "));
        }
        Ok(())
    }

    /// Backfills, for each of `tenants` (which have positions in this stream), the published
    /// tables granted to it since the last run (when `enabled`); then records what every tenant
    /// is granted now.
    pub(in crate::pipeline) async fn plan_new_grants(
        &mut self,
        tenants: &[String],
        enabled: bool,
    ) -> anyhow::Result<()> {
        let published = self.published().await.map_err(anyhow::Error::msg)?;
        let mut now: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for id in self.tenants.ids() {
            let granted = published
                .iter()
                .filter(|r| {
                    self.tenants.sees(&id, &r.relation.schema, &r.relation.name) == Some(true)
                })
                .map(|r| r.qualified_name())
                .collect();
            now.insert(id, granted);
        }
        if let (true, Some(known)) = (enabled, self.backfills.known().cloned()) {
            for id in tenants {
                let before = known.get(id).cloned().unwrap_or_default();
                let added: Vec<String> = now[id]
                    .iter()
                    .filter(|t| !before.contains(t))
                    .cloned()
                    .collect();
                if !added.is_empty() {
                    self.plan_backfills(std::slice::from_ref(id), Some(&added), "newly granted")
                        .await?;
                }
            }
        }
        self.backfills.set_known(now)
    }

    /// Starts the recorded backfills that are not running yet.
    pub(in crate::pipeline) async fn start_backfills(&mut self) {
        let waiting = self.backfills.waiting();
        if waiting.is_empty() {
            return;
        }
        let published = match self.published().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("backfills wait: reading the published tables failed: {e}");
                return;
            }
        };
        for job in waiting {
            let (schema, table) = split_name(&job.table);
            let Some(rel) = published
                .iter()
                .find(|r| r.relation.schema == schema && r.relation.name == table)
            else {
                self.backfills
                    .abandon(job.id, "the table is not published any more");
                continue;
            };
            match table_key(&self.client, rel).await {
                Ok(key) => self.backfills.activate(&job, rel.clone(), key),
                Err(e) => self.backfills.abandon(job.id, &e.to_string()),
            }
        }
    }
}
