//! Row predicates: the `where` of a grant.
//!
//! A where-clause is a small subset of SQL's boolean expressions over one table's columns:
//!
//! - comparisons `column op value` (or `value op column`) with `=`, `<>` (`!=`), `<`, `<=`, `>`,
//!   `>=`; `column [NOT] IN (value, ...)`; `column IS [NOT] NULL`;
//! - `AND`, `OR`, `NOT` and parentheses, `NOT` binding tighter than `AND`, `AND` tighter than
//!   `OR`;
//! - values: `'strings'` (`''` for a quote), numbers (`42`, `-10.50`, `.5`), `TRUE`, `FALSE`.
//!   `NULL` appears only in `IS [NOT] NULL`;
//! - keywords in any case; column names bare (folded to lower case, as PostgreSQL does) or
//!   `"double-quoted"` (exact, `""` for a quote).
//!
//! [`parse`] gives the syntax tree ([`Expr`]); [`CompiledPredicate::compile`] checks it against a
//! table's columns and types and binds it to column positions; [`CompiledPredicate::matches`] and
//! [`CompiledPredicate::eval`] evaluate it on a row without allocating.
//!
//! What a literal must look like depends on the column's type:
//!
//! | column type | literal | comparison |
//! |---|---|---|
//! | integer types | number | exact (`x > 2.5` works on integers) |
//! | numeric | number | exact decimal, no rounding; `NaN` sorts above everything |
//! | real, double | number | as `f64`; NaN sorts above everything, as in PostgreSQL |
//! | boolean | `TRUE`/`FALSE` (or `'t'`, `'yes'`, ...) | false < true |
//! | text, varchar, name | string | byte order (the C collation), not the database's collation |
//! | character(n) | string | trailing blanks ignored, as PostgreSQL does |
//! | uuid | string, any form PostgreSQL accepts | canonical form |
//! | date | `'YYYY-MM-DD'`, `'infinity'` | by day |
//! | timestamp | `'YYYY-MM-DD[ HH:MM:SS[.ffffff]]'` | by microsecond |
//! | timestamptz | as timestamp, optional `Z`/`±HH[:MM]` offset (UTC if none) | by instant |
//! | time | `'HH:MM[:SS[.ffffff]]'` | by microsecond |
//! | other types carried as text (enums, intervals, ...) | string | `=`, `<>`, `IN` on the text form only |
//! | json, jsonb, bytea, arrays | none | `IS [NOT] NULL` only |
//!
//! Evaluation follows SQL: a comparison involving NULL is unknown, `NOT unknown` is unknown, and a
//! row is delivered only when the whole predicate is true. A value the row does not carry
//! (unchanged TOAST, a non-key column of a key-only old image) is unknown too, even for
//! `IS NULL`: it is not known to be NULL.

mod ast;
mod bind;
mod decimal;
mod eval;
mod lexer;
mod lookup;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;

pub use ast::{CmpOp, Expr, Ident, Literal, LiteralKind};
pub use bind::{BindError, CompiledPredicate};
pub use eval::Truth;
pub use lookup::{Equality, Key, KeyClass, KeyRef};
pub use parser::parse;

/// A syntax error in a where-clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateError {
    /// Byte offset in the where-clause.
    pub offset: usize,
    /// What was expected (and found).
    pub message: String,
}

impl PredicateError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> PredicateError {
        PredicateError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for PredicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

impl std::error::Error for PredicateError {}
