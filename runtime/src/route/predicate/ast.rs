//! The syntax tree of a where-clause, before it is checked against a table.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped: `5 < x` is `x > 5`.
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            op => op,
        }
    }

    /// True for `<`, `<=`, `>`, `>=`.
    pub fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

/// A column reference: unquoted names are folded to lower case (as PostgreSQL does), quoted names
/// are kept exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    /// Byte offset in the where-clause.
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralKind {
    /// A `'...'` string, unescaped.
    Str(String),
    /// An integer or decimal number as written, with an optional sign: `-10.50`, `.5`, `42`.
    Num(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub kind: LiteralKind,
    /// Byte offset in the where-clause.
    pub offset: usize,
    /// The literal as written, for messages.
    pub text: String,
}

/// A where-clause. `And`/`Or` are n-ary so that long chains stay flat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `column op literal` (a `literal op column` is stored flipped).
    Compare {
        column: Ident,
        op: CmpOp,
        value: Literal,
    },
    /// `column [NOT] IN (literal, ...)`.
    In {
        column: Ident,
        negated: bool,
        values: Vec<Literal>,
    },
    /// `column IS [NOT] NULL`.
    IsNull {
        column: Ident,
        negated: bool,
    },
}

impl Expr {
    /// Every column reference, in the order written (with repeats).
    pub fn columns(&self) -> Vec<&Ident> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a Ident>) {
        match self {
            Expr::Or(items) | Expr::And(items) => {
                for item in items {
                    item.collect_columns(out);
                }
            }
            Expr::Not(inner) => inner.collect_columns(out),
            Expr::Compare { column, .. }
            | Expr::In { column, .. }
            | Expr::IsNull { column, .. } => out.push(column),
        }
    }
}

/// Writes the expression fully parenthesised, with quoted identifiers: `("a" = 1 OR ("b" = 2 AND
/// NOT "c" IS NULL))`. Meant for messages and tests, not for PostgreSQL.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(items) | Expr::And(items) => {
                let sep = if matches!(self, Expr::Or(_)) {
                    " OR "
                } else {
                    " AND "
                };
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Expr::Not(inner) => write!(f, "NOT {inner}"),
            Expr::Compare { column, op, value } => {
                write!(f, "{:?} {} {}", column.name, op.symbol(), value.text)
            }
            Expr::In {
                column,
                negated,
                values,
            } => {
                write!(
                    f,
                    "{:?} {}IN (",
                    column.name,
                    if *negated { "NOT " } else { "" }
                )?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&v.text)?;
                }
                f.write_str(")")
            }
            Expr::IsNull { column, negated } => write!(
                f,
                "{:?} IS {}NULL",
                column.name,
                if *negated { "NOT " } else { "" }
            ),
        }
    }
}
