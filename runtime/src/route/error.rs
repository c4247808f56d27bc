//! Why a tenant's grants cannot be used.

/// A grant that does not parse or does not fit the live schema. Every variant displays as one
/// line that names the tenant and the spot. Grants are numbered from 1, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A where-clause that does not parse.
    #[error("tenant {tenant:?}: grant {grant} where-clause at offset {offset}: {message}")]
    Syntax {
        tenant: String,
        grant: usize,
        offset: usize,
        message: String,
    },
    /// A where-clause literal or operator that does not fit a column's type.
    #[error("tenant {tenant:?}: grant {grant} where-clause at offset {offset} (table {table}): {message}")]
    Mismatch {
        tenant: String,
        grant: usize,
        table: String,
        offset: usize,
        message: String,
    },
    /// A column named in `columns`, `deny_columns` or the where-clause that the table lacks.
    /// `place` says which: `columns`, `deny_columns` or `where-clause at offset N`.
    #[error("tenant {tenant:?}: table {table} has no column {column:?} (grant {grant} {place})")]
    UnknownColumn {
        tenant: String,
        grant: usize,
        table: String,
        column: String,
        place: String,
    },
    /// A table named exactly (no `*`) that is not among the tables replicated.
    #[error("tenant {tenant:?}: grant {grant}: table {pattern} does not exist or is not in the publication")]
    UnknownTable {
        tenant: String,
        grant: usize,
        pattern: String,
    },
    /// Anything else wrong with a grant entry (no tables, both `columns` and `deny_columns`, a
    /// malformed table pattern, an empty `operations` list).
    #[error("tenant {tenant:?}: grant {grant}: {message}")]
    Grant {
        tenant: String,
        grant: usize,
        message: String,
    },
}
