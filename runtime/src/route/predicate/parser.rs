//! Tokens → syntax tree, by recursive descent.
//!
//! ```text
//! expr      := and_expr (OR and_expr)*
//! and_expr  := not_expr (AND not_expr)*
//! not_expr  := NOT not_expr | primary
//! primary   := '(' expr ')' | condition
//! condition := column op value | value op column
//!            | column [NOT] IN '(' value (',' value)* ')'
//!            | column IS [NOT] NULL
//! op        := '=' | '<>' | '!=' | '<' | '<=' | '>' | '>='
//! value     := 'string' | number | TRUE | FALSE
//! ```

use super::ast::{Expr, Ident, Literal, LiteralKind};
use super::lexer::{tokenize, Keyword, Token, TokenKind};
use super::PredicateError;

/// Deepest nesting of parentheses and NOTs accepted, so that a hostile or broken configuration
/// cannot overflow the stack.
const MAX_DEPTH: usize = 64;

/// Parses a where-clause.
pub fn parse(src: &str) -> Result<Expr, PredicateError> {
    let tokens = tokenize(src)?;
    if tokens.len() == 1 {
        return Err(PredicateError::new(0, "the where-clause is empty"));
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = p.expr()?;
    let t = p.peek();
    if t.kind != TokenKind::End {
        let msg = if t.kind == TokenKind::RParen {
            "unmatched ')'".to_string()
        } else {
            format!("expected AND, OR or the end of the where-clause, found {t}")
        };
        return Err(PredicateError::new(t.offset, msg));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The last token is `End`, which is never consumed.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != TokenKind::End {
            self.pos += 1;
        }
        t
    }

    fn at_keyword(&self, k: Keyword) -> bool {
        self.peek().kind == TokenKind::Keyword(k)
    }

    fn expr(&mut self) -> Result<Expr, PredicateError> {
        let mut items = vec![self.and_expr()?];
        while self.at_keyword(Keyword::Or) {
            self.next();
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, PredicateError> {
        let mut items = vec![self.not_expr()?];
        while self.at_keyword(Keyword::And) {
            self.next();
            items.push(self.not_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not_expr(&mut self) -> Result<Expr, PredicateError> {
        self.enter()?;
        let result = if self.at_keyword(Keyword::Not) {
            self.next();
            self.not_expr().map(|e| Expr::Not(Box::new(e)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        result
    }

    fn enter(&mut self) -> Result<(), PredicateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PredicateError::new(
                self.peek().offset,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, PredicateError> {
        let t = self.next();
        if let TokenKind::Ident(name) = &t.kind {
            let column = Ident {
                name: name.clone(),
                offset: t.offset,
            };
            return self.condition(column);
        }
        if t.kind == TokenKind::LParen {
            let inner = self.expr()?;
            let close = self.next();
            if close.kind != TokenKind::RParen {
                return Err(PredicateError::new(
                    close.offset,
                    format!(
                        "expected ')' to close the '(' at offset {}, found {close}",
                        t.offset
                    ),
                ));
            }
            return Ok(inner);
        }
        let (offset, found) = (t.offset, t.to_string());
        match literal(t) {
            Some(value) => self.reversed_comparison(value),
            None => Err(PredicateError::new(
                offset,
                format!("expected a condition (a column, NOT or '('), found {found}"),
            )),
        }
    }

    /// What follows a column name.
    fn condition(&mut self, column: Ident) -> Result<Expr, PredicateError> {
        let t = self.next();
        match t.kind {
            TokenKind::Op(op) => {
                let value = self.value(&format!("after '{}'", t.text))?;
                Ok(Expr::Compare { column, op, value })
            }
            TokenKind::Keyword(Keyword::In) => self.in_list(column, false),
            TokenKind::Keyword(Keyword::Not) => {
                let t = self.next();
                if t.kind != TokenKind::Keyword(Keyword::In) {
                    return Err(PredicateError::new(
                        t.offset,
                        format!("expected IN after NOT, found {t}"),
                    ));
                }
                self.in_list(column, true)
            }
            TokenKind::Keyword(Keyword::Is) => {
                let mut t = self.next();
                let negated = t.kind == TokenKind::Keyword(Keyword::Not);
                if negated {
                    t = self.next();
                }
                if t.kind != TokenKind::Keyword(Keyword::Null) {
                    let what = if negated { "IS NOT" } else { "IS" };
                    return Err(PredicateError::new(
                        t.offset,
                        format!("expected NULL after {what}, found {t}"),
                    ));
                }
                Ok(Expr::IsNull { column, negated })
            }
            _ => Err(PredicateError::new(
                t.offset,
                format!(
                    "expected an operator (=, <>, <, <=, >, >=, IN, NOT IN, IS) after column {:?}, found {t}",
                    column.name
                ),
            )),
        }
    }

    /// `value op column`.
    fn reversed_comparison(&mut self, value: Literal) -> Result<Expr, PredicateError> {
        let t = self.next();
        let TokenKind::Op(op) = t.kind else {
            return Err(PredicateError::new(
                t.offset,
                format!(
                    "expected a comparison operator after {}, found {t}",
                    value.text
                ),
            ));
        };
        let c = self.next();
        let TokenKind::Ident(name) = c.kind else {
            return Err(PredicateError::new(
                c.offset,
                format!("expected a column after '{}', found {c}", t.text),
            ));
        };
        Ok(Expr::Compare {
            column: Ident {
                name,
                offset: c.offset,
            },
            op: op.flip(),
            value,
        })
    }

    fn in_list(&mut self, column: Ident, negated: bool) -> Result<Expr, PredicateError> {
        let t = self.next();
        if t.kind != TokenKind::LParen {
            return Err(PredicateError::new(
                t.offset,
                format!("expected '(' after IN, found {t}"),
            ));
        }
        let mut values = vec![self.value("in the IN list")?];
        loop {
            let t = self.next();
            match t.kind {
                TokenKind::Comma => values.push(self.value("after ',' in the IN list")?),
                TokenKind::RParen => break,
                _ => {
                    return Err(PredicateError::new(
                        t.offset,
                        format!("expected ',' or ')' in the IN list, found {t}"),
                    ))
                }
            }
        }
        Ok(Expr::In {
            column,
            negated,
            values,
        })
    }

    /// A literal; `context` says where it was expected ("after '='").
    fn value(&mut self, context: &str) -> Result<Literal, PredicateError> {
        let t = self.next();
        if t.kind == TokenKind::Keyword(Keyword::Null) {
            return Err(PredicateError::new(
                t.offset,
                "NULL is only allowed in IS NULL / IS NOT NULL (a comparison with NULL is never true)",
            ));
        }
        let offset = t.offset;
        let found = t.to_string();
        literal(t).ok_or_else(|| {
            PredicateError::new(offset, format!("expected a value {context}, found {found}"))
        })
    }
}

fn literal(t: Token) -> Option<Literal> {
    let kind = match t.kind {
        TokenKind::Str(s) => LiteralKind::Str(s),
        TokenKind::Num(n) => LiteralKind::Num(n),
        TokenKind::Keyword(Keyword::True) => LiteralKind::Bool(true),
        TokenKind::Keyword(Keyword::False) => LiteralKind::Bool(false),
        _ => return None,
    };
    Some(Literal {
        kind,
        offset: t.offset,
        text: t.text,
    })
}
