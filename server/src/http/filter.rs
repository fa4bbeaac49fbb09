//! Nomad's `?filter=` expressions (the go-bexpr language) evaluated over the JSON of list entries.
//!
//! ```text
//!   "Status == \"running\" and Meta.env in (...)"
//!      ─> lexer (tokens with byte offsets) ─> recursive-descent parser ─> Expr
//!      ─> Expr::matches(&serde_json::Value)  (per list entry, as the API serializes it)
//! ```
//!
//! Grammar (lowest precedence first): `or`, `and`, `not`, parentheses, then one match:
//! `Sel == V`, `Sel != V`, `Sel is [not] empty`, `V [not] in Sel`, `Sel [not] contains V`,
//! `Sel [not] matches V`. Selectors are `Name(.Name | ["key"])*`; values are quoted strings
//! (`"..."` with escapes, or raw `` `...` ``), numbers, or bare words (`true`, `false`, ...).
//!
//! As go-bexpr: a value is coerced to the type of the JSON value it is compared with (a
//! number field against `"3"` or `3`, a boolean against `true`/`1`/`T`...); a selector whose
//! first name is not a field of the entry is an error (Nomad answers 400); a missing key below
//! that (a map key such as `Meta.missing`) is "not present": `==`, `in`, `contains`,
//! `matches` and `is not empty` are false, their negations true.

use std::fmt;

use regex::Regex;
use serde_json::Value;

/// A filter expression that did not parse, or could not be applied to an entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// The expression is not valid; `position` is the byte offset (0-based) of the problem.
    #[error("1:{} ({position}): {message}", position + 1)]
    Syntax { position: usize, message: String },
    /// The expression could not be evaluated against an entry.
    #[error("{0}")]
    Evaluate(String),
}

/// A parsed filter expression.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Self, FilterError> {
        let tokens = lex(source)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: source.len(),
        };
        let expr = parser.or_expr()?;
        match parser.peek() {
            None => Ok(Self { expr }),
            Some(t) => Err(syntax(t.at, format!("unexpected {}", t.kind))),
        }
    }

    /// Whether `entry` matches.
    pub fn matches(&self, entry: &Value) -> Result<bool, FilterError> {
        self.expr.eval(entry)
    }
}

#[derive(Debug, Clone)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Match(Match),
}

#[derive(Debug, Clone)]
struct Match {
    selector: Vec<String>,
    op: Op,
    negated: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Equal(String),
    In(String),
    IsEmpty,
    Matches(Regex),
}

impl Op {
    /// The answer when the selected map key is absent (go-bexpr's "not present" disposition).
    fn not_present(&self) -> bool {
        matches!(self, Op::IsEmpty)
    }
}

impl Expr {
    fn eval(&self, entry: &Value) -> Result<bool, FilterError> {
        match self {
            Expr::And(a, b) => Ok(a.eval(entry)? && b.eval(entry)?),
            Expr::Or(a, b) => Ok(a.eval(entry)? || b.eval(entry)?),
            Expr::Not(a) => Ok(!a.eval(entry)?),
            Expr::Match(m) => m.eval(entry),
        }
    }
}

impl Match {
    fn eval(&self, entry: &Value) -> Result<bool, FilterError> {
        let result = match select(entry, &self.selector)? {
            None => self.op.not_present(),
            Some(value) => self.apply(value)?,
        };
        Ok(result != self.negated)
    }

    fn apply(&self, value: &Value) -> Result<bool, FilterError> {
        match &self.op {
            Op::Equal(raw) => match value {
                Value::Null => Ok(false),
                Value::Array(_) | Value::Object(_) => Err(self.unsupported("==", value)),
                scalar => equal(raw, scalar)
                    .ok_or_else(|| FilterError::Evaluate(coerce_error(raw, scalar))),
            },
            Op::In(raw) => match value {
                Value::Null => Ok(false),
                Value::String(s) => Ok(s.contains(raw.as_str())),
                Value::Object(map) => Ok(map.contains_key(raw)),
                // Elements the value cannot be coerced to are skipped, as go-bexpr does.
                Value::Array(items) => Ok(items.iter().any(|i| equal(raw, i) == Some(true))),
                other => Err(self.unsupported("in", other)),
            },
            Op::IsEmpty => match value {
                Value::Null => Ok(true),
                Value::String(s) => Ok(s.is_empty()),
                Value::Array(a) => Ok(a.is_empty()),
                Value::Object(o) => Ok(o.is_empty()),
                other => Err(self.unsupported("is empty", other)),
            },
            Op::Matches(re) => match value {
                Value::String(s) => Ok(re.is_match(s)),
                other => Err(self.unsupported("matches", other)),
            },
        }
    }

    fn unsupported(&self, op: &str, value: &Value) -> FilterError {
        FilterError::Evaluate(format!(
            "cannot perform {op} on {} for selector {:?}",
            kind(value),
            self.selector.join(".")
        ))
    }
}

/// The value at `path`: `Ok(None)` when a map key below the top level is absent.
fn select<'a>(entry: &'a Value, path: &[String]) -> Result<Option<&'a Value>, FilterError> {
    let mut current = entry;
    for (depth, part) in path.iter().enumerate() {
        current = match current {
            Value::Object(map) => match map.get(part) {
                Some(v) => v,
                None if depth == 0 => {
                    return Err(FilterError::Evaluate(format!(
                        "error finding value in datum: /{part} at part 0: couldn't find key {part:?}"
                    )));
                }
                None => return Ok(None),
            },
            Value::Array(items) => match part.parse::<usize>().ok().and_then(|i| items.get(i)) {
                Some(v) => v,
                None => return Ok(None),
            },
            Value::Null => return Ok(None),
            other => {
                return Err(FilterError::Evaluate(format!(
                    "error finding value in datum: /{} at part {depth}: cannot select {part:?} in {}",
                    path.join("/"),
                    kind(other)
                )));
            }
        };
    }
    Ok(Some(current))
}

/// `raw == value` after coercing `raw` to the value's type; `None` when it cannot be coerced.
fn equal(raw: &str, value: &Value) -> Option<bool> {
    match value {
        Value::String(s) => Some(s == raw),
        Value::Bool(b) => parse_go_bool(raw).map(|r| r == *b),
        Value::Number(n) => {
            if let (Some(i), Ok(r)) = (n.as_i64(), raw.parse::<i64>()) {
                return Some(i == r);
            }
            if let (Some(u), Ok(r)) = (n.as_u64(), raw.parse::<u64>()) {
                return Some(u == r);
            }
            let r = raw.parse::<f64>().ok()?;
            n.as_f64().map(|f| f == r)
        }
        _ => None,
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(raw: &str) -> Option<bool> {
    match raw {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn coerce_error(raw: &str, value: &Value) -> String {
    format!(
        "error getting match value in expression: {raw:?} is not a valid {}",
        kind(value)
    )
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn syntax(position: usize, message: impl Into<String>) -> FilterError {
    FilterError::Syntax {
        position,
        message: message.into(),
    }
}

// ---- lexer ----

#[derive(Debug, Clone, PartialEq)]
enum Kind {
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
struct Token {
    kind: Kind,
    at: usize,
}

fn lex(source: &str) -> Result<Vec<Token>, FilterError> {
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

// ---- parser ----

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, offset: usize) -> Option<&str> {
        match self.tokens.get(self.pos + offset).map(|t| &t.kind) {
            Some(Kind::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn next(&mut self, expected: &str) -> Result<Token, FilterError> {
        match self.tokens.get(self.pos).cloned() {
            Some(t) => {
                self.pos += 1;
                Ok(t)
            }
            None => Err(syntax(
                self.end,
                format!("unexpected end of expression, expected {expected}"),
            )),
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word(0) == Some(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), FilterError> {
        let t = self.next(&format!("{word:?}"))?;
        match &t.kind {
            Kind::Word(w) if w == word => Ok(()),
            other => Err(syntax(t.at, format!("expected {word:?}, found {other}"))),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and_expr()?;
        while self.eat_word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.eat_word("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if matches!(self.peek().map(|t| &t.kind), Some(Kind::LParen)) {
            self.pos += 1;
            let inner = self.or_expr()?;
            let t = self.next("\")\"")?;
            if t.kind != Kind::RParen {
                return Err(syntax(t.at, format!("expected \")\", found {}", t.kind)));
            }
            return Ok(inner);
        }
        self.match_expr()
    }

    /// One match: `Selector op ...` or `Value [not] in Selector`.
    fn match_expr(&mut self) -> Result<Expr, FilterError> {
        let first = self.next("a selector or value")?;
        let value_first = match &first.kind {
            Kind::Str(s) | Kind::Number(s) => Some(s.clone()),
            Kind::Word(w) if self.peek_word(0) == Some("in") => Some(w.clone()),
            Kind::Word(w)
                if self.peek_word(0) == Some("not") && self.peek_word(1) == Some("in") =>
            {
                Some(w.clone())
            }
            Kind::Word(_) => None,
            other => {
                return Err(syntax(
                    first.at,
                    format!("expected a selector or value, found {other}"),
                ));
            }
        };
        if let Some(value) = value_first {
            let negated = self.eat_word("not");
            self.expect_word("in")?;
            let selector = self.selector()?;
            return Ok(Expr::Match(Match {
                selector,
                op: Op::In(value),
                negated,
            }));
        }
        self.pos -= 1;
        let selector = self.selector()?;
        self.operator(selector)
    }

    fn operator(&mut self, selector: Vec<String>) -> Result<Expr, FilterError> {
        let t = self.next("an operator")?;
        let (op, negated) = match &t.kind {
            Kind::Eq => (Op::Equal(self.value()?), false),
            Kind::Ne => (Op::Equal(self.value()?), true),
            Kind::Word(w) if w == "is" => {
                let negated = self.eat_word("not");
                self.expect_word("empty")?;
                (Op::IsEmpty, negated)
            }
            Kind::Word(w) if w == "contains" => (Op::In(self.value()?), false),
            Kind::Word(w) if w == "matches" => (self.regex()?, false),
            Kind::Word(w) if w == "not" => {
                let t2 = self.next("\"contains\" or \"matches\"")?;
                match &t2.kind {
                    Kind::Word(w) if w == "contains" => (Op::In(self.value()?), true),
                    Kind::Word(w) if w == "matches" => (self.regex()?, true),
                    other => {
                        return Err(syntax(
                            t2.at,
                            format!("expected \"contains\" or \"matches\", found {other}"),
                        ));
                    }
                }
            }
            other => {
                return Err(syntax(
                    t.at,
                    format!(
                        "expected an operator (==, !=, is, contains, matches, not), found {other}"
                    ),
                ));
            }
        };
        Ok(Expr::Match(Match {
            selector,
            op,
            negated,
        }))
    }

    fn regex(&mut self) -> Result<Op, FilterError> {
        let at = self.peek().map(|t| t.at).unwrap_or(self.end);
        let raw = self.value()?;
        Regex::new(&raw)
            .map(Op::Matches)
            .map_err(|e| syntax(at, format!("invalid regular expression {raw:?}: {e}")))
    }

    fn value(&mut self) -> Result<String, FilterError> {
        let t = self.next("a value")?;
        match t.kind {
            Kind::Str(s) | Kind::Number(s) | Kind::Word(s) => Ok(s),
            other => Err(syntax(t.at, format!("expected a value, found {other}"))),
        }
    }

    fn selector(&mut self) -> Result<Vec<String>, FilterError> {
        let t = self.next("a selector")?;
        let Kind::Word(first) = t.kind else {
            return Err(syntax(
                t.at,
                format!("expected a selector, found {}", t.kind),
            ));
        };
        let mut path = vec![first];
        loop {
            match self.peek().map(|t| &t.kind) {
                Some(Kind::Dot) => {
                    self.pos += 1;
                    let t = self.next("a field name")?;
                    match t.kind {
                        Kind::Word(w) | Kind::Number(w) => path.push(w),
                        other => {
                            return Err(syntax(
                                t.at,
                                format!("expected a field name, found {other}"),
                            ));
                        }
                    }
                }
                Some(Kind::LBracket) => {
                    self.pos += 1;
                    let t = self.next("a quoted key")?;
                    let Kind::Str(key) = t.kind else {
                        return Err(syntax(
                            t.at,
                            format!("expected a quoted key, found {}", t.kind),
                        ));
                    };
                    let close = self.next("\"]\"")?;
                    if close.kind != Kind::RBracket {
                        return Err(syntax(
                            close.at,
                            format!("expected \"]\", found {}", close.kind),
                        ));
                    }
                    path.push(key);
                }
                _ => return Ok(path),
            }
        }
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
