//! `nomadish fmt`: rewrites HCL jobspecs in the canonical format
//! ([`nomadish_jobspecs::fmt::format`]), like `nomad fmt`.
//!
//! ```text
//! nomadish fmt                      every *.hcl / *.nomad in the current directory
//! nomadish fmt -recursive DIR       ... and in its subdirectories
//! nomadish fmt -check FILE|DIR      exit 1 and list the files that would change; write nothing
//! nomadish fmt -                    standard input to standard output
//! ```

use std::path::{Path, PathBuf};

use clap::{ArgAction, Args};

use super::{EXIT_ERROR, EXIT_OK};

/// `fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Write nothing; exit 1 if any file is not in the canonical format.
    #[arg(long)]
    pub check: bool,
    /// Print the names of the files whose formatting differs (`-list=false` to silence).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value = "true",
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub list: bool,
    /// Write the result back to the files (`-write=false` to leave them as they are).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value = "true",
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub write: bool,
    /// Descend into subdirectories.
    #[arg(long)]
    pub recursive: bool,
    /// Files and directories to format (default: the current directory; `-`: standard input).
    pub paths: Vec<PathBuf>,
}

/// Runs `fmt`; returns the exit code.
pub fn run(args: FmtArgs) -> i32 {
    if args.paths.len() == 1 && args.paths[0].as_os_str() == "-" {
        return stdin_to_stdout();
    }
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for root in &roots {
        if root.is_dir() {
            if let Err(e) = collect(root, args.recursive, &mut files) {
                eprintln!("Error reading directory {}: {e}", root.display());
                return EXIT_ERROR;
            }
        } else if root.exists() {
            files.push(root.clone());
        } else {
            eprintln!("No file or directory at {}", root.display());
            return EXIT_ERROR;
        }
    }
    let mut code = EXIT_OK;
    for file in files {
        match format_file(&file) {
            Ok(None) => {}
            Ok(Some(formatted)) => {
                if args.list {
                    println!("{}", file.display());
                }
                if args.check {
                    code = EXIT_ERROR;
                } else if args.write
                    && let Err(e) = std::fs::write(&file, formatted)
                {
                    eprintln!("Error writing {}: {e}", file.display());
                    code = EXIT_ERROR;
                }
            }
            Err(message) => {
                eprintln!("{message}");
                code = EXIT_ERROR;
            }
        }
    }
    code
}

/// `fmt -`: formats standard input to standard output.
fn stdin_to_stdout() -> i32 {
    let mut src = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut src) {
        eprintln!("Error reading standard input: {e}");
        return EXIT_ERROR;
    }
    match nomadish_jobspecs::fmt::format(&src, "<stdin>") {
        Ok(formatted) => {
            print!("{formatted}");
            EXIT_OK
        }
        Err(message) => {
            eprintln!("{message}");
            EXIT_ERROR
        }
    }
}

/// The canonical text of `file` if it differs from what is there, `None` if it is already
/// formatted.
pub fn format_file(file: &Path) -> Result<Option<String>, String> {
    let src = std::fs::read_to_string(file)
        .map_err(|e| format!("Error reading {}: {e}", file.display()))?;
    let formatted = nomadish_jobspecs::fmt::format(&src, &file.display().to_string())?;
    Ok((formatted != src).then_some(formatted))
}

/// Whether `path` names a jobspec that `fmt` picks up in a directory.
fn is_hcl(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "hcl" || e == "nomad")
}

/// The `.hcl` and `.nomad` files in `dir` (and below it with `recursive`), sorted.
fn collect(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if recursive {
                collect(&path, recursive, files)?;
            }
        } else if is_hcl(&path) {
            files.push(path);
        }
    }
    Ok(())
}
