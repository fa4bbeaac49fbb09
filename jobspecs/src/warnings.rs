//! Warnings for accepted but inactive parts of a jobspec: fields nomadish reads and
//! validates but does not act on. Printed by `job validate`, never fatal.

use hcl_edit::Span;
use hcl_edit::structure::{Block, Body};

use crate::error::Diagnostic;
use crate::source::Source;

/// Attributes accepted for compatibility that have no effect in nomadish: the block they
/// are in, their name and why.
const INACTIVE_ATTRIBUTES: [(&str, &str, &str); 1] = [(
    "update",
    "stagger",
    "is deprecated and has no effect (rolling updates are paced by max_parallel and min_healthy_time)",
)];

/// Warnings for the job's body.
pub(crate) fn job_warnings(body: &Body, src: &Source<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for block in body.blocks() {
        walk(block, src, &mut out);
    }
    out
}

fn walk(block: &Block, src: &Source<'_>, out: &mut Vec<Diagnostic>) {
    let kind = block.ident.as_str();
    if kind == "config" {
        return; // driver config is free-form
    }
    for attr in block.body.attributes() {
        if let Some((_, _, why)) = INACTIVE_ATTRIBUTES
            .iter()
            .find(|(parent, name, _)| *parent == kind && *name == attr.key.as_str())
        {
            let at = attr.span().map_or(0, |s| s.start);
            out.push(src.diagnostic(at, format!("{:?} {why}", attr.key.as_str())));
        }
    }
    for inner in block.body.blocks() {
        walk(inner, src, out);
    }
}
