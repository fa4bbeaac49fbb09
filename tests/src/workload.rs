//! A client workload for consistency tests: concurrent clients doing random operations
//! against the servers' HTTP APIs, each recorded in a [`History`], then checked.
//!
//! ```text
//!   run(apis, config, history)            K clients until config.duration has passed
//!     each client, each step: a random server, one random op, bounded by request_timeout
//!       register job <prefix>-job-c-n            ─> set "jobs"  (append-only)
//!       PUT var <prefix>/set/c-n                  ─> set "vars"  (append-only)
//!       GET var <prefix>/reg/i                    ─> read        (register i)
//!       PUT var <prefix>/reg/i  (unique content)  ─> write
//!       PUT var <prefix>/reg/i?cas=<index read>   ─> cas(content read -> unique content)
//!   check(api, config, history, limits)   final reads of both sets + linearizability of the
//!                                         registers ─> Checked { jobs, vars, registers }
//! ```
//!
//! Outcomes: 2xx is ok; 409 on a CAS is an ok "cas failed"; 404 on a read is ok "absent";
//! another 4xx is failed (did not happen); a 5xx, a transport error or no answer within
//! `request_timeout` is unknown. The workload never retries a request, so each written
//! content reaches the server at most once (see `linearizable`'s module docs for why the
//! content stands for the `ModifyIndex` a CAS compares).
//!
//! Fault tests run [`run`] while they break the network, heal, then call [`check`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt as _, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::history::{Completion, History, Input, OpId, Output, SetReport, check_acked_present};
use crate::linearizable::{self, Limits};
use crate::{Api, empty_job};

/// The set of job registrations in a history.
pub const JOBS: &str = "jobs";
/// The set of variables written once each in a history.
pub const VARS: &str = "vars";
/// Bound on the final reads of [`check`].
const FINAL_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How many failed or unknown operations [`Checked`] shows.
const NOT_OK_EXAMPLES: usize = 5;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Concurrent clients.
    pub clients: usize,
    /// How long clients keep starting operations.
    pub duration: Duration,
    /// Bound on one request; past it the operation is unknown.
    pub request_timeout: Duration,
    /// Registers (variables) the clients share.
    pub registers: usize,
    /// Starts every job ID and variable path of the run (letters, digits, `-`, `_`).
    pub prefix: String,
    /// Seed of the clients' random choices.
    pub seed: u64,
    /// Longest pause a client takes between two operations.
    pub max_pause: Duration,
}

impl Config {
    /// `clients` clients for `duration` with the defaults: 5 s requests, 3 registers, a
    /// prefix unique to this process and moment.
    pub fn new(clients: usize, duration: Duration) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            clients,
            duration,
            request_timeout: Duration::from_secs(5),
            registers: 3,
            prefix: format!("lin{}-{}", std::process::id(), now.subsec_nanos()),
            seed: now.as_secs(),
            max_pause: Duration::from_millis(20),
        }
    }

    fn job_id(&self, client: usize, n: usize) -> String {
        format!("{}-job-{client}-{n}", self.prefix)
    }

    fn set_var(&self, client: usize, n: usize) -> String {
        format!("{}/set/{client}-{n}", self.prefix)
    }

    /// The variable path of register `i`.
    pub fn register(&self, i: usize) -> String {
        format!("{}/reg/{i}", self.prefix)
    }
}

/// APIs for `urls`, sending `token` when given (plain HTTP; build [`Api`]s yourself for TLS).
pub fn apis_for(urls: &[String], token: Option<&str>) -> Vec<Api> {
    urls.iter()
        .map(|u| {
            let api = Api::new(u);
            match token {
                Some(t) => api.with_token(t),
                None => api,
            }
        })
        .collect()
}

/// Runs `config.clients` clients against `apis` until `config.duration` has passed (plus at
/// most one `request_timeout`), recording every operation in `history`.
pub async fn run(apis: &[Api], config: &Config, history: &History) {
    assert!(!apis.is_empty(), "a workload needs a server");
    let deadline = tokio::time::Instant::now() + config.duration;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..config.clients {
        let client = Client {
            id: c,
            apis: apis.to_vec(),
            config: config.clone(),
            history: history.clone(),
            rng: Xoshiro256PlusPlus::seed_from_u64(config.seed.wrapping_add(c as u64)),
            last_read: HashMap::new(),
            n: 0,
        };
        clients.spawn(client.run(deadline));
    }
    while let Some(done) = clients.join_next().await {
        done.expect("workload client panicked");
    }
}

/// One client: one operation at a time.
struct Client {
    id: usize,
    apis: Vec<Api>,
    config: Config,
    history: History,
    rng: Xoshiro256PlusPlus,
    /// Per register: the content and `ModifyIndex` last seen (`None`, 0: absent).
    last_read: HashMap<usize, (Option<String>, u64)>,
    n: usize,
}

impl Client {
    async fn run(mut self, deadline: tokio::time::Instant) {
        while tokio::time::Instant::now() < deadline {
            self.n += 1;
            let api = self.apis[self.rng.random_range(0..self.apis.len())].clone();
            let register = self.rng.random_range(0..self.config.registers.max(1));
            match self.rng.random_range(0..100) {
                0..10 => self.register_job(&api).await,
                10..20 => self.put_set_var(&api).await,
                20..50 => self.read(&api, register).await,
                50..65 => self.write(&api, register).await,
                _ => match self.last_read.get(&register).cloned() {
                    Some(seen) => self.cas(&api, register, seen).await,
                    None => self.read(&api, register).await,
                },
            }
            let pause = self.config.max_pause.as_millis() as u64;
            if pause > 0 {
                let ms = self.rng.random_range(0..=pause);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
    }

    fn content(&self) -> String {
        format!("{}-c{}-{}", self.config.prefix, self.id, self.n)
    }

    async fn register_job(&mut self, api: &Api) {
        let id = self.config.job_id(self.id, self.n);
        let op = self.history.invoke(
            self.id,
            JOBS,
            Input::Add {
                element: id.clone(),
            },
        );
        let reply = self
            .send(api, Method::PUT, "/v1/jobs", Some(empty_job(&id)))
            .await;
        self.history
            .complete(op, completion(reply, |_, _| Output::Done));
    }

    async fn put_set_var(&mut self, api: &Api) {
        let path = self.config.set_var(self.id, self.n);
        let op = self.history.invoke(
            self.id,
            VARS,
            Input::Add {
                element: path.clone(),
            },
        );
        let body = json!({"Items": {"v": path}});
        let reply = self
            .send(api, Method::PUT, &format!("/v1/var/{path}"), Some(body))
            .await;
        self.history
            .complete(op, completion(reply, |_, _| Output::Done));
    }

    async fn read(&mut self, api: &Api, register: usize) {
        let path = self.config.register(register);
        let op = self.history.invoke(self.id, &path, Input::Read);
        let reply = self
            .send(api, Method::GET, &format!("/v1/var/{path}"), None)
            .await;
        if let Ok((StatusCode::NOT_FOUND, _)) = reply {
            self.last_read.insert(register, (None, 0));
            self.history
                .complete(op, Completion::Ok(Output::Value(None)));
            return;
        }
        if let Ok((code, body)) = &reply
            && code.is_success()
        {
            self.remember(register, body);
        }
        let value = |_: StatusCode, body: &Value| Output::Value(content_of(body));
        self.history.complete(op, completion(reply, value));
    }

    async fn write(&mut self, api: &Api, register: usize) {
        let (path, value) = (self.config.register(register), self.content());
        let input = Input::Write {
            value: value.clone(),
        };
        self.put_register(api, register, &path, input, None, value)
            .await;
    }

    async fn cas(&mut self, api: &Api, register: usize, seen: (Option<String>, u64)) {
        let (path, new) = (self.config.register(register), self.content());
        let input = Input::Cas {
            expected: seen.0,
            new: new.clone(),
        };
        self.put_register(api, register, &path, input, Some(seen.1), new)
            .await;
    }

    /// A write (`cas: None`) or a check-and-set against `ModifyIndex` `cas`.
    async fn put_register(
        &mut self,
        api: &Api,
        register: usize,
        path: &str,
        input: Input,
        cas: Option<u64>,
        content: String,
    ) {
        let op: OpId = self.history.invoke(self.id, path, input);
        let url = match cas {
            Some(index) => format!("/v1/var/{path}?cas={index}"),
            None => format!("/v1/var/{path}"),
        };
        let body = json!({"Items": {"v": content}});
        let reply = self.send(api, Method::PUT, &url, Some(body)).await;
        if let Ok((code, body)) = &reply
            && (code.is_success() || *code == StatusCode::CONFLICT)
        {
            // The variable as the server answered it: a content with its own index, so a
            // later CAS against it stays sound even if the answer is not the newest.
            self.remember(register, body);
        }
        let output = move |code: StatusCode, _: &Value| match (cas, code) {
            (Some(_), StatusCode::CONFLICT) => Output::CasFailed,
            (Some(_), _) => Output::CasOk,
            (None, _) => Output::Done,
        };
        self.history.complete(op, completion(reply, output));
    }

    fn remember(&mut self, register: usize, variable: &Value) {
        let index = variable["ModifyIndex"].as_u64().unwrap_or(0);
        let content = if index == 0 {
            None
        } else {
            content_of(variable)
        };
        self.last_read.insert(register, (content, index));
    }

    async fn send(
        &self,
        api: &Api,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = api.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let send = async {
            let r = request.send().await.map_err(|e| e.to_string())?;
            let status = r.status();
            let text = r.text().await.map_err(|e| e.to_string())?;
            Ok((
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            ))
        };
        tokio::time::timeout(self.config.request_timeout, send)
            .await
            .map_err(|_| format!("no answer in {:?}", self.config.request_timeout))?
    }
}

/// The register content a variable body holds.
fn content_of(variable: &Value) -> Option<String> {
    variable["Items"]["v"].as_str().map(str::to_string)
}

/// How a reply ends an operation: `ok` builds the output of a 2xx (or a 409).
fn completion(
    reply: Result<(StatusCode, Value), String>,
    ok: impl FnOnce(StatusCode, &Value) -> Output,
) -> Completion {
    match reply {
        Err(e) => Completion::Unknown(e),
        Ok((code, body)) if code.is_success() || code == StatusCode::CONFLICT => {
            let output = ok(code, &body);
            if code == StatusCode::CONFLICT && output != Output::CasFailed {
                return Completion::Failed(format!("409: {body}"));
            }
            Completion::Ok(output)
        }
        Ok((code, body)) if code.is_client_error() => Completion::Failed(format!("{code}: {body}")),
        Ok((code, body)) => Completion::Unknown(format!("{code}: {body}")),
    }
}

/// What a run's checks found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Job registrations against the final job list.
    pub jobs: SetReport,
    /// Once-written variables against the final variable list.
    pub vars: SetReport,
    /// The registers' linearizability.
    pub registers: linearizable::Report,
    /// Operations by outcome: `(ok, failed, unknown)`.
    pub outcomes: (usize, usize, usize),
    /// A few failed and unknown operations, with their reasons.
    pub not_ok_examples: Vec<String>,
}

impl Checked {
    /// True when no acknowledged write was lost or duplicated and the registers are
    /// linearizable (an `Unknown` verdict is not valid: the check did not finish).
    pub fn valid(&self) -> bool {
        self.jobs.valid() && self.vars.valid() && self.registers.is_linearizable()
    }
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ok, failed, unknown) = self.outcomes;
        writeln!(
            f,
            "{} ops: {ok} ok, {failed} failed, {unknown} unknown",
            ok + failed + unknown
        )?;
        for op in &self.not_ok_examples {
            writeln!(f, "  e.g. {op}")?;
        }
        writeln!(f, "{}", self.jobs)?;
        writeln!(f, "{}", self.vars)?;
        write!(f, "registers: {}", self.registers)
    }
}

/// Reads the final state through `api` (a healed cluster) and checks `history`. Panics when
/// a final read fails (within 30 s): without it nothing can be checked.
pub async fn check(api: &Api, config: &Config, history: &History, limits: Limits) -> Checked {
    let ops = history.operations();
    let jobs = final_list(api, "/v1/jobs", "ID", &format!("{}-job-", config.prefix)).await;
    let vars = final_list(api, "/v1/vars", "Path", &format!("{}/set/", config.prefix)).await;
    let outcomes = ops.iter().fold((0, 0, 0), |(o, f, u), op| {
        if op.failed() {
            (o, f + 1, u)
        } else if op.unknown() {
            (o, f, u + 1)
        } else {
            (o + 1, f, u)
        }
    });
    Checked {
        jobs: check_acked_present(&ops, JOBS, &jobs),
        vars: check_acked_present(&ops, VARS, &vars),
        registers: linearizable::check(&ops, limits),
        outcomes,
        not_ok_examples: ops
            .iter()
            .filter(|o| o.output().is_none())
            .take(NOT_OK_EXAMPLES)
            .map(ToString::to_string)
            .collect(),
    }
}

/// The `field` of each entry of the list at `path` that starts with `prefix`, in the default
/// namespace, as a linearizable read.
async fn final_list(api: &Api, path: &str, field: &str, prefix: &str) -> Vec<String> {
    let url = format!("{path}?prefix={prefix}");
    let read = tokio::time::timeout(FINAL_READ_TIMEOUT, api.try_get(&url)).await;
    let (code, _, body) = read
        .unwrap_or_else(|_| Err(format!("GET {url} timed out")))
        .unwrap_or_else(|e| panic!("final read {url}: {e}"));
    assert!(code.is_success(), "final read {url}: {code} {body}");
    body.as_array()
        .unwrap_or_else(|| panic!("final read {url}: not a list: {body}"))
        .iter()
        .filter_map(|e| e[field].as_str())
        .filter(|v| v.starts_with(prefix))
        .map(str::to_string)
        .collect()
}
