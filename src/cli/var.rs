//! `var put|get|list|purge`: Nomad Variables from the command line.
//!
//! ```text
//!   var put [-check-index N | -force] [-out none|json|table] PATH [@spec.json | -] k=v k=@file ...
//!   var get [-out table|json] [-item KEY] PATH
//!   var list [-out table|json] [PREFIX]
//!   var purge [-check-index N] PATH
//! ```

use std::collections::BTreeMap;
use std::io::Read;

use clap::{Args, Subcommand};
use nomadish_proto::model::{Variable, VariableMetadata, validate_variable_path};

use super::api::{ApiClient, ApiError};
use super::args::ApiOpts;
use super::format::{format_kv, format_list, format_unix_nanos};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `var` subcommands.
#[derive(Debug, Subcommand)]
pub enum VarCommand {
    /// Creates or updates a variable.
    Put(VarPutArgs),
    /// Shows a variable.
    Get(VarGetArgs),
    /// Lists variables (metadata only).
    List(VarListArgs),
    /// Permanently deletes a variable.
    Purge(VarPurgeArgs),
}

/// `var put`.
#[derive(Debug, Args)]
pub struct VarPutArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Write only if the variable's modify index is N (0: only if it does not exist).
    #[arg(long, value_name = "N")]
    pub check_index: Option<u64>,
    /// Write regardless of the index in a variable specification.
    #[arg(long)]
    pub force: bool,
    /// Format of a specification read with `@FILE` or `-` (only `json`).
    #[arg(long = "in", default_value = "json")]
    pub input: String,
    /// Print the written variable: `none` (a one-line summary), `json` or `table`.
    #[arg(long, default_value = "none")]
    pub out: String,
    /// The variable's path.
    pub path: String,
    /// `key=value` items (`key=@file` reads the value from a file); `@spec.json` or `-` reads
    /// a variable specification (JSON with `Items`) first.
    pub items: Vec<String>,
}

/// `var get`.
#[derive(Debug, Args)]
pub struct VarGetArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// `table` or `json`.
    #[arg(long, default_value = "table")]
    pub out: String,
    /// Print only this item's value.
    #[arg(long)]
    pub item: Option<String>,
    /// The variable's path.
    pub path: String,
}

/// `var list`.
#[derive(Debug, Args)]
pub struct VarListArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// `table` or `json`.
    #[arg(long, default_value = "table")]
    pub out: String,
    /// Only paths starting with this.
    pub prefix: Option<String>,
}

/// `var purge`.
#[derive(Debug, Args)]
pub struct VarPurgeArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Delete only if the variable's modify index is N.
    #[arg(long, value_name = "N")]
    pub check_index: Option<u64>,
    /// The variable's path.
    pub path: String,
}

/// Runs a `var` command.
pub async fn run(cmd: VarCommand) -> i32 {
    let result = match cmd {
        VarCommand::Put(a) => put(a).await,
        VarCommand::Get(a) => get(a).await,
        VarCommand::List(a) => list(a).await,
        VarCommand::Purge(a) => purge(a).await,
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_ERROR
        }
    }
}

fn api(opts: &ApiOpts) -> Result<ApiClient, String> {
    client_or_exit(opts).ok_or_else(String::new)
}

fn var_url(path: &str) -> Result<String, String> {
    validate_variable_path(path).map_err(|e| format!("Error: {e}"))?;
    Ok(format!("/v1/var/{path}"))
}

/// The error for a failed write: a check-and-set conflict shows the server's index.
fn write_error(what: &str, check_index: Option<u64>, e: ApiError) -> String {
    if let ApiError::Status { code: 409, body } = &e {
        let current: Variable = serde_json::from_str(body).unwrap_or_default();
        return format!(
            "Check-and-Set conflict\n\n  Your provided check-index ({}) does not match the server-side index ({}).\n  The variable was not {what}.",
            check_index.unwrap_or(0),
            current.modify_index
        );
    }
    format!("Error {what} variable: {e}")
}

/// The items of a `var put` command line (a specification first, then `k=v`).
fn collect_items(args: &VarPutArgs) -> Result<(BTreeMap<String, String>, Option<u64>), String> {
    let mut items = BTreeMap::new();
    let mut spec_index = None;
    for (i, arg) in args.items.iter().enumerate() {
        let spec = i == 0 && (arg == "-" || (arg.starts_with('@') && !arg.contains('=')));
        if spec {
            if args.input != "json" {
                return Err(format!(
                    "Error: unsupported -in format {:?} (use json)",
                    args.input
                ));
            }
            let text = if arg == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| format!("Error reading stdin: {e}"))?;
                s
            } else {
                std::fs::read_to_string(&arg[1..])
                    .map_err(|e| format!("Error reading {}: {e}", &arg[1..]))?
            };
            let var: Variable = serde_json::from_str(&text)
                .map_err(|e| format!("Error parsing variable specification: {e}"))?;
            spec_index = Some(var.modify_index).filter(|i| *i > 0);
            items.extend(var.items);
            continue;
        }
        let Some((k, v)) = arg.split_once('=') else {
            return Err(format!("Error: item {arg:?} is not in key=value form"));
        };
        let value = match v.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).map_err(|e| format!("Error reading {file}: {e}"))?
            }
            None => v.to_string(),
        };
        items.insert(k.to_string(), value);
    }
    if items.is_empty() {
        return Err("Error: a variable needs at least one key=value item".to_string());
    }
    Ok((items, spec_index))
}

async fn put(args: VarPutArgs) -> Result<(), String> {
    let url = var_url(&args.path)?;
    let (items, spec_index) = collect_items(&args)?;
    let check_index = args
        .check_index
        .or(if args.force { None } else { spec_index });
    let api = api(&args.api)?;
    let body = Variable {
        path: args.path.clone(),
        items,
        ..Variable::default()
    };
    let query: Vec<(&str, String)> = check_index
        .map(|i| ("cas", i.to_string()))
        .into_iter()
        .collect();
    let var: Variable = api
        .put(&url, &body, &query)
        .await
        .map_err(|e| write_error("creating", check_index, e))?
        .body;
    let verb = if var.create_index == var.modify_index {
        "Created"
    } else {
        "Updated"
    };
    match args.out.as_str() {
        "json" => println!("{}", super::format::pretty_json(&var)),
        "table" => {
            println!(
                "Successfully {} variable {:?}!\n",
                verb.to_lowercase(),
                var.path
            );
            println!("{}", table(&var));
        }
        _ => println!(
            "{verb} variable {:?} with modify index {}",
            var.path, var.modify_index
        ),
    }
    Ok(())
}

fn table(var: &Variable) -> String {
    let head = format_kv(&[
        ("Namespace", var.namespace.clone()),
        ("Path", var.path.clone()),
        ("Create Time", format_unix_nanos(var.create_time)),
        ("Check Index", var.modify_index.to_string()),
    ]);
    let items: Vec<(&str, String)> = var
        .items
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    format!("{head}\n\nItems\n{}", format_kv(&items))
}

async fn get(args: VarGetArgs) -> Result<(), String> {
    let url = var_url(&args.path)?;
    let api = api(&args.api)?;
    let var: Variable = match api.get(&url, &[]).await {
        Ok(r) => r.body,
        Err(e) if e.status() == Some(404) => {
            return Err(format!("Variable not found at path {:?}", args.path));
        }
        Err(e) => return Err(format!("Error retrieving variable: {e}")),
    };
    if let Some(item) = &args.item {
        let value = var
            .items
            .get(item)
            .ok_or_else(|| format!("Variable does not contain {item:?} item"))?;
        println!("{value}");
        return Ok(());
    }
    match args.out.as_str() {
        "json" => println!("{}", super::format::pretty_json(&var)),
        _ => println!("{}", table(&var)),
    }
    Ok(())
}

async fn list(args: VarListArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let prefix = args.prefix.clone().unwrap_or_default();
    let vars: Vec<VariableMetadata> = api
        .get("/v1/vars", &[("prefix", prefix)])
        .await
        .map_err(|e| format!("Error retrieving vars: {e}"))?
        .body;
    if args.out == "json" {
        println!("{}", super::format::pretty_json(&vars));
        return Ok(());
    }
    if vars.is_empty() {
        println!("No variables found");
        return Ok(());
    }
    let mut rows = vec![vec![
        "Namespace".to_string(),
        "Path".to_string(),
        "Last Updated".to_string(),
    ]];
    for v in &vars {
        rows.push(vec![
            v.namespace.clone(),
            v.path.clone(),
            format_unix_nanos(v.modify_time),
        ]);
    }
    println!("{}", format_list(&rows));
    Ok(())
}

async fn purge(args: VarPurgeArgs) -> Result<(), String> {
    let url = var_url(&args.path)?;
    let api = api(&args.api)?;
    let query: Vec<(&str, String)> = args
        .check_index
        .map(|i| ("cas", i.to_string()))
        .into_iter()
        .collect();
    api.delete::<serde_json::Value>(&url, &query)
        .await
        .map_err(|e| write_error("purging", args.check_index, e))?;
    println!("Successfully purged variable {:?}!", args.path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::args::{Cli, Command};
    use crate::cli::argv::translate_args;

    fn parse(args: &[&str]) -> VarCommand {
        let argv = translate_args(args.iter().copied());
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Var(cmd) => cmd,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nomad_style_flags_parse() {
        let VarCommand::Put(p) = parse(&[
            "nomadish",
            "var",
            "put",
            "-check-index",
            "0",
            "a/b",
            "k=v",
            "x=y=z",
        ]) else {
            panic!("put");
        };
        assert_eq!((p.check_index, p.path.as_str()), (Some(0), "a/b"));
        let (items, spec) = collect_items(&p).expect("items");
        assert_eq!(
            (items["k"].as_str(), items["x"].as_str(), spec),
            ("v", "y=z", None)
        );
        assert!(matches!(
            parse(&["nomadish", "var", "purge", "-check-index=3", "a"]),
            VarCommand::Purge(VarPurgeArgs {
                check_index: Some(3),
                ..
            })
        ));
        assert!(matches!(
            parse(&["nomadish", "var", "list"]),
            VarCommand::List(VarListArgs { prefix: None, .. })
        ));
        assert!(matches!(
            parse(&["nomadish", "var", "get", "-item", "k", "a"]),
            VarCommand::Get(_)
        ));
    }

    #[test]
    fn bad_items_and_paths_are_refused() {
        let VarCommand::Put(p) = parse(&["nomadish", "var", "put", "a", "novalue"]) else {
            panic!("put");
        };
        assert!(collect_items(&p).is_err());
        let VarCommand::Put(p) = parse(&["nomadish", "var", "put", "a"]) else {
            panic!("put");
        };
        assert!(collect_items(&p).is_err());
        assert!(var_url("nomad/other").is_err());
        assert!(var_url("bad path").is_err());
        assert_eq!(var_url("a/b").unwrap(), "/v1/var/a/b");
    }
}
