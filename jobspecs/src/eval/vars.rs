//! `variable` and `locals` blocks, and the values given for variables, with Nomad's
//! precedence (lowest to highest): `default`, `NOMAD_VAR_<name>` environment variables,
//! `-var-file` files (in order), `-var name=value` flags (in order).
//!
//! Values from the environment and `-var` are strings: primitives are converted to the
//! declared type, collections (`list(...)`, `map(...)`, ...) are read as HCL expressions
//! (`-var 'ports=[80, 443]'`). A `-var` for an undeclared variable is an error, a `-var-file`
//! entry for one is a warning, an environment variable for one is ignored.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};
use serde_json::Value;

use super::Context;
use super::types::{Type, convert};
use crate::error::Diagnostic;
use crate::source::Source;

/// Where variable values come from besides their defaults.
#[derive(Debug, Clone, Default)]
pub struct VarSources {
    /// `-var name=value` flags, in order (later wins).
    pub vars: Vec<(String, String)>,
    /// `-var-file` paths, in order (later wins).
    pub var_files: Vec<PathBuf>,
    /// The environment; only `NOMAD_VAR_<name>` entries are read.
    pub env: Vec<(String, String)>,
}

/// One declared variable.
struct Declared {
    ty: Type,
    sensitive: bool,
    value: Option<Value>,
    /// A value was given but did not convert (reported already).
    bad_value: bool,
    offset: usize,
    validations: Vec<(usize, Expression, Expression)>,
}

/// The outcome of preparing a jobspec's context.
pub(crate) struct Prepared {
    pub ctx: Context,
    pub warnings: Vec<Diagnostic>,
}

fn offset_of(item: &impl Span) -> usize {
    item.span().map_or(0, |s| s.start)
}

/// Reads the `variable` and `locals` blocks of `body`, applies the value sources and
/// evaluates validations and locals.
pub(crate) fn prepare(
    src: &Source<'_>,
    body: &Body,
    sources: &VarSources,
    base_dir: PathBuf,
) -> Result<Prepared, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let consts = Context {
        base_dir: base_dir.clone(),
        ..Context::default()
    };
    let mut declared: BTreeMap<String, Declared> = BTreeMap::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "variable") {
        match declare(src, block, &consts) {
            Ok((name, var)) => {
                if let Some(first) = declared.get(&name) {
                    let (l, c) = src.position(first.offset);
                    errors.push(src.diagnostic(
                        offset_of(&block.ident),
                        format!("variable {name:?} is declared twice (the first is at {l}:{c})"),
                    ));
                } else {
                    declared.insert(name, var);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    // NOMAD_VAR_<name>: undeclared ones are ignored, as in Nomad.
    for (key, raw) in &sources.env {
        let Some(name) = key.strip_prefix("NOMAD_VAR_") else {
            continue;
        };
        if let Some(var) = declared.get_mut(name) {
            match from_raw(raw, &var.ty) {
                Ok(v) => var.value = Some(v),
                Err(why) => errors.push(src.diagnostic(
                    var.offset,
                    bad_value(
                        name,
                        var.sensitive,
                        &format!("environment variable {key}"),
                        &why,
                    ),
                )),
            }
        }
    }
    for path in &sources.var_files {
        match super::var_files::read_var_file(path, &consts) {
            Ok(entries) => {
                for (name, value, at) in entries {
                    match declared.get_mut(&name) {
                        Some(var) => match convert(&value, &var.ty) {
                            Ok(v) => var.value = Some(v),
                            Err(why) => {
                                var.bad_value = true;
                                errors.push(at.with(bad_value(
                                    &name,
                                    var.sensitive,
                                    "the var-file",
                                    &why,
                                )));
                            }
                        },
                        None => warnings.push(at.with(format!(
                            "value for undeclared variable {name:?} is ignored (declare it with variable {name:?} {{ ... }})"
                        ))),
                    }
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    for (name, raw) in &sources.vars {
        match declared.get_mut(name) {
            Some(var) => match from_raw(raw, &var.ty) {
                Ok(v) => var.value = Some(v),
                Err(why) => {
                    var.bad_value = true;
                    errors.push(src.diagnostic(
                        var.offset,
                        bad_value(name, var.sensitive, &format!("-var {name}=..."), &why),
                    ));
                }
            },
            None => errors.push(src.diagnostic(
                0,
                format!("-var {name}=...: no variable {name:?} is declared in this jobspec"),
            )),
        }
    }
    let mut ctx = consts;
    for (name, var) in &declared {
        match &var.value {
            Some(v) => {
                ctx.vars.insert(name.clone(), v.clone());
            }
            None if var.bad_value => {}
            None => errors.push(src.diagnostic(
                var.offset,
                format!(
                    "variable {name:?} has no value: give it a default, or set it with -var {name}=..., a -var-file, or the NOMAD_VAR_{name} environment variable"
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (name, var) in &declared {
        for (offset, condition, message) in &var.validations {
            if let Err(e) = validate(src, &ctx, condition, message) {
                let why = if var.sensitive && e.starts_with("condition") {
                    "the validation condition failed".to_string()
                } else {
                    e
                };
                errors.push(src.diagnostic(*offset, format!("variable {name:?}: {why}")));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    super::locals::evaluate_locals(src, body, &mut ctx)?;
    Ok(Prepared { ctx, warnings })
}

fn bad_value(name: &str, sensitive: bool, from: &str, why: &str) -> String {
    if sensitive {
        format!(
            "invalid value for sensitive variable {name:?} from {from}: it does not have the declared type"
        )
    } else {
        format!("invalid value for variable {name:?} from {from}: {why}")
    }
}

/// A value given on the command line or in the environment.
fn from_raw(raw: &str, ty: &Type) -> Result<Value, String> {
    let value = if ty.is_collection() {
        let text = format!("v = {raw}\n");
        let body = hcl_edit::parser::parse_body(&text)
            .map_err(|e| format!("not a valid HCL expression: {}", e.message()))?;
        let attr = body
            .get_attribute("v")
            .ok_or("not a valid HCL expression")?;
        Context::default()
            .evaluate(&attr.value, &text)
            .map_err(|e| e.message)?
    } else {
        Value::String(raw.to_string())
    };
    convert(&value, ty)
}

fn declare(
    src: &Source<'_>,
    block: &Block,
    consts: &Context,
) -> Result<(String, Declared), Vec<Diagnostic>> {
    let offset = offset_of(&block.ident);
    let [label] = block.labels.as_slice() else {
        return Err(vec![src.diagnostic(
            offset,
            "block \"variable\" needs exactly one label, its name: variable \"<name>\" { ... }",
        )]);
    };
    let name = label.as_str().to_string();
    let mut errors = Vec::new();
    let mut ty = Type::Any;
    let mut default = None;
    let mut sensitive = false;
    let mut validations = Vec::new();
    for attr in block.body.attributes() {
        let at = offset_of(attr);
        match attr.key.as_str() {
            "type" => match Type::parse(&attr.value) {
                Ok(t) => ty = t,
                Err(e) => errors.push(src.diagnostic(at, format!("type: {e}"))),
            },
            "default" => match consts.evaluate(&attr.value, src.text()) {
                Ok(v) => default = Some((v, at)),
                Err(e) => errors.push(
                    src.diagnostic(e.offset.unwrap_or(at), format!("default: {}", e.message)),
                ),
            },
            "sensitive" => match consts.evaluate(&attr.value, src.text()) {
                Ok(Value::Bool(b)) => sensitive = b,
                _ => errors.push(src.diagnostic(at, "sensitive: expected true or false")),
            },
            "description" | "nullable" => {}
            other => errors.push(src.diagnostic(
                at,
                format!("unknown attribute {other:?} in variable {name:?}"),
            )),
        }
    }
    for inner in block.body.blocks() {
        let at = offset_of(&inner.ident);
        if inner.ident.as_str() != "validation" {
            errors.push(src.diagnostic(
                at,
                format!(
                    "unknown block {:?} in variable {name:?}",
                    inner.ident.as_str()
                ),
            ));
            continue;
        }
        let condition = inner.body.get_attribute("condition");
        let message = inner.body.get_attribute("error_message");
        match (condition, message) {
            (Some(c), Some(m)) => validations.push((at, c.value.clone(), m.value.clone())),
            _ => errors
                .push(src.diagnostic(at, "a validation block needs condition and error_message")),
        }
    }
    let value = match default {
        Some((v, at)) => match convert(&v, &ty) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(src.diagnostic(at, format!("default: {e}")));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        name,
        Declared {
            ty,
            sensitive,
            value,
            bad_value: false,
            offset,
            validations,
        },
    ))
}

fn validate(
    src: &Source<'_>,
    ctx: &Context,
    condition: &Expression,
    message: &Expression,
) -> Result<(), String> {
    let text = src.text();
    match ctx.evaluate(condition, text) {
        Ok(Value::Bool(true)) => Ok(()),
        Ok(Value::Bool(false)) => match ctx.evaluate(message, text) {
            Ok(Value::String(m)) => Err(m),
            _ => Err("the validation condition failed".to_string()),
        },
        Ok(_) => Err("condition: must be a bool".to_string()),
        Err(e) => Err(format!("condition: {}", e.message)),
    }
}
