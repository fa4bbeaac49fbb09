//! `locals { ... }` blocks: every entry evaluated once, in dependency order (a local may use
//! variables, functions and other locals, wherever they are defined); a cycle is an error
//! that names it.

use std::collections::BTreeMap;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::Body;

use super::{Context, EvalError, refs};
use crate::error::Diagnostic;
use crate::source::Source;

fn offset_of(item: &impl Span) -> usize {
    item.span().map_or(0, |s| s.start)
}

/// Evaluates every `locals` entry in dependency order; a cycle is an error naming it.
pub(crate) fn evaluate_locals(
    src: &Source<'_>,
    body: &Body,
    ctx: &mut Context,
) -> Result<(), Vec<Diagnostic>> {
    let mut defs: BTreeMap<String, (usize, &Expression)> = BTreeMap::new();
    let mut errors = Vec::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "locals") {
        if !block.labels.is_empty() {
            errors
                .push(src.diagnostic(offset_of(&block.ident), "block \"locals\" takes no labels"));
        }
        for inner in block.body.blocks() {
            errors.push(src.diagnostic(
                offset_of(&inner.ident),
                "a locals block holds only name = value attributes",
            ));
        }
        for attr in block.body.attributes() {
            let name = attr.key.as_str().to_string();
            let at = offset_of(attr);
            if let Some((first, _)) = defs.get(&name) {
                let (l, c) = src.position(*first);
                errors.push(src.diagnostic(
                    at,
                    format!("local.{name} is defined twice (the first is at {l}:{c})"),
                ));
            } else {
                defs.insert(name, (at, &attr.value));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let names: Vec<String> = defs.keys().cloned().collect();
    let mut path = Vec::new();
    for name in names {
        visit(src, &defs, &name, &mut path, ctx).map_err(|e| vec![e])?;
    }
    Ok(())
}

fn visit(
    src: &Source<'_>,
    defs: &BTreeMap<String, (usize, &Expression)>,
    name: &str,
    path: &mut Vec<String>,
    ctx: &mut Context,
) -> Result<(), Diagnostic> {
    if ctx.locals.contains_key(name) {
        return Ok(());
    }
    let Some((at, expr)) = defs.get(name) else {
        return Ok(()); // reported where it is used
    };
    if let Some(start) = path.iter().position(|p| p == name) {
        let cycle: Vec<String> = path[start..]
            .iter()
            .chain(std::iter::once(&name.to_string()))
            .map(|n| format!("local.{n}"))
            .collect();
        return Err(src.diagnostic(
            *at,
            format!(
                "locals refer to each other in a cycle: {}",
                cycle.join(" -> ")
            ),
        ));
    }
    path.push(name.to_string());
    for (dep, _) in refs::locals_used(expr) {
        visit(src, defs, &dep, path, ctx)?;
    }
    path.pop();
    let value = ctx.evaluate(expr, src.text()).map_err(|e: EvalError| {
        src.diagnostic(
            e.offset.unwrap_or(*at),
            format!("local.{name}: {}", e.message),
        )
    })?;
    ctx.locals.insert(name.to_string(), value);
    Ok(())
}
