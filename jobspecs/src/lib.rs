//! nomadish-jobspecs: Nomad-syntax HCL jobspecs to the nomadish job model.
//!
//! ```text
//!   text ──hcl-edit──> Body (with spans) ──decode──> Job ──canonicalize──> Job ──validate──> Ok(Job)
//!          │ syntax error          │ unknown block, wrong type            │ Nomad's rules
//!          v                       v                                      v
//!        Syntax(FILE:L:C: ...)   Decode([FILE:L:C: ...])               Invalid([FILE:L:C: ...])
//! ```
//!
//! Before decoding, `variable` and `locals` blocks are read and the values given for
//! variables applied (`eval::vars`); every attribute is then evaluated with `var.*`,
//! `local.*`, functions, `for` expressions and templates (`eval`). Runtime interpolation
//! (`${NOMAD_ALLOC_ID}`, `${attr.kernel.name}`, ...) is kept verbatim for the client to fill.
//! Blocks that nomadish does not support yet are errors, never silently dropped.
//!
//! I/O: reading the jobspec and `-var-file`s, and `file()`/`fileexists()`; `uuidv4()` and
//! `timestamp()` are the only non-deterministic functions (evaluated at parse time, as Nomad).
#![forbid(unsafe_code)]

mod convert;
mod decode;
mod duration;
mod error;
mod eval;
pub mod fmt;
pub mod periodic;
mod source;
mod spans;
mod validate;
mod validate_parent;
mod validate_service;
mod value;
mod warnings;

use std::path::Path;

use nomadish_proto::model::Job;

pub use error::{Diagnostic, JobspecError};
pub use eval::vars::VarSources as ParseOptions;
pub use validate::{job_problems, validate_job};
pub use validate_parent::{PAYLOAD_REQUIREMENTS, escapes as payload_path_escapes};

/// A UTF-8 byte order mark, which some editors put at the start of files.
const BOM: char = '\u{feff}';

/// Parses a jobspec (no variable values given: defaults only) into a canonicalized,
/// validated job. `filename` labels errors (`FILE:LINE:COL: what is wrong`) and is the base
/// of `file()` paths.
pub fn parse(src: &str, filename: &str) -> Result<Job, JobspecError> {
    parse_with(src, filename, &ParseOptions::default()).map(|parsed| parsed.job)
}

/// Reads a jobspec file and [`parse`]s it, labelling errors with the path as given.
pub fn parse_file(path: &Path) -> Result<Job, JobspecError> {
    parse_file_with(path, &ParseOptions::default()).map(|parsed| parsed.job)
}

/// Reads a jobspec file and parses it with variable values ([`parse_with`]).
pub fn parse_file_with(path: &Path, options: &ParseOptions) -> Result<Parsed, JobspecError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|source| JobspecError::Io {
        file: file.clone(),
        source,
    })?;
    parse_with(&src, &file, options)
}

/// Parses a jobspec with variable values from `-var`, `-var-file` and `NOMAD_VAR_*`
/// (see [`ParseOptions`]); returns the job and the warnings (`FILE:LINE:COL: ...`).
///
/// Evaluation happens here, as in Nomad: a jobspec that calls `uuidv4()` or `timestamp()`
/// gets a new value on every parse (the only impure functions; `file()` reads relative to
/// the jobspec's directory).
pub fn parse_with(
    src: &str,
    filename: &str,
    options: &ParseOptions,
) -> Result<Parsed, JobspecError> {
    let text = src.strip_prefix(BOM).unwrap_or(src);
    let source = source::Source::new(filename, text);
    let body = hcl_edit::parser::parse_body(text)
        .map_err(|err| JobspecError::Syntax(source.syntax_error(&err)))?;
    let base_dir = Path::new(filename)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let prepared =
        eval::vars::prepare(&source, &body, options, base_dir).map_err(|mut errors| {
            errors.sort_by_key(|d| (d.file != filename, d.line, d.column));
            JobspecError::Decode(errors)
        })?;
    let (job, mut errors, spans) = decode::decode_file(&source, &body, &prepared.ctx);
    let Some(mut job) = job.filter(|_| errors.is_empty()) else {
        errors.sort_by_key(|d| (d.line, d.column));
        return Err(JobspecError::Decode(errors));
    };
    job.canonicalize();
    let problems = job_problems(&job);
    if !problems.is_empty() {
        return Err(JobspecError::Invalid(validate::diagnostics(
            problems, &spans, &source,
        )));
    }
    let mut warnings = prepared.warnings;
    warnings.extend(warnings::job_warnings(&body, &source));
    Ok(Parsed { job, warnings })
}

/// A parsed job and what the parser warns about (accepted but inactive fields, values for
/// undeclared variables).
#[derive(Debug)]
pub struct Parsed {
    /// The canonicalized, validated job.
    pub job: Job,
    /// Warnings, each `FILE:LINE:COL: message`.
    pub warnings: Vec<Diagnostic>,
}
