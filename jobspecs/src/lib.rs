//! nomadish-jobspecs: Nomad-syntax HCL jobspecs to the nomadish job model.
//!
//! ```text
//!   text ──hcl-edit──> Body (with spans) ──decode──> Job ──canonicalize──> Job ──validate──> Ok(Job)
//!          │ syntax error          │ unknown block, wrong type            │ Nomad's rules
//!          v                       v                                      v
//!        Syntax(FILE:L:C: ...)   Decode([FILE:L:C: ...])               Invalid([FILE:L:C: ...])
//! ```
//!
//! Pure: no I/O except [`parse_file`]'s read, no clocks, no randomness. Runtime interpolation
//! (`${NOMAD_ALLOC_ID}`, `${attr.kernel.name}`, ...) is kept verbatim for the client to fill.
//! Blocks that nomadish does not support yet (`template`, `service`, ...) are errors, never
//! silently dropped.
#![forbid(unsafe_code)]

mod convert;
mod decode;
mod duration;
mod error;
pub mod fmt;
pub mod periodic;
mod source;
mod spans;
mod validate;
mod validate_parent;
mod validate_service;
mod value;

use std::path::Path;

use nomadish_proto::model::Job;

pub use error::{Diagnostic, JobspecError};
pub use validate::{job_problems, validate_job};
pub use validate_parent::{PAYLOAD_REQUIREMENTS, escapes as payload_path_escapes};

/// A UTF-8 byte order mark, which some editors put at the start of files.
const BOM: char = '\u{feff}';

/// Parses a jobspec into a canonicalized, validated job. `filename` only labels errors
/// (`FILE:LINE:COL: what is wrong`).
pub fn parse(src: &str, filename: &str) -> Result<Job, JobspecError> {
    let text = src.strip_prefix(BOM).unwrap_or(src);
    let source = source::Source::new(filename, text);
    let body = hcl_edit::parser::parse_body(text)
        .map_err(|err| JobspecError::Syntax(source.syntax_error(&err)))?;
    let (job, mut errors, spans) = decode::decode_file(&source, &body);
    let Some(mut job) = job.filter(|_| errors.is_empty()) else {
        errors.sort_by_key(|d| (d.line, d.column));
        return Err(JobspecError::Decode(errors));
    };
    job.canonicalize();
    let problems = job_problems(&job);
    if problems.is_empty() {
        Ok(job)
    } else {
        Err(JobspecError::Invalid(validate::diagnostics(
            problems, &spans, &source,
        )))
    }
}

/// Reads a jobspec file and [`parse`]s it, labelling errors with the path as given.
pub fn parse_file(path: &Path) -> Result<Job, JobspecError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|source| JobspecError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&src, &file)
}
