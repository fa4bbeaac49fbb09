//! Scenario 18 of RELIABILITY.md against a real server process: oversized and malformed API
//! bodies (over 10 MB of JSON, 10 MB of wrong types or of empty task groups, deep nesting,
//! wrong types, not JSON) sent again and again to every endpoint that reads a JSON body of a
//! job. Each gets a 4xx within [`QUICK`], the state does not change, and the server's
//! resident memory (`/proc/<pid>/status`) neither climbs across rounds nor peaks far above
//! where it started.

use std::time::{Duration, Instant};

use nomadish_tests::{Agent, AgentKind, Api};
use reqwest::{Method, StatusCode};

/// Longest a refusal may take (10 MB over loopback included).
const QUICK: Duration = Duration::from_secs(2);
/// Rounds of every body to every endpoint after the warm-up round.
const ROUNDS: usize = 5;
/// The server's body limit (`nomadish_server::http::MAX_BODY_BYTES`).
const LIMIT: usize = nomadish_server::http::MAX_BODY_BYTES;
/// Most the resident set may grow from after the warm-up round to after the last round.
const MAX_GROWTH_MB: f64 = 48.0;
/// Most the resident set may ever stand above its idle size (the high-water mark).
const MAX_PEAK_ABOVE_IDLE_MB: f64 = 160.0;

/// `VmRSS` or `VmHWM` of a process in MB.
fn memory_mb(pid: i32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| {
            v.trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The bad bodies: name, bytes, the status they must get.
fn bodies() -> Vec<(&'static str, Vec<u8>, Option<StatusCode>)> {
    // Valid JSON, a job with one huge meta value, just over the limit.
    let mut over = br#"{"Job":{"ID":"big","Meta":{"pad":""#.to_vec();
    over.resize(LIMIT + 1024, b'a');
    over.extend_from_slice(br#""}}}"#);
    // 10 MB under the limit, but task groups that are numbers.
    let mut wrong = br#"{"Job":{"ID":"w","TaskGroups":["#.to_vec();
    while wrong.len() < 10_000_000 {
        wrong.extend_from_slice(b"1,");
    }
    wrong.extend_from_slice(b"1]}}");
    assert!(wrong.len() < LIMIT);
    // 10 MB of empty task groups: each would become a whole default task group.
    let mut groups = br#"{"Job":{"ID":"g","TaskGroups":["#.to_vec();
    while groups.len() < 10_000_000 {
        groups.extend_from_slice(b"{},");
    }
    groups.extend_from_slice(b"{}]}}");
    // Nesting far past any parser's recursion limit: arrays, then objects inside a job.
    let deep_arrays = [vec![b'['; 200_000], vec![b']'; 200_000]].concat();
    let mut deep_objects = br#"{"Job":{"ID":"d","Meta":"#.to_vec();
    for _ in 0..100_000 {
        deep_objects.extend_from_slice(br#"{"a":"#);
    }
    deep_objects.extend_from_slice(b"1");
    deep_objects.extend(std::iter::repeat_n(b'}', 100_002));
    vec![
        (
            "over 10 MiB of JSON",
            over,
            Some(StatusCode::PAYLOAD_TOO_LARGE),
        ),
        ("10 MB of wrong types", wrong, Some(StatusCode::BAD_REQUEST)),
        (
            "10 MB of empty task groups",
            groups,
            Some(StatusCode::BAD_REQUEST),
        ),
        (
            "200,000 nested arrays",
            deep_arrays,
            Some(StatusCode::BAD_REQUEST),
        ),
        (
            "100,000 nested objects in a job",
            deep_objects,
            Some(StatusCode::BAD_REQUEST),
        ),
        (
            "an ID that is a number",
            br#"{"Job":{"ID":7}}"#.to_vec(),
            Some(StatusCode::BAD_REQUEST),
        ),
        (
            "a count that is a string",
            br#"{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Count":"three"}]}}"#.to_vec(),
            Some(StatusCode::BAD_REQUEST),
        ),
        (
            "not JSON",
            b"\xff\xfe\x00{{{ not json".to_vec(),
            // Any 4xx.
            None,
        ),
    ]
}

/// Endpoints that read a job from a JSON body.
const ENDPOINTS: &[(&str, &str)] = &[
    ("PUT", "/v1/jobs"),
    ("POST", "/v1/job/x"),
    ("POST", "/v1/job/x/plan"),
    ("PUT", "/v1/validate/job"),
    ("POST", "/v1/jobs/parse"),
];

/// Sends every body to every endpoint once; returns the slowest refusal.
async fn round(http: &str) -> Duration {
    let mut slowest = Duration::ZERO;
    for (name, body, want) in bodies() {
        for (method, path) in ENDPOINTS {
            // A fresh connection each time: the server closes one whose body it refused.
            let api = Api::new(http);
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let started = Instant::now();
            let sent = api.request(method.clone(), path).body(body.clone()).send();
            let status = match tokio::time::timeout(QUICK * 5, sent).await {
                Ok(Ok(r)) => r.status(),
                Ok(Err(e)) => panic!("{method} {path} with {name}: {e}"),
                Err(_) => panic!("{method} {path} with {name}: no answer"),
            };
            let took = started.elapsed();
            slowest = slowest.max(took);
            assert!(
                status.is_client_error(),
                "{method} {path} with {name}: {status}"
            );
            if let Some(want) = want {
                assert_eq!(status, want, "{method} {path} with {name}");
            }
            assert!(took < QUICK, "{method} {path} with {name}: {took:?}");
        }
    }
    slowest
}

#[tokio::test]
async fn scenario_18_oversized_and_malformed_bodies_get_4xx_quickly_and_memory_stays_flat() {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let pid = server.pid().as_raw();
    let api = server.api();
    let index = api.index().await;
    let idle = memory_mb(pid, "VmRSS");

    let mut slowest = round(&server.http).await;
    let warm = memory_mb(pid, "VmRSS");
    for _ in 0..ROUNDS {
        slowest = slowest.max(round(&server.http).await);
    }
    let after = memory_mb(pid, "VmRSS");
    let peak = memory_mb(pid, "VmHWM");
    eprintln!(
        "RSS idle {idle:.1} MB, after warm-up {warm:.1} MB, after {ROUNDS} more rounds {after:.1} MB, \
         peak {peak:.1} MB; slowest refusal {slowest:?}"
    );
    assert!(
        after - warm <= MAX_GROWTH_MB,
        "RSS grew from {warm:.1} MB to {after:.1} MB over {ROUNDS} rounds"
    );
    assert!(
        peak - idle <= MAX_PEAK_ABOVE_IDLE_MB,
        "RSS peaked at {peak:.1} MB from {idle:.1} MB idle"
    );
    assert_eq!(
        api.index().await,
        index,
        "no refused body changed the state"
    );
    let jobs = api.get_ok("/v1/jobs").await;
    assert_eq!(jobs, serde_json::json!([]), "nothing was registered");
}
