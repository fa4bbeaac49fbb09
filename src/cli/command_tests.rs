//! Every command against one scripted agent: exit codes and the requests they make.

use std::sync::{Arc, Mutex};

use axum::extract::{OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::args::*;
use super::test_server::serve;

const JOB: &str = "web";
const ALLOC: &str = "ab12cd34-0000-0000-0000-000000000001";
const EVAL: &str = "e0e0e0e0-0000-0000-0000-000000000001";
const NODE: &str = "f00dcafe-0000-0000-0000-000000000001";

type Log = Arc<Mutex<Vec<String>>>;

fn alloc_stub() -> Value {
    json!({"ID": ALLOC, "EvalID": EVAL, "NodeID": NODE, "JobID": JOB, "TaskGroup": "app",
           "DesiredStatus": "run", "ClientStatus": "running", "Namespace": "default",
           "CreateIndex": 11})
}

fn job() -> Value {
    json!({"ID": JOB, "Name": JOB, "Type": "service", "Priority": 50, "Namespace": "default",
           "Status": "running", "TaskGroups": [{"Name": "app", "Count": 1,
           "Tasks": [{"Name": "srv", "Driver": "raw_exec"}]}]})
}

/// Answers a request the way a nomadish agent would, for the paths the commands use.
fn answer(method: &Method, path: &str) -> Response {
    let eval = json!({"ID": EVAL, "JobID": JOB, "Status": "complete", "Namespace": "default",
                      "TriggeredBy": "job-register", "Type": "service", "Priority": 50});
    let body = match (method.as_str(), path) {
        ("PUT", "/v1/jobs") => json!({"EvalID": EVAL, "EvalCreateIndex": 10}),
        ("GET", "/v1/jobs") => json!([{"ID": JOB, "Type": "service", "Priority": 50,
                                        "Status": "running", "Namespace": "default"}]),
        ("GET", "/v1/job/web") => job(),
        ("DELETE", "/v1/job/web") => json!({"EvalID": EVAL}),
        ("GET", "/v1/job/web/summary") => json!({"JobID": JOB, "Summary": {"app": {"Running": 1}}}),
        ("GET", "/v1/job/web/allocations") => json!([alloc_stub()]),
        ("GET", "/v1/job/web/evaluations") => json!([eval]),
        ("GET", "/v1/job/web/deployment") => json!(null),
        ("GET", "/v1/allocations") => json!([alloc_stub()]),
        ("GET", p) if p == format!("/v1/allocation/{ALLOC}") => {
            let mut a = alloc_stub();
            a["Job"] = job();
            a
        }
        ("GET", "/v1/evaluations") => json!([eval]),
        ("GET", p) if p == format!("/v1/evaluation/{EVAL}") => eval,
        ("GET", p) if p == format!("/v1/evaluation/{EVAL}/allocations") => json!([alloc_stub()]),
        ("GET", "/v1/nodes") => json!([{"ID": NODE, "Name": "n1", "Status": "ready"}]),
        ("GET", p) if p == format!("/v1/node/{NODE}") => json!({"ID": NODE, "Name": "n1"}),
        ("GET", p) if p == format!("/v1/node/{NODE}/allocations") => json!([]),
        ("GET", "/v1/agent/members") => json!({"Members": [{"Name": "s1.global",
            "Addr": "127.0.0.1", "Port": 4648, "Status": "alive",
            "Tags": {"region": "global", "port": "4647"}}]}),
        ("GET", "/v1/status/leader") => json!("127.0.0.1:4647"),
        ("GET", p) if p == format!("/v1/client/fs/logs/{ALLOC}") => {
            return (StatusCode::OK, "one\ntwo\nthree\n").into_response();
        }
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    Json(body).into_response()
}

async fn record(State(log): State<Log>, OriginalUri(uri): OriginalUri, req: Request) -> Response {
    let entry = match uri.query() {
        Some(q) => format!("{} {}?{q}", req.method(), uri.path()),
        None => format!("{} {}", req.method(), uri.path()),
    };
    log.lock().unwrap().push(entry);
    answer(req.method(), uri.path())
}

async fn agent() -> (ApiOpts, Log) {
    let log: Log = Arc::default();
    let router = Router::new().fallback(record).with_state(Arc::clone(&log));
    let url = serve(router).await;
    let opts = ApiOpts {
        address: url,
        token: None,
        namespace: None,
        region: None,
        ..Default::default()
    };
    (opts, log)
}

fn requests(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn job_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("web.json");
    std::fs::write(
        &path,
        serde_json::to_string(&json!({"Job": job()})).unwrap(),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn job_run_submits_and_monitors() {
    let (api, log) = agent().await;
    let dir = tempfile::tempdir().unwrap();
    let args = JobRunArgs {
        api: api.clone(),
        detach: false,
        output: false,
        check_index: Some(5),
        verbose: false,
        json: true,
        vars: Default::default(),
        file: job_file(&dir),
    };
    assert_eq!(super::job::run(args).await, 0);
    let reqs = requests(&log);
    assert_eq!(reqs[0], "PUT /v1/jobs?namespace=default");
    assert!(reqs[1].starts_with(&format!("GET /v1/evaluation/{EVAL}?index=0&wait=1s")));
    assert_eq!(
        reqs[2],
        format!("GET /v1/evaluation/{EVAL}/allocations?namespace=default")
    );
}

#[tokio::test]
async fn job_run_detach_and_output_and_bad_file() {
    let (api, log) = agent().await;
    let dir = tempfile::tempdir().unwrap();
    let file = job_file(&dir);
    let run = |detach, output, file| JobRunArgs {
        api: api.clone(),
        detach,
        output,
        check_index: None,
        verbose: false,
        json: true,
        vars: Default::default(),
        file,
    };
    assert_eq!(super::job::run(run(true, false, file.clone())).await, 0);
    assert_eq!(requests(&log), ["PUT /v1/jobs?namespace=default"]);
    assert_eq!(super::job::run(run(false, true, file)).await, 0);
    let missing = dir.path().join("missing.json");
    assert_eq!(super::job::run(run(false, false, missing)).await, 1);
    assert!(requests(&log).is_empty(), "nothing submitted");
}

#[tokio::test]
async fn job_status_inspect_and_stop() {
    let (api, log) = agent().await;
    let status = |job: Option<&str>| JobStatusArgs {
        api: api.clone(),
        json: false,
        verbose: false,
        job: job.map(String::from),
    };
    assert_eq!(super::job_status::run(status(None)).await, 0);
    assert_eq!(requests(&log), ["GET /v1/jobs"]);
    assert_eq!(super::job_status::run(status(Some("we"))).await, 0);
    assert_eq!(
        requests(&log),
        [
            "GET /v1/jobs?prefix=we",
            "GET /v1/job/web?namespace=default",
            "GET /v1/job/web/summary?namespace=default",
            "GET /v1/job/web/allocations?namespace=default",
            "GET /v1/job/web/evaluations?namespace=default",
            "GET /v1/job/web/deployment?namespace=default",
        ]
    );
    assert_eq!(super::job_status::run(status(Some("nope"))).await, 1);
    let inspect = JobInspectArgs {
        api: api.clone(),
        json: false,
        job: JOB.into(),
    };
    assert_eq!(super::job::inspect(inspect).await, 0);
    requests(&log);
    let stop = JobStopArgs {
        api: api.clone(),
        purge: true,
        detach: true,
        yes: true,
        verbose: false,
        job: JOB.into(),
    };
    assert_eq!(super::job::stop(stop).await, 0);
    assert_eq!(
        requests(&log),
        [
            "GET /v1/jobs?prefix=web",
            "DELETE /v1/job/web?purge=true&namespace=default"
        ]
    );
}

#[tokio::test]
async fn alloc_eval_node_server_and_status_commands() {
    let (api, log) = agent().await;
    let alloc = AllocStatusArgs {
        api: api.clone(),
        json: false,
        verbose: false,
        alloc: "ab12".into(),
    };
    assert_eq!(super::alloc::status(alloc).await, 0);
    assert_eq!(
        requests(&log),
        [
            "GET /v1/allocations?prefix=ab12".to_string(),
            format!("GET /v1/allocation/{ALLOC}?namespace=default"),
        ]
    );
    let eval = EvalStatusArgs {
        api: api.clone(),
        json: true,
        verbose: false,
        eval: "e0".into(),
    };
    assert_eq!(super::eval::status(eval).await, 0);
    let node = |node: Option<&str>| NodeStatusArgs {
        api: api.clone(),
        json: false,
        verbose: false,
        node: node.map(String::from),
    };
    assert_eq!(super::node::status(node(None)).await, 0);
    assert_eq!(super::node::status(node(Some("f00d"))).await, 0);
    let members = ServerMembersArgs {
        api: api.clone(),
        json: false,
        verbose: false,
    };
    assert_eq!(super::server::members(members).await, 0);
    requests(&log);
    let status = StatusArgs {
        api: api.clone(),
        verbose: false,
        id: Some("ab12".into()),
    };
    assert_eq!(super::status::run(status).await, 0);
    let reqs = requests(&log);
    assert_eq!(reqs[0], "GET /v1/jobs?prefix=ab12");
    assert!(reqs.contains(&format!("GET /v1/allocation/{ALLOC}?namespace=default")));
}

#[tokio::test]
async fn alloc_logs_reads_the_only_task() {
    let (api, log) = agent().await;
    let logs = |tail: bool, lines: Option<u64>| AllocLogsArgs {
        api: api.clone(),
        follow: false,
        stderr: false,
        stdout: false,
        tail,
        lines,
        bytes: None,
        task_flag: None,
        verbose: false,
        alloc: "ab12".into(),
        task: None,
    };
    assert_eq!(super::logs::run(logs(false, None)).await, 0);
    let reqs = requests(&log);
    assert_eq!(
        reqs[2],
        format!(
            "GET /v1/client/fs/logs/{ALLOC}?task=srv&type=stdout&follow=false&origin=start&offset=0&plain=true&namespace=default"
        )
    );
    assert_eq!(super::logs::run(logs(true, Some(2))).await, 0);
    let reqs = requests(&log);
    assert!(reqs[2].contains("origin=end&offset=240"), "{}", reqs[2]);
    let mut bad = logs(false, None);
    bad.task = Some("missing".into());
    assert_eq!(super::logs::run(bad).await, 1);
}
