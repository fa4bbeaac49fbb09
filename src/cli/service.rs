//! `service list`, `service info [-verbose] NAME` and `service delete NAME ID`: the built-in
//! service catalog (`provider = "nomad"`), laid out as Nomad does.
//!
//! ```text
//! Job ID  Address          Tags        Node ID   Alloc ID
//! web     127.0.0.1:24107  [http,v1]   7406e90b  5f0730ca
//! ```

use clap::{Args, Subcommand};
use nomadish_proto::model::ServiceRegistration;
use serde::Deserialize;

use super::api::escape_segment;
use super::args::ApiOpts;
use super::format::{SHORT_ID_LENGTH, format_kv, format_list, limit, pretty_json};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `service` subcommands.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Lists the registered services (names and tags).
    List(ServiceListArgs),
    /// Shows the registrations of one service.
    Info(ServiceInfoArgs),
    /// Deletes one service registration.
    Delete(ServiceDeleteArgs),
}

/// `service list`.
#[derive(Debug, Args)]
pub struct ServiceListArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `service info [-verbose] NAME`.
#[derive(Debug, Args)]
pub struct ServiceInfoArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print every field of every registration.
    #[arg(long)]
    pub verbose: bool,
    /// The service name.
    pub name: String,
}

/// `service delete NAME ID`.
#[derive(Debug, Args)]
pub struct ServiceDeleteArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The service name.
    pub name: String,
    /// The registration ID.
    pub id: String,
}

/// One namespace of `GET /v1/services`.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct NamespaceServices {
    #[serde(rename = "Namespace", default)]
    pub namespace: String,
    #[serde(rename = "Services", default)]
    pub services: Vec<ServiceStub>,
}

/// A service name and its tags.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct ServiceStub {
    #[serde(rename = "ServiceName", default)]
    pub service_name: String,
    #[serde(rename = "Tags", default)]
    pub tags: Vec<String>,
}

/// Runs a `service` subcommand.
pub async fn run(cmd: ServiceCommand) -> i32 {
    match cmd {
        ServiceCommand::List(args) => list(args).await,
        ServiceCommand::Info(args) => info(args).await,
        ServiceCommand::Delete(args) => delete(args).await,
    }
}

fn tags(tags: &[String]) -> String {
    format!("[{}]", tags.join(","))
}

/// The `service list` table; a Namespace column when several namespaces are listed.
pub fn list_table(list: &[NamespaceServices], all_namespaces: bool) -> String {
    let mut header = vec!["Service Name".to_string()];
    if all_namespaces {
        header.push("Namespace".to_string());
    }
    header.push("Tags".to_string());
    let mut rows = vec![header];
    for ns in list {
        for s in &ns.services {
            let mut row = vec![s.service_name.clone()];
            if all_namespaces {
                row.push(ns.namespace.clone());
            }
            row.push(tags(&s.tags));
            rows.push(row);
        }
    }
    format_list(&rows)
}

/// The `service info` table (or, verbose, one key/value block per registration).
pub fn info_text(regs: &[ServiceRegistration], verbose: bool) -> String {
    if verbose {
        let blocks: Vec<String> = regs
            .iter()
            .map(|r| {
                format_kv(&[
                    ("ID", r.id.clone()),
                    ("Service Name", r.service_name.clone()),
                    ("Namespace", r.namespace.clone()),
                    ("Job ID", r.job_id.clone()),
                    ("Alloc ID", r.alloc_id.clone()),
                    ("Node ID", r.node_id.clone()),
                    ("Datacenter", r.datacenter.clone()),
                    ("Address", format!("{}:{}", r.address, r.port)),
                    ("Tags", tags(&r.tags)),
                ])
            })
            .collect();
        return blocks.join("\n\n");
    }
    let mut rows = vec![
        ["Job ID", "Address", "Tags", "Node ID", "Alloc ID"]
            .map(String::from)
            .to_vec(),
    ];
    for r in regs {
        rows.push(vec![
            r.job_id.clone(),
            format!("{}:{}", r.address, r.port),
            tags(&r.tags),
            limit(&r.node_id, SHORT_ID_LENGTH).to_string(),
            limit(&r.alloc_id, SHORT_ID_LENGTH).to_string(),
        ]);
    }
    format_list(&rows)
}

async fn list(args: ServiceListArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let list: Vec<NamespaceServices> = match api.get("/v1/services", &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error listing services: {e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&list));
    } else if list.iter().all(|ns| ns.services.is_empty()) {
        println!("No services found");
    } else {
        let all = args.api.namespace.as_deref() == Some("*");
        println!("{}", list_table(&list, all));
    }
    EXIT_OK
}

async fn info(args: ServiceInfoArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let path = format!("/v1/service/{}", escape_segment(&args.name));
    let regs: Vec<ServiceRegistration> = match api.get(&path, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error listing service registrations: {e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&regs));
    } else if regs.is_empty() {
        println!("No service registrations found");
    } else {
        println!("{}", info_text(&regs, args.verbose));
    }
    EXIT_OK
}

async fn delete(args: ServiceDeleteArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let path = format!(
        "/v1/service/{}/{}",
        escape_segment(&args.name),
        escape_segment(&args.id)
    );
    match api.delete::<serde_json::Value>(&path, &[]).await {
        Ok(_) => {
            println!("Successfully deleted service registration");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Error deleting service registration: {e}");
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_table_and_verbose_blocks() {
        let r = ServiceRegistration {
            id: "_nomad-task-5f0730ca-x".into(),
            service_name: "web".into(),
            job_id: "example".into(),
            node_id: "7406e90b-de16".into(),
            alloc_id: "5f0730ca-b055".into(),
            address: "127.0.0.1".into(),
            port: 22686,
            tags: vec!["db".into(), "cache".into()],
            ..ServiceRegistration::default()
        };
        let table = info_text(std::slice::from_ref(&r), false);
        let row = table.lines().nth(1).unwrap_or_default();
        assert!(
            row.starts_with("example  127.0.0.1:22686  [db,cache]  7406e90b  5f0730ca"),
            "{table}"
        );
        let verbose = info_text(&[r], true);
        assert!(
            verbose.contains("Address      = 127.0.0.1:22686"),
            "{verbose}"
        );
    }

    #[test]
    fn list_table_shows_namespace_only_for_all() {
        let list = vec![NamespaceServices {
            namespace: "default".into(),
            services: vec![ServiceStub {
                service_name: "web".into(),
                tags: vec!["a".into()],
            }],
        }];
        assert!(list_table(&list, false).starts_with("Service Name  Tags\nweb           [a]"));
        assert!(list_table(&list, true).contains("Namespace"));
    }
}
