//! Soft preferences through the whole scheduler: `spread` (even and targeted) and `affinity`.

use std::collections::BTreeMap;

use nomadish_proto::model::{Affinity, Spread, SpreadTarget};

use super::fixture::*;

/// Nodes `node-<i>` with `meta.rack = r<i % racks>`.
fn racked(count: usize, racks: usize) -> MemState {
    let mut state = MemState::with_nodes(nodes(count));
    for i in 0..count {
        state.edit_node(&format!("node-{i:04}"), |n| {
            n.meta.insert("rack".into(), format!("r{}", i % racks));
        });
    }
    state
}

fn per_rack(state: &MemState, out: &crate::scheduler::Outcome) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for a in placed(out) {
        let rack = state.nodes[&a.node_id].meta["rack"].clone();
        *counts.entry(rack).or_insert(0) += 1;
    }
    counts
}

#[test]
fn even_spread_balances_racks() {
    let mut state = racked(30, 3);
    let mut j = job("web", 9);
    j.task_groups[0].spreads = vec![Spread {
        attribute: "${meta.rack}".into(),
        weight: 100,
        spread_target: vec![],
    }];
    let job = state.put_job(j);
    let out = run(&state, &job);
    let counts = per_rack(&state, &out);
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), vec![3, 3, 3]);
    let scored = placed(&out).iter().any(|a| {
        a.metrics
            .as_ref()
            .unwrap()
            .score_meta_data
            .iter()
            .any(|n| n.scores.contains_key("allocation-spread"))
    });
    assert!(scored);
}

#[test]
fn targeted_spread_follows_percentages() {
    let mut state = racked(20, 2);
    let mut j = job("web", 10);
    j.spreads = vec![Spread {
        attribute: "${meta.rack}".into(),
        weight: 100,
        spread_target: vec![
            SpreadTarget {
                value: "r0".into(),
                percent: 70,
            },
            SpreadTarget {
                value: "r1".into(),
                percent: 30,
            },
        ],
    }];
    let job = state.put_job(j);
    let out = run(&state, &job);
    let counts = per_rack(&state, &out);
    assert_eq!(counts["r0"], 7);
    assert_eq!(counts["r1"], 3);
}

#[test]
fn affinity_pulls_placements_to_matching_nodes() {
    let mut state = racked(40, 4);
    let mut j = job("web", 5);
    j.task_groups[0].affinities = vec![Affinity {
        l_target: "${meta.rack}".into(),
        r_target: "r2".into(),
        operand: "=".into(),
        weight: 100,
    }];
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(per_rack(&state, &out).get("r2"), Some(&5));
    let a = placed(&out)[0];
    let metrics = a.metrics.as_ref().unwrap();
    let chosen = metrics
        .score_meta_data
        .iter()
        .find(|n| n.node_id == a.node_id)
        .expect("the chosen node's scores");
    assert_eq!(chosen.scores["node-affinity"], 1.0);
}

#[test]
fn negative_affinity_avoids_nodes() {
    let mut state = racked(20, 2);
    let mut j = job("web", 6);
    j.affinities = vec![Affinity {
        l_target: "${meta.rack}".into(),
        r_target: "r0".into(),
        operand: "=".into(),
        weight: -100,
    }];
    let job = state.put_job(j);
    let out = run(&state, &job);
    assert_eq!(per_rack(&state, &out).get("r1"), Some(&6));
}

#[test]
fn spread_algorithm_prefers_the_emptier_node() {
    let mut state = MemState::with_nodes(nodes(2));
    let other = state.put_job(job("other", 1));
    state.put_alloc(alloc(&other, 0, "node-0000"));
    let job = state.put_job(job("web", 1));
    // binpack fills the busier node...
    assert_eq!(placed(&run(&state, &job))[0].node_id, "node-0000");
    // ...spread picks the empty one.
    state.config = Some(nomadish_proto::model::SchedulerConfiguration {
        scheduler_algorithm: "spread".into(),
        ..Default::default()
    });
    assert_eq!(placed(&run(&state, &job))[0].node_id, "node-0001");
}
