//! Where-clause text → tokens.

use std::fmt;

use super::ast::CmpOp;
use super::PredicateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    And,
    Or,
    Not,
    In,
    Is,
    Null,
    True,
    False,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        const WORDS: [(&str, Keyword); 8] = [
            ("and", Keyword::And),
            ("or", Keyword::Or),
            ("not", Keyword::Not),
            ("in", Keyword::In),
            ("is", Keyword::Is),
            ("null", Keyword::Null),
            ("true", Keyword::True),
            ("false", Keyword::False),
        ];
        WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|&(_, k)| k)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
            Keyword::In => "IN",
            Keyword::Is => "IS",
            Keyword::Null => "NULL",
            Keyword::True => "TRUE",
            Keyword::False => "FALSE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A column name: unquoted ones folded to lower case, quoted ones exact.
    Ident(String),
    Keyword(Keyword),
    /// A string literal, unescaped.
    Str(String),
    /// A number as written (sign included).
    Num(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte offset of the token's first character.
    pub offset: usize,
    /// The token as written.
    pub text: String,
}

/// How a token is named in "found ..." messages.
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            TokenKind::End => f.write_str("end of input"),
            TokenKind::Keyword(k) => f.write_str(k.as_str()),
            TokenKind::Ident(_) => write!(f, "column {}", self.text),
            _ => write!(f, "{}", self.text),
        }
    }
}

/// Splits a where-clause into tokens; the last one is always `End`.
pub fn tokenize(src: &str) -> Result<Vec<Token>, PredicateError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = match c {
            b'(' => {
                i += 1;
                TokenKind::LParen
            }
            b')' => {
                i += 1;
                TokenKind::RParen
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            b'=' => {
                i += 1;
                TokenKind::Op(CmpOp::Eq)
            }
            b'<' => match bytes.get(i + 1) {
                Some(b'=') => {
                    i += 2;
                    TokenKind::Op(CmpOp::Le)
                }
                Some(b'>') => {
                    i += 2;
                    TokenKind::Op(CmpOp::Ne)
                }
                _ => {
                    i += 1;
                    TokenKind::Op(CmpOp::Lt)
                }
            },
            b'>' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 2;
                    TokenKind::Op(CmpOp::Ge)
                } else {
                    i += 1;
                    TokenKind::Op(CmpOp::Gt)
                }
            }
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                i += 2;
                TokenKind::Op(CmpOp::Ne)
            }
            b'\'' => {
                let (s, end) = quoted(src, i, b'\'').ok_or_else(|| {
                    PredicateError::new(start, "unterminated string literal (missing ')")
                })?;
                i = end;
                TokenKind::Str(s)
            }
            b'"' => {
                let (s, end) = quoted(src, i, b'"').ok_or_else(|| {
                    PredicateError::new(start, "unterminated quoted identifier (missing \")")
                })?;
                if s.is_empty() {
                    return Err(PredicateError::new(start, "empty quoted identifier \"\""));
                }
                i = end;
                TokenKind::Ident(s)
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                i = number(bytes, i)?;
                TokenKind::Num(src[start..i].to_string())
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                let word = &src[start..i];
                match Keyword::from_word(word) {
                    Some(k) => TokenKind::Keyword(k),
                    None => TokenKind::Ident(word.to_ascii_lowercase()),
                }
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(PredicateError::new(
                    start,
                    format!("unexpected character {ch:?}"),
                ));
            }
        };
        tokens.push(Token {
            kind,
            offset: start,
            text: src[start..i].to_string(),
        });
    }
    tokens.push(Token {
        kind: TokenKind::End,
        offset: src.len(),
        text: String::new(),
    });
    Ok(tokens)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// A `q...q` run starting at `start` where `qq` stands for one `q`; returns the unescaped text and
/// the offset just past the closing quote.
fn quoted(src: &str, start: usize, q: u8) -> Option<(String, usize)> {
    let bytes = src.as_bytes();
    let mut out = String::new();
    let mut run = start + 1;
    loop {
        let at = run + bytes[run..].iter().position(|&b| b == q)?;
        out.push_str(&src[run..at]);
        if bytes.get(at + 1) == Some(&q) {
            out.push(q as char);
            run = at + 2;
        } else {
            return Some((out, at + 1));
        }
    }
}

/// `[+-]? (digits [. digits*] | . digits)`; returns the offset just past it.
fn number(bytes: &[u8], start: usize) -> Result<usize, PredicateError> {
    let mut i = start;
    if matches!(bytes[i], b'-' | b'+') {
        i += 1;
    }
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        let sign = bytes[start] as char;
        return Err(PredicateError::new(
            start,
            format!("expected digits after {sign:?}"),
        ));
    }
    if i < bytes.len() && (is_ident_byte(bytes[i]) || bytes[i] == b'.') {
        return Err(PredicateError::new(
            start,
            "malformed number (only integers and decimals like -12.50 are allowed)",
        ));
    }
    Ok(i)
}
