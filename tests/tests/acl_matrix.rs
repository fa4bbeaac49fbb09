//! The authorization matrix: every route of the HTTP router, each with no token, an unknown
//! token, an expired token, read on team-a, write on team-a (also against team-b's objects)
//! and management, against its expected allow/deny. The route list comes from the router
//! itself, so a new route without a rule and an expectation here fails this test.
//!
//! "Allowed" means the answer is not 403 (a dummy body may well be a 400 or 404);
//! "denied" means 403.

use std::collections::BTreeSet;
use std::time::Duration;

use nomadish_server::auth::rules::{RULES, Rule};
use nomadish_tests::Api;
use nomadish_tests::acl::{AclCluster, READ_A, token_with};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Capabilities `policy = "read"` grants among those the routes ask for.
const READ_CAPS: &[&str] = &[
    "list-jobs",
    "parse-job",
    "read-job",
    "read-job-scaling",
    "csi-list-volume",
];
/// Capabilities `policy = "write"` adds among those the routes ask for.
const WRITE_CAPS: &[&str] = &[
    "submit-job",
    "dispatch-job",
    "read-logs",
    "read-fs",
    "alloc-exec",
    "alloc-lifecycle",
    "scale-job",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    Unknown,
    Expired,
    ReadA,
    WriteA,
    Management,
}

/// Which team's objects a request targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Team {
    A,
    B,
}

/// IDs of real objects in each team.
struct Objects {
    alloc: [String; 2],
    eval: [String; 2],
    deployment: [String; 2],
    read_a_accessor: String,
}

fn idx(team: Team) -> usize {
    match team {
        Team::A => 0,
        Team::B => 1,
    }
}

fn ns(team: Team) -> &'static str {
    match team {
        Team::A => "team-a",
        Team::B => "team-b",
    }
}

/// The concrete request for a route pattern: path (with query) and body.
fn request(pattern: &str, method: &str, team: Team, o: &Objects) -> (String, Vec<u8>) {
    let i = idx(team);
    let writes = method != "GET";
    let job = if writes {
        "no-such-job"
    } else if team == Team::A {
        "web-a"
    } else {
        "web-b"
    };
    let path = pattern
        .replace(
            "{id}",
            &match pattern {
                p if p.starts_with("/v1/allocation/")
                    || p.starts_with("/v1/client/allocation/") =>
                {
                    o.alloc[i].clone()
                }
                p if p.starts_with("/v1/evaluation/") => o.eval[i].clone(),
                p if p.starts_with("/v1/deployment/") => o.deployment[i].clone(),
                p if p.starts_with("/v1/node/") => "00000000-0000-0000-0000-000000000000".into(),
                p if p.starts_with("/v1/service/") => "no-such-registration".into(),
                _ => job.to_string(),
            },
        )
        .replace("{alloc}", &o.alloc[i])
        .replace(
            "{name}",
            &match pattern {
                p if p.starts_with("/v1/acl/policy/") && !writes => "a-read".to_string(),
                p if p.starts_with("/v1/acl/policy/") => "no-such-policy".to_string(),
                p if p.starts_with("/v1/namespace/") && !writes => ns(team).to_string(),
                p if p.starts_with("/v1/namespace/") => "no-such-namespace".to_string(),
                _ => "web".to_string(),
            },
        )
        .replace(
            "{accessor}",
            &if writes {
                "00000000-0000-0000-0000-000000000000".to_string()
            } else {
                o.read_a_accessor.clone()
            },
        )
        .replace("{*path}", "app/config");
    // The event stream without a topic means every topic (management only, as Nomad).
    let path = if pattern == "/v1/event/stream" {
        format!("{path}?topic=Job")
    } else {
        path
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{sep}namespace={}", ns(team));
    let body = if pattern.contains("/plan")
        || pattern == "/v1/jobs"
        || pattern == "/v1/job/{id}"
        || pattern == "/v1/validate/job"
    {
        format!(r#"{{"Job":{{"ID":"{job}","Namespace":"{}"}}}}"#, ns(team)).into_bytes()
    } else {
        Vec::new()
    };
    (path, body)
}

/// The expectation: whether `who` may make this request.
fn expected(rule: Rule, pattern: &str, method: &str, who: Who, team: Team) -> bool {
    let caps: Vec<&str> = match who {
        Who::NoToken | Who::Unknown | Who::Expired => Vec::new(),
        Who::ReadA => READ_CAPS.to_vec(),
        Who::WriteA => READ_CAPS.iter().chain(WRITE_CAPS).copied().collect(),
        Who::Management => return true,
    };
    if matches!(who, Who::Unknown | Who::Expired) {
        return false;
    }
    let has = |cap: &str| team == Team::A && caps.contains(&cap);
    let token = who != Who::NoToken;
    match rule {
        Rule::Public => true,
        Rule::Token => match (pattern, method) {
            ("/v1/acl/policies", _) => true,
            ("/v1/acl/token/self", _) => token,
            // Search answers every caller, with only what it may read; any valid token
            // (or anonymous) may list its ACL roles.
            ("/v1/search" | "/v1/search/fuzzy" | "/v1/acl/roles", _) => true,
            // The handler checks the topics: `Job` needs read-job in the namespace.
            ("/v1/event/stream", _) => has("read-job"),
            // The read-a token may read its own token and policy, no one else may.
            _ => who == Who::ReadA,
        },
        Rule::Namespace(cap) | Rule::JobBody(cap) | Rule::List(cap) => has(cap),
        Rule::Alloc(cap) | Rule::Eval(cap) | Rule::Deployment(cap) => has(cap),
        // No policy here has a variables block: Nomad grants no variables access by default.
        Rule::Variable(_) => false,
        Rule::VariableList | Rule::NamespaceList => true,
        Rule::NamespaceRead => token && team == Team::A,
        Rule::Management
        | Rule::NodeRead
        | Rule::NodeWrite
        | Rule::NodeAllocs
        | Rule::AgentRead
        | Rule::OperatorRead
        | Rule::OperatorWrite
        | Rule::PluginList => false,
    }
}

/// Sends one request and returns its status (the body is not waited for: streams stay open).
async fn status(api: &Api, method: &str, path: &str, body: Vec<u8>) -> StatusCode {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let send = api.request(method, path).body(body).send();
    match tokio::time::timeout(Duration::from_secs(15), send).await {
        Ok(Ok(r)) => r.status(),
        Ok(Err(e)) => panic!("{path}: {e}"),
        Err(_) => panic!("{path}: no answer in 15 s"),
    }
}

#[tokio::test]
async fn every_route_meets_its_expectation_for_every_kind_of_caller() {
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let admin = c.admin();
    // Started first: it expires while the other columns run.
    let expiring = token_with(&admin, "a-read-short", READ_A, Some(60)).await;
    let created = std::time::Instant::now();

    // The router's routes and the rule table name the same patterns.
    let routes: BTreeSet<&str> = nomadish_server::http::route_patterns()
        .into_iter()
        .collect();
    let ruled: BTreeSet<&str> = RULES.iter().map(|(_, p, _)| *p).collect();
    let unguarded: Vec<_> = routes.difference(&ruled).collect();
    assert!(unguarded.is_empty(), "routes without a rule: {unguarded:?}");
    let stale: Vec<_> = ruled.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "rules for routes that do not exist: {stale:?}"
    );

    let mut objects = Objects {
        alloc: Default::default(),
        eval: Default::default(),
        deployment: Default::default(),
        read_a_accessor: c.read_a.accessor.clone(),
    };
    for (i, (job, ns)) in [("web-a", "team-a"), ("web-b", "team-b")]
        .into_iter()
        .enumerate()
    {
        let alloc = c.running_alloc(job, ns).await;
        objects.alloc[i] = alloc["ID"].as_str().unwrap().to_string();
        objects.eval[i] = alloc["EvalID"].as_str().unwrap().to_string();
        let dep: Value = admin
            .get_ok(&format!("/v1/job/{job}/deployment?namespace={ns}"))
            .await;
        objects.deployment[i] = dep["ID"].as_str().expect("a deployment").to_string();
    }

    let columns = [
        (Who::NoToken, c.server.api()),
        (
            Who::Unknown,
            c.server
                .api()
                .with_token("6f1f2b0c-0000-4000-8000-000000000000"),
        ),
        (Who::ReadA, c.server.api().with_token(&c.read_a.secret)),
        (Who::WriteA, c.server.api().with_token(&c.write_a.secret)),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut run = async |who: Who, api: &Api, failures: &mut Vec<String>| {
        for (method, pattern, rule) in RULES {
            for team in [Team::A, Team::B] {
                let (path, body) = request(pattern, method, team, &objects);
                let want = expected(*rule, pattern, method, who, team);
                let got = status(api, method, &path, body).await;
                checked += 1;
                if want == (got == StatusCode::FORBIDDEN) {
                    let verdict = if want { "allowed" } else { "denied" };
                    failures.push(format!(
                        "{who:?} {method} {path}: expected {verdict}, got {got}"
                    ));
                }
            }
        }
    };
    for (who, api) in &columns {
        run(*who, api, &mut failures).await;
    }
    // The expired column, once the short token has expired.
    let left = Duration::from_secs(61).saturating_sub(created.elapsed());
    tokio::time::sleep(left).await;
    let expired = c.server.api().with_token(&expiring.secret);
    run(Who::Expired, &expired, &mut failures).await;
    // Management last: its writes act for real (on absent objects where the rule allows).
    run(Who::Management, &admin, &mut failures).await;
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 6 * 2 * 100, "only {checked} checks");
}
