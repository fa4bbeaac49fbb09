//! Variable type constraints (`string`, `number`, `bool`, `list(T)`, `set(T)`, `map(T)`,
//! `object({...})`, `tuple([...])`, `any`) and HCL's safe conversions into them.

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey};
use serde_json::{Map, Value};

use crate::value::describe;

/// A type constraint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    /// Attributes and whether each is `optional(...)`.
    Object(BTreeMap<String, (Type, bool)>),
    Tuple(Vec<Type>),
}

impl Type {
    /// Reads a type expression.
    pub(crate) fn parse(expr: &Expression) -> Result<Type, String> {
        match expr {
            Expression::Variable(v) => match v.as_str() {
                "any" => Ok(Type::Any),
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                other => Err(format!(
                    "unknown type {other:?}; expected string, number, bool, list(T), set(T), map(T), object({{...}}), tuple([...]) or any"
                )),
            },
            Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                let args: Vec<&Expression> = call.args.iter().collect();
                let [arg] = args.as_slice() else {
                    return Err(format!("{name}(...) takes exactly one argument"));
                };
                match name {
                    "list" => Ok(Type::List(Box::new(Type::parse(arg)?))),
                    "set" => Ok(Type::Set(Box::new(Type::parse(arg)?))),
                    "map" => Ok(Type::Map(Box::new(Type::parse(arg)?))),
                    "object" => {
                        let Expression::Object(object) = arg else {
                            return Err("object(...) takes { name = type, ... }".to_string());
                        };
                        let mut attrs = BTreeMap::new();
                        for (key, value) in object.iter() {
                            let key = match key {
                                ObjectKey::Ident(i) => i.as_str().to_string(),
                                ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                                ObjectKey::Expression(_) => {
                                    return Err("object attribute names must be names".to_string());
                                }
                            };
                            attrs.insert(key, Type::attribute(value.expr())?);
                        }
                        Ok(Type::Object(attrs))
                    }
                    "tuple" => {
                        let Expression::Array(items) = arg else {
                            return Err("tuple(...) takes [type, ...]".to_string());
                        };
                        Ok(Type::Tuple(
                            items.iter().map(Type::parse).collect::<Result<_, _>>()?,
                        ))
                    }
                    other => Err(format!("unknown type constructor {other}(...)")),
                }
            }
            _ => Err(
                "a type is a name such as string or a constructor such as list(string)".to_string(),
            ),
        }
    }

    fn attribute(expr: &Expression) -> Result<(Type, bool), String> {
        if let Expression::FuncCall(call) = expr
            && call.name.name.as_str() == "optional"
        {
            let inner = call
                .args
                .iter()
                .next()
                .ok_or("optional(...) needs a type")?;
            return Ok((Type::parse(inner)?, true));
        }
        Ok((Type::parse(expr)?, false))
    }

    /// Whether values of this type are written as HCL expressions on the command line
    /// (collections) rather than taken as raw strings (primitives and `any`).
    pub(crate) fn is_collection(&self) -> bool {
        !matches!(self, Type::Any | Type::String | Type::Number | Type::Bool)
    }

    /// The type as written, for messages.
    pub(crate) fn name(&self) -> String {
        match self {
            Type::Any => "any".into(),
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::List(t) => format!("list({})", t.name()),
            Type::Set(t) => format!("set({})", t.name()),
            Type::Map(t) => format!("map({})", t.name()),
            Type::Object(_) => "object({...})".into(),
            Type::Tuple(_) => "tuple([...])".into(),
        }
    }
}

fn mismatch(ty: &Type, value: &Value) -> String {
    format!("expected {}, got {}", ty.name(), describe(value))
}

/// Converts `value` to `ty` as HCL does (numbers and bools to strings and back, tuples to
/// lists, objects to maps), or says why it can't.
pub(crate) fn convert(value: &Value, ty: &Type) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Any => Ok(value.clone()),
        Type::String => match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                crate::convert::string(value).map(Value::String)
            }
            other => Err(mismatch(ty, other)),
        },
        Type::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => {
                let t = s.trim();
                if let Ok(i) = t.parse::<i64>() {
                    return Ok(Value::from(i));
                }
                t.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| mismatch(ty, value))
            }
            other => Err(mismatch(ty, other)),
        },
        Type::Bool => crate::convert::boolean(value)
            .map(Value::Bool)
            .map_err(|_| mismatch(ty, value)),
        Type::List(inner) | Type::Set(inner) => {
            let Value::Array(items) = value else {
                return Err(mismatch(ty, value));
            };
            let items = items
                .iter()
                .enumerate()
                .map(|(i, v)| convert(v, inner).map_err(|e| format!("element {i}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(if matches!(ty, Type::Set(_)) {
                super::funcs::dedup_values(items)
            } else {
                items
            }))
        }
        Type::Map(inner) => {
            let Value::Object(map) = value else {
                return Err(mismatch(ty, value));
            };
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        convert(v, inner).map_err(|e| format!("{k}: {e}"))?,
                    ))
                })
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object)
        }
        Type::Object(attrs) => {
            let Value::Object(map) = value else {
                return Err(mismatch(ty, value));
            };
            let mut out = Map::new();
            for (name, (attr_ty, optional)) in attrs {
                match map.get(name) {
                    Some(v) => {
                        out.insert(
                            name.clone(),
                            convert(v, attr_ty).map_err(|e| format!("{name}: {e}"))?,
                        );
                    }
                    None if *optional => {
                        out.insert(name.clone(), Value::Null);
                    }
                    None => return Err(format!("attribute {name:?} is required")),
                }
            }
            Ok(Value::Object(out))
        }
        Type::Tuple(types) => {
            let Value::Array(items) = value else {
                return Err(mismatch(ty, value));
            };
            if items.len() != types.len() {
                return Err(format!(
                    "expected a tuple of {} elements, got {}",
                    types.len(),
                    items.len()
                ));
            }
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| convert(v, t).map_err(|e| format!("element {i}: {e}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
    }
}
