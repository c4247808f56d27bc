//! Evaluating a compiled predicate on a row, with SQL's three-valued logic. Nothing here
//! allocates.

use std::cmp::Ordering;

use crate::event::Value;

use super::ast::CmpOp;
use super::bind::{Bound, Class, CompiledPredicate, Node};
use super::decimal;

/// The value of a condition in SQL's three-valued logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// NULL: a comparison with NULL, or with a value the row does not carry (unchanged TOAST, a
    /// non-key column of a key-only old image).
    Unknown,
}

impl Truth {
    pub fn is_true(self) -> bool {
        self == Truth::True
    }

    fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

impl CompiledPredicate {
    /// True when the row (one value per column of the table) satisfies the predicate. NULL and
    /// unknown are not "satisfied": the row is not delivered. `Value::UnchangedToast` counts as
    /// unknown, even for `IS NULL`.
    pub fn matches(&self, row: &[Value]) -> bool {
        self.eval(|i| row.get(i)).is_true()
    }

    /// Evaluates with a column accessor: `get(i)` is column `i`'s value, or `None` when the row
    /// does not carry it (then every condition on that column is unknown).
    pub fn eval<'v, F>(&self, get: F) -> Truth
    where
        F: Fn(usize) -> Option<&'v Value>,
    {
        eval(&self.root, &get)
    }
}

fn eval<'v, F>(node: &Node, get: &F) -> Truth
where
    F: Fn(usize) -> Option<&'v Value>,
{
    let fetch = |col: usize| get(col).filter(|v| !matches!(v, Value::UnchangedToast));
    match node {
        Node::Or(items) => {
            let mut result = Truth::False;
            for item in items {
                match eval(item, get) {
                    Truth::True => return Truth::True,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::False => {}
                }
            }
            result
        }
        Node::And(items) => {
            let mut result = Truth::True;
            for item in items {
                match eval(item, get) {
                    Truth::False => return Truth::False,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::True => {}
                }
            }
            result
        }
        Node::Not(inner) => eval(inner, get).not(),
        Node::IsNull { col, negated } => match fetch(*col) {
            None => Truth::Unknown,
            Some(v) => Truth::from_bool(matches!(v, Value::Null) != *negated),
        },
        Node::Cmp {
            col,
            class,
            op,
            lit,
        } => match fetch(*col) {
            None | Some(Value::Null) => Truth::Unknown,
            Some(v) => match compare(*class, v, lit) {
                Some(ord) => Truth::from_bool(holds(*op, ord)),
                None => Truth::Unknown,
            },
        },
        Node::In {
            col,
            class,
            negated,
            lits,
        } => {
            let v = match fetch(*col) {
                None | Some(Value::Null) => return Truth::Unknown,
                Some(v) => v,
            };
            let mut result = Truth::False;
            for lit in lits {
                match compare(*class, v, lit) {
                    Some(Ordering::Equal) => {
                        result = Truth::True;
                        break;
                    }
                    Some(_) => {}
                    None => result = Truth::Unknown,
                }
            }
            if *negated {
                result.not()
            } else {
                result
            }
        }
    }
}

fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `value` compared with `lit`; `None` when the value is not of the column's expected form (a
/// value that failed to parse and arrived as text), which makes the condition unknown.
fn compare(class: Class, value: &Value, lit: &Bound) -> Option<Ordering> {
    match (class, value, lit) {
        (Class::Int, Value::Int(v), Bound::Int(l)) => Some(v.cmp(l)),
        (Class::Int, Value::Int(v), Bound::Dec(l)) => {
            let mut buf = [0u8; 20];
            Some(decimal::cmp(
                decimal::from_i64(*v, &mut buf),
                decimal::parse(l)?,
            ))
        }
        (Class::Numeric, Value::Numeric(v), Bound::Dec(l)) => {
            decimal::cmp_numeric_text(v, decimal::parse(l)?)
        }
        (Class::Float, Value::Float(v), Bound::Float(l)) => Some(cmp_float(*v, *l)),
        (Class::Bool, Value::Boolean(v), Bound::Bool(l)) => Some(v.cmp(l)),
        (Class::Text, Value::Text(v), Bound::Str(l))
        | (Class::Uuid, Value::Uuid(v), Bound::Str(l))
        | (Class::OtherText, Value::Other(v), Bound::Str(l)) => {
            Some(v.as_bytes().cmp(l.as_bytes()))
        }
        (Class::Bpchar, Value::Text(v), Bound::Str(l)) => {
            Some(v.trim_end_matches(' ').as_bytes().cmp(l.as_bytes()))
        }
        (Class::Date, Value::Date(v), Bound::Instant(l)) => Some(i64::from(*v).cmp(l)),
        (Class::Timestamp, Value::Timestamp(v), Bound::Instant(l))
        | (Class::Timestamptz, Value::Timestamptz(v), Bound::Instant(l))
        | (Class::Time, Value::Time(v), Bound::Instant(l)) => Some(v.cmp(l)),
        // Infinite dates and timestamps arrive as text.
        (
            Class::Date | Class::Timestamp | Class::Timestamptz,
            Value::Other(v),
            Bound::Instant(l),
        ) => {
            let v = if v.eq_ignore_ascii_case("infinity") {
                i64::MAX
            } else if v.eq_ignore_ascii_case("-infinity") {
                i64::MIN
            } else {
                return None;
            };
            Some(v.cmp(l))
        }
        _ => None,
    }
}

/// PostgreSQL's float order: NaN equals NaN and sorts above everything else; -0 equals 0.
fn cmp_float(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}
