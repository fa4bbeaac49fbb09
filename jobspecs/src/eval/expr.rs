//! Expressions: literals, operators, conditionals, variable references with attribute/index
//! traversal and splats, `for` expressions and function calls.

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ForExpr, FuncCall, ObjectKey, Traversal, TraversalOperator};
use serde_json::{Map, Value};

use super::{EvalError, Evaluator, funcs};
use crate::value::{binary, describe, number, unary};

/// Root names that are filled in on the client at runtime, never at parse time.
const RUNTIME_ROOTS: [&str; 5] = ["attr", "meta", "node", "env", "NOMAD"];

fn start(expr: &impl Span) -> Option<usize> {
    expr.span().map(|s| s.start)
}

impl Evaluator<'_> {
    /// Evaluates one expression.
    pub(crate) fn eval(&mut self, expr: &Expression) -> Result<Value, EvalError> {
        let at = start(expr);
        let positioned = |e: String| EvalError::at(at, e);
        Ok(match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => number(n.value()).map_err(positioned)?,
            Expression::String(s) => Value::String(s.value().clone()),
            Expression::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.eval(item))
                    .collect::<Result<_, _>>()?,
            ),
            Expression::Object(object) => {
                let mut map = Map::new();
                for (key, value) in object.iter() {
                    let key = self.object_key(key)?;
                    map.insert(key, self.eval(value.expr())?);
                }
                Value::Object(map)
            }
            Expression::StringTemplate(t) => self.template_value(t)?,
            Expression::HeredocTemplate(h) => match h.indent() {
                // hcl-edit dedents only the top-level lines of a `<<-` heredoc.
                Some(indent) if indent > 0 => {
                    let mut template = h.template.clone();
                    super::template::dedent_directives(&mut template, indent);
                    self.template_value(&template)?
                }
                _ => self.template_value(&h.template)?,
            },
            Expression::Parenthesis(p) => self.eval(p.inner())?,
            Expression::UnaryOp(op) => {
                let value = self.eval(&op.expr)?;
                unary(*op.operator.value(), value).map_err(positioned)?
            }
            Expression::BinaryOp(op) => {
                let lhs = self.eval(&op.lhs_expr)?;
                let rhs = self.eval(&op.rhs_expr)?;
                binary(*op.operator.value(), lhs, rhs).map_err(positioned)?
            }
            Expression::Conditional(c) => match self.eval(&c.cond_expr)? {
                Value::Bool(true) => self.eval(&c.true_expr)?,
                Value::Bool(false) => self.eval(&c.false_expr)?,
                other => {
                    return Err(EvalError::at(
                        start(&c.cond_expr),
                        format!("a condition must be a bool, got {}", describe(&other)),
                    ));
                }
            },
            Expression::Variable(v) => self.variable(v.as_str(), at)?,
            Expression::Traversal(t) => self.traversal(t)?,
            Expression::FuncCall(f) => self.func_call(f)?,
            Expression::ForExpr(f) => self.for_expr(f)?,
        })
    }

    fn object_key(&mut self, key: &ObjectKey) -> Result<String, EvalError> {
        match key {
            ObjectKey::Ident(ident) => Ok(ident.as_str().to_string()),
            ObjectKey::Expression(expr) => {
                key_string(self.eval(expr)?).map_err(|e| EvalError::at(start(expr), e))
            }
        }
    }

    fn variable(&self, name: &str, at: Option<usize>) -> Result<Value, EvalError> {
        if let Some(value) = self.lookup_bound(name) {
            return Ok(value.clone());
        }
        match name {
            "var" => Ok(Value::Object(self.ctx.vars.clone())),
            "local" => Ok(Value::Object(self.ctx.locals.clone())),
            _ if is_runtime_root(name) => Err(EvalError::at(
                at,
                format!(
                    "{name} is only known at runtime; write it inside a string, e.g. \"${{{name}...}}\""
                ),
            )),
            _ => Err(EvalError::at(
                at,
                format!(
                    "unknown variable {name:?}; jobspec variables are written var.<name> (declared with variable \"<name>\" {{ ... }})"
                ),
            )),
        }
    }

    fn traversal(&mut self, t: &Traversal) -> Result<Value, EvalError> {
        let mut ops = t.operators.iter().map(|op| op.value());
        let root = match (&t.expr, t.operators.first().map(|op| op.value())) {
            (Expression::Variable(v), Some(TraversalOperator::GetAttr(attr)))
                if (v.as_str() == "var" || v.as_str() == "local")
                    && self.lookup_bound(v.as_str()).is_none() =>
            {
                ops.next();
                self.named(v.as_str(), attr.as_str(), start(t))?
            }
            (Expression::Variable(v), _)
                if is_runtime_root(v.as_str()) && self.lookup_bound(v.as_str()).is_none() =>
            {
                let raw = t
                    .span()
                    .and_then(|s| self.text.get(s))
                    .unwrap_or(v.as_str());
                return Err(EvalError::at(
                    start(t),
                    format!(
                        "{raw} is only known at runtime; write it inside a string: \"${{{raw}}}\""
                    ),
                ));
            }
            _ => self.eval(&t.expr)?,
        };
        let ops: Vec<&TraversalOperator> = ops.collect();
        self.apply(root, &ops, start(t))
    }

    /// `var.NAME` or `local.NAME`.
    fn named(&self, kind: &str, name: &str, at: Option<usize>) -> Result<Value, EvalError> {
        let (map, how) = if kind == "var" {
            (
                &self.ctx.vars,
                format!("declare it with variable {name:?} {{ ... }}"),
            )
        } else {
            (
                &self.ctx.locals,
                "define it in a locals { ... } block".to_string(),
            )
        };
        map.get(name)
            .cloned()
            .ok_or_else(|| EvalError::at(at, format!("unknown variable {kind}.{name}; {how}")))
    }

    fn apply(
        &mut self,
        mut value: Value,
        ops: &[&TraversalOperator],
        at: Option<usize>,
    ) -> Result<Value, EvalError> {
        for (i, op) in ops.iter().enumerate() {
            value = match op {
                TraversalOperator::GetAttr(name) => get_attr(&value, name.as_str())
                    .map_err(|e| EvalError::at(start(name).or(at), e))?,
                TraversalOperator::Index(index) => {
                    let key = self.eval(index)?;
                    index_value(&value, &key).map_err(|e| EvalError::at(start(index).or(at), e))?
                }
                TraversalOperator::LegacyIndex(index) => {
                    index_value(&value, &Value::from(*index.value()))
                        .map_err(|e| EvalError::at(at, e))?
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let items = match value {
                        Value::Null => Vec::new(),
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    let rest = &ops[i + 1..];
                    let mapped = items
                        .into_iter()
                        .map(|item| self.apply(item, rest, at))
                        .collect::<Result<_, _>>()?;
                    return Ok(Value::Array(mapped));
                }
            };
        }
        Ok(value)
    }

    fn func_call(&mut self, call: &FuncCall) -> Result<Value, EvalError> {
        let name = call.name.name.as_str();
        let at = start(call);
        if call.name.is_namespaced() || !funcs::exists(name) {
            return Err(EvalError::at(
                start(&call.name.name).or(at),
                format!("unknown function {name}(); see the function list in the README"),
            ));
        }
        let exprs: Vec<&Expression> = call.args.iter().collect();
        match name {
            "try" => return self.try_call(&exprs, at),
            "can" => {
                let [only] = exprs.as_slice() else {
                    return Err(EvalError::at(at, "can() takes exactly one argument"));
                };
                return Ok(Value::Bool(self.eval(only).is_ok()));
            }
            _ => {}
        }
        let mut args = Vec::with_capacity(exprs.len());
        for expr in &exprs {
            args.push(self.eval(expr)?);
        }
        if call.args.expand_final() {
            match args.pop() {
                Some(Value::Array(items)) => args.extend(items),
                Some(other) => {
                    return Err(EvalError::at(
                        at,
                        format!(
                            "{name}(): the argument before ... must be a list, got {}",
                            describe(&other)
                        ),
                    ));
                }
                None => {}
            }
        }
        funcs::call(name, args, &self.ctx.base_dir)
            .map_err(|e| EvalError::at(at, format!("{name}(): {e}")))
    }

    fn try_call(&mut self, exprs: &[&Expression], at: Option<usize>) -> Result<Value, EvalError> {
        let mut last = None;
        for expr in exprs {
            match self.eval(expr) {
                Ok(value) => return Ok(value),
                Err(e) => last = Some(e),
            }
        }
        Err(EvalError::at(
            at,
            format!(
                "try(): no argument could be evaluated{}",
                last.map(|e| format!(" (last: {})", e.message))
                    .unwrap_or_default()
            ),
        ))
    }

    fn for_expr(&mut self, f: &ForExpr) -> Result<Value, EvalError> {
        let collection = self.eval(&f.intro.collection_expr)?;
        let pairs =
            iterate(collection).map_err(|e| EvalError::at(start(&f.intro.collection_expr), e))?;
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list = Vec::new();
        let mut object = Map::new();
        for (key, value) in pairs {
            let mut bindings = vec![(value_var.clone(), value)];
            if let Some(k) = &key_var {
                bindings.push((k.clone(), key));
            }
            let produced = self.with_bound(bindings, |this| -> Result<_, EvalError> {
                if let Some(cond) = &f.cond {
                    match this.eval(&cond.expr)? {
                        Value::Bool(true) => {}
                        Value::Bool(false) => return Ok(None),
                        other => {
                            return Err(EvalError::at(
                                start(&cond.expr),
                                format!("a for filter must be a bool, got {}", describe(&other)),
                            ));
                        }
                    }
                }
                let key = match &f.key_expr {
                    Some(k) => {
                        Some(key_string(this.eval(k)?).map_err(|e| EvalError::at(start(k), e))?)
                    }
                    None => None,
                };
                Ok(Some((key, this.eval(&f.value_expr)?)))
            })?;
            match produced {
                None => {}
                Some((None, value)) => list.push(value),
                Some((Some(key), value)) if f.grouping => {
                    match object
                        .entry(key)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        Value::Array(items) => items.push(value),
                        _ => unreachable!("grouped values are lists"),
                    }
                }
                Some((Some(key), _)) if object.contains_key(&key) => {
                    return Err(EvalError::at(
                        start(f),
                        format!(
                            "duplicate key {key:?} in a for expression; add ... after the value to group them"
                        ),
                    ));
                }
                Some((Some(key), value)) => {
                    object.insert(key, value);
                }
            }
        }
        Ok(if f.key_expr.is_some() {
            Value::Object(object)
        } else {
            Value::Array(list)
        })
    }
}

/// Whether a root name is one of the client's runtime namespaces (or a `NOMAD_*` variable).
pub(crate) fn is_runtime_root(name: &str) -> bool {
    RUNTIME_ROOTS.contains(&name) || name.starts_with("NOMAD_")
}

/// The (key, value) pairs of a list (index keys) or an object (string keys).
pub(crate) fn iterate(collection: Value) -> Result<Vec<(Value, Value)>, String> {
    match collection {
        Value::Array(items) => Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Value::from(i), v))
            .collect()),
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(k, v)| (Value::String(k), v))
            .collect()),
        other => Err(format!(
            "a for expression needs a list or a map, got {}",
            describe(&other)
        )),
    }
}

pub(crate) fn key_string(value: Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "an object key must be a string, got {}",
            describe(&other)
        )),
    }
}

fn get_attr(value: &Value, name: &str) -> Result<Value, String> {
    match value {
        Value::Object(map) => map
            .get(name)
            .cloned()
            .ok_or_else(|| format!("this object has no attribute {name:?}")),
        other => Err(format!(
            "cannot read attribute {name:?} of {}",
            describe(other)
        )),
    }
}

fn index_value(value: &Value, key: &Value) -> Result<Value, String> {
    match value {
        Value::Array(items) => {
            let i = crate::convert::int(key)?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| format!("index {i} is out of range for a list of {}", items.len()))
        }
        Value::Object(map) => {
            let k = crate::convert::string(key)?;
            map.get(&k)
                .cloned()
                .ok_or_else(|| format!("this map has no key {k:?}"))
        }
        other => Err(format!("cannot index {}", describe(other))),
    }
}
