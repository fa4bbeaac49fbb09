//! `nomadish job init`: writes an example job file to start from, like `nomad job init`.
//!
//! The example is a service job with one `raw_exec` task (which `agent -dev` runs), written
//! to `example.nomad.hcl` (or `example.nomad.json` with `-json`); an existing file is never
//! overwritten.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_ERROR, EXIT_OK};

/// The commented example job.
pub const EXAMPLE: &str = include_str!("job_init_example.nomad.hcl");

/// The default file name, as Nomad's.
pub const DEFAULT_FILE: &str = "example.nomad.hcl";
/// The default file name with `-json`.
pub const DEFAULT_JSON_FILE: &str = "example.nomad.json";

/// `job init`.
#[derive(Debug, Args)]
pub struct JobInitArgs {
    /// Write the example without comments.
    #[arg(long)]
    pub short: bool,
    /// Write the job as JSON (`{"Job": ...}`, what `job run -json` reads).
    #[arg(long)]
    pub json: bool,
    /// Start from a named template (nomadish has none: an error).
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// The file to write (default: example.nomad.hcl, or example.nomad.json with -json).
    pub filename: Option<PathBuf>,
}

/// The example without its comments and the blank lines they leave.
pub fn short_example() -> String {
    let text: Vec<&str> = EXAMPLE
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();
    let mut out = String::new();
    for line in text {
        if line.is_empty() && (out.is_empty() || out.ends_with("\n\n") || out.ends_with("{\n")) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    nomadish_jobspecs::fmt::format(&out, "example").expect("the short example is valid HCL")
}

/// The example job as the API's JSON, `{"Job": {...}}`.
pub fn json_example() -> String {
    let job = nomadish_jobspecs::parse(EXAMPLE, DEFAULT_FILE).expect("the example parses");
    let value = serde_json::json!({ "Job": job });
    serde_json::to_string_pretty(&value).expect("a job serializes") + "\n"
}

/// Runs `job init`; returns the exit code.
pub fn run(args: JobInitArgs) -> i32 {
    if let Some(name) = &args.template {
        eprintln!(
            "Error: -template {name:?}: nomadish has no job templates; run `nomadish job init` without -template"
        );
        return EXIT_ERROR;
    }
    let default = if args.json {
        DEFAULT_JSON_FILE
    } else {
        DEFAULT_FILE
    };
    let path = args.filename.unwrap_or_else(|| PathBuf::from(default));
    if path.exists() {
        eprintln!("Job '{}' already exists", path.display());
        return EXIT_ERROR;
    }
    let text = if args.json {
        json_example()
    } else if args.short {
        short_example()
    } else {
        EXAMPLE.to_string()
    };
    // create_new: a file appearing since the check above is not overwritten either.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()));
    match written {
        Ok(()) => {
            println!("Example job file written to {}", path.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Failed to write '{}': {e}", path.display());
            EXIT_ERROR
        }
    }
}
