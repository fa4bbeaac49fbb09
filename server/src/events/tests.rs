use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use nomadish_acl::Acl;
use nomadish_acl::policy::parse_policy;
use nomadish_proto::model::{Allocation, Evaluation, Job, Node, TaskGroup};
use serde_json::Value;

use super::*;
use crate::fsm::{self, JobRef};
use crate::state::{StateStore, StateView};

fn job(id: &str, ns: &str) -> Job {
    Job {
        id: id.into(),
        name: id.into(),
        namespace: ns.into(),
        job_type: "service".into(),
        priority: 50,
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count: 1,
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn alloc(id: &str, job_id: &str, ns: &str) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: ns.into(),
        job_id: job_id.into(),
        node_id: "n1".into(),
        task_group: "g".into(),
        desired_status: "run".into(),
        client_status: "pending".into(),
        ..Allocation::default()
    }
}

fn register(view: &mut StateView, index: u64, job: Job) {
    let eval = Evaluation {
        id: format!("e{index}"),
        namespace: job.namespace.clone(),
        job_id: job.id.clone(),
        status: "pending".into(),
        ..Evaluation::default()
    };
    fsm::apply(
        view,
        index,
        Command::UpsertJob {
            job: Box::new(job),
            eval: Some(eval),
            enforce_index: None,
            now: 1,
        },
    );
}

fn plan(view: &mut StateView, index: u64, ns: &str, job_id: &str, placed: Vec<Allocation>) {
    fsm::apply(
        view,
        index,
        Command::ApplyPlanResults {
            eval_id: "e1".into(),
            job: Some(JobRef {
                namespace: ns.into(),
                id: job_id.into(),
                version: 0,
            }),
            placed,
            stopped: Vec::new(),
            now: 2,
            deployment: None,
            deployment_updates: Vec::new(),
        },
    );
}

fn acl(rules: &str) -> Arc<Acl> {
    let policy = parse_policy(rules).expect("policy");
    Arc::new(Acl::compile(&[&policy]))
}

fn sub(topics: &[&str], ns: &str, acl: Arc<Acl>) -> Subscription {
    Subscription::new(
        parse_topics(topics.iter().copied()).expect("topics"),
        ns,
        acl,
    )
}

fn event(payload: Payload) -> Event {
    Event::new(7, types::PLAN_RESULT, payload)
}

#[test]
fn topics_parse_as_nomad_and_bad_pairs_are_refused() {
    let all = parse_topics([]).unwrap();
    assert_eq!(all.get("*"), Some(&vec!["*".to_string()]));
    let t = parse_topics(["Job", "Allocation:web", "Allocation:api"]).unwrap();
    assert_eq!(t.get("Job"), Some(&vec!["*".to_string()]));
    assert_eq!(t["Allocation"], vec!["web".to_string(), "api".to_string()]);
    assert_eq!(
        parse_topics(["Job:a:b"]),
        Err(TopicError::InvalidPair("Job:a:b".into()))
    );
}

#[test]
fn keys_match_the_id_or_a_filter_key_and_namespaces_filter() {
    let mgmt = Arc::new(Acl::management());
    let a = event(Payload::Allocation(Arc::new(alloc("a1", "web", "default"))));
    assert!(sub(&["Allocation:a1"], "default", mgmt.clone()).wants(&a));
    assert!(
        sub(&["Allocation:web"], "default", mgmt.clone()).wants(&a),
        "job ID"
    );
    assert!(!sub(&["Allocation:api"], "default", mgmt.clone()).wants(&a));
    assert!(
        !sub(&["Job:web"], "default", mgmt.clone()).wants(&a),
        "other topic"
    );
    assert!(sub(&["*:web"], "default", mgmt.clone()).wants(&a));
    assert!(sub(&["*"], "*", mgmt.clone()).wants(&a));
    assert!(
        !sub(&["*"], "team-a", mgmt.clone()).wants(&a),
        "other namespace"
    );
    let node = event(Payload::Node(Arc::new(Node {
        id: "n1".into(),
        ..Node::default()
    })));
    assert!(
        sub(&["Node"], "team-a", mgmt).wants(&node),
        "nodes have no namespace"
    );
}

#[test]
fn tokens_see_only_what_they_may_read() {
    let read_a = acl("namespace \"team-a\" {\n  policy = \"read\"\n}\n");
    assert!(sub(&["Job", "Allocation"], "team-a", read_a.clone()).authorized());
    assert!(!sub(&["Job"], "team-b", read_a.clone()).authorized());
    assert!(!sub(&["Node"], "team-a", read_a.clone()).authorized());
    assert!(
        !sub(&["*"], "*", read_a.clone()).authorized(),
        "* is management"
    );
    assert!(!sub(&["ACLToken"], "*", read_a.clone()).authorized());
    let any_ns = sub(&["Job"], "*", read_a);
    assert!(any_ns.authorized());
    let a = event(Payload::Job(Arc::new(job("web", "team-a"))));
    let b = event(Payload::Job(Arc::new(job("web", "team-b"))));
    assert!(any_ns.wants(&a));
    assert!(
        !any_ns.wants(&b),
        "namespace=* keeps only readable namespaces"
    );
}

#[test]
fn fsm_commands_produce_nomads_events_once_per_object() {
    let mut view = StateView::default();
    register(&mut view, 5, job("web", "default"));
    plan(
        &mut view,
        6,
        "default",
        "web",
        vec![alloc("a1", "web", "default")],
    );
    let batches = view.changes.drain();
    type Summary<'a> = Vec<(u64, Vec<(&'a str, &'a str, &'a str)>)>;
    let summary: Summary = batches
        .iter()
        .map(|b| {
            let evs = b
                .events
                .iter()
                .map(|e| (e.payload.topic().as_str(), e.event_type, e.payload.key()));
            (b.index, evs.collect())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                5,
                vec![
                    ("Job", "JobRegistered", "web"),
                    ("Evaluation", "JobRegistered", "e5")
                ]
            ),
            (
                6,
                vec![
                    ("Allocation", "PlanResult", "a1"),
                    ("Job", "PlanResult", "web")
                ]
            ),
        ]
    );
    // The job event carries the job's final state at that index.
    let Payload::Job(j) = &batches[0].events[0].payload else {
        panic!("job payload")
    };
    assert_eq!(j.modify_index, 5);
    assert!(view.changes.drain().is_empty(), "drained");
}

#[test]
fn a_group_committed_entry_streams_its_commands_events_as_one_batch() {
    let mut view = StateView::default();
    let upsert = |id: &str| Command::UpsertJob {
        job: Box::new(job(id, "default")),
        eval: None,
        enforce_index: None,
        now: 1,
    };
    let resp = fsm::apply(
        &mut view,
        9,
        Command::Batch {
            commands: vec![upsert("a"), upsert("b")],
        },
    );
    assert_eq!(resp.batch.len(), 2);
    assert!(resp.batch.iter().all(|r| r.error.is_none() && r.index == 9));
    let batches = view.changes.drain();
    assert_eq!(batches.len(), 1, "one batch per index");
    let keys: Vec<&str> = batches[0].events.iter().map(|e| e.payload.key()).collect();
    assert_eq!((batches[0].index, keys), (9, vec!["a", "b"]));
}

#[test]
fn payloads_have_nomads_shape_without_the_alloc_job_or_secrets() {
    let mut a = alloc("a1", "web", "default");
    a.job = Some(Arc::new(job("web", "default")));
    let ev = event(Payload::Allocation(Arc::new(a)));
    let v: Value = serde_json::from_str(ev.json()).unwrap();
    assert_eq!(v["Topic"], "Allocation");
    assert_eq!(v["Type"], "PlanResult");
    assert_eq!(v["Key"], "a1");
    assert_eq!(v["Namespace"], "default");
    assert_eq!(v["Index"], 7);
    assert_eq!(v["FilterKeys"], serde_json::json!(["web", ""]));
    assert_eq!(v["Payload"]["Allocation"]["ID"], "a1");
    assert!(v["Payload"]["Allocation"]["Job"].is_null());
    let node = event(Payload::Node(Arc::new(Node {
        id: "n1".into(),
        secret_id: "s3cret".into(),
        ..Node::default()
    })));
    assert!(!node.json().contains("s3cret"));
    assert_eq!(
        wire::batch_line(7, [&ev]),
        format!("{{\"Index\":7,\"Events\":[{}]}}\n", ev.json()).into_bytes()
    );
}

#[test]
fn the_ring_drops_whole_old_batches_past_its_capacity() {
    let broker = EventBroker::new(3);
    let batch = |index: u64, n: usize| EventBatch {
        index,
        events: (0..n)
            .map(|i| {
                let a = alloc(&format!("a{index}-{i}"), "web", "default");
                Event::new(index, types::PLAN_RESULT, Payload::Allocation(Arc::new(a)))
            })
            .collect(),
    };
    broker.publish(vec![batch(1, 2), batch(2, 1)]);
    assert_eq!(broker.len(), 3);
    broker.publish(vec![batch(3, 1)]);
    let indexes = |from| {
        broker
            .after(from)
            .iter()
            .map(|b| b.index)
            .collect::<Vec<_>>()
    };
    assert_eq!(indexes(0), vec![2, 3], "batch 1 dropped");
    assert_eq!(indexes(2), vec![3]);
    broker.publish(vec![batch(4, 10)]);
    assert_eq!(
        indexes(0),
        vec![4],
        "the newest batch is kept even when larger"
    );
}

#[tokio::test(start_paused = true)]
async fn streams_resume_from_an_index_then_follow_with_heartbeats() {
    let store = StateStore::new();
    store.update(|v| register(v, 5, job("web", "default")));
    store.update(|v| register(v, 6, job("api", "default")));
    let mgmt = Arc::new(Acl::management());
    let lines = store
        .events()
        .stream(sub(&["Job"], "default", mgmt), 6, Duration::from_secs(30));
    let mut lines = Box::pin(lines);
    let line = |b: Vec<u8>| serde_json::from_slice::<Value>(&b).unwrap();
    let first = line(lines.next().await.unwrap());
    assert_eq!(first["Index"], 6, "index=6 starts at 6");
    assert_eq!(first["Events"][0]["Key"], "api");
    assert_eq!(
        first["Events"].as_array().unwrap().len(),
        1,
        "Job topic only"
    );
    assert_eq!(lines.next().await.unwrap(), b"{}\n", "heartbeat when idle");
    store.update(|v| register(v, 9, job("db", "default")));
    assert_eq!(line(lines.next().await.unwrap())["Index"], 9);
}

/// Every allocation of 100 plans lands in the buffer exactly once, subscribed or not; with
/// `--nocapture` it prints the cost of the event work on the FSM path.
#[test]
fn plan_results_of_5000_allocations_are_each_buffered_once() {
    let allocs: Vec<Allocation> = (0..5_000)
        .map(|i| alloc(&format!("a{i}"), "web", "default"))
        .collect();
    for subscribed in [false, true] {
        let store = StateStore::new();
        store.update(|v| register(v, 1, job("web", "default")));
        let _sub = subscribed.then(|| {
            let s = sub(&["*"], "*", Arc::new(Acl::management()));
            store.events().stream(s, 0, Duration::from_secs(30))
        });
        let started = Instant::now();
        for (i, chunk) in allocs.chunks(50).enumerate() {
            store.update(|v| plan(v, 2 + i as u64, "default", "web", chunk.to_vec()));
        }
        println!(
            "subscribed={subscribed}: 5000 allocs in 100 plans: {:?}",
            started.elapsed()
        );
        // The job's registration (job, evaluation, ...) and one event per allocation.
        let buffered = store.events().len();
        assert!(
            (5_001..=5_010).contains(&buffered),
            "{buffered} events buffered for 5,000 allocations"
        );
    }
    // The event work alone: record, seal, drain and publish the same 5,000 changes.
    let broker = EventBroker::default();
    let arcs: Vec<Arc<Allocation>> = allocs.into_iter().map(Arc::new).collect();
    let started = Instant::now();
    let mut changes = Changes::default();
    for (i, chunk) in arcs.chunks(50).enumerate() {
        for a in chunk {
            changes.put(Payload::Allocation(a.clone()));
        }
        changes.seal(2 + i as u64, Some(types::PLAN_RESULT));
        broker.publish(changes.drain());
    }
    println!("events alone for 5000 allocs: {:?}", started.elapsed());
    assert_eq!(broker.len(), 5_000, "one event per allocation change");
}
