//! Walks the HCL body (hcl-edit keeps spans) and builds a `model::Job`.
//!
//! ```text
//!   Body ── job "id" ──> job.rs ── group "g" ──> group.rs ── task "t" ──> task.rs
//!                          │                        │  └─ network ──> network.rs
//!                          └─ constraint, reschedule, restart, update, logs ──> policy.rs
//!                                                      task config ──> config.rs
//! ```
//!
//! Every block and attribute is checked against what its parent accepts: an unknown one, or a
//! Nomad one that nomadish does not support yet, is an error at its position (nothing is
//! silently dropped). Errors are collected rather than stopping at the first, and each field
//! decoded records its source offset in a [`SpanMap`] so that validation problems found later
//! on the model can be positioned too.

mod artifact;
mod config;
mod group;
mod job;
mod migrate;
mod network;
mod parent;
mod policy;
mod preference;
mod service;
mod task;
mod template;
mod volume;

use std::collections::BTreeMap;

use hcl_edit::Span;
use hcl_edit::structure::{Attribute, Block, Body};
use nomadish_proto::model::Job;
use nomadish_proto::model::canonicalize::FieldPath;
use serde_json::Value;

use crate::error::Diagnostic;
use crate::eval::Context;
use crate::source::Source;
use crate::spans::SpanMap;

/// Blocks of Nomad's jobspec language that nomadish does not support yet (none today; the
/// list stays for blocks Nomad adds).
const NOT_YET_BLOCKS: &[&str] = &[];

/// Blocks that need systems nomadish does not have (Vault, Consul, CSI, ...): refused with
/// "not supported by nomadish: <block>" wherever they appear.
const UNSUPPORTED_BLOCKS: [&str; 14] = [
    "action",
    "connect",
    "consul",
    "csi_plugin",
    "device",
    "disconnect",
    "dns",
    "identity",
    "multiregion",
    "numa",
    "schedule",
    "secret",
    "ui",
    "vault",
];

/// Attributes of Nomad's jobspec language that nomadish does not support yet.
const NOT_YET_ATTRIBUTES: &[&str] = &[
    "disk",
    "ignore_collision",
    "kind",
    "max_run_duration",
    "mbits",
];

/// Attributes that configure features nomadish does not have (Vault and Consul tokens, the
/// disconnected-client policies): refused with "not supported by nomadish: <attribute>".
const UNSUPPORTED_ATTRIBUTES: [&str; 7] = [
    "consul_namespace",
    "consul_token",
    "max_client_disconnect",
    "prevent_reschedule_on_lost",
    "stop_after_client_disconnect",
    "vault_namespace",
    "vault_token",
];

/// A typed reader of attribute values (see `convert`).
type Conversion<T> = fn(&Value) -> Result<T, String>;

/// The decoding state: the source, the problems found so far and the spans recorded.
pub(crate) struct Decoder<'a> {
    src: &'a Source<'a>,
    ctx: &'a Context,
    errors: Vec<Diagnostic>,
    spans: SpanMap,
}

/// Decodes a whole file: exactly one `job` block. Returns the job (when there was one) with
/// every decode problem and the recorded spans.
pub(crate) fn decode_file(
    src: &Source<'_>,
    body: &Body,
    ctx: &Context,
) -> (Option<Job>, Vec<Diagnostic>, SpanMap) {
    let mut decoder = Decoder {
        src,
        ctx,
        errors: Vec::new(),
        spans: SpanMap::default(),
    };
    let job = decoder.file(body);
    (job, decoder.errors, decoder.spans)
}

impl Decoder<'_> {
    fn file(&mut self, body: &Body) -> Option<Job> {
        for attr in body.attributes() {
            self.error(
                attr_offset(attr),
                format!(
                    "attribute {:?} must be inside the job block",
                    attr.key.as_str()
                ),
            );
        }
        let mut job: Option<(Job, usize)> = None;
        for block in body.blocks() {
            match (block.ident.as_str(), &job) {
                ("job", None) => job = Some((self.job(block), block_offset(block))),
                ("job", Some((_, first))) => {
                    let (line, column) = self.src.position(*first);
                    self.error(
                        block_offset(block),
                        format!("only one job block is allowed per file (the first is at {line}:{column})"),
                    );
                }
                // Read before decoding, into the evaluation context (eval::vars).
                ("variable" | "locals", _) => {}
                _ => self.unknown_block(block, "a jobspec file"),
            }
        }
        if job.is_none() && self.errors.is_empty() {
            self.error(
                0,
                "no job block found; a jobspec needs job \"<id>\" { ... }",
            );
        }
        job.map(|(job, _)| job)
    }

    fn error(&mut self, offset: usize, message: impl Into<String>) {
        let diagnostic = self.src.diagnostic(offset, message);
        self.errors.push(diagnostic);
    }

    fn record(&mut self, path: FieldPath, offset: usize) {
        self.spans.record(path, offset);
    }

    /// The attribute's value, or `None` after recording why it has none.
    fn value(&mut self, attr: &Attribute) -> Option<Value> {
        match self.ctx.evaluate(&attr.value, self.src.text()) {
            Ok(value) => Some(value),
            Err(why) => {
                let at = why.offset.unwrap_or_else(|| attr_offset(attr));
                self.error(at, format!("{}: {}", attr.key.as_str(), why.message));
                None
            }
        }
    }

    /// The attribute's value converted, or `None` after recording a positioned type error.
    fn read<T>(&mut self, attr: &Attribute, convert: Conversion<T>) -> Option<T> {
        let value = self.value(attr)?;
        match convert(&value) {
            Ok(v) => Some(v),
            Err(why) => {
                self.error(attr_offset(attr), format!("{}: {why}", attr.key.as_str()));
                None
            }
        }
    }

    /// Reads the attribute into `slot` and records that `path` was written here.
    fn set<T>(&mut self, attr: &Attribute, path: FieldPath, slot: &mut T, convert: Conversion<T>) {
        if let Some(v) = self.read(attr, convert) {
            *slot = v;
            self.record(path, attr_offset(attr));
        }
    }

    fn unknown_attribute(&mut self, attr: &Attribute, ctx: &str) {
        let name = attr.key.as_str();
        let message = if UNSUPPORTED_ATTRIBUTES.contains(&name) {
            format!("not supported by nomadish: {name}")
        } else if NOT_YET_ATTRIBUTES.contains(&name) {
            format!("attribute {name:?} is not supported yet")
        } else {
            format!("unknown attribute {name:?} in {ctx}")
        };
        self.error(attr_offset(attr), message);
    }

    fn unknown_block(&mut self, block: &Block, ctx: &str) {
        let name = block.ident.as_str();
        let message = if UNSUPPORTED_BLOCKS.contains(&name) {
            format!("not supported by nomadish: {name}")
        } else if NOT_YET_BLOCKS.contains(&name) {
            format!("block {name:?} is not supported yet")
        } else {
            format!("unknown block {name:?} in {ctx}")
        };
        self.error(block_offset(block), message);
    }

    /// The block's single label (its name), or `None` after recording an error.
    fn label(&mut self, block: &Block) -> Option<String> {
        match block.labels.as_slice() {
            [label] => Some(label.as_str().to_string()),
            _ => {
                let name = block.ident.as_str();
                self.error(
                    block_offset(block),
                    format!("block {name:?} needs exactly one label, its name: {name} \"<name>\" {{ ... }}"),
                );
                None
            }
        }
    }

    /// Whether the block has no labels (records an error when it has some).
    fn no_labels(&mut self, block: &Block) -> bool {
        if block.labels.is_empty() {
            return true;
        }
        let name = block.ident.as_str();
        self.error(
            block_offset(block),
            format!("block {name:?} takes no labels"),
        );
        false
    }

    /// Records an error for every block inside `block` (for blocks that hold only attributes).
    fn no_blocks(&mut self, block: &Block, ctx: &str) {
        for inner in block.body.blocks() {
            self.unknown_block(inner, ctx);
        }
    }

    /// Whether this is the first block of its kind here (records an error for a repeat).
    fn first_of_kind(&mut self, seen: &mut BTreeMap<String, usize>, block: &Block) -> bool {
        let name = block.ident.as_str();
        match seen.get(name) {
            None => {
                seen.insert(name.to_string(), block_offset(block));
                self.no_labels(block)
            }
            Some(first) => {
                let (line, column) = self.src.position(*first);
                self.error(
                    block_offset(block),
                    format!(
                        "block {name:?} may appear only once here (the first is at {line}:{column})"
                    ),
                );
                false
            }
        }
    }
}

fn attr_offset(attr: &Attribute) -> usize {
    attr.span()
        .or_else(|| attr.key.span())
        .map_or(0, |span| span.start)
}

fn block_offset(block: &Block) -> usize {
    block
        .ident
        .span()
        .or_else(|| block.span())
        .map_or(0, |span| span.start)
}

fn label_offset(block: &Block) -> usize {
    block
        .labels
        .first()
        .and_then(|label| label.span())
        .map_or_else(|| block_offset(block), |span| span.start)
}
