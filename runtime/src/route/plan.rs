//! A tenant's grants compiled for one table, and routing changes with them.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use super::error::RouteError;
use super::grant::{ColumnRule, OpSet, TenantGrants};
use super::predicate::{BindError, CompiledPredicate, Truth};
use crate::assemble::types::{Kind, ScalarKind};
use crate::assemble::{RelationInfo, RowChange};
use crate::event::{Change, OldRow, Operation, Relation, Value};

/// What one tenant receives of one table (one version of its description).
#[derive(Debug, Clone)]
pub struct TablePlan {
    grant: usize,
    keep: Vec<usize>,
    predicate: Option<CompiledPredicate>,
    ops: OpSet,
    /// Replica identity flags of the source table's columns.
    key: Vec<bool>,
    /// Number of columns of the source table.
    width: usize,
    /// The table as the tenant sees it: only the kept columns. The source `Arc` itself when every
    /// column is kept.
    relation: Arc<RelationInfo>,
}

impl TablePlan {
    /// Index (from 0) of the grant entry this plan comes from.
    pub fn grant(&self) -> usize {
        self.grant
    }

    /// Indices of the columns delivered, ascending (table order).
    pub fn keep(&self) -> &[usize] {
        &self.keep
    }

    /// The row predicate, bound to the source table's column indices.
    pub fn predicate(&self) -> Option<&CompiledPredicate> {
        self.predicate.as_ref()
    }

    pub fn ops(&self) -> OpSet {
        self.ops
    }

    /// The projected table description, to list in a batch. The same `Arc` for every change the
    /// plan routes, so a batch builder that lists tables by pointer lists it once.
    pub fn relation(&self) -> &Arc<RelationInfo> {
        &self.relation
    }

    /// The change as this tenant may see it, or `None` when it may not see it at all.
    ///
    /// - The operation must be granted (for a move-out, see below, `delete` too).
    /// - INSERT and READ (a snapshot row): delivered when the predicate is true on the new row.
    /// - DELETE: delivered when the predicate is true on the old row. A key-only old row (replica
    ///   identity DEFAULT/INDEX) carries only the key columns; when the predicate reads other
    ///   columns it is unknown and the delete is not delivered.
    /// - UPDATE: delivered when the predicate is true on the new row (a column that is unchanged
    ///   TOAST in the new row takes its value from the old row, when the old row has it). The old
    ///   image goes with it only when the predicate is also true on it: an old version that cannot
    ///   be shown to be inside the grant is dropped (`old` becomes `None`). When the predicate is
    ///   true on the old row but not on the new one (the row moved out of the tenant's rows; only
    ///   visible with an old image, i.e. REPLICA IDENTITY FULL or a predicate on key columns), the
    ///   change is delivered as a DELETE of the old row, if `delete` is granted too.
    /// - TRUNCATE: delivered when granted; the predicate does not apply.
    /// - Without a predicate every change of a granted operation is delivered.
    ///
    /// New and old rows are projected to the kept columns. A row image whose width does not match
    /// the table is not delivered. This allocates only the projected output.
    pub fn route_change(&self, change: &Change) -> Option<Change> {
        if !self.ops.contains(change.op) {
            return None;
        }
        let new = change.new.as_deref();
        let old = change.old.as_ref();
        if new.is_some_and(|n| n.len() != self.width)
            || old.is_some_and(|o| o.values.len() != self.width)
        {
            return None;
        }
        let (op, new, old) = match (change.op, &self.predicate) {
            (Operation::Truncate, _) | (_, None) => (change.op, new, old),
            (Operation::Insert | Operation::Read, Some(p)) => {
                if !self.eval_new(p, new?, None).is_true() {
                    return None;
                }
                (change.op, new, old)
            }
            (Operation::Delete, Some(p)) => {
                if !self.eval_old(p, old?).is_true() {
                    return None;
                }
                (Operation::Delete, new, old)
            }
            (Operation::Update, Some(p)) => {
                let new_in = self.eval_new(p, new?, old).is_true();
                let old_in = old.is_some_and(|o| self.eval_old(p, o).is_true());
                if new_in {
                    (Operation::Update, new, if old_in { old } else { None })
                } else if old_in && self.ops.contains(Operation::Delete) {
                    (Operation::Delete, None, old)
                } else {
                    return None;
                }
            }
        };
        Some(Change {
            op,
            relation: change.relation,
            new: new.map(|n| self.project(n)),
            old: old.map(|o| OldRow {
                key_only: o.key_only,
                values: self.project(&o.values),
            }),
            xid: change.xid,
            commit_lsn: change.commit_lsn,
            end_lsn: change.end_lsn,
            commit_time: change.commit_time,
            seq: change.seq,
        })
    }

    /// `values` has `self.width` entries (checked by the caller).
    fn project(&self, values: &[Value]) -> Vec<Value> {
        if self.keep.len() == self.width {
            values.to_vec()
        } else {
            self.keep.iter().map(|&i| values[i].clone()).collect()
        }
    }

    fn old_value<'a>(&self, old: &'a OldRow, i: usize) -> Option<&'a Value> {
        if old.key_only && !self.key.get(i).copied().unwrap_or(false) {
            return None;
        }
        old.values.get(i)
    }

    fn eval_old(&self, p: &CompiledPredicate, old: &OldRow) -> Truth {
        p.eval(|i| self.old_value(old, i))
    }

    fn eval_new(&self, p: &CompiledPredicate, new: &[Value], old: Option<&OldRow>) -> Truth {
        p.eval(|i| match new.get(i) {
            Some(Value::UnchangedToast) => old.and_then(|o| self.old_value(o, i)),
            v => v,
        })
    }
}

impl TenantGrants {
    /// Compiles the grant that applies to a table into a plan; `Ok(None)` when no grant matches
    /// it. Fails when the grant names a column the table lacks, or its where-clause does not fit
    /// the table's columns and types. A where-clause may read columns the tenant cannot see: it
    /// is evaluated in the host.
    pub fn plan(&self, rel: &Arc<RelationInfo>) -> Result<Option<TablePlan>, RouteError> {
        let r = &rel.relation;
        let Some(g) = self.grant_for(&r.schema, &r.name) else {
            return Ok(None);
        };
        let grant = &self.grants[g];
        let table = rel.qualified_name();
        let unknown = |column: &str, place: String| RouteError::UnknownColumn {
            tenant: self.tenant.clone(),
            grant: g + 1,
            table: table.clone(),
            column: column.to_string(),
            place,
        };
        let check_names = |names: &[String], place: &str| match names
            .iter()
            .find(|n| !r.columns.iter().any(|c| &c.name == *n))
        {
            Some(n) => Err(unknown(n, place.to_string())),
            None => Ok(()),
        };
        let width = r.columns.len();
        let keep: Vec<usize> = match &grant.columns {
            ColumnRule::All => (0..width).collect(),
            ColumnRule::Allow(names) => {
                check_names(names, "columns")?;
                (0..width)
                    .filter(|&i| names.contains(&r.columns[i].name))
                    .collect()
            }
            ColumnRule::Deny(names) => {
                check_names(names, "deny_columns")?;
                (0..width)
                    .filter(|&i| !names.contains(&r.columns[i].name))
                    .collect()
            }
        };
        let predicate = match &grant.predicate {
            None => None,
            Some(expr) => Some(CompiledPredicate::compile(expr, r, &rel.kinds).map_err(
                |e| match e {
                    BindError::UnknownColumn { name, offset } => {
                        unknown(&name, format!("where-clause at offset {offset}"))
                    }
                    BindError::Mismatch { offset, message } => RouteError::Mismatch {
                        tenant: self.tenant.clone(),
                        grant: g + 1,
                        table: table.clone(),
                        offset,
                        message,
                    },
                },
            )?),
        };
        let relation = if keep.len() == width {
            rel.clone()
        } else {
            Arc::new(RelationInfo {
                relation: Relation {
                    oid: r.oid,
                    schema: r.schema.clone(),
                    name: r.name.clone(),
                    columns: keep.iter().map(|&i| r.columns[i].clone()).collect(),
                },
                kinds: keep
                    .iter()
                    .map(|&i| {
                        rel.kinds
                            .get(i)
                            .copied()
                            .unwrap_or(Kind::Scalar(ScalarKind::Other))
                    })
                    .collect(),
            })
        };
        Ok(Some(TablePlan {
            grant: g,
            keep,
            predicate,
            ops: grant.ops,
            key: r.columns.iter().map(|c| c.key).collect(),
            width,
            relation,
        }))
    }

    /// Names of the columns the where-clause that applies to `rel` reads that are not in the
    /// table's replica identity (in table order). Non-empty means deletes (and move-outs and the
    /// old keys of updates) of this table cannot be routed unless it has REPLICA IDENTITY FULL,
    /// where PostgreSQL marks every column as part of the identity.
    pub fn predicate_columns_outside_key(&self, rel: &RelationInfo) -> Vec<String> {
        let r = &rel.relation;
        let Some(expr) = self
            .grant_for(&r.schema, &r.name)
            .and_then(|g| self.grants[g].predicate.as_ref())
        else {
            return Vec::new();
        };
        let used = expr.columns();
        r.columns
            .iter()
            .filter(|c| !c.key && used.iter().any(|u| u.name == c.name))
            .map(|c| c.name.clone())
            .collect()
    }

    /// Checks the grants against the live schema (`tables`: every table the publication
    /// replicates) before streaming starts. Errors: a table named exactly that is not among them;
    /// for each table a grant applies to, an unknown column or a where-clause that does not fit.
    /// Returns warnings, one line each: patterns with `*` that match nothing, entries that name a
    /// table an earlier entry already decides, where-clauses that read columns outside the replica
    /// identity while deletes or updates are granted, key columns hidden from a tenant that
    /// receives updates or deletes.
    pub fn check(&self, tables: &[Arc<RelationInfo>]) -> Result<Vec<String>, RouteError> {
        let mut warnings = Vec::new();
        let tenant = &self.tenant;
        for (g, grant) in self.grants.iter().enumerate() {
            for p in &grant.patterns {
                let hits = tables
                    .iter()
                    .filter(|t| self.covers(p, &t.relation.schema, &t.relation.name))
                    .count();
                if hits > 0 {
                    continue;
                }
                if p.is_exact() {
                    return Err(RouteError::UnknownTable {
                        tenant: tenant.clone(),
                        grant: g + 1,
                        pattern: p.to_string(),
                    });
                }
                warnings.push(format!(
                    "tenant {tenant:?}: grant {}: no table matches {p}",
                    g + 1
                ));
            }
        }
        for t in tables {
            let Some(plan) = self.plan(t)? else {
                continue;
            };
            let r = &t.relation;
            let table = t.qualified_name();
            for (later, grant) in self.grants.iter().enumerate().skip(plan.grant + 1) {
                if grant
                    .patterns
                    .iter()
                    .any(|p| p.is_exact() && p.matches(&r.schema, &r.name))
                {
                    warnings.push(format!(
                        "tenant {tenant:?}: grant {} names {table}, but grant {} also matches it and comes first, so grant {} applies",
                        later + 1,
                        plan.grant + 1,
                        plan.grant + 1
                    ));
                }
            }
            let changes_rows =
                plan.ops.contains(Operation::Update) || plan.ops.contains(Operation::Delete);
            if !changes_rows {
                continue;
            }
            let outside = self.predicate_columns_outside_key(t);
            if !outside.is_empty() {
                warnings.push(format!(
                    "tenant {tenant:?}: table {table}: the where-clause reads {}, not in the replica identity; deletes (and rows leaving the tenant's rows, and old keys of updates) are not delivered unless the table has REPLICA IDENTITY FULL",
                    quoted_list(&outside)
                ));
            }
            let all_key = r.columns.iter().all(|c| c.key);
            let hidden_keys: Vec<String> = r
                .columns
                .iter()
                .enumerate()
                .filter(|(i, c)| c.key && !plan.keep.contains(i))
                .map(|(_, c)| c.name.clone())
                .collect();
            if !all_key && !hidden_keys.is_empty() {
                warnings.push(format!(
                    "tenant {tenant:?}: table {table}: key column(s) {} are not granted, so the tenant cannot tell which row an update or delete is about",
                    quoted_list(&hidden_keys)
                ));
            }
        }
        Ok(warnings)
    }
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Routes one tenant's changes, compiling a plan the first time it sees a table (or a new
/// description of it) and reusing it after.
///
/// Plans are cached per table OID together with the `Arc<RelationInfo>` they were compiled from;
/// a change that comes with a different `Arc` (the assembler makes a new one for every Relation
/// message, e.g. after `ALTER TABLE`) recompiles. The cache holds that `Arc`, so a pointer cannot
/// be reused for another description while cached. A table the tenant is not granted costs one
/// hash lookup per change.
#[derive(Debug)]
pub struct TenantRouter {
    grants: TenantGrants,
    cache: HashMap<u32, Cached>,
}

#[derive(Debug)]
struct Cached {
    source: Arc<RelationInfo>,
    plan: Result<Option<TablePlan>, RouteError>,
}

impl TenantRouter {
    pub fn new(grants: TenantGrants) -> TenantRouter {
        TenantRouter {
            grants,
            cache: HashMap::new(),
        }
    }

    pub fn tenant(&self) -> &str {
        self.grants.tenant()
    }

    pub fn grants(&self) -> &TenantGrants {
        &self.grants
    }

    /// The plan for a table description, compiled on first use. An error (a table altered after
    /// start so that the grant no longer fits it, or a new table matched by a pattern whose
    /// where-clause does not fit it) is cached too and returned for every change of that table
    /// until its description changes again.
    pub fn plan(&mut self, rel: &Arc<RelationInfo>) -> Result<Option<&TablePlan>, RouteError> {
        let cached = match self.cache.entry(rel.relation.oid) {
            Entry::Occupied(mut e) => {
                if !Arc::ptr_eq(&e.get().source, rel) {
                    e.insert(Cached {
                        source: rel.clone(),
                        plan: self.grants.plan(rel),
                    });
                }
                e.into_mut()
            }
            Entry::Vacant(e) => e.insert(Cached {
                source: rel.clone(),
                plan: self.grants.plan(rel),
            }),
        };
        match &cached.plan {
            Ok(plan) => Ok(plan.as_ref()),
            Err(e) => Err(e.clone()),
        }
    }

    /// The change as this tenant may see it (see [`TablePlan::route_change`]) with the projected
    /// table description, or `Ok(None)` when the tenant does not receive it. An error means the
    /// tenant's grant does not fit the table any more; nothing of that table is delivered to the
    /// tenant, and the caller should stop the tenant and report the error.
    pub fn route(&mut self, rc: &RowChange) -> Result<Option<RowChange>, RouteError> {
        let Some(plan) = self.plan(&rc.relation)? else {
            return Ok(None);
        };
        Ok(plan.route_change(&rc.change).map(|change| RowChange {
            relation: plan.relation.clone(),
            change,
        }))
    }

    /// Forgets the cached plans (e.g. after reconnecting, when every table is described again).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }
}
