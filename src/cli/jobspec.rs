//! Loading a job file for `job run`, `job validate` and `agent -run`.
//!
//! HCL files go through the jobspecs crate (`nomadish_jobspecs::parse_file`, which
//! canonicalizes and validates). With `-json`, the file holds the job as JSON, either bare
//! or wrapped as `{"Job": {...}}` (what `job run -output` and `job inspect` print).

use std::path::{Path, PathBuf};

use nomadish_proto::model::Job;

use nomadish_jobspecs::{Diagnostic, JobspecError, ParseOptions, parse_file, parse_file_with};

use super::args::VarOpts;

/// Why a job file could not be turned into a job.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The HCL jobspec is invalid; the inner error reads `FILE:LINE:COL: message`.
    #[error("Error parsing job file from {path}:\n{source}")]
    Hcl {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: JobspecError,
    },
    /// The JSON file could not be read.
    #[error("Error reading job file from {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON file does not hold a job.
    #[error("Error parsing job file from {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The decoding error.
        source: serde_json::Error,
    },
}

/// Reads a job from `path`: HCL through the jobspec parser, or JSON when `json` is set.
pub fn load_job(path: &Path, json: bool) -> Result<Job, LoadError> {
    if json {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        parse_json_job(&text).map_err(|source| LoadError::Json {
            path: path.to_path_buf(),
            source,
        })
    } else {
        parse_hcl(path)
    }
}

/// Reads a job from `path` with jobspec variable values from the flags and the
/// environment's `NOMAD_VAR_*`; returns the job and the parser's warnings (none for JSON).
pub fn load_job_with(
    path: &Path,
    json: bool,
    vars: &VarOpts,
) -> Result<(Job, Vec<Diagnostic>), LoadError> {
    if json {
        return load_job(path, true).map(|job| (job, Vec::new()));
    }
    let options = ParseOptions {
        vars: vars.var.clone(),
        var_files: vars.var_file.clone(),
        env: std::env::vars()
            .filter(|(k, _)| k.starts_with("NOMAD_VAR_"))
            .collect(),
    };
    parse_file_with(path, &options)
        .map(|parsed| (parsed.job, parsed.warnings))
        .map_err(|source| LoadError::Hcl {
            path: path.to_path_buf(),
            source,
        })
}

/// Prints the parser's warnings on stderr as `FILE:LINE:COL: warning: message`.
pub fn print_warnings(warnings: &[Diagnostic]) {
    for w in warnings {
        eprintln!("{}:{}:{}: warning: {}", w.file, w.line, w.column, w.message);
    }
}

/// Parses an HCL jobspec file.
pub fn parse_hcl(path: &Path) -> Result<Job, LoadError> {
    parse_file(path).map_err(|source| LoadError::Hcl {
        path: path.to_path_buf(),
        source,
    })
}

/// Decodes a JSON job, bare or wrapped in `{"Job": ...}`; `null`s take the defaults.
pub fn parse_json_job(text: &str) -> Result<Job, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    nomadish_proto::model::strip_nulls(&mut value);
    if let Some(inner) = value.get_mut("Job").map(serde_json::Value::take) {
        return serde_json::from_value(inner);
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_job_bare_or_wrapped() {
        let bare = r#"{"ID": "web", "Type": "service", "Priority": null}"#;
        let job = parse_json_job(bare).unwrap();
        assert_eq!(job.id, "web");
        assert_eq!(job.job_type, "service");
        let wrapped = r#"{"Job": {"ID": "batch1", "TaskGroups": [{"Name": "g", "Count": 2}]}}"#;
        let job = parse_json_job(wrapped).unwrap();
        assert_eq!(job.id, "batch1");
        assert_eq!(job.task_groups[0].count, 2);
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(parse_json_job("{not json").is_err());
        assert!(parse_json_job(r#"{"ID": 5}"#).is_err());
    }

    #[test]
    fn json_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.json");
        std::fs::write(&path, "[1,2]").unwrap();
        let err = load_job(&path, true).unwrap_err().to_string();
        assert!(err.starts_with("Error parsing job file from "), "{err}");
        assert!(err.contains("job.json"), "{err}");
        let missing = load_job(&dir.path().join("missing.json"), true).unwrap_err();
        assert!(matches!(missing, LoadError::Read { .. }));
    }
}
