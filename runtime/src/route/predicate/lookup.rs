//! The part of a where-clause that can be looked up instead of evaluated: an equality (`=` or
//! `IN`) on one column that every row the predicate accepts must satisfy.
//!
//! Values and literals are reduced to a [`Key`] such that a value's key equals a literal's key
//! exactly when [`compare`](super::eval) finds them equal. Only column classes where that holds
//! with a plain hash are indexable; `numeric` (`1.0` = `1`), `real`/`double` (`-0` = `0`, NaN)
//! and integers compared with a decimal literal (`x = 2.0`) are not, and stay evaluated.

use crate::event::Value;

use super::ast::CmpOp;
use super::bind::{Bound, Class, CompiledPredicate, Node};

/// A literal of an indexed column, as a hash key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// Integers, booleans (0/1), days and microseconds (`'infinity'` as `i64::MAX`).
    Num(i64),
    /// Text, `character(n)` without trailing blanks, uuid in canonical form, other text forms.
    Str(Box<str>),
}

/// A value of an indexed column as a key, without copying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef<'v> {
    Num(i64),
    Str(&'v str),
}

/// How the values of an indexed column become keys (one per column: it follows the column's
/// type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyClass(Class);

impl KeyClass {
    /// The value's key; `None` when no literal can equal it (NULL, a value not of the column's
    /// form, which the predicate finds unknown).
    pub fn key_of(self, value: &Value) -> Option<KeyRef<'_>> {
        let infinite = |v: &str| {
            if v.eq_ignore_ascii_case("infinity") {
                Some(KeyRef::Num(i64::MAX))
            } else if v.eq_ignore_ascii_case("-infinity") {
                Some(KeyRef::Num(i64::MIN))
            } else {
                None
            }
        };
        match (self.0, value) {
            (Class::Int, Value::Int(v)) => Some(KeyRef::Num(*v)),
            (Class::Bool, Value::Boolean(v)) => Some(KeyRef::Num(i64::from(*v))),
            (Class::Text, Value::Text(v))
            | (Class::Uuid, Value::Uuid(v))
            | (Class::OtherText, Value::Other(v)) => Some(KeyRef::Str(v)),
            (Class::Bpchar, Value::Text(v)) => Some(KeyRef::Str(v.trim_end_matches(' '))),
            (Class::Date, Value::Date(v)) => Some(KeyRef::Num(i64::from(*v))),
            (Class::Timestamp, Value::Timestamp(v))
            | (Class::Timestamptz, Value::Timestamptz(v))
            | (Class::Time, Value::Time(v)) => Some(KeyRef::Num(*v)),
            (Class::Date | Class::Timestamp | Class::Timestamptz, Value::Other(v)) => infinite(v),
            _ => None,
        }
    }
}

/// `column = literal` or `column IN (literals)`, one conjunct of the predicate's top-level
/// `AND` (or the whole predicate): a row can satisfy the predicate only when its value of
/// `column` has one of `keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equality {
    pub column: usize,
    pub class: KeyClass,
    pub keys: Vec<Key>,
}

impl CompiledPredicate {
    /// The first indexable equality among the top-level conjuncts (an `=` before an `IN`, which
    /// matches more rows), or `None`: then the predicate must be evaluated on every row.
    pub fn equality(&self) -> Option<Equality> {
        let mut conjuncts = Vec::new();
        conjuncts_of(&self.root, &mut conjuncts);
        let found: Vec<Equality> = conjuncts.into_iter().filter_map(equality_of).collect();
        found
            .iter()
            .find(|e| e.keys.len() == 1)
            .or(found.first())
            .cloned()
    }
}

fn conjuncts_of<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    match node {
        Node::And(items) => items.iter().for_each(|n| conjuncts_of(n, out)),
        other => out.push(other),
    }
}

fn equality_of(node: &Node) -> Option<Equality> {
    let (col, class, lits) = match node {
        Node::Cmp {
            col,
            class,
            op: CmpOp::Eq,
            lit,
        } => (*col, *class, std::slice::from_ref(lit)),
        Node::In {
            col,
            class,
            negated: false,
            lits,
        } => (*col, *class, lits.as_slice()),
        _ => return None,
    };
    let keys = lits
        .iter()
        .map(|lit| key_of_literal(class, lit))
        .collect::<Option<Vec<Key>>>()?;
    Some(Equality {
        column: col,
        class: KeyClass(class),
        keys,
    })
}

/// The literal's key, when its column's class is indexable and the literal is of the exact form
/// its values are compared in.
fn key_of_literal(class: Class, lit: &Bound) -> Option<Key> {
    match (class, lit) {
        (Class::Int, Bound::Int(l)) => Some(Key::Num(*l)),
        (Class::Bool, Bound::Bool(l)) => Some(Key::Num(i64::from(*l))),
        (Class::Text | Class::Bpchar | Class::Uuid | Class::OtherText, Bound::Str(l)) => {
            Some(Key::Str(l.clone()))
        }
        (Class::Date | Class::Timestamp | Class::Timestamptz | Class::Time, Bound::Instant(l)) => {
            Some(Key::Num(*l))
        }
        _ => None,
    }
}
