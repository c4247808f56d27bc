//! Route: what each tenant may see of the change stream.
//!
//! One process serves many tenants from one replication stream. Each tenant has grants that say
//! which tables, which columns, which rows and which operations it receives. Filtering happens
//! here, in the host, before anything is copied into a guest: a row outside a tenant's grant, or a
//! column it may not see, never reaches its memory, and a tenant pays nothing for events it does
//! not receive.
//!
//! # Grants
//!
//! A tenant's configuration holds a list of [`Grant`] entries:
//!
//! ```toml
//! [[tenants.grants]]
//! tables = ["public.orders", "sales.*"]
//! columns = ["id", "tenant_id", "amount"]   # or deny_columns = ["ssn"]; neither: all columns
//! where = "tenant_id = 'acme' AND region IN ('eu','us')"
//! operations = ["insert", "update", "delete"]   # default: insert, update, delete, truncate
//! ```
//!
//! - `tables`: `schema.table`, `table` (= `public.table`), `schema.*`, `*.table`, `*.*`, `*`
//!   (= `public.*`). Names are exact and case-sensitive, as PostgreSQL stores them; double-quote a
//!   part that contains `.` or `"` or is literally `*`.
//! - The **first** entry, in configuration order, with a pattern that matches a table decides
//!   everything about that table; later entries matching it are ignored. Put specific entries
//!   before wildcards.
//! - `columns` (allow-list) or `deny_columns`, not both. Columns keep table order. Every name must
//!   exist in every table the entry applies to.
//! - `where`: see [`predicate`] for the language. It may read columns the tenant cannot see (it is
//!   evaluated in the host, and only its verdict reaches the tenant). Unquoted column names fold
//!   to lower case, as in SQL.
//! - `operations`: a non-empty subset of `insert`, `update`, `delete`, `truncate`.
//!
//! # Checking
//!
//! [`TenantGrants::new`] parses the entries (syntax errors are reported without needing the
//! database); [`TenantGrants::check`] checks them against the live schema at start: an unknown
//! table or column or a literal that does not fit its column's type is a one-line [`RouteError`]
//! naming the tenant and the spot, e.g.
//!
//! ```text
//! tenant "acme": grant 1 where-clause at offset 12: expected a value after '=', found end of input
//! tenant "acme": table public.orders has no column "regoin" (grant 1 where-clause at offset 30)
//! ```
//!
//! # Routing
//!
//! [`TenantRouter::route`] takes a [`RowChange`](crate::assemble::RowChange) and returns the
//! change as the tenant may see it, with a projected table description, or nothing. Plans are
//! compiled once per table description and cached. The rules for each operation (predicate on
//! the new row for inserts, snapshot reads and updates, on the old row for deletes, old images only when they
//! satisfy the predicate too, rows leaving the tenant's rows delivered as deletes) are on
//! [`TablePlan::route_change`]. Old rows and old keys are projected with the same column grant
//! as new rows.
//!
//! # Many tenants
//!
//! [`RouteIndex`] decides which tenants to ask about each change, so that routing does not cost
//! every tenant every change: tenants without a grant for the table are never visited, and a
//! where-clause that is (or has as a top-level `AND` conjunct) `column = literal` or `column IN
//! (...)` is looked up by the row's value in a hash map (see the `index` module). The candidates
//! are then routed by their own [`TenantRouter`] exactly as without the index.

mod error;
mod grant;
mod index;
mod plan;
pub mod predicate;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_read;

pub use error::RouteError;
pub use grant::{Grant, GrantOp, OpSet, Partitions, TablePattern, TenantGrants};
pub use index::{RouteIndex, Shares};
pub use plan::{TablePlan, TenantRouter};
pub use predicate::{CompiledPredicate, PredicateError, Truth};
