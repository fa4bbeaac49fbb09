//! `nomadish job init`: writes an example job file to start from, like `nomad job init`.
//!
//! The example is a service job with one `raw_exec` task (which `agent -dev` runs), written
//! to `example.nomad.hcl` (or `example.nomad.json` with `-json`); an existing file is never
//! overwritten. `-template NAME` writes a team's own template instead: as in Nomad, the
//! `template` item of the Nomad variable `nomad/job-templates/NAME` (`-list-templates` lists
//! them).

use std::path::PathBuf;

use clap::Args;
use nomadish_proto::model::{Variable, VariableMetadata};

use super::args::ApiOpts;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// Where job templates live, as in Nomad: one variable per template.
pub const TEMPLATES_PREFIX: &str = "nomad/job-templates/";

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
    /// Start from a template stored in the variable `nomad/job-templates/NAME`.
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// List the templates stored under `nomad/job-templates/`.
    #[arg(long)]
    pub list_templates: bool,
    #[command(flatten)]
    pub api: ApiOpts,
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

/// The names of the stored job templates.
async fn template_names(api: &ApiOpts) -> Result<Vec<String>, String> {
    let client = client_or_exit(api).ok_or_else(String::new)?;
    let list: Vec<VariableMetadata> = client
        .get("/v1/vars", &[("prefix", TEMPLATES_PREFIX.to_string())])
        .await
        .map_err(|e| format!("Error listing job templates: {e}"))?
        .body;
    Ok(list
        .into_iter()
        .filter_map(|v| v.path.strip_prefix(TEMPLATES_PREFIX).map(str::to_string))
        .collect())
}

/// The text of the job template `name`.
async fn template_text(api: &ApiOpts, name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains('/') {
        return Err(format!("Error: invalid template name {name:?}"));
    }
    let client = client_or_exit(api).ok_or_else(String::new)?;
    let path = format!("{TEMPLATES_PREFIX}{name}");
    let var: Variable = match client.get(&format!("/v1/var/{path}"), &[]).await {
        Ok(r) => r.body,
        Err(e) if e.status() == Some(404) => {
            return Err(format!(
                "Error: no job template {name:?} (it would be the \"template\" item of the variable {path}; see -list-templates)"
            ));
        }
        Err(e) => return Err(format!("Error retrieving job template: {e}")),
    };
    var.items.get("template").cloned().ok_or_else(|| {
        format!("Error: the variable {path} has no \"template\" item holding the job template")
    })
}

/// Runs `job init`; returns the exit code.
pub async fn run(args: JobInitArgs) -> i32 {
    if args.list_templates {
        return match template_names(&args.api).await {
            Ok(names) if names.is_empty() => {
                println!("No job templates found under {TEMPLATES_PREFIX}");
                EXIT_OK
            }
            Ok(names) => {
                println!("Use nomadish job init -template=<template> with any of the following:");
                for name in names {
                    println!("  {name}");
                }
                EXIT_OK
            }
            Err(e) => {
                eprintln!("{e}");
                EXIT_ERROR
            }
        };
    }
    let default = if args.json && args.template.is_none() {
        DEFAULT_JSON_FILE
    } else {
        DEFAULT_FILE
    };
    let path = args
        .filename
        .clone()
        .unwrap_or_else(|| PathBuf::from(default));
    if path.exists() {
        eprintln!("Job '{}' already exists", path.display());
        return EXIT_ERROR;
    }
    let text = if let Some(name) = &args.template {
        match template_text(&args.api, name).await {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_ERROR;
            }
        }
    } else if args.json {
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
