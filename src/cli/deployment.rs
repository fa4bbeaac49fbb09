//! `deployment list|status|promote|fail|pause|resume`, the "Latest Deployment" block of
//! `job status`, and the deployment part of the `job run` monitor, laid out as Nomad does.
//!
//! ```text
//! ID          = 0b23b149
//! Job ID      = web
//! Job Version = 1
//! Status      = running
//! Description = Deployment is running but requires manual promotion
//!
//! Deployed
//! Task Group  Auto Revert  Promoted  Desired  Canaries  Placed  Healthy  Unhealthy  Progress Deadline
//! web         true         false     3        1         1       1        0          2024-05-01T12:10:00Z
//! ```

use std::time::Duration;

use nomadish_proto::model::{
    AllocListStub, DEPLOYMENT_STATUS_RUNNING, DEPLOYMENT_STATUS_SUCCESSFUL, Deployment,
    DeploymentPauseRequest, DeploymentPromoteRequest, DeploymentUpdateResponse, Evaluation, now_ns,
};

use super::api::{ApiClient, escape_segment};
use super::args::{DeploymentArgs, DeploymentCommand, DeploymentListArgs, DeploymentPromoteArgs};
use super::format::{
    SHORT_ID_LENGTH, format_kv, format_list, format_unix_nanos, id_length, limit, now_stamp,
    pretty_json,
};
use super::job_status::alloc_table;
use super::prefix::Lookup;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// How long one blocking query of the deployment monitor may wait.
pub const DEPLOYMENT_BLOCKING_WAIT: &str = "2s";
/// Shortest time between two polls of the deployment monitor.
pub const DEPLOYMENT_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The deployment prefix lookup.
pub const DEPLOYMENT_LOOKUP: Lookup<'static, Deployment> = Lookup {
    path: "/v1/deployments",
    kind_any: "deployment(s)",
    kind_many: "deployments",
    context: "Error retrieving deployment",
    id: |d| d.id.as_str(),
    listing: |ds| list_table(ds, SHORT_ID_LENGTH),
    min_two_chars: false,
};

/// Runs a `deployment` subcommand.
pub async fn run(cmd: DeploymentCommand) -> i32 {
    match cmd {
        DeploymentCommand::List(args) => list(args).await,
        DeploymentCommand::Status(args) => status(args).await,
        DeploymentCommand::Promote(args) => promote(args).await,
        DeploymentCommand::Fail(args) => act(args, Act::Fail).await,
        DeploymentCommand::Pause(args) => act(args, Act::Pause).await,
        DeploymentCommand::Resume(args) => act(args, Act::Resume).await,
    }
}

/// The `deployment list` table.
pub fn list_table(deployments: &[&Deployment], length: usize) -> String {
    let mut rows = vec![
        ["ID", "Job ID", "Job Version", "Status", "Description"]
            .map(String::from)
            .to_vec(),
    ];
    for d in deployments {
        rows.push(vec![
            limit(&d.id, length).to_string(),
            d.job_id.clone(),
            d.job_version.to_string(),
            d.status.clone(),
            d.status_description.clone(),
        ]);
    }
    format_list(&rows)
}

async fn list(args: DeploymentListArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let mut list: Vec<Deployment> = match api.get("/v1/deployments", &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error retrieving deployments: {e}");
            return EXIT_ERROR;
        }
    };
    // The API answers in creation order; the table shows the newest first, as Nomad's CLI.
    list.sort_by_key(|d| std::cmp::Reverse(d.create_index));
    if args.json {
        println!("{}", pretty_json(&list));
    } else if list.is_empty() {
        println!("No deployments found");
    } else {
        let refs: Vec<&Deployment> = list.iter().collect();
        println!("{}", list_table(&refs, id_length(args.verbose)));
    }
    EXIT_OK
}

/// The header and "Deployed" table of one deployment.
pub fn render(d: &Deployment, length: usize) -> String {
    let mut out = format_kv(&[
        ("ID", limit(&d.id, length).to_string()),
        ("Job ID", d.job_id.clone()),
        ("Job Version", d.job_version.to_string()),
        ("Status", d.status.clone()),
        ("Description", d.status_description.clone()),
    ]);
    out.push_str("\n\nDeployed\n");
    out.push_str(&deployed_table(d));
    out
}

/// The "Latest Deployment" block of `job status` (ID, status, description, and the table).
pub fn latest_block(d: &Deployment, length: usize) -> String {
    let mut out = format_kv(&[
        ("ID", limit(&d.id, length).to_string()),
        ("Status", d.status.clone()),
        ("Description", d.status_description.clone()),
    ]);
    out.push_str("\n\nDeployed\n");
    out.push_str(&deployed_table(d));
    out
}

/// Nomad's "Deployed" table: `Auto Revert` when any group has it, `Promoted` and `Canaries`
/// when any group has canaries.
pub fn deployed_table(d: &Deployment) -> String {
    let revert = d.task_groups.values().any(|g| g.auto_revert);
    let canaries = d.task_groups.values().any(|g| g.desired_canaries > 0);
    let mut header = vec!["Task Group"];
    if revert {
        header.push("Auto Revert");
    }
    if canaries {
        header.push("Promoted");
    }
    header.push("Desired");
    if canaries {
        header.push("Canaries");
    }
    header.extend(["Placed", "Healthy", "Unhealthy", "Progress Deadline"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for (name, g) in &d.task_groups {
        let mut row = vec![name.clone()];
        if revert {
            row.push(g.auto_revert.to_string());
        }
        if canaries {
            row.push(g.promoted.to_string());
        }
        row.push(g.desired_total.to_string());
        if canaries {
            row.push(g.desired_canaries.to_string());
        }
        let deadline = if d.status == DEPLOYMENT_STATUS_RUNNING && g.require_progress_by > 0 {
            format_unix_nanos(g.require_progress_by)
        } else {
            "N/A".to_string()
        };
        row.extend([
            g.placed_allocs.to_string(),
            g.healthy_allocs.to_string(),
            g.unhealthy_allocs.to_string(),
            deadline,
        ]);
        rows.push(row);
    }
    format_list(&rows)
}

async fn find(api: &ApiClient, prefix: &str) -> Option<Deployment> {
    match DEPLOYMENT_LOOKUP.find(api, prefix).await {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

async fn status(args: DeploymentArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let Some(d) = find(&api, args.deployment.trim()).await else {
        return EXIT_ERROR;
    };
    if args.json {
        println!("{}", pretty_json(&d));
        return EXIT_OK;
    }
    let length = id_length(args.verbose);
    println!("{}", render(&d, length));
    if args.verbose {
        let path = format!("/v1/deployment/{}/allocations", escape_segment(&d.id));
        match api.get::<Vec<AllocListStub>>(&path, &[]).await {
            Ok(r) => println!("\nAllocations\n{}", alloc_table(&r.body, length, now_ns())),
            Err(e) => {
                eprintln!("Error retrieving deployment allocations: {e}");
                return EXIT_ERROR;
            }
        }
    }
    EXIT_OK
}

async fn promote(args: DeploymentPromoteArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let Some(d) = find(&api, args.deployment.trim()).await else {
        return EXIT_ERROR;
    };
    let body = DeploymentPromoteRequest {
        deployment_id: d.id.clone(),
        all: args.group.is_empty(),
        groups: args.group.clone(),
    };
    let path = format!("/v1/deployment/promote/{}", escape_segment(&d.id));
    let result = api
        .put::<_, DeploymentUpdateResponse>(&path, &body, &[])
        .await;
    finish_action(
        &api,
        result.map(|r| r.body),
        "promoting deployment",
        args.detach,
    )
    .await
}

#[derive(Clone, Copy)]
enum Act {
    Fail,
    Pause,
    Resume,
}

async fn act(args: DeploymentArgs, act: Act) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let Some(d) = find(&api, args.deployment.trim()).await else {
        return EXIT_ERROR;
    };
    let id = escape_segment(&d.id);
    let short = limit(&d.id, id_length(args.verbose)).to_string();
    let result = match act {
        Act::Fail => {
            let path = format!("/v1/deployment/fail/{id}");
            api.put::<_, DeploymentUpdateResponse>(&path, &(), &[])
                .await
        }
        Act::Pause | Act::Resume => {
            let body = DeploymentPauseRequest {
                deployment_id: d.id.clone(),
                pause: matches!(act, Act::Pause),
            };
            let path = format!("/v1/deployment/pause/{id}");
            api.put(&path, &body, &[]).await
        }
    };
    let (verb, done) = match act {
        Act::Fail => ("failing", "failed"),
        Act::Pause => ("pausing", "paused"),
        Act::Resume => ("resuming", "resumed"),
    };
    match result {
        Ok(_) if matches!(act, Act::Pause) => {
            println!("Deployment {short:?} {done}");
            EXIT_OK
        }
        Ok(r) => {
            println!("Deployment {short:?} {done}");
            finish_action(&api, Ok(r.body), verb, true).await
        }
        Err(e) => {
            eprintln!("Error {verb} deployment: {e}");
            EXIT_ERROR
        }
    }
}

async fn finish_action(
    api: &ApiClient,
    result: Result<DeploymentUpdateResponse, super::api::ApiError>,
    what: &str,
    detach: bool,
) -> i32 {
    match result {
        Ok(resp) if detach || resp.eval_id.is_empty() => {
            if !resp.eval_id.is_empty() {
                println!("Evaluation ID: {}", resp.eval_id);
            }
            EXIT_OK
        }
        Ok(resp) => super::monitor::monitor(api, &resp.eval_id, SHORT_ID_LENGTH).await as i32,
        Err(e) => {
            eprintln!("Error {what}: {e}");
            EXIT_ERROR
        }
    }
}

/// After `job run`'s evaluation: follows the deployment it started (if any) until it is
/// terminal, or waits for a manual promotion with its canaries healthy. Returns the exit code.
pub async fn monitor_after_eval(api: &ApiClient, eval_id: &str, length: usize) -> i32 {
    let path = format!("/v1/evaluation/{}", escape_segment(eval_id));
    let Ok(eval) = api.get::<Evaluation>(&path, &[]).await.map(|r| r.body) else {
        return EXIT_OK;
    };
    if eval.deployment_id.is_empty() {
        return EXIT_OK;
    }
    monitor_deployment(api, &eval.deployment_id, length).await
}

/// Prints a deployment's progress until it ends (exit 0 when successful).
pub async fn monitor_deployment(api: &ApiClient, id: &str, length: usize) -> i32 {
    println!(
        "==> {}: Monitoring deployment {:?}",
        now_stamp(),
        limit(id, length)
    );
    let path = format!("/v1/deployment/{}", escape_segment(id));
    let mut index = 0u64;
    let mut last = String::new();
    loop {
        let started = tokio::time::Instant::now();
        let query = [
            ("index", index.to_string()),
            ("wait", DEPLOYMENT_BLOCKING_WAIT.to_string()),
        ];
        let d: Deployment = match api.get(&path, &query).await {
            Ok(r) => {
                index = r.index.max(index);
                r.body
            }
            Err(e) => {
                eprintln!("Error fetching deployment: {e}");
                return EXIT_ERROR;
            }
        };
        let line = format!("{}: {}", d.status, d.status_description);
        if line != last {
            println!(
                "    {}: Deployment {:?} {line}",
                now_stamp(),
                limit(id, length)
            );
            last = line;
        }
        let waiting = d.requires_promotion()
            && d.task_groups
                .values()
                .filter(|g| g.desired_canaries > 0 && !g.promoted && !g.auto_promote)
                .any(|g| g.healthy_allocs >= g.desired_canaries);
        if !d.active() || waiting {
            println!("\n{}", render(&d, length));
            return if d.status == DEPLOYMENT_STATUS_SUCCESSFUL || waiting {
                EXIT_OK
            } else {
                EXIT_ERROR
            };
        }
        let elapsed = started.elapsed();
        if elapsed < DEPLOYMENT_POLL_INTERVAL {
            tokio::time::sleep(DEPLOYMENT_POLL_INTERVAL - elapsed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::DeploymentState;

    fn deployment(canaries: u64, revert: bool) -> Deployment {
        let mut d = Deployment {
            id: "0b23b149-aaaa-bbbb-cccc-000000000000".into(),
            job_id: "web".into(),
            job_version: 1,
            status: "successful".into(),
            status_description: "Deployment completed successfully".into(),
            ..Deployment::default()
        };
        d.task_groups.insert(
            "web".into(),
            DeploymentState {
                auto_revert: revert,
                desired_canaries: canaries,
                desired_total: 3,
                placed_allocs: 3,
                healthy_allocs: 3,
                promoted: canaries > 0,
                ..DeploymentState::default()
            },
        );
        d
    }

    #[test]
    fn status_layout_follows_nomad() {
        let text = render(&deployment(1, true), SHORT_ID_LENGTH);
        assert!(text.starts_with("ID          = 0b23b149\nJob ID      = web\n"));
        assert!(text.contains("Description = Deployment completed successfully\n\nDeployed\n"));
        let table = deployed_table(&deployment(1, true));
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            header.join(" "),
            "Task Group Auto Revert Promoted Desired Canaries Placed Healthy Unhealthy Progress Deadline"
        );
        let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(row, ["web", "true", "true", "3", "1", "3", "3", "0", "N/A"]);
    }

    #[test]
    fn job_status_block_has_id_status_and_description() {
        let text = latest_block(&deployment(0, false), SHORT_ID_LENGTH);
        assert!(text.starts_with(
            "ID          = 0b23b149\nStatus      = successful\nDescription = Deployment completed successfully\n\nDeployed\n"
        ));
    }

    #[test]
    fn plain_rollouts_hide_canary_and_revert_columns() {
        let table = deployed_table(&deployment(0, false));
        let header = table.lines().next().unwrap();
        assert!(!header.contains("Canaries") && !header.contains("Auto Revert"));
        let list = list_table(&[&deployment(0, false)], SHORT_ID_LENGTH);
        assert!(list.lines().nth(1).unwrap().starts_with("0b23b149  web"));
    }
}
