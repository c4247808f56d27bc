//! Grants as configured, and their parsed form.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use super::error::RouteError;
use super::predicate::{self, Expr};
use crate::event::Operation;

/// One grant entry of a tenant, as written in the configuration:
///
/// ```toml
/// [[tenants.grants]]
/// tables = ["public.orders", "sales.*"]
/// columns = ["id", "tenant_id", "amount"]   # or deny_columns = ["ssn"]; neither: all columns
/// where = "tenant_id = 'acme' AND region IN ('eu','us')"
/// operations = ["insert", "update", "delete"]   # default: all five (and `truncate`, `read`)
/// ```
///
/// Unknown keys are rejected, so that a misspelt `deny_colums` cannot silently grant everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Table patterns: `schema.table`, `table` (meaning `public.table`), `schema.*`, `*.table`,
    /// `*.*`, `*` (meaning `public.*`). Names are exact (case-sensitive, as PostgreSQL stores
    /// them); a part may be double-quoted when it contains `.` or `"` or is literally `*`.
    pub tables: Vec<String>,
    /// Only these columns are delivered (in table order).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// All columns except these are delivered.
    #[serde(default)]
    pub deny_columns: Option<Vec<String>>,
    /// Only rows satisfying this predicate are delivered.
    #[serde(default, rename = "where")]
    pub where_clause: Option<String>,
    /// Operations delivered; all five when absent. `read` (rows an initial snapshot read) is
    /// its own operation: a list without it delivers no snapshot rows, even with `insert`.
    #[serde(default)]
    pub operations: Option<Vec<GrantOp>>,
}

/// An operation a grant may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantOp {
    Insert,
    Update,
    Delete,
    Truncate,
    Read,
}

/// A set of operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSet(u8);

impl OpSet {
    pub const NONE: OpSet = OpSet(0);
    pub const ALL: OpSet = OpSet(0b1_1111);

    fn bit(op: Operation) -> u8 {
        match op {
            Operation::Insert => 1,
            Operation::Update => 2,
            Operation::Delete => 4,
            Operation::Truncate => 8,
            Operation::Read => 16,
        }
    }

    pub fn contains(self, op: Operation) -> bool {
        self.0 & OpSet::bit(op) != 0
    }

    pub fn with(self, op: Operation) -> OpSet {
        OpSet(self.0 | OpSet::bit(op))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl From<GrantOp> for Operation {
    fn from(op: GrantOp) -> Operation {
        match op {
            GrantOp::Insert => Operation::Insert,
            GrantOp::Update => Operation::Update,
            GrantOp::Delete => Operation::Delete,
            GrantOp::Truncate => Operation::Truncate,
            GrantOp::Read => Operation::Read,
        }
    }
}

impl FromIterator<Operation> for OpSet {
    fn from_iter<I: IntoIterator<Item = Operation>>(iter: I) -> OpSet {
        iter.into_iter().fold(OpSet::NONE, OpSet::with)
    }
}

/// One part of a table pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NamePart {
    Any,
    Exact(String),
}

impl NamePart {
    fn matches(&self, name: &str) -> bool {
        match self {
            NamePart::Any => true,
            NamePart::Exact(n) => n == name,
        }
    }
}

impl fmt::Display for NamePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamePart::Any => f.write_str("*"),
            NamePart::Exact(n) if n == "*" || n.contains(['.', '"']) || n.is_empty() => {
                write!(f, "\"{}\"", n.replace('"', "\"\""))
            }
            NamePart::Exact(n) => f.write_str(n),
        }
    }
}

/// A parsed entry of `tables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePattern {
    schema: NamePart,
    table: NamePart,
}

impl TablePattern {
    /// Parses `schema.table`, `table` (in `public`), with `*` for a whole part and `"..."` for
    /// parts that contain `.` or `"`.
    pub fn parse(s: &str) -> Result<TablePattern, String> {
        let bad = |why: &str| format!("table pattern {s:?}: {why}");
        let mut parts = Vec::new();
        let mut rest = s.trim();
        loop {
            let (part, after) = if let Some(q) = rest.strip_prefix('"') {
                let mut name = String::new();
                let mut chars = q.char_indices();
                let end = loop {
                    match chars.next() {
                        None => return Err(bad("unterminated quote")),
                        Some((i, '"')) => {
                            if q[i + 1..].starts_with('"') {
                                name.push('"');
                                chars.next();
                            } else {
                                break i + 1;
                            }
                        }
                        Some((_, c)) => name.push(c),
                    }
                };
                if name.is_empty() {
                    return Err(bad("empty quoted name"));
                }
                (NamePart::Exact(name), &q[end..])
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                let word = &rest[..end];
                if word.is_empty() {
                    return Err(bad("empty name"));
                }
                if word.contains('"') {
                    return Err(bad("a quote inside a name (quote the whole name)"));
                }
                let part = if word == "*" {
                    NamePart::Any
                } else if word.contains('*') {
                    return Err(bad("'*' must stand for a whole name (like sales.*)"));
                } else {
                    NamePart::Exact(word.to_string())
                };
                (part, &rest[end..])
            };
            parts.push(part);
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.is_empty() => break,
                None => return Err(bad("expected '.' after a quoted name")),
            }
        }
        let mut parts = parts.into_iter();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(table), None, None) => Ok(TablePattern {
                schema: NamePart::Exact("public".into()),
                table,
            }),
            (Some(schema), Some(table), None) => Ok(TablePattern { schema, table }),
            _ => Err(bad("expected schema.table")),
        }
    }

    pub fn matches(&self, schema: &str, table: &str) -> bool {
        self.schema.matches(schema) && self.table.matches(table)
    }

    /// True when the pattern names one table (no `*`).
    pub fn is_exact(&self) -> bool {
        matches!(
            (&self.schema, &self.table),
            (NamePart::Exact(_), NamePart::Exact(_))
        )
    }
}

impl fmt::Display for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// Which columns a grant delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ColumnRule {
    All,
    Allow(Vec<String>),
    Deny(Vec<String>),
}

/// A grant entry with its patterns and where-clause parsed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ParsedGrant {
    pub(super) patterns: Vec<TablePattern>,
    pub(super) columns: ColumnRule,
    pub(super) predicate: Option<Expr>,
    pub(super) ops: OpSet,
}

/// A partition's `(schema, table)` → its ancestors' names, nearest first.
pub type Partitions = HashMap<(String, String), Vec<(String, String)>>;

/// A tenant's grants, parsed and checked for everything that does not need the schema.
///
/// The first entry (in configuration order) with a pattern matching a table decides everything
/// about that table: its columns, rows and operations. Later entries that also match it are
/// ignored ([`TenantGrants::check`] warns when a later entry names the table exactly). A pattern
/// matches a partition when it matches the partition or one of its ancestors (see
/// [`TenantGrants::with_partitions`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TenantGrants {
    pub(super) tenant: String,
    pub(super) grants: Vec<ParsedGrant>,
    partitions: Arc<Partitions>,
}

impl TenantGrants {
    /// Parses a tenant's grant entries: table patterns, where-clause syntax, operations. An error
    /// names the tenant and the entry (numbered from 1).
    pub fn new(tenant: impl Into<String>, grants: &[Grant]) -> Result<TenantGrants, RouteError> {
        let tenant = tenant.into();
        let parsed = grants
            .iter()
            .enumerate()
            .map(|(i, g)| parse_grant(&tenant, i + 1, g))
            .collect::<Result<_, _>>()?;
        Ok(TenantGrants {
            tenant,
            grants: parsed,
            partitions: Arc::default(),
        })
    }

    /// Lets a grant on a partitioned table cover its partitions. A publication that does not
    /// publish via the partition root (`publish_via_partition_root = false`) sends a partition's
    /// changes under the partition's own name; a grant names the table the user knows, usually
    /// the root. `partitions` is read from the catalog at start, so a partition created later is
    /// covered after a restart (with the root publishing, its changes carry the root's name and
    /// need nothing).
    pub fn with_partitions(mut self, partitions: Arc<Partitions>) -> TenantGrants {
        self.partitions = partitions;
        self
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Index (from 0) of the grant entry that applies to a table, if any: the first with a
    /// pattern that matches the table or, for a partition, one of its ancestors.
    pub fn grant_for(&self, schema: &str, table: &str) -> Option<usize> {
        self.grants
            .iter()
            .position(|g| g.patterns.iter().any(|p| self.covers(p, schema, table)))
    }

    /// True when `pattern` matches the table or one of its ancestors.
    pub(super) fn covers(&self, pattern: &TablePattern, schema: &str, table: &str) -> bool {
        if pattern.matches(schema, table) {
            return true;
        }
        // Partitions are few next to changes, and a plan is cached per table: the key is built
        // only for tables no pattern names directly.
        self.partitions
            .get(&(schema.to_string(), table.to_string()))
            .is_some_and(|up| up.iter().any(|(s, t)| pattern.matches(s, t)))
    }
}

fn parse_grant(tenant: &str, n: usize, g: &Grant) -> Result<ParsedGrant, RouteError> {
    let err = |message: String| RouteError::Grant {
        tenant: tenant.to_string(),
        grant: n,
        message,
    };
    if g.tables.is_empty() {
        return Err(err("tables is empty".into()));
    }
    let patterns = g
        .tables
        .iter()
        .map(|t| TablePattern::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let columns = match (&g.columns, &g.deny_columns) {
        (Some(_), Some(_)) => {
            return Err(err(
                "give either columns (an allow-list) or deny_columns, not both".into(),
            ))
        }
        (Some(allow), None) => ColumnRule::Allow(allow.clone()),
        (None, Some(deny)) => ColumnRule::Deny(deny.clone()),
        (None, None) => ColumnRule::All,
    };
    let predicate = g
        .where_clause
        .as_deref()
        .map(predicate::parse)
        .transpose()
        .map_err(|e| RouteError::Syntax {
            tenant: tenant.to_string(),
            grant: n,
            offset: e.offset,
            message: e.message,
        })?;
    let ops = match &g.operations {
        None => OpSet::ALL,
        Some(ops) if ops.is_empty() => {
            return Err(err(
                "operations is empty (leave it out to allow all operations)".into(),
            ))
        }
        Some(ops) => ops.iter().map(|&op| Operation::from(op)).collect(),
    };
    Ok(ParsedGrant {
        patterns,
        columns,
        predicate,
        ops,
    })
}
