//! `GET /v1/event/stream` against a real ACL-enabled server and client: Nomad's events for a
//! job's registration and its allocation, resuming from an index, per-namespace filtering by
//! the token, and the stream ending when its token is deleted.

use std::time::{Duration, Instant};

use nomadish_tests::acl::{AclCluster, cli_ok, job_spec};
use nomadish_tests::{Api, write_file};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Longest wait for one expected event.
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// An open event stream, read line by line.
struct Events {
    response: reqwest::Response,
    buf: Vec<u8>,
}

impl Events {
    async fn open(api: &Api, query: &str) -> Events {
        let response = api
            .request(Method::GET, &format!("/v1/event/stream?{query}"))
            .send()
            .await
            .expect("open the event stream");
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        Events {
            response,
            buf: Vec::new(),
        }
    }

    /// The next non-heartbeat line; `None` when the stream ended.
    async fn next(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            if let Some(at) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                let v: Value = serde_json::from_slice(&line).expect("a JSON line");
                if v.as_object().is_some_and(|o| o.is_empty()) {
                    continue;
                }
                return Some(v);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(Ok(None)) | Ok(Err(_)) => return None,
                Err(_) => panic!("no event line in time"),
            }
        }
    }

    /// Reads lines until an event satisfies `want`; returns every event seen, in order.
    async fn until(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        let mut seen = Vec::new();
        while let Some(line) = self.next(deadline).await {
            let index = line["Index"].as_u64().expect("Index");
            for event in line["Events"].as_array().expect("Events") {
                assert_eq!(event["Index"].as_u64(), Some(index), "{event}");
                seen.push(event.clone());
                if want(event) {
                    return seen;
                }
            }
        }
        panic!("stream ended before {what}");
    }
}

fn is(event: &Value, topic: &str, ty: &str, job: &str) -> bool {
    let job_of = match topic {
        "Job" => &event["Key"],
        _ => &event["FilterKeys"][0],
    };
    event["Topic"] == topic && event["Type"] == ty && job_of == job
}

#[tokio::test(flavor = "multi_thread")]
async fn events_follow_a_job_resume_from_an_index_and_respect_the_token() {
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let admin = c.admin();
    let reader = c.server.api().with_token(&c.read_a.secret);
    let topics = "topic=Job&topic=Allocation&namespace=*";
    let mut all = Events::open(&admin, topics).await;
    let mut team_a = Events::open(&reader, topics).await;

    // Subscriptions the token may not make are refused, as Nomad.
    for query in ["topic=*", "topic=Node", "topic=Job&namespace=team-b"] {
        let r = reader
            .request(Method::GET, &format!("/v1/event/stream?{query}"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{query}");
    }

    for (id, ns) in [("ev-b", "team-b"), ("ev-a", "team-a")] {
        let spec = write_file(dir.path(), &format!("{id}.hcl"), &job_spec(id, ns, id));
        let spec = spec.to_str().expect("utf-8");
        cli_ok(
            &c.server,
            &c.management.secret,
            &["job", "run", "-detach", spec],
        );
    }

    // JobRegistered, then the allocation's client update, each with namespace and index.
    let seen = all
        .until("ev-a's allocation update", |e| {
            is(e, "Allocation", "AllocationUpdated", "ev-a")
        })
        .await;
    let registered = seen
        .iter()
        .find(|e| is(e, "Job", "JobRegistered", "ev-a"))
        .expect("JobRegistered for ev-a");
    assert_eq!(registered["Namespace"], "team-a");
    assert_eq!(registered["Payload"]["Job"]["ID"], "ev-a");
    let reg_index = registered["Index"].as_u64().expect("index");
    let updated = seen.last().expect("the update");
    assert_eq!(updated["Namespace"], "team-a");
    assert!(updated["Index"].as_u64() > Some(reg_index));
    assert!(updated["Payload"]["Allocation"]["Job"].is_null(), "no job");
    assert!(
        seen.iter()
            .any(|e| is(e, "Job", "JobRegistered", "ev-b") && e["Namespace"] == "team-b"),
        "management sees every namespace"
    );

    // The team-a reader sees ev-a's events and none of team-b's (ev-b was registered first).
    let seen = team_a
        .until("ev-a's allocation update (reader)", |e| {
            is(e, "Allocation", "AllocationUpdated", "ev-a")
        })
        .await;
    assert!(seen.iter().any(|e| is(e, "Job", "JobRegistered", "ev-a")));
    let foreign: Vec<_> = seen.iter().filter(|e| e["Namespace"] != "team-a").collect();
    assert!(foreign.is_empty(), "team-b leaked: {foreign:?}");

    // Resuming from an index starts exactly there.
    let mut resumed = Events::open(
        &admin,
        &format!("topic=Job:ev-a&namespace=team-a&index={reg_index}"),
    )
    .await;
    let first = resumed
        .next(Instant::now() + EVENT_TIMEOUT)
        .await
        .expect("a line");
    assert_eq!(first["Index"].as_u64(), Some(reg_index), "{first}");
    assert!(is(&first["Events"][0], "Job", "JobRegistered", "ev-a"));

    // A policy change that takes the namespace away ends the stream (as Nomad closes it).
    let writer = c.server.api().with_token(&c.write_a.secret);
    let mut narrowed = Events::open(&writer, "topic=Job&namespace=team-a").await;
    let (code, body) = admin
        .put_json(
            "/v1/acl/policy/a-write",
            &serde_json::json!({"Name": "a-write", "Rules": "namespace \"team-b\" {\n  policy = \"read\"\n}\n"}),
        )
        .await;
    assert!(code.is_success(), "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while narrowed.next(deadline).await.is_some() {}

    // Deleting the token ends its stream.
    let (code, body) = admin
        .send(
            Method::DELETE,
            &format!("/v1/acl/token/{}", c.read_a.accessor),
            Vec::new(),
        )
        .await;
    assert!(code.is_success(), "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(line) = team_a.next(deadline).await {
        let foreign = line["Events"]
            .as_array()
            .is_some_and(|evs| evs.iter().any(|e| e["Namespace"] != "team-a"));
        assert!(!foreign, "team-b leaked: {line}");
    }
}
