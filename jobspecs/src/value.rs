//! Value helpers for evaluation: number literals, operators and short descriptions.
//!
//! Literals become their JSON counterparts (integers stay integers). Arithmetic, comparisons,
//! `!`, `&&` and `||` are checked: overflow and division by zero are errors, never panics.
//! Recursion is bounded: hcl-edit rejects input nested deeper than 64 levels or chaining more
//! than 128 binary operators.

use hcl_edit::expr::{BinaryOperator, UnaryOperator};
use serde_json::{Number, Value};

/// A short description of a value for messages: `string "lots"`, `number 5`, `list`.
pub(crate) fn describe(value: &Value) -> String {
    const MAX_SHOWN_CHARS: usize = 40;
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > MAX_SHOWN_CHARS => {
            let shown: String = s.chars().take(MAX_SHOWN_CHARS).collect();
            format!("string {shown:?}...")
        }
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "list".to_string(),
        Value::Object(_) => "object".to_string(),
    }
}

pub(crate) fn number(n: &hcl_edit::Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::from(u));
    }
    n.as_f64()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("{n} is not a finite number"))
}

pub(crate) fn unary(op: UnaryOperator, value: Value) -> Result<Value, String> {
    match (op, &value) {
        (UnaryOperator::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnaryOperator::Neg, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                i.checked_neg().map(Value::from).ok_or_else(overflow)
            } else {
                float(-n.as_f64().unwrap_or_default())
            }
        }
        (UnaryOperator::Not, _) => Err(format!("! needs a bool, got {}", describe(&value))),
        (UnaryOperator::Neg, _) => Err(format!("- needs a number, got {}", describe(&value))),
    }
}

pub(crate) fn binary(op: BinaryOperator, lhs: Value, rhs: Value) -> Result<Value, String> {
    use BinaryOperator as B;
    match op {
        B::Eq => Ok(Value::Bool(lhs == rhs)),
        B::NotEq => Ok(Value::Bool(lhs != rhs)),
        B::And | B::Or => match (lhs, rhs) {
            (Value::Bool(a), Value::Bool(b)) => {
                Ok(Value::Bool(if op == B::And { a && b } else { a || b }))
            }
            (a, b) => Err(format!(
                "{} needs bools, got {} and {}",
                op.as_str(),
                describe(&a),
                describe(&b)
            )),
        },
        _ => {
            let (Value::Number(a), Value::Number(b)) = (&lhs, &rhs) else {
                return Err(format!(
                    "{} needs numbers, got {} and {}",
                    op.as_str(),
                    describe(&lhs),
                    describe(&rhs)
                ));
            };
            arithmetic(op, a, b)
        }
    }
}

fn arithmetic(op: BinaryOperator, a: &Number, b: &Number) -> Result<Value, String> {
    use BinaryOperator as B;
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        let result = match op {
            B::Plus => x.checked_add(y),
            B::Minus => x.checked_sub(y),
            B::Mul => x.checked_mul(y),
            B::Div if y == 0 => return Err("division by zero".to_string()),
            B::Div if x.checked_rem(y).is_some_and(|r| r != 0) => {
                return float(x as f64 / y as f64);
            }
            B::Div => x.checked_div(y),
            B::Mod if y == 0 => return Err("division by zero".to_string()),
            B::Mod => x.checked_rem(y),
            B::Less => return Ok(Value::Bool(x < y)),
            B::LessEq => return Ok(Value::Bool(x <= y)),
            B::Greater => return Ok(Value::Bool(x > y)),
            B::GreaterEq => return Ok(Value::Bool(x >= y)),
            B::Eq | B::NotEq | B::And | B::Or => None,
        };
        return result.map(Value::from).ok_or_else(overflow);
    }
    let (x, y) = (
        a.as_f64().unwrap_or_default(),
        b.as_f64().unwrap_or_default(),
    );
    match op {
        B::Plus => float(x + y),
        B::Minus => float(x - y),
        B::Mul => float(x * y),
        B::Div | B::Mod if y == 0.0 => Err("division by zero".to_string()),
        B::Div => float(x / y),
        B::Mod => float(x % y),
        B::Less => Ok(Value::Bool(x < y)),
        B::LessEq => Ok(Value::Bool(x <= y)),
        B::Greater => Ok(Value::Bool(x > y)),
        B::GreaterEq => Ok(Value::Bool(x >= y)),
        B::Eq | B::NotEq | B::And | B::Or => Err(overflow()),
    }
}

fn float(x: f64) -> Result<Value, String> {
    Number::from_f64(x).map(Value::Number).ok_or_else(overflow)
}

fn overflow() -> String {
    "arithmetic overflow".to_string()
}
