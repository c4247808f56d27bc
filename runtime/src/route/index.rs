//! Which tenants may receive a change, found by looking the row's value up instead of
//! evaluating every tenant's grant.
//!
//! Without it, each transaction was routed once per tenant: with 1,000 tenants each granted
//! `tenant = k`, every change was tested against 1,000 predicates (O(tenants × changes)), and
//! every tenant was visited for every transaction even when nothing in it was for them. The
//! index keeps, per table (per description of it, like [`TenantRouter`](super::TenantRouter)'s
//! plans):
//!
//! - tenants that have no grant for the table: not listed, never visited;
//! - `always`: tenants whose grant has no predicate, or one that cannot be looked up (`>`,
//!   `OR`, `NOT IN`, a `numeric` or `double` column, a grant that does not fit the table and
//!   must report so): every change of the table is a candidate for them;
//! - per column, a hash map from value to the tenants whose predicate is (or has as one
//!   conjunct of its top-level `AND`) `column = literal` or `column IN (literals)`; see
//!   [`CompiledPredicate::equality`](super::CompiledPredicate::equality).
//!
//! A change's candidates are `always` ∪ `map[new row's value]` ∪ `map[old row's value]` (an
//! update that moves a row out of a tenant's rows is delivered to it as a delete, so the old
//! value's tenants are candidates too), and for a truncate every tenant granted the table.
//! Candidates are then routed by their own [`TenantRouter`](super::TenantRouter), which applies
//! the rest of the predicate, the columns and the operations exactly as before: the index only
//! decides whom to ask, and is built to never leave out a tenant that would receive the change.
//! Values are read with the same accessors as the router's: an unchanged-TOAST value of the new
//! row is taken from the old row, and a column a key-only old row does not carry is unknown.
//! An unknown or NULL value makes an equality unknown, which the router never delivers, so it
//! contributes no candidate.
//!
//! Measured (BENCHMARKS.md, issue 13 section; dev build at opt-level 2 on a shared 2-core
//! machine): 100 tenants each granted `tenant IN (10 values)` of 1,000,000 rows in 100,000-row
//! transactions drained with 3.16 CPU s instead of 8.31 before the index (one tenant: 2.33); at
//! 1,000 tenants the index, the candidates' routers and queueing were about 17 % of the
//! process's samples, ≈ 0.9 µs per row, mostly the copy of the routed row.

use std::collections::HashMap;
use std::sync::Arc;

use super::grant::TenantGrants;
use super::predicate::{Key, KeyClass, KeyRef};
use crate::assemble::{RelationInfo, RowChange};
use crate::event::{Change, Operation, Value};

/// The tenants' grants indexed by table and value; see the module's documentation.
#[derive(Debug)]
pub struct RouteIndex {
    /// Tenant `i`'s grants; `None`: it receives every change of every table, unfiltered.
    tenants: Vec<Option<TenantGrants>>,
    tables: HashMap<u32, TableIndex>,
    shares: Shares,
}

#[derive(Debug)]
struct TableIndex {
    /// The description the index was built from (kept so that its address is not reused).
    source: Arc<RelationInfo>,
    always: Vec<u32>,
    columns: Vec<ColumnIndex>,
    /// Every tenant listed in `columns` (for truncates, to which no predicate applies).
    indexed: Vec<u32>,
}

#[derive(Debug)]
struct ColumnIndex {
    column: usize,
    class: KeyClass,
    nums: HashMap<i64, Vec<u32>>,
    strs: HashMap<Box<str>, Vec<u32>>,
}

impl ColumnIndex {
    fn insert(&mut self, key: Key, tenant: u32) {
        let list = match key {
            Key::Num(n) => self.nums.entry(n).or_default(),
            Key::Str(s) => self.strs.entry(s).or_default(),
        };
        if list.last() != Some(&tenant) {
            list.push(tenant);
        }
    }

    fn get(&self, key: KeyRef<'_>) -> &[u32] {
        let found = match key {
            KeyRef::Num(n) => self.nums.get(&n),
            KeyRef::Str(s) => self.strs.get(s),
        };
        found.map_or(&[], Vec::as_slice)
    }
}

/// What each tenant is offered of one transaction (or part): the indices of its candidate
/// changes, in commit order.
#[derive(Debug, Default)]
pub struct Shares {
    lists: Vec<Vec<u32>>,
    touched: Vec<u32>,
}

impl Shares {
    /// Tenants with at least one candidate change, in the order they were first found.
    pub fn touched(&self) -> &[u32] {
        &self.touched
    }

    /// Tenant `tenant`'s candidate changes (indices into the transaction's changes), ascending.
    pub fn of(&self, tenant: u32) -> &[u32] {
        &self.lists[tenant as usize]
    }

    fn add(&mut self, tenant: u32, change: u32) {
        let list = &mut self.lists[tenant as usize];
        if list.last() == Some(&change) {
            return; // a candidate through both the new and the old row
        }
        if list.is_empty() {
            self.touched.push(tenant);
        }
        list.push(change);
    }

    /// Forgets the previous transaction's shares (only the lists it touched). A list that grew
    /// large (a big transaction fanned out) gives its memory back.
    fn reset(&mut self) {
        for &t in &self.touched {
            let list = &mut self.lists[t as usize];
            if list.capacity() > 1 << 14 {
                *list = Vec::new();
            } else {
                list.clear();
            }
        }
        self.touched.clear();
    }
}

impl RouteIndex {
    /// An index over these tenants (tenant `i` of the shares is `tenants[i]`); `None` for a
    /// tenant that receives everything.
    pub fn new(tenants: Vec<Option<TenantGrants>>) -> RouteIndex {
        let shares = Shares {
            lists: vec![Vec::new(); tenants.len()],
            touched: Vec::new(),
        };
        RouteIndex {
            tenants,
            tables: HashMap::new(),
            shares,
        }
    }

    /// Splits `changes` into each tenant's candidates. A tenant not in
    /// [`Shares::touched`] receives nothing of them; the others must still route their
    /// candidates (the index only rules tenants out).
    pub fn share(&mut self, changes: &[RowChange]) -> &Shares {
        let RouteIndex {
            tenants,
            tables,
            shares,
        } = self;
        shares.reset();
        for (i, rc) in changes.iter().enumerate() {
            let i = i as u32;
            let table = table_index(tables, tenants, &rc.relation);
            for &t in &table.always {
                shares.add(t, i);
            }
            if rc.change.op == Operation::Truncate {
                for &t in &table.indexed {
                    shares.add(t, i);
                }
                continue;
            }
            for column in &table.columns {
                let (new, old) = sides(&rc.relation, &rc.change, column.column);
                for value in [new, old].into_iter().flatten() {
                    if let Some(key) = column.class.key_of(value) {
                        for &t in column.get(key) {
                            shares.add(t, i);
                        }
                    }
                }
            }
        }
        &self.shares
    }
}

/// The index of `rel`, built on first use and again for a new description of the same table.
fn table_index<'a>(
    tables: &'a mut HashMap<u32, TableIndex>,
    tenants: &[Option<TenantGrants>],
    rel: &Arc<RelationInfo>,
) -> &'a TableIndex {
    let oid = rel.relation.oid;
    let stale = tables
        .get(&oid)
        .is_none_or(|t| !Arc::ptr_eq(&t.source, rel));
    if stale {
        tables.insert(oid, build(tenants, rel));
    }
    &tables[&oid]
}

fn build(tenants: &[Option<TenantGrants>], rel: &Arc<RelationInfo>) -> TableIndex {
    let mut table = TableIndex {
        source: rel.clone(),
        always: Vec::new(),
        columns: Vec::new(),
        indexed: Vec::new(),
    };
    for (t, grants) in tenants.iter().enumerate() {
        let t = t as u32;
        let Some(grants) = grants else {
            table.always.push(t);
            continue;
        };
        let equality = match grants.plan(rel) {
            Ok(None) => continue,
            // The router reports the error on the table's first change.
            Err(_) => None,
            Ok(Some(plan)) => plan.predicate().and_then(|p| p.equality()),
        };
        let Some(eq) = equality else {
            table.always.push(t);
            continue;
        };
        let at = match table.columns.iter().position(|c| c.column == eq.column) {
            Some(at) => at,
            None => {
                table.columns.push(ColumnIndex {
                    column: eq.column,
                    class: eq.class,
                    nums: HashMap::new(),
                    strs: HashMap::new(),
                });
                table.columns.len() - 1
            }
        };
        for key in eq.keys {
            table.columns[at].insert(key, t);
        }
        table.indexed.push(t);
    }
    tracing::debug!(
        table = %rel.qualified_name(),
        always = table.always.len(),
        indexed = table.indexed.len(),
        "routing index built"
    );
    table
}

/// Column `col` of the change's new row (for inserts, reads and updates; an unchanged-TOAST
/// value taken from the old row) and of its old row (deletes and updates), read as
/// [`TablePlan::route_change`](super::TablePlan::route_change) reads them.
fn sides<'c>(
    rel: &RelationInfo,
    change: &'c Change,
    col: usize,
) -> (Option<&'c Value>, Option<&'c Value>) {
    let key = rel.relation.columns.get(col).is_some_and(|c| c.key);
    let old = change
        .old
        .as_ref()
        .filter(|o| !o.key_only || key)
        .and_then(|o| o.values.get(col));
    let new = change.new.as_ref().and_then(|n| n.get(col));
    match change.op {
        Operation::Insert | Operation::Read => (new, None),
        Operation::Delete => (None, old),
        Operation::Update => match new {
            Some(Value::UnchangedToast) => (old, old),
            new => (new, old),
        },
        Operation::Truncate => (None, None),
    }
}
