//! Nomad's JSON form of policies, turned into the same HCL structure the HCL form parses to, so
//! both forms share one decoder and one set of rules.
//!
//! ```json
//! { "namespace": { "default": { "policy": "read",
//!                                "variables": { "path": { "app/*": { "capabilities": ["read"] } } } } },
//!   "agent": { "policy": "read" } }
//! ```
//!
//! An object value is a block (its keys are labels for `namespace`, `node_pool`,
//! `host_volume` and `path`); an array of objects is several blocks; anything else is an
//! attribute. JSON syntax errors carry their line:col; the built structure has no source
//! spans, so the decoder's errors for a JSON policy point at 1:1.

use hcl_edit::Ident;
use hcl_edit::expr::{Array, Expression};
use hcl_edit::structure::{Attribute, Block, Body, Structure};
use serde_json::Value;

use super::PolicyError;

type Result<T> = std::result::Result<T, PolicyError>;

/// Blocks whose object keys are labels.
const LABELED: &[&str] = &["namespace", "node_pool", "host_volume", "path"];

/// Whether `text` is a JSON policy (an HCL body cannot start with `{`).
pub(super) fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Parses a JSON policy into an HCL body.
pub(super) fn to_body(text: &str) -> Result<Body> {
    let value: Value = serde_json::from_str(text).map_err(|err| PolicyError {
        line: err.line().max(1),
        col: err.column().max(1),
        message: format!("JSON syntax error: {err}"),
    })?;
    let Value::Object(map) = value else {
        return Err(at_start("a JSON policy must be an object"));
    };
    let mut structures = Vec::new();
    for (key, value) in map {
        structures.extend(structures_for(&key, value)?);
    }
    Ok(Body::builder().structures(structures).build())
}

/// The attribute or blocks that `"key": value` stands for.
fn structures_for(key: &str, value: Value) -> Result<Vec<Structure>> {
    let ident = Ident::try_new(key).map_err(|_| at_start(format!("invalid key {key:?}")))?;
    match value {
        Value::Object(map) => blocks(&ident, map),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let mut out = Vec::new();
            for item in items {
                if let Value::Object(map) = item {
                    out.extend(blocks(&ident, map)?);
                }
            }
            Ok(out)
        }
        other => Ok(vec![Attribute::new(ident, expression(other)).into()]),
    }
}

/// `ident { ... }`, or for a labeled kind one `ident "<key>" { ... }` per key.
fn blocks(ident: &Ident, map: serde_json::Map<String, Value>) -> Result<Vec<Structure>> {
    if !LABELED.contains(&ident.as_str()) {
        return Ok(vec![block(ident, None, map)?.into()]);
    }
    let mut out = Vec::new();
    for (label, body) in map {
        let Value::Object(body) = body else {
            return Err(at_start(format!(
                "{ident} {label:?} must be an object holding the rule"
            )));
        };
        out.push(block(ident, Some(label), body)?.into());
    }
    Ok(out)
}

fn block(
    ident: &Ident,
    label: Option<String>,
    map: serde_json::Map<String, Value>,
) -> Result<Block> {
    let mut builder = Block::builder(ident.clone());
    if let Some(label) = label {
        builder = builder.label(label);
    }
    for (key, value) in map {
        builder = builder.structures(structures_for(&key, value)?);
    }
    Ok(builder.build())
}

fn expression(value: Value) -> Expression {
    match value {
        Value::String(s) => Expression::from(s),
        Value::Array(items) => {
            Expression::from(items.into_iter().map(expression).collect::<Array>())
        }
        Value::Bool(b) => Expression::from(b),
        // Numbers, null and objects are never valid attribute values in a policy; the decoder
        // rejects whatever stands in for them.
        _ => Expression::null(),
    }
}

fn at_start(message: impl Into<String>) -> PolicyError {
    PolicyError {
        line: 1,
        col: 1,
        message: message.into(),
    }
}
