//! HCL expressions to JSON values, without an evaluation context.
//!
//! Literals become their JSON counterparts (integers stay integers). Templates (`"a-${x}"`,
//! heredocs) become strings that keep every `${...}` and `%{...}` verbatim: runtime
//! interpolation (`${NOMAD_ALLOC_ID}`, `${attr.kernel.name}`) is the client's job, as in Nomad.
//! Constant arithmetic, comparisons, `!`, `&&`, `||` and `cond ? a : b` over literals are
//! computed (checked: overflow and division by zero are errors, never panics). Bare variables,
//! function calls and `for` expressions are errors: a jobspec has no variables yet.
//!
//! Recursion is bounded: hcl-edit rejects input nested deeper than 64 levels or chaining more
//! than 128 binary operators.

use hcl_edit::Span;
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, UnaryOperator};
use hcl_edit::template::{Element, Template};
use serde_json::{Map, Number, Value};

/// Evaluates a constant expression; `text` is the whole source (for verbatim interpolations).
pub(crate) fn evaluate(expr: &Expression, text: &str) -> Result<Value, String> {
    Ok(match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => number(n.value())?,
        Expression::String(s) => Value::String(s.value().clone()),
        Expression::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| evaluate(item, text))
                .collect::<Result<_, _>>()?,
        ),
        Expression::Object(object) => {
            let mut map = Map::new();
            for (key, value) in object.iter() {
                let key = object_key(key, text)?;
                map.insert(key, evaluate(value.expr(), text)?);
            }
            Value::Object(map)
        }
        Expression::StringTemplate(t) => Value::String(render_template(t, text)),
        Expression::HeredocTemplate(h) => Value::String(render_template(&h.template, text)),
        Expression::Parenthesis(p) => evaluate(p.inner(), text)?,
        Expression::UnaryOp(op) => unary(*op.operator.value(), evaluate(&op.expr, text)?)?,
        Expression::BinaryOp(op) => binary(
            *op.operator.value(),
            evaluate(&op.lhs_expr, text)?,
            evaluate(&op.rhs_expr, text)?,
        )?,
        Expression::Conditional(c) => match evaluate(&c.cond_expr, text)? {
            Value::Bool(true) => evaluate(&c.true_expr, text)?,
            Value::Bool(false) => evaluate(&c.false_expr, text)?,
            other => {
                return Err(format!(
                    "a condition must be a bool, got {}",
                    describe(&other)
                ));
            }
        },
        Expression::Variable(v) => {
            return Err(format!(
                "unknown variable {}; jobspecs have no variables yet (runtime values are written in quotes, e.g. \"${{{}}}\")",
                v.as_str(),
                v.as_str()
            ));
        }
        Expression::Traversal(_) => {
            return Err(
                "variable references are not supported yet (runtime values are written in quotes, e.g. \"${attr.kernel.name}\")"
                    .to_string(),
            );
        }
        Expression::FuncCall(f) => {
            return Err(format!(
                "function {}() is not supported yet",
                f.name.name.as_str()
            ));
        }
        Expression::ForExpr(_) => return Err("for expressions are not supported yet".to_string()),
    })
}

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

fn number(n: &hcl_edit::Number) -> Result<Value, String> {
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

fn object_key(key: &ObjectKey, text: &str) -> Result<String, String> {
    match key {
        ObjectKey::Ident(ident) => Ok(ident.as_str().to_string()),
        ObjectKey::Expression(expr) => match evaluate(expr, text)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!(
                "an object key must be a string, got {}",
                describe(&other)
            )),
        },
    }
}

/// The template's text with literals decoded and every interpolation or directive copied
/// verbatim from the source.
fn render_template(template: &Template, text: &str) -> String {
    let mut out = String::new();
    for element in template.iter() {
        match element {
            Element::Literal(literal) => out.push_str(literal.value()),
            other => {
                match other.span().and_then(|span| text.get(span)) {
                    Some(raw) => out.push_str(raw),
                    // Elements built by the parser always carry spans; re-encode otherwise.
                    None => out.push_str(&Template::from_iter([other.clone()]).to_string()),
                }
            }
        }
    }
    out
}

fn unary(op: UnaryOperator, value: Value) -> Result<Value, String> {
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

fn binary(op: BinaryOperator, lhs: Value, rhs: Value) -> Result<Value, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str) -> Result<Value, String> {
        let text = format!("a = {src}\n");
        let body = hcl_edit::parser::parse_body(&text).map_err(|e| e.to_string())?;
        let attr = body.get_attribute("a").expect("attribute");
        evaluate(&attr.value, &text)
    }

    #[test]
    fn literals_keep_their_types() {
        assert_eq!(
            eval("[1, 2.5, true, null, \"x\"]"),
            Ok(json!([1, 2.5, true, null, "x"]))
        );
        assert_eq!(
            eval("{ a = 1, \"b.c\" = [\"x\"] }"),
            Ok(json!({"a": 1, "b.c": ["x"]}))
        );
        assert_eq!(eval("-7"), Ok(json!(-7)));
    }

    #[test]
    fn templates_stay_verbatim() {
        assert_eq!(
            eval(r#""id=${NOMAD_ALLOC_ID} k=${attr.kernel.name} \"q\"""#),
            Ok(json!("id=${NOMAD_ALLOC_ID} k=${attr.kernel.name} \"q\""))
        );
        assert_eq!(
            eval(r#""${ NOMAD_TASK_DIR }/x""#),
            Ok(json!("${ NOMAD_TASK_DIR }/x"))
        );
        assert_eq!(
            eval(r#""%{ if true }x%{ endif }""#),
            Ok(json!("%{ if true }x%{ endif }"))
        );
        assert_eq!(
            eval("<<-EOF\n    a ${NOMAD_JOB_NAME}\n      b\n    EOF"),
            Ok(json!("a ${NOMAD_JOB_NAME}\n  b\n"))
        );
    }

    #[test]
    fn constant_expressions_are_computed() {
        assert_eq!(eval("1 + 2 * 3"), Ok(json!(7)));
        assert_eq!(eval("7 / 2"), Ok(json!(3.5)));
        assert_eq!(eval("(3 > 2) && !false"), Ok(json!(true)));
        assert_eq!(eval("true ? \"a\" : \"b\""), Ok(json!("a")));
    }

    #[test]
    fn bad_expressions_are_errors_not_panics() {
        assert!(eval("9223372036854775807 + 1").is_err());
        assert!(eval("1 / 0").is_err());
        assert!(eval("1 % 0").is_err());
        assert!(eval("-9223372036854775808 / -1").is_err());
        assert!(eval("-9223372036854775808 % -1").is_err());
        assert!(eval("-9223372036854775807 - 2").is_err());
        assert!(eval("\"a\" + 1").is_err());
        assert!(eval("foo").unwrap_err().contains("unknown variable foo"));
        assert!(eval("upper(\"x\")").unwrap_err().contains("upper()"));
        assert!(eval("[for x in [1]: x]").is_err());
        assert!(eval("attr.kernel.name").is_err());
    }
}
