//! The `jobspec` target: HCL text through everything `nomadish job run` does to it (variables,
//! locals, functions, decoding, canonicalization, validation).
//!
//! Input: UTF-8 jobspec text, optionally followed by a line `# fuzz-vars` and then variable
//! values, one `name=value` a line: as `-var name=value`, or as the environment variable when
//! the name starts with `NOMAD_VAR_`. The marker is an HCL comment, so a seed stays a jobspec.

use nomadish_jobspecs::{JobspecError, ParseOptions, Parsed, parse_with, validate_job};

/// The file name the parser labels errors with (and resolves `file()` against: the current
/// directory).
pub const FILE: &str = "fuzz.hcl";

/// The line that separates the jobspec from the variable values.
pub const VARS_MARKER: &str = "# fuzz-vars";

/// The target: parses, and checks the parser's promises about the outcome.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(parse(text));
}

/// Splits the input into the jobspec and its variable values, and parses it as the CLI does.
pub fn parse(text: &str) -> Result<Parsed, JobspecError> {
    let (src, options) = split_vars(text);
    parse_with(src, FILE, &options)
}

/// Panics if the outcome breaks a promise: an accepted job must pass the validation the server
/// runs, and every error must name a 1-based line and column.
pub fn check(outcome: Result<Parsed, JobspecError>) {
    match outcome {
        Ok(parsed) => {
            if let Err(problems) = validate_job(&parsed.job) {
                panic!("the parser accepted a job that fails validation: {problems:?}");
            }
            for w in &parsed.warnings {
                assert!(
                    w.line > 0 && w.column > 0,
                    "warning without a position: {w}"
                );
            }
        }
        Err(JobspecError::Io { .. }) => panic!("parse_with read a jobspec file"),
        Err(err) => {
            assert!(!err.diagnostics().is_empty(), "an error with no diagnostic");
            for d in err.diagnostics() {
                assert!(d.line > 0 && d.column > 0, "error without a position: {d}");
            }
        }
    }
}

/// The jobspec part of the input and the variable values after [`VARS_MARKER`].
pub fn split_vars(text: &str) -> (&str, ParseOptions) {
    let mut options = ParseOptions::default();
    let Some(at) = text.find(&format!("\n{VARS_MARKER}\n")) else {
        return (text, options);
    };
    let values = &text[at + VARS_MARKER.len() + 2..];
    for line in values.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let pair = (name.to_string(), value.to_string());
        if name.starts_with("NOMAD_VAR_") {
            options.env.push(pair);
        } else {
            options.vars.push(pair);
        }
    }
    (&text[..at + 1], options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_after_the_marker_become_flags_and_environment() {
        let (src, options) =
            split_vars("job \"a\" {}\n# fuzz-vars\nn=3\nNOMAD_VAR_m=x\nnot a pair\n");
        assert_eq!(src, "job \"a\" {}\n");
        assert_eq!(options.vars, vec![("n".to_string(), "3".to_string())]);
        assert_eq!(
            options.env,
            vec![("NOMAD_VAR_m".to_string(), "x".to_string())]
        );
        let (src, options) = split_vars("job \"a\" {}\n");
        assert_eq!(src, "job \"a\" {}\n");
        assert!(options.vars.is_empty() && options.env.is_empty());
    }
}
