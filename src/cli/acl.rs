//! `acl bootstrap | policy ... | token ...`: ACL administration from the command line.
//!
//! ```text
//!   acl bootstrap [FILE]                      first management token (secret from FILE if given)
//!   acl policy apply [-description D] NAME FILE|-
//!   acl policy list [-json] | info NAME [-json] | delete NAME
//!   acl token create [-name N] [-type client|management] [-policy P]... [-ttl 1h] [-global]
//!   acl token list [-json] | info ACCESSOR | self | update [-name N] [-policy P]... ACCESSOR
//!   acl token delete ACCESSOR
//! ```

use std::io::Read;

use clap::{Args, Subcommand};
use nomadish_proto::model::{
    AclPolicy, AclPolicyListStub, AclToken, AclTokenListStub, duration_ns,
};

use super::api::{ApiClient, escape_segment};
use super::args::ApiOpts;
use super::format::{format_kv, format_list, pretty_json};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `acl` subcommands.
#[derive(Debug, Subcommand)]
pub enum AclCommand {
    /// Creates the first management token (works once).
    Bootstrap(BootstrapArgs),
    /// Manages ACL policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Manages ACL tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `acl bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print the token as JSON.
    #[arg(long)]
    pub json: bool,
    /// A file holding the secret to use (a UUID); `-` reads stdin.
    pub secret_file: Option<String>,
}

/// `acl policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Creates or replaces a policy from an HCL file (`-` reads stdin).
    Apply(PolicyApplyArgs),
    /// Lists policies.
    List(JsonArgs),
    /// Shows a policy and its rules.
    Info(NamedArgs),
    /// Deletes a policy.
    Delete(NamedArgs),
}

/// `acl policy apply`.
#[derive(Debug, Args)]
pub struct PolicyApplyArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The policy's description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The policy's name.
    pub name: String,
    /// The rules file.
    pub file: String,
}

/// A command with only `-json`.
#[derive(Debug, Args)]
pub struct JsonArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A command naming one object.
#[derive(Debug, Args)]
pub struct NamedArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The policy name or token accessor ID.
    pub name: String,
}

/// `acl token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Creates a token; prints its secret (shown only now).
    Create(TokenCreateArgs),
    /// Lists tokens (management).
    List(JsonArgs),
    /// Shows a token.
    Info(NamedArgs),
    /// Shows the token in use.
    #[command(name = "self")]
    Self_(JsonArgs),
    /// Changes a token's name or policies.
    Update(TokenUpdateArgs),
    /// Deletes a token.
    Delete(NamedArgs),
}

/// `acl token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// A human-readable name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// `client` or `management`.
    #[arg(long = "type", default_value = "client")]
    pub token_type: String,
    /// A policy to attach (repeatable).
    #[arg(long = "policy")]
    pub policies: Vec<String>,
    /// Lifetime (1m to 24h), e.g. `1h`.
    #[arg(long)]
    pub ttl: Option<String>,
    /// Nomad's global flag (kept; nomadish has one region).
    #[arg(long)]
    pub global: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `acl token update`.
#[derive(Debug, Args)]
pub struct TokenUpdateArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// The policies (replacing the current ones when given).
    #[arg(long = "policy")]
    pub policies: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The token's accessor ID.
    pub accessor: String,
}

/// Runs an `acl` command.
pub async fn run(cmd: AclCommand) -> i32 {
    let result = match cmd {
        AclCommand::Bootstrap(a) => bootstrap(a).await,
        AclCommand::Policy(p) => match p {
            PolicyCommand::Apply(a) => policy_apply(a).await,
            PolicyCommand::List(a) => policy_list(a).await,
            PolicyCommand::Info(a) => policy_info(a).await,
            PolicyCommand::Delete(a) => policy_delete(a).await,
        },
        AclCommand::Token(t) => match t {
            TokenCommand::Create(a) => token_create(a).await,
            TokenCommand::List(a) => token_list(a).await,
            TokenCommand::Info(a) => {
                let url = format!("/v1/acl/token/{}", escape_segment(&a.name));
                token_show(&a.api, &url, a.json).await
            }
            TokenCommand::Self_(a) => token_show(&a.api, "/v1/acl/token/self", a.json).await,
            TokenCommand::Update(a) => token_update(a).await,
            TokenCommand::Delete(a) => token_delete(a).await,
        },
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

fn read_input(file: &str) -> Result<String, String> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("Error reading stdin: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(file).map_err(|e| format!("Error reading {file}: {e}"))
}

async fn bootstrap(args: BootstrapArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let secret = match &args.secret_file {
        Some(f) => read_input(f)?.trim().to_string(),
        None => String::new(),
    };
    let body = serde_json::json!({ "BootstrapSecret": secret });
    let token: AclToken = api
        .put("/v1/acl/bootstrap", &body, &[])
        .await
        .map_err(|e| format!("Error bootstrapping: {e}"))?
        .body;
    print_token(&token, args.json);
    Ok(())
}

/// A token as Nomad's CLI prints it.
fn print_token(t: &AclToken, json: bool) {
    if json {
        println!("{}", pretty_json(t));
        return;
    }
    let policies = if t.token_type == "management" {
        "n/a".to_string()
    } else {
        format!("[{}]", t.policies.join(" "))
    };
    println!(
        "{}",
        format_kv(&[
            ("Accessor ID", t.accessor_id.clone()),
            ("Secret ID", t.secret_id.clone()),
            ("Name", t.name.clone()),
            ("Type", t.token_type.clone()),
            ("Global", t.global.to_string()),
            ("Create Time", t.create_time.clone()),
            (
                "Expiry Time",
                t.expiration_time
                    .clone()
                    .unwrap_or_else(|| "<none>".to_string())
            ),
            ("Create Index", t.create_index.to_string()),
            ("Modify Index", t.modify_index.to_string()),
            ("Policies", policies),
            ("Roles", "n/a".to_string()),
        ])
    );
}

async fn policy_apply(args: PolicyApplyArgs) -> Result<(), String> {
    let rules = read_input(&args.file)?;
    // Check locally first so the error points into the file.
    if let Err(e) = nomadish_acl::parse_policy(&rules) {
        return Err(format!("Error: {}:{e}", args.file));
    }
    let api = api(&args.api)?;
    let body = AclPolicy {
        name: args.name.clone(),
        description: args.description,
        rules,
        ..AclPolicy::default()
    };
    let url = format!("/v1/acl/policy/{}", escape_segment(&args.name));
    api.put::<_, serde_json::Value>(&url, &body, &[])
        .await
        .map_err(|e| format!("Error writing ACL policy: {e}"))?;
    println!("Successfully wrote {:?} ACL policy!", args.name);
    Ok(())
}

async fn policy_list(args: JsonArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let list: Vec<AclPolicyListStub> = api
        .get("/v1/acl/policies", &[])
        .await
        .map_err(|e| format!("Error listing ACL policies: {e}"))?
        .body;
    if args.json {
        println!("{}", pretty_json(&list));
    } else if list.is_empty() {
        println!("No policies found");
    } else {
        let mut rows = vec![vec!["Name".to_string(), "Description".to_string()]];
        rows.extend(
            list.iter()
                .map(|p| vec![p.name.clone(), p.description.clone()]),
        );
        println!("{}", format_list(&rows));
    }
    Ok(())
}

async fn policy_info(args: NamedArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let url = format!("/v1/acl/policy/{}", escape_segment(&args.name));
    let p: AclPolicy = api
        .get(&url, &[])
        .await
        .map_err(|e| format!("Error reading ACL policy: {e}"))?
        .body;
    if args.json {
        println!("{}", pretty_json(&p));
        return Ok(());
    }
    println!(
        "{}\n\nRules\n\n{}",
        format_kv(&[
            ("Name", p.name.clone()),
            ("Description", p.description.clone()),
            ("CreateIndex", p.create_index.to_string()),
            ("ModifyIndex", p.modify_index.to_string()),
        ]),
        p.rules.trim_end()
    );
    Ok(())
}

async fn policy_delete(args: NamedArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let url = format!("/v1/acl/policy/{}", escape_segment(&args.name));
    api.delete::<serde_json::Value>(&url, &[])
        .await
        .map_err(|e| format!("Error deleting ACL policy: {e}"))?;
    println!("Successfully deleted {:?} ACL policy!", args.name);
    Ok(())
}

/// A `-ttl` value as nanoseconds, within Nomad's 1m-24h.
fn parse_ttl(ttl: &str) -> Result<i64, String> {
    let d =
        humantime::parse_duration(ttl).map_err(|e| format!("Error parsing -ttl {ttl:?}: {e}"))?;
    Ok(duration_ns(d))
}

async fn token_create(args: TokenCreateArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let body = AclToken {
        name: args.name,
        token_type: args.token_type,
        policies: args.policies,
        global: args.global,
        expiration_ttl: args.ttl.as_deref().map(parse_ttl).transpose()?.unwrap_or(0),
        ..AclToken::default()
    };
    let token: AclToken = api
        .put("/v1/acl/token", &body, &[])
        .await
        .map_err(|e| format!("Error creating token: {e}"))?
        .body;
    print_token(&token, args.json);
    Ok(())
}

async fn token_list(args: JsonArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let list: Vec<AclTokenListStub> = api
        .get("/v1/acl/tokens", &[])
        .await
        .map_err(|e| format!("Error listing tokens: {e}"))?
        .body;
    if args.json {
        println!("{}", pretty_json(&list));
        return Ok(());
    }
    let mut rows = vec![
        ["Name", "Type", "Global", "Accessor ID", "Expired"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    let now = nomadish_proto::model::rfc3339(nomadish_proto::model::now_ns());
    rows.extend(list.iter().map(|t| {
        // RFC 3339 UTC strings of one format compare in time order.
        let expired = t.expiration_time.as_ref().is_some_and(|e| *e <= now);
        vec![
            t.name.clone(),
            t.token_type.clone(),
            t.global.to_string(),
            t.accessor_id.clone(),
            expired.to_string(),
        ]
    }));
    println!("{}", format_list(&rows));
    Ok(())
}

async fn token_show(opts: &ApiOpts, url: &str, json: bool) -> Result<(), String> {
    let api = api(opts)?;
    let token: AclToken = api
        .get(url, &[])
        .await
        .map_err(|e| format!("Error fetching token: {e}"))?
        .body;
    print_token(&token, json);
    Ok(())
}

async fn token_update(args: TokenUpdateArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let url = format!("/v1/acl/token/{}", escape_segment(&args.accessor));
    let mut token: AclToken = api
        .get(&url, &[])
        .await
        .map_err(|e| format!("Error fetching token: {e}"))?
        .body;
    if let Some(name) = args.name {
        token.name = name;
    }
    if !args.policies.is_empty() {
        token.policies = args.policies;
    }
    token.secret_id.clear();
    let updated: AclToken = api
        .put(&url, &token, &[])
        .await
        .map_err(|e| format!("Error updating token: {e}"))?
        .body;
    print_token(&updated, args.json);
    Ok(())
}

async fn token_delete(args: NamedArgs) -> Result<(), String> {
    let api = api(&args.api)?;
    let url = format!("/v1/acl/token/{}", escape_segment(&args.name));
    api.delete::<serde_json::Value>(&url, &[])
        .await
        .map_err(|e| format!("Error deleting token: {e}"))?;
    println!("Token {} successfully deleted", args.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_flags_become_nanoseconds() {
        assert_eq!(parse_ttl("1h").unwrap(), 3_600_000_000_000);
        assert_eq!(parse_ttl("90s").unwrap(), 90_000_000_000);
        assert!(parse_ttl("soon").is_err());
    }
}
