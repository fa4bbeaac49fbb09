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

/// The router's routes and the rule table name the same patterns: a new route without a
/// rule (and so without an expectation here) fails.
fn assert_every_route_has_a_rule() {
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
}

/// The IDs of each team's allocation, evaluation and deployment.
async fn objects(c: &AclCluster) -> Objects {
    let admin = c.admin();
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
    objects
}

#[tokio::test]
async fn every_route_meets_its_expectation_for_every_kind_of_caller() {
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let admin = c.admin();
    // Started first: it expires while the other columns run.
    let expiring = token_with(&admin, "a-read-short", READ_A, Some(60)).await;
    let created = std::time::Instant::now();

    assert_every_route_has_a_rule();
    let objects = objects(&c).await;

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

/// Status and body text of one request; the body is read for at most two seconds (an open
/// stream gives what it sent by then).
async fn answer(api: &Api, method: &str, path: &str, body: Vec<u8>) -> (StatusCode, String) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let send = api.request(method, path).body(body).send();
    let mut response = match tokio::time::timeout(Duration::from_secs(15), send).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => panic!("{path}: {e}"),
        Err(_) => panic!("{path}: no answer in 15 s"),
    };
    let code = response.status();
    let mut text = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        text.extend_from_slice(&chunk);
    }
    (code, String::from_utf8_lossy(&text).into_owned())
}

/// What of the teams' objects `body` shows (job names and allocation, evaluation and
/// deployment IDs), for the teams in `teams`.
fn shown(body: &str, o: &Objects, teams: &[Team]) -> Vec<String> {
    let mut out = Vec::new();
    for team in teams {
        let i = idx(*team);
        let job = if *team == Team::A { "web-a" } else { "web-b" };
        let namespace = format!("\"Namespace\":\"{}\"", ns(*team));
        for needle in [
            job,
            &o.alloc[i],
            &o.eval[i],
            &o.deployment[i],
            namespace.as_str(),
        ] {
            if body.contains(needle) {
                out.push(needle.to_string());
            }
        }
    }
    out
}

/// Scenario 22 of RELIABILITY.md: a token with `read` on team-a gets 403 from every route
/// aimed at team-b (its objects by ID, its namespace, its event stream); the few routes that
/// answer every caller with what it may read show nothing of team-b; with `namespace=*`
/// every list and the event stream hold nothing of team-b. The routes come from the router.
/// Public routes are not checked for names (see `/v1/metrics` below).
#[tokio::test]
async fn scenario_22_a_team_a_reader_gets_403_or_nothing_from_every_team_b_endpoint() {
    assert_every_route_has_a_rule();
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let o = objects(&c).await;
    let reader = c.server.api().with_token(&c.read_a.secret);
    let mut failures = Vec::new();
    let mut denied = 0;
    for (method, pattern, rule) in RULES {
        let (path, body) = request(pattern, method, Team::B, &o);
        let allowed = expected(*rule, pattern, method, Who::ReadA, Team::B);
        let (code, text) = answer(&reader, method, &path, body).await;
        // Public routes are no endpoint of team-b. One of them, `/v1/metrics`, needs no
        // token (as Nomad's) and its job-summary series are labelled with every
        // namespace's job names, as Nomad's are: names, no object.
        let leaked = if matches!(rule, Rule::Public) {
            Vec::new()
        } else {
            shown(&text, &o, &[Team::B])
        };
        match (allowed, code == StatusCode::FORBIDDEN) {
            (false, true) => denied += 1,
            (false, false) => failures.push(format!("{method} {path}: {code}, not 403")),
            (true, true) => failures.push(format!("{method} {path}: 403 for a filtered answer")),
            (true, false) if !leaked.is_empty() => {
                failures.push(format!("{method} {path}: shows {leaked:?}"))
            }
            (true, false) => {}
        }
    }
    // `namespace=*` on every list route: only what team-a's reader may see.
    let mut lists = 0;
    for (method, pattern, rule) in RULES {
        if *method != "GET" || pattern.contains('{') || !matches!(rule, Rule::List(_)) {
            continue;
        }
        let path = format!("{pattern}?namespace=*");
        let (code, text) = answer(&reader, method, &path, Vec::new()).await;
        lists += 1;
        let leaked = shown(&text, &o, &[Team::B]);
        if !code.is_success() || !leaked.is_empty() {
            failures.push(format!("GET {path}: {code}, shows {leaked:?}"));
        }
    }
    assert!(lists >= 4, "only {lists} list routes");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(denied > 50, "only {denied} routes denied");

    // The event stream with `namespace=*`: team-a's registration, never team-b's.
    let mut stream = reader
        .request(Method::GET, "/v1/event/stream?topic=Job&namespace=*")
        .send()
        .await
        .expect("event stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let admin = c.admin();
    for (id, namespace) in [("leak-b", "team-b"), ("seen-a", "team-a")] {
        let mut job = nomadish_tests::empty_job(id);
        job["Job"]["Namespace"] = Value::from(namespace);
        let (code, body) = admin.put_json("/v1/jobs", &job).await;
        assert!(code.is_success(), "{body}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while !text.contains("seen-a") {
        match tokio::time::timeout_at(deadline, stream.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the stream ended or stalled before seen-a: {other:?}; {text}"),
        }
    }
    assert!(
        !text.contains("leak-b"),
        "team-b's event reached team-a's reader: {text}"
    );
    assert!(!text.contains("\"Namespace\":\"team-b\""), "{text}");
}

/// Scenario 23 of RELIABILITY.md: anonymous, unknown and expired tokens get 403 from every
/// non-public route (anonymous callers get, from the few routes that answer everyone with
/// what they may read, nothing of either team), and an event stream opened with a token
/// ends within a second of the token's expiry.
#[tokio::test]
async fn scenario_23_anonymous_unknown_and_expired_tokens_are_refused_and_streams_end_at_expiry() {
    assert_every_route_has_a_rule();
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let o = objects(&c).await;
    let admin = c.admin();
    // The shortest TTL Nomad allows is one minute.
    let before = std::time::SystemTime::now();
    let expiring = token_with(&admin, "a-read-expiring", READ_A, Some(60)).await;
    let after = std::time::SystemTime::now();
    let ttl = Duration::from_secs(60);
    let holder = c.server.api().with_token(&expiring.secret);
    let mut stream = holder
        .request(Method::GET, "/v1/event/stream?topic=Job&namespace=team-a")
        .send()
        .await
        .expect("event stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let watcher = tokio::spawn(async move {
        loop {
            match tokio::time::timeout(Duration::from_secs(90), stream.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(_) => return std::time::SystemTime::now(),
                Err(_) => panic!("the event stream outlived its token"),
            }
        }
    });

    let unknown = c
        .server
        .api()
        .with_token("6f1f2b0c-0000-4000-8000-000000000000");
    let mut failures = Vec::new();
    let check = async |who: Who, api: &Api, failures: &mut Vec<String>| {
        for (method, pattern, rule) in RULES {
            if matches!(rule, Rule::Public) {
                continue;
            }
            for team in [Team::A, Team::B] {
                let (path, body) = request(pattern, method, team, &o);
                let (code, text) = answer(api, method, &path, body).await;
                if code == StatusCode::FORBIDDEN {
                    continue;
                }
                // Only anonymous callers may get an answer, and only an empty one, from
                // the routes that answer everyone with what they may read.
                let filtered = expected(*rule, pattern, method, who, team);
                let leaked = shown(&text, &o, &[Team::A, Team::B]);
                if !filtered || !leaked.is_empty() {
                    failures.push(format!("{who:?} {method} {path}: {code}, shows {leaked:?}"));
                }
            }
        }
    };
    check(Who::NoToken, &c.server.api(), &mut failures).await;
    check(Who::Unknown, &unknown, &mut failures).await;

    let ended = watcher.await.expect("stream watcher");
    let earliest = before + ttl;
    let latest = after + ttl + Duration::from_secs(1);
    eprintln!(
        "the event stream ended {:?} after the latest possible expiry (token created within {:?})",
        ended.duration_since(after + ttl).unwrap_or_default(),
        after.duration_since(before).unwrap_or_default()
    );
    assert!(
        ended >= earliest && ended <= latest,
        "the stream ended {:?} after the token's creation, its TTL is {ttl:?}",
        ended.duration_since(before).unwrap_or_default()
    );
    check(Who::Expired, &holder, &mut failures).await;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
