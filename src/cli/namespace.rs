//! `namespace apply|list|status|inspect|delete`: namespaces and their quotas.
//!
//! ```text
//!   namespace apply [-description D] [-quota cpu=N,memory=N,allocs=N | -quota NAME] NAME
//!   namespace apply ns.hcl                     (Nomad's namespace specification, + quota {})
//!   namespace list [-json]
//!   namespace status [-json] NAME              (with the quota's usage)
//!   namespace inspect NAME                     (JSON)
//!   namespace delete NAME
//! ```
//!
//! `apply` on an existing namespace changes only what its flags give, as Nomad's.

use std::path::Path;

use clap::{Args, Subcommand};
use nomadish_proto::model::{AllocListStub, Namespace, QuotaLimits, QuotaUsage};

use super::api::{ApiClient, escape_segment};
use super::args::ApiOpts;
use super::format::{format_kv, format_list, pretty_json};
use super::namespace_spec::{parse_quota_flag, parse_spec};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `namespace` subcommands.
#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// Creates or updates a namespace (from flags or an HCL specification file).
    Apply(NamespaceApplyArgs),
    /// Lists namespaces.
    List(NamespaceListArgs),
    /// Shows a namespace and its quota usage.
    Status(NamespaceShowArgs),
    /// Shows a namespace as JSON.
    Inspect(NamespaceShowArgs),
    /// Deletes a namespace (refused while it holds jobs or variables).
    Delete(NamespaceShowArgs),
}

/// `namespace apply`.
#[derive(Debug, Args)]
pub struct NamespaceApplyArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The namespace's description.
    #[arg(long)]
    pub description: Option<String>,
    /// Limits as `cpu=MHZ,memory=MB,allocs=N` (0 or absent: unlimited), or a quota name.
    #[arg(long)]
    pub quota: Option<String>,
    /// The namespace's name, or the path of a specification file (`.hcl`, `.nomad`, `.json`).
    pub target: String,
}

/// `namespace list`.
#[derive(Debug, Args)]
pub struct NamespaceListArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `namespace status|inspect|delete NAME`.
#[derive(Debug, Args)]
pub struct NamespaceShowArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON (`status` only; `inspect` always does).
    #[arg(long)]
    pub json: bool,
    /// The namespace's name.
    pub name: String,
}

/// Runs a `namespace` command.
pub async fn run(cmd: NamespaceCommand) -> i32 {
    let result = match cmd {
        NamespaceCommand::Apply(a) => apply(a).await,
        NamespaceCommand::List(a) => list(a).await,
        NamespaceCommand::Status(a) => status(a).await,
        NamespaceCommand::Inspect(a) => inspect(a).await,
        NamespaceCommand::Delete(a) => delete(a).await,
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

fn ns_url(name: &str) -> String {
    format!("/v1/namespace/{}", escape_segment(name))
}

/// Whether `apply`'s argument names a specification file rather than a namespace.
fn is_spec_file(target: &str) -> bool {
    let p = Path::new(target);
    p.is_file()
        || [".hcl", ".nomad", ".json"]
            .iter()
            .any(|ext| target.ends_with(ext))
}

async fn apply(args: NamespaceApplyArgs) -> Result<(), String> {
    let client = api(&args.api)?;
    let ns = if is_spec_file(&args.target) {
        let text = std::fs::read_to_string(&args.target)
            .map_err(|e| format!("Error reading {:?}: {e}", args.target))?;
        parse_spec(&text, &args.target).map_err(|e| format!("Error parsing namespace spec: {e}"))?
    } else {
        let mut ns = fetch(&client, &args.target)
            .await?
            .unwrap_or_else(|| Namespace {
                name: args.target.clone(),
                ..Namespace::default()
            });
        if let Some(d) = &args.description {
            ns.description = d.clone();
        }
        if let Some(q) = &args.quota {
            apply_quota_flag(&mut ns, q)?;
        }
        ns
    };
    ns.validate().map_err(|e| format!("Error: {e}"))?;
    client
        .put::<_, serde_json::Value>(&ns_url(&ns.name), &ns, &[])
        .await
        .map_err(|e| format!("Error applying namespace: {e}"))?;
    println!("Successfully applied namespace {:?}!", ns.name);
    Ok(())
}

/// `-quota cpu=..,memory=..,allocs=..` sets the limits; a bare word is Nomad's quota name.
fn apply_quota_flag(ns: &mut Namespace, value: &str) -> Result<(), String> {
    if value.contains('=') {
        ns.quota_limits = Some(parse_quota_flag(value).map_err(|e| format!("Error: {e}"))?);
    } else {
        ns.quota = value.to_string();
    }
    Ok(())
}

/// The namespace, or `None` when it does not exist.
async fn fetch(client: &ApiClient, name: &str) -> Result<Option<Namespace>, String> {
    match client.get::<Namespace>(&ns_url(name), &[]).await {
        Ok(resp) => Ok(Some(resp.body)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(format!("Error reading namespace: {e}")),
    }
}

async fn fetch_existing(client: &ApiClient, name: &str) -> Result<Namespace, String> {
    fetch(client, name)
        .await?
        .ok_or_else(|| format!("Namespace {name:?} not found"))
}

async fn list(args: NamespaceListArgs) -> Result<(), String> {
    let client = api(&args.api)?;
    let list: Vec<Namespace> = client
        .get("/v1/namespaces", &[])
        .await
        .map_err(|e| format!("Error retrieving namespaces: {e}"))?
        .body;
    if args.json {
        println!("{}", pretty_json(&list));
    } else {
        println!("{}", format_namespace_list(&list));
    }
    Ok(())
}

/// Nomad's `namespace list` table, with a `Quota` column when any namespace has limits.
pub fn format_namespace_list(list: &[Namespace]) -> String {
    if list.is_empty() {
        return "No namespaces found".to_string();
    }
    let quotas = list.iter().any(|ns| ns.limits().is_some());
    let mut header = vec!["Name".to_string(), "Description".to_string()];
    if quotas {
        header.push("Quota".to_string());
    }
    let mut rows = vec![header];
    for ns in list {
        let mut row = vec![ns.name.clone(), ns.description.clone()];
        if quotas {
            row.push(ns.limits().map(|q| format_limits(&q)).unwrap_or_default());
        }
        rows.push(row);
    }
    format_list(&rows)
}

fn format_limits(q: &QuotaLimits) -> String {
    let dim = |name: &str, v: u64| (v > 0).then(|| format!("{name}={v}"));
    [
        dim("cpu", q.cpu),
        dim("memory", q.memory_mb),
        dim("allocs", q.allocations),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(",")
}

async fn status(args: NamespaceShowArgs) -> Result<(), String> {
    let client = api(&args.api)?;
    let ns = fetch_existing(&client, &args.name).await?;
    if args.json {
        println!("{}", pretty_json(&ns));
        return Ok(());
    }
    let usage = match ns.limits() {
        Some(_) => Some(usage(&client, &ns.name).await?),
        None => None,
    };
    println!("{}", format_status(&ns, usage.as_ref()));
    Ok(())
}

/// What the namespace's non-terminal allocations use.
async fn usage(client: &ApiClient, name: &str) -> Result<QuotaUsage, String> {
    let query = [("resources", "true".to_string())];
    let stubs: Vec<AllocListStub> = client
        .with_namespace(name)
        .get("/v1/allocations", &query)
        .await
        .map_err(|e| format!("Error retrieving allocations: {e}"))?
        .body;
    let live = stubs.iter().filter(|a| {
        !matches!(a.desired_status.as_str(), "stop" | "evict")
            && !matches!(a.client_status.as_str(), "complete" | "failed" | "lost")
    });
    Ok(live.fold(QuotaUsage::default(), |u, a| {
        let res = a.allocated_resources.clone().unwrap_or_default();
        u.plus(
            u64::try_from(res.cpu()).unwrap_or(0),
            u64::try_from(res.memory_mb()).unwrap_or(0),
        )
    }))
}

/// Nomad's `namespace status` layout, with nomadish's quota limits and usage.
pub fn format_status(ns: &Namespace, usage: Option<&QuotaUsage>) -> String {
    let none = || "<none>".to_string();
    let or_none = |v: &[String]| {
        if v.is_empty() { none() } else { v.join(",") }
    };
    let caps = ns.capabilities.clone().unwrap_or_default();
    let mut out = format_kv(&[
        ("Name", ns.name.clone()),
        ("Description", ns.description.clone()),
        (
            "Quota",
            if ns.quota.is_empty() {
                none()
            } else {
                ns.quota.clone()
            },
        ),
        ("EnabledDrivers", or_none(&caps.enabled_task_drivers)),
        ("DisabledDrivers", or_none(&caps.disabled_task_drivers)),
    ]);
    if !ns.meta.is_empty() {
        let pairs: Vec<(&str, String)> = ns
            .meta
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        out.push_str(&format!("\n\nMetadata\n{}", format_kv(&pairs)));
    }
    if let Some(q) = ns.limits() {
        let used = usage.copied().unwrap_or_default();
        let cell = |used: u64, limit: u64| {
            let max = if limit == 0 {
                "inf".to_string()
            } else {
                limit.to_string()
            };
            format!("{used} / {max}")
        };
        let rows = vec![
            vec![
                "CPU Usage".into(),
                "Memory Usage".into(),
                "Allocations".into(),
            ],
            vec![
                cell(used.cpu, q.cpu),
                cell(used.memory_mb, q.memory_mb),
                cell(used.allocations, q.allocations),
            ],
        ];
        out.push_str(&format!("\n\nQuota Limits\n{}", format_list(&rows)));
    }
    out
}

async fn inspect(args: NamespaceShowArgs) -> Result<(), String> {
    let client = api(&args.api)?;
    let ns = fetch_existing(&client, &args.name).await?;
    println!("{}", pretty_json(&ns));
    Ok(())
}

async fn delete(args: NamespaceShowArgs) -> Result<(), String> {
    let client = api(&args.api)?;
    client
        .delete::<serde_json::Value>(&ns_url(&args.name), &[])
        .await
        .map_err(|e| format!("Error deleting namespace: {e}"))?;
    println!("Successfully deleted namespace {:?}!", args.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(limits: Option<QuotaLimits>) -> Namespace {
        Namespace {
            name: "team-a".into(),
            description: "Team A".into(),
            quota_limits: limits,
            ..Namespace::default()
        }
    }

    #[test]
    fn list_shows_a_quota_column_only_when_some_namespace_has_limits() {
        let plain = format_namespace_list(&[Namespace::default_namespace(), team(None)]);
        assert_eq!(
            plain
                .lines()
                .next()
                .map(str::split_whitespace)
                .map(Iterator::collect::<Vec<_>>),
            Some(vec!["Name", "Description"])
        );
        let limited = QuotaLimits {
            cpu: 500,
            memory_mb: 0,
            allocations: 2,
        };
        let text = format_namespace_list(&[Namespace::default_namespace(), team(Some(limited))]);
        assert!(
            text.lines().next().unwrap_or("").contains("Quota"),
            "{text}"
        );
        assert!(text.contains("cpu=500,allocs=2"), "{text}");
        assert_eq!(format_namespace_list(&[]), "No namespaces found");
    }

    #[test]
    fn status_shows_nomads_fields_and_quota_usage() {
        let mut ns = team(Some(QuotaLimits {
            cpu: 1000,
            memory_mb: 0,
            allocations: 1,
        }));
        ns.meta.insert("owner".into(), "ops".into());
        let used = QuotaUsage::default().plus(20, 16);
        let text = format_status(&ns, Some(&used));
        for needle in [
            "Name            = team-a",
            "Quota           = <none>",
            "EnabledDrivers  = <none>",
            "Metadata",
            "owner = ops",
            "Quota Limits",
            "20 / 1000",
            "16 / inf",
            "1 / 1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
        }
        assert!(!format_status(&team(None), None).contains("Quota Limits"));
    }
}
