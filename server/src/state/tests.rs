use std::sync::Arc;

use nomadish_proto::model::{Allocation, Evaluation, Job};

use super::*;

fn job(id: &str, version: u64) -> Arc<Job> {
    Arc::new(Job {
        id: id.into(),
        namespace: "default".into(),
        version,
        ..Job::default()
    })
}

fn alloc(id: &str, job: &Arc<Job>, node: &str) -> Arc<Allocation> {
    Arc::new(Allocation {
        id: id.into(),
        namespace: job.namespace.clone(),
        job_id: job.id.clone(),
        job: Some(job.clone()),
        node_id: node.into(),
        alloc_modify_index: 7,
        ..Allocation::default()
    })
}

#[test]
fn put_job_trims_to_tracked_versions() {
    let mut view = StateView::default();
    for v in 0..10 {
        view.put_job(job("web", v));
    }
    let versions = view.job_versions("default", "web");
    assert_eq!(versions.len(), TRACKED_JOB_VERSIONS as usize);
    assert_eq!(versions[0].version, 9);
    assert_eq!(versions.last().map(|j| j.version), Some(4));
}

#[test]
fn alloc_indexes_follow_moves_and_removal() {
    let mut view = StateView::default();
    let j = job("web", 0);
    view.put_alloc(alloc("a1", &j, "n1"));
    view.put_alloc(alloc("a1", &j, "n2"));
    assert!(view.node_allocs("n1").is_empty());
    assert_eq!(view.node_allocs("n2").len(), 1);
    assert_eq!(view.node_alloc_index.get("n2"), Some(&7));
    view.remove_alloc("a1");
    assert!(view.job_allocs("default", "web").is_empty());
    assert!(view.allocs_by_node.get("n2").is_none());
}

#[test]
fn node_usage_is_the_sum_of_the_nodes_live_allocations_after_any_sequence_of_writes() {
    use nomadish_proto::model::{
        ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_RUN, ALLOC_DESIRED_STOP,
        AllocatedTaskResources,
    };
    let j = job("web", 0);
    let mut view = StateView::default();
    let nodes = ["n1", "n2", "n3"];
    // A fixed pseudo-random walk: puts that move allocations between nodes, change their
    // size and status, and removals.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..2_000 {
        let id = format!("a{}", next(40));
        if next(6) == 0 {
            view.remove_alloc(&id);
        } else {
            let mut a = Allocation::clone(&alloc(&id, &j, nodes[next(3) as usize]));
            let mut task = AllocatedTaskResources::default();
            task.cpu.cpu_shares = 100 + next(400) as i64;
            task.memory.memory_mb = 64 + next(256) as i64;
            a.allocated_resources.tasks.insert("t".into(), task);
            a.allocated_resources.shared.disk_mb = next(300) as i64;
            (a.desired_status, a.client_status) = match next(4) {
                0 => (ALLOC_DESIRED_STOP.into(), ALLOC_CLIENT_RUNNING.into()),
                1 => (ALLOC_DESIRED_RUN.into(), ALLOC_CLIENT_COMPLETE.into()),
                _ => (ALLOC_DESIRED_RUN.into(), ALLOC_CLIENT_RUNNING.into()),
            };
            view.put_alloc(Arc::new(a));
        }
        for node in nodes {
            let mut sum = NodeUsage::default();
            for a in view.node_allocs(node) {
                sum = sum.plus(NodeUsage::of(&a));
            }
            let kept = view.node_usage.get(node).copied().unwrap_or_default();
            assert_eq!(kept, sum, "step {step}, node {node}");
        }
    }
    assert!(
        view.node_usage.values().all(|u| !u.is_zero()),
        "a node whose allocations all ended drops out of the table"
    );
}

#[test]
fn snapshot_round_trip_relinks_jobs() {
    let mut view = StateView {
        index: 42,
        ..StateView::default()
    };
    let j = job("web", 3);
    view.put_job(j.clone());
    view.put_alloc(alloc("a1", &j, "n1"));
    view.put_eval(Arc::new(Evaluation {
        id: "e1".into(),
        namespace: "default".into(),
        job_id: "web".into(),
        ..Evaluation::default()
    }));
    let bytes = encode_snapshot(&view);
    let back = decode_snapshot(&bytes).expect("decodes");
    assert_eq!(back.index, 42);
    let a = back.allocs.get("a1").expect("alloc kept");
    assert_eq!(a.job.as_ref().map(|j| j.version), Some(3));
    assert!(Arc::ptr_eq(
        a.job.as_ref().expect("job"),
        back.job_versions
            .get(&("default".into(), "web".into(), 3))
            .expect("version")
    ));
    assert_eq!(back.job_evals("default", "web").len(), 1);
    assert!(decode_snapshot(b"not json").is_err());
}

#[test]
fn a_stored_snapshot_is_compressed_and_decodes_to_the_same_state_as_the_json_one() {
    let mut view = StateView {
        index: 7,
        ..StateView::default()
    };
    let j = job("web", 1);
    view.put_job(j.clone());
    for i in 0..200 {
        view.put_alloc(alloc(&format!("a{i:03}"), &j, &format!("n{}", i % 10)));
    }
    let json = encode_snapshot(&view);
    let stored = crate::state::encode_stored_snapshot(&view).expect("encodes");
    assert!(
        stored.len() * 5 < json.len(),
        "stored {} bytes, JSON {} bytes",
        stored.len(),
        json.len()
    );
    let from_stored = decode_snapshot(&stored).expect("the compressed form decodes");
    let from_json = decode_snapshot(&json).expect("the JSON form (older snapshots) decodes");
    assert_eq!(state_digest(&from_stored), state_digest(&from_json));
    assert_eq!(state_digest(&from_stored), state_digest(&view));
    assert_eq!(from_stored.allocs.len(), 200);
    // A compressed snapshot cut short is an error, not a partial state.
    assert!(decode_snapshot(&stored[..stored.len() / 2]).is_err());
}

#[test]
fn prefix_search_stops_at_prefix_end() {
    let mut view = StateView::default();
    let j = job("web", 0);
    for id in ["aa11", "aa22", "ab33"] {
        view.put_alloc(alloc(id, &j, "n1"));
    }
    assert_eq!(view.allocs_by_prefix("*", "aa").len(), 2);
    assert_eq!(view.allocs_by_prefix("default", "ab").len(), 1);
    assert_eq!(view.allocs_by_prefix("other", "a").len(), 0);
}

#[tokio::test]
async fn wait_for_index_wakes_on_update() {
    let store = StateStore::new();
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .wait_for_index(5, std::time::Duration::from_secs(5))
                .await
        })
    };
    tokio::task::yield_now().await;
    store.update(|v| v.index = 5);
    assert_eq!(waiter.await.expect("joins"), 5);
    let timed_out = store
        .wait_for_index(9, std::time::Duration::from_millis(20))
        .await;
    assert_eq!(timed_out, 5);
}

#[test]
fn an_allocation_change_wakes_only_its_nodes_stream() {
    let store = StateStore::new();
    let mut a = store.subscribe_node("node-a");
    let b = store.subscribe_node("node-b");
    let web = job("web", 0);
    store.update(|view| {
        view.index = 7;
        view.put_alloc(alloc("a1", &web, "node-a"));
    });
    assert!(a.has_changed().unwrap(), "node-a's stream is woken");
    assert_eq!(*a.borrow_and_update(), 7);
    assert!(!b.has_changed().unwrap(), "node-b's stream sleeps on");
    assert!(
        store.snapshot().touched_nodes.is_empty(),
        "the transient list never reaches a snapshot"
    );
    store.replace(StateView {
        index: 9,
        ..StateView::default()
    });
    assert!(
        b.has_changed().unwrap(),
        "a snapshot install wakes every stream"
    );
}

/// Scores are `f64`s written to the raft log, RPCs and snapshots as JSON. Every server must
/// read back exactly the value that was written, or states that should be equal differ in
/// their last bits (serde_json's default parser can land one unit off on about one float in
/// eight; the `float_roundtrip` feature makes it exact).
#[test]
fn scores_survive_json_and_the_snapshot_bit_for_bit() {
    use nomadish_proto::model::{NodeScoreMeta, ScorerName};
    let j = job("web", 0);
    let mut a = Allocation::clone(&alloc("a1", &j, "n1"));
    let metrics = a.metrics.get_or_insert_with(Default::default);
    // Values serde_json's default parser reads back one unit off.
    let awkward = [0.9931003425883169, 10.334613359558967, 0.21291890726713458];
    for (i, score) in awkward.into_iter().enumerate() {
        let mut meta = NodeScoreMeta {
            node_id: format!("n{i}"),
            norm_score: score,
            ..NodeScoreMeta::default()
        };
        meta.scores
            .insert(ScorerName::fixed(ScorerName::KNOWN[i]), score / 3.0);
        metrics.score_meta_data.push(meta);
    }
    let json = serde_json::to_vec(&a).expect("encodes");
    let back: Allocation = serde_json::from_slice(&json).expect("decodes");
    let scores = |a: &Allocation| -> Vec<u64> {
        let metrics = a.metrics.as_ref().expect("metrics");
        metrics
            .score_meta_data
            .iter()
            .flat_map(|m| m.scores.values().chain([&m.norm_score]))
            .map(|s| s.to_bits())
            .collect()
    };
    assert_eq!(scores(&back), scores(&a));
    assert_eq!(back, a);

    let mut view = StateView::default();
    view.put_job(j);
    view.put_alloc(Arc::new(a));
    let restored = decode_snapshot(&encode_snapshot(&view)).expect("decodes");
    assert_eq!(state_digest(&restored), state_digest(&view));
}
