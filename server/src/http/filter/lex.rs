//! The filter language's tokens, each with its byte offset in the expression.

use std::fmt;

use super::{FilterError, syntax};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    Word(String),
    Str(String),
    Number(String),
    Eq,
    Ne,
    Dot,
    LParen,
    RParen,
    LBracket,
    RBracket,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Word(w) => write!(f, "{w:?}"),
            Kind::Str(s) => write!(f, "string {s:?}"),
            Kind::Number(n) => write!(f, "number {n}"),
            Kind::Eq => f.write_str("\"==\""),
            Kind::Ne => f.write_str("\"!=\""),
            Kind::Dot => f.write_str("\".\""),
            Kind::LParen => f.write_str("\"(\""),
            Kind::RParen => f.write_str("\")\""),
            Kind::LBracket => f.write_str("\"[\""),
            Kind::RBracket => f.write_str("\"]\""),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) at: usize,
}

pub(super) fn lex(source: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at = i;
        let (kind, next) = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => (Kind::Eq, i + 2),
            b'!' if bytes.get(i + 1) == Some(&b'=') => (Kind::Ne, i + 2),
            b'.' => (Kind::Dot, i + 1),
            b'(' => (Kind::LParen, i + 1),
            b')' => (Kind::RParen, i + 1),
            b'[' => (Kind::LBracket, i + 1),
            b']' => (Kind::RBracket, i + 1),
            b'"' => lex_quoted(source, i)?,
            b'`' => match source[i + 1..].find('`') {
                Some(len) => (
                    Kind::Str(source[i + 1..i + 1 + len].to_string()),
                    i + len + 2,
                ),
                None => return Err(syntax(at, "unterminated raw string")),
            },
            b'-' | b'0'..=b'9' => lex_number(source, i)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let len = source[i..]
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'))
                    .unwrap_or(source.len() - i);
                (Kind::Word(source[i..i + len].to_string()), i + len)
            }
            _ => {
                let ch = source[i..].chars().next().unwrap_or('?');
                return Err(syntax(at, format!("unexpected character {ch:?}")));
            }
        };
        tokens.push(Token { kind, at });
        i = next;
    }
    Ok(tokens)
}

fn lex_quoted(source: &str, start: usize) -> Result<(Kind, usize), FilterError> {
    let mut out = String::new();
    let mut chars = source[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            '"' => return Ok((Kind::Str(out), start + 1 + off + 1)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, c @ ('"' | '\\' | '/'))) => out.push(c),
                Some((eoff, c)) => {
                    return Err(syntax(
                        start + 1 + eoff,
                        format!("invalid escape sequence \\{c}"),
                    ));
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(syntax(start, "unterminated string"))
}

fn lex_number(source: &str, start: usize) -> Result<(Kind, usize), FilterError> {
    let rest = &source[start..];
    let bytes = rest.as_bytes();
    let mut len = 1;
    while len < bytes.len() {
        let digit_after = bytes.get(len + 1).is_some_and(u8::is_ascii_digit);
        if !(bytes[len].is_ascii_digit() || (bytes[len] == b'.' && digit_after)) {
            break;
        }
        len += 1;
    }
    let text = &rest[..len];
    if text.parse::<f64>().is_err() {
        return Err(syntax(start, format!("invalid number {text:?}")));
    }
    Ok((Kind::Number(text.to_string()), start + len))
}
