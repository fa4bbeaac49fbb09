//! Errors of the jobspec parser: every problem is a [`Diagnostic`] that reads
//! `FILE:LINE:COL: what is wrong` (1-based line and column).

use std::fmt;

/// One positioned problem in a jobspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name given to the parser.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Why a jobspec could not become a job.
#[derive(Debug, thiserror::Error)]
pub enum JobspecError {
    /// The file could not be read.
    #[error("{file}: cannot read the jobspec: {source}")]
    Io {
        /// The path as given.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not valid HCL.
    #[error("{0}")]
    Syntax(Diagnostic),
    /// The HCL is valid but does not describe a job: unknown or unsupported blocks and
    /// attributes, wrong value types, bad durations. Never empty; sorted by position.
    #[error("{}", join(.0))]
    Decode(Vec<Diagnostic>),
    /// The job breaks Nomad's rules (see `Job::validate`). Never empty; sorted by position.
    #[error("{}", join(.0))]
    Invalid(Vec<Diagnostic>),
}

fn join(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl JobspecError {
    /// Every positioned problem (empty for [`JobspecError::Io`]).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Io { .. } => &[],
            Self::Syntax(d) => std::slice::from_ref(d),
            Self::Decode(ds) | Self::Invalid(ds) => ds,
        }
    }

    /// The 1-based line of the first problem (0 when there is no position: I/O errors).
    pub fn line(&self) -> usize {
        self.diagnostics().first().map_or(0, |d| d.line)
    }

    /// The 1-based column of the first problem (0 when there is no position: I/O errors).
    pub fn column(&self) -> usize {
        self.diagnostics().first().map_or(0, |d| d.column)
    }
}
