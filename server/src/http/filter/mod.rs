//! Nomad's `?filter=` expressions (the go-bexpr language) evaluated over the JSON of list entries.
//!
//! ```text
//!   "Status == \"running\" and \"dc1\" in Datacenters"
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

use regex::Regex;
use serde_json::Value;

mod lex;
mod parse;

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
        let expr = parse::Parser::new(lex::lex(source)?, source.len()).expression()?;
        Ok(Self { expr })
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

#[cfg(test)]
mod tests;
