//! Checking a where-clause against a table and binding it to column positions.
//!
//! Each literal is converted once, here, into the form the column's values arrive in (days,
//! microseconds, canonical uuid text, ...), so evaluation only compares.

use crate::assemble::datetime;
use crate::assemble::types::{Kind, ScalarKind};
use crate::event::{Column, Relation};

use super::ast::{CmpOp, Expr, Ident, Literal, LiteralKind};

/// `character(n)` (bpchar): its values are blank-padded and compare without trailing blanks.
const BPCHAR_OID: u32 = 1042;

/// How the values of a column compare with literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Int,
    Float,
    Numeric,
    Bool,
    Text,
    Bpchar,
    Uuid,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    /// A type carried as PostgreSQL's text form (enums, domains over unmodelled types, ...):
    /// equality with the text only.
    OtherText,
    /// json, bytea, arrays: only `IS [NOT] NULL`.
    NullOnly,
}

impl Class {
    fn of(column: &Column, kind: Option<Kind>) -> Class {
        match kind {
            Some(Kind::Scalar(k)) => match k {
                ScalarKind::Int => Class::Int,
                ScalarKind::Float => Class::Float,
                ScalarKind::Numeric => Class::Numeric,
                ScalarKind::Bool => Class::Bool,
                ScalarKind::Text if column.type_oid == BPCHAR_OID => Class::Bpchar,
                ScalarKind::Text => Class::Text,
                ScalarKind::Uuid => Class::Uuid,
                ScalarKind::Date => Class::Date,
                ScalarKind::Timestamp => Class::Timestamp,
                ScalarKind::Timestamptz => Class::Timestamptz,
                ScalarKind::Time => Class::Time,
                ScalarKind::Other => Class::OtherText,
                ScalarKind::Json | ScalarKind::Bytea => Class::NullOnly,
            },
            Some(Kind::Array(_)) => Class::NullOnly,
            None => Class::OtherText,
        }
    }
}

/// A literal converted to the representation of the column's values.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bound {
    Int(i64),
    /// An exact decimal, as written (checked to parse).
    Dec(Box<str>),
    Float(f64),
    Bool(bool),
    Str(Box<str>),
    /// Days (date) or microseconds (timestamp, timestamptz, time); `i64::MAX`/`i64::MIN` for
    /// `'infinity'`/`'-infinity'`.
    Instant(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Cmp {
        col: usize,
        class: Class,
        op: CmpOp,
        lit: Bound,
    },
    In {
        col: usize,
        class: Class,
        negated: bool,
        lits: Vec<Bound>,
    },
    IsNull {
        col: usize,
        negated: bool,
    },
}

/// A where-clause checked against one table's columns, ready to evaluate on its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPredicate {
    pub(super) root: Node,
    /// Column indices the predicate reads, ascending, without repeats.
    pub(super) columns: Vec<usize>,
}

/// Why a where-clause does not fit a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindError {
    UnknownColumn {
        name: String,
        offset: usize,
    },
    /// A literal (or operator) does not fit the column's type; `message` names the column, its
    /// type and the literal.
    Mismatch {
        offset: usize,
        message: String,
    },
}

impl CompiledPredicate {
    /// Checks `expr` against a table (`kinds[i]` is how column `i` is typed) and binds it.
    pub fn compile(
        expr: &Expr,
        relation: &Relation,
        kinds: &[Kind],
    ) -> Result<CompiledPredicate, BindError> {
        let mut columns = Vec::new();
        let root = bind(expr, relation, kinds, &mut columns)?;
        columns.sort_unstable();
        columns.dedup();
        Ok(CompiledPredicate { root, columns })
    }

    /// Indices of the columns the predicate reads, ascending.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }
}

fn bind(
    expr: &Expr,
    rel: &Relation,
    kinds: &[Kind],
    used: &mut Vec<usize>,
) -> Result<Node, BindError> {
    let mut column = |ident: &Ident| -> Result<(usize, &Column, Class), BindError> {
        let i = rel
            .columns
            .iter()
            .position(|c| c.name == ident.name)
            .ok_or_else(|| BindError::UnknownColumn {
                name: ident.name.clone(),
                offset: ident.offset,
            })?;
        used.push(i);
        let col = &rel.columns[i];
        Ok((i, col, Class::of(col, kinds.get(i).copied())))
    };
    Ok(match expr {
        Expr::Or(items) => Node::Or(
            items
                .iter()
                .map(|e| bind(e, rel, kinds, used))
                .collect::<Result<_, _>>()?,
        ),
        Expr::And(items) => Node::And(
            items
                .iter()
                .map(|e| bind(e, rel, kinds, used))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(inner) => Node::Not(Box::new(bind(inner, rel, kinds, used)?)),
        Expr::IsNull { column: c, negated } => Node::IsNull {
            col: column(c)?.0,
            negated: *negated,
        },
        Expr::Compare {
            column: c,
            op,
            value,
        } => {
            let (col, column, class) = column(c)?;
            Node::Cmp {
                col,
                class,
                op: *op,
                lit: literal(class, column, *op, value)?,
            }
        }
        Expr::In {
            column: c,
            negated,
            values,
        } => {
            let (col, column, class) = column(c)?;
            Node::In {
                col,
                class,
                negated: *negated,
                lits: values
                    .iter()
                    .map(|v| literal(class, column, CmpOp::Eq, v))
                    .collect::<Result<_, _>>()?,
            }
        }
    })
}

fn literal(class: Class, column: &Column, op: CmpOp, lit: &Literal) -> Result<Bound, BindError> {
    let mismatch = |expected: &str| BindError::Mismatch {
        offset: lit.offset,
        message: format!(
            "cannot compare column {:?} ({}) with {}: expected {expected}",
            column.name, column.type_name, lit.text
        ),
    };
    let restricted = |what: &str| BindError::Mismatch {
        offset: lit.offset,
        message: format!("column {:?} ({}) {what}", column.name, column.type_name),
    };
    let text = match &lit.kind {
        LiteralKind::Str(s) => Some(s.as_str()),
        _ => None,
    };
    match class {
        Class::NullOnly => Err(restricted("can only be tested with IS NULL or IS NOT NULL")),
        Class::OtherText if op.is_ordering() => Err(restricted(
            "is compared by its text form: only =, <>, IN and NOT IN work on it",
        )),
        Class::Int | Class::Numeric | Class::Float => {
            let LiteralKind::Num(n) = &lit.kind else {
                return Err(mismatch("a number (without quotes)"));
            };
            match class {
                Class::Float => n
                    .parse::<f64>()
                    .map(Bound::Float)
                    .map_err(|_| mismatch("a number")),
                Class::Int => Ok(n
                    .parse::<i64>()
                    .map(Bound::Int)
                    .unwrap_or_else(|_| Bound::Dec(n.as_str().into()))),
                _ => Ok(Bound::Dec(n.as_str().into())),
            }
        }
        Class::Bool => match &lit.kind {
            LiteralKind::Bool(b) => Ok(Bound::Bool(*b)),
            LiteralKind::Str(s) => bool_word(s)
                .map(Bound::Bool)
                .ok_or_else(|| mismatch("TRUE or FALSE")),
            LiteralKind::Num(_) => Err(mismatch("TRUE or FALSE")),
        },
        Class::Text | Class::OtherText => text
            .map(|s| Bound::Str(s.into()))
            .ok_or_else(|| mismatch("a string literal '...'")),
        Class::Bpchar => text
            .map(|s| Bound::Str(s.trim_end_matches(' ').into()))
            .ok_or_else(|| mismatch("a string literal '...'")),
        Class::Uuid => text
            .and_then(canonical_uuid)
            .map(|s| Bound::Str(s.into()))
            .ok_or_else(|| mismatch("a uuid like '0e37df36-f698-11e6-8dd4-cb9ced3df976'")),
        Class::Date => text
            .and_then(|s| infinity(s).or_else(|| datetime::parse_date(s.trim())))
            .map(Bound::Instant)
            .ok_or_else(|| mismatch("a date 'YYYY-MM-DD'")),
        Class::Timestamp => text
            .and_then(|s| timestamp(s, false))
            .map(Bound::Instant)
            .ok_or_else(|| mismatch("a timestamp 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]'")),
        Class::Timestamptz => text
            .and_then(|s| timestamp(s, true))
            .map(Bound::Instant)
            .ok_or_else(|| {
                mismatch(
                    "a timestamp 'YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM]]' (UTC if no offset)",
                )
            }),
        Class::Time => text
            .and_then(time)
            .map(Bound::Instant)
            .ok_or_else(|| mismatch("a time 'HH:MM[:SS[.ffffff]]'")),
    }
}

/// PostgreSQL's spellings of a boolean.
fn bool_word(s: &str) -> Option<bool> {
    const WORDS: [(&str, bool); 12] = [
        ("t", true),
        ("true", true),
        ("y", true),
        ("yes", true),
        ("on", true),
        ("1", true),
        ("f", false),
        ("false", false),
        ("n", false),
        ("no", false),
        ("off", false),
        ("0", false),
    ];
    let s = s.trim();
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(s))
        .map(|&(_, b)| b)
}

fn infinity(s: &str) -> Option<i64> {
    match s.trim() {
        x if x.eq_ignore_ascii_case("infinity") || x.eq_ignore_ascii_case("+infinity") => {
            Some(i64::MAX)
        }
        x if x.eq_ignore_ascii_case("-infinity") => Some(i64::MIN),
        _ => None,
    }
}

/// A timestamp literal: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with `T`), and for
/// timestamptz an optional `Z`/`±HH[:MM]` offset; without one the instant is taken as UTC (the
/// runtime's session time zone).
fn timestamp(s: &str, with_zone: bool) -> Option<i64> {
    if let Some(inf) = infinity(s) {
        return Some(inf);
    }
    let mut t = s.trim().to_string();
    if t.len() > 10 && t.as_bytes()[10] == b'T' {
        t.replace_range(10..11, " ");
    }
    if t.len() == 10 {
        t.push_str(" 00:00:00");
    }
    if !with_zone {
        return datetime::parse_timestamp(&t);
    }
    if let Some(local) = t.strip_suffix('Z') {
        t = format!("{local}+00");
    }
    datetime::parse_timestamptz(&t).or_else(|| datetime::parse_timestamp(&t))
}

fn time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() == 5 {
        return datetime::parse_time(&format!("{s}:00"));
    }
    datetime::parse_time(s)
}

/// A uuid in any form PostgreSQL accepts (upper case, braces, hyphens between groups of four
/// digits or none) → the canonical lower-case 8-4-4-4-12 form its values arrive in.
fn canonical_uuid(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return None;
    }
    let hex: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
    if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = String::with_capacity(36);
    for (i, b) in hex.iter().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(b.to_ascii_lowercase() as char);
    }
    Some(out)
}
