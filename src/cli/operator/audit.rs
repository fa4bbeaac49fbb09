//! `operator audit verify FILE`: checks an audit log's hash chain.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::{EXIT_ERROR, EXIT_OK};

/// `operator audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Checks that no line of an audit log was edited, inserted or removed (before its last
    /// line: a cut-off tail cannot be told from a log that ends there).
    Verify(AuditVerifyArgs),
}

/// `operator audit verify`.
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The audit log (`<data_dir>/server/audit.log` by default).
    pub file: PathBuf,
}

/// Runs `operator audit verify`.
pub fn verify(args: &AuditVerifyArgs) -> i32 {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("Error reading {}: {e}", args.file.display());
            return EXIT_ERROR;
        }
    };
    match nomadish_acl::audit::verify(&text) {
        Ok(lines) => {
            println!("{}: {lines} lines, chain intact", args.file.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "{}:{}: chain broken: {}",
                args.file.display(),
                e.line,
                e.reason
            );
            EXIT_ERROR
        }
    }
}
