//! Rolling updates, canaries and the deployment record.

use std::sync::Arc;

use nomadish_proto::model::{
    AllocDeploymentStatus, Allocation, DEPLOYMENT_STATUS_CANCELLED, DEPLOYMENT_STATUS_PAUSED,
    Deployment, Job, Node, UpdateStrategy, deployment_desc,
};

use super::fixture::*;
use crate::scheduler::{Outcome, State, schedule};

/// The in-memory state plus the job's latest deployment.
struct DState {
    mem: MemState,
    deployment: Option<Arc<Deployment>>,
}

impl State for DState {
    fn index(&self) -> u64 {
        self.mem.index()
    }
    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.mem.job(namespace, id)
    }
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        self.mem.allocs_by_job(namespace, job_id)
    }
    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.mem.allocs_by_node(node_id)
    }
    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.mem.node(id)
    }
    fn nodes(&self) -> Vec<Arc<Node>> {
        self.mem.nodes()
    }
    fn latest_deployment(&self, _: &str, _: &str) -> Option<Arc<Deployment>> {
        self.deployment.clone()
    }
}

impl DState {
    fn run(&self, job: &Job) -> Outcome {
        schedule(self, &eval_for(job), NOW, 7).unwrap()
    }

    /// Commits the plan and its new deployment, as the plan applier and FSM would.
    fn apply(&mut self, out: &Outcome) {
        self.mem.apply(&out.plan);
        if let Some(d) = &out.plan.deployment {
            self.deployment = Some(Arc::new(d.clone()));
        }
        for u in &out.plan.deployment_updates {
            let mut d = Deployment::clone(self.deployment.as_ref().unwrap());
            d.status = u.status.clone();
            d.status_description = u.status_description.clone();
            self.deployment = Some(Arc::new(d));
        }
    }

    fn edit_deployment(&mut self, f: impl FnOnce(&mut Deployment)) {
        let mut d = Deployment::clone(self.deployment.as_ref().unwrap());
        f(&mut d);
        self.deployment = Some(Arc::new(d));
    }

    fn mark_healthy(&mut self, ids: &[String]) {
        for id in ids {
            self.mem.edit_alloc(id, |a| {
                let canary = a.deployment_status.as_ref().is_some_and(|s| s.canary);
                a.client_status = "running".into();
                a.deployment_status = Some(AllocDeploymentStatus {
                    healthy: Some(true),
                    canary,
                    ..Default::default()
                });
            });
        }
    }
}

fn rolling(count: i64, max_parallel: i64, canary: i64) -> Job {
    let mut j = job("web", count);
    j.task_groups[0].update = Some(UpdateStrategy {
        max_parallel,
        canary,
        ..UpdateStrategy::nomad_default()
    });
    j
}

/// A destructive change of the job (new task config), as the next version.
fn changed(job: &Job) -> Job {
    let mut j = next_version(job);
    j.task_groups[0].tasks[0]
        .config
        .insert("image".into(), serde_json::json!("v2"));
    j
}

/// Three allocations of v0 running, then v1 registered.
fn running_then_updated(max_parallel: i64, canary: i64) -> (DState, Arc<Job>) {
    let mut mem = MemState::with_nodes(nodes(3));
    let v0 = mem.put_job(rolling(3, max_parallel, canary));
    for i in 0..3 {
        mem.put_alloc(alloc(&v0, i, &format!("node-{i:04}")));
    }
    let v1 = mem.put_job(changed(&v0));
    (
        DState {
            mem,
            deployment: None,
        },
        v1,
    )
}

fn new_ids(out: &Outcome) -> Vec<String> {
    placed(out).iter().map(|a| a.id.clone()).collect()
}

#[test]
fn first_rollout_creates_a_deployment_for_every_placement() {
    let mut mem = MemState::with_nodes(nodes(3));
    let v0 = mem.put_job(rolling(3, 1, 0));
    let state = DState {
        mem,
        deployment: None,
    };
    let out = state.run(&v0);
    let d = out.plan.deployment.as_ref().expect("a deployment");
    assert_eq!(d.status_description, deployment_desc::RUNNING);
    assert_eq!(d.task_groups["web"].desired_total, 3);
    assert_eq!(placed(&out).len(), 3, "new placements are not limited");
    assert!(placed(&out).iter().all(|a| a.deployment_id == d.id));
}

#[test]
fn destructive_updates_roll_max_parallel_at_a_time() {
    let (mut state, v1) = running_then_updated(1, 0);
    let out = state.run(&v1);
    assert_eq!((placed(&out).len(), stopped(&out).len()), (1, 1));
    let d = out.plan.deployment.clone().expect("a deployment");
    assert_eq!(d.job_version, 1);
    state.apply(&out);
    // The replacement is not healthy yet: nothing more happens.
    assert!(state.run(&v1).plan.is_no_op());
    state.mark_healthy(&new_ids(&out));
    let out2 = state.run(&v1);
    assert_eq!((placed(&out2).len(), stopped(&out2).len()), (1, 1));
    assert!(out2.plan.deployment.is_none(), "the deployment continues");
    assert_eq!(placed(&out2)[0].deployment_id, d.id);
}

#[test]
fn jobs_without_update_block_replace_everything_at_once() {
    let (mut state, _) = running_then_updated(1, 0);
    let mut v1 = Job::clone(&state.mem.job("default", "web").unwrap());
    v1.task_groups[0].update = None;
    let v1 = state.mem.put_job(v1);
    let out = state.run(&v1);
    assert_eq!((placed(&out).len(), stopped(&out).len()), (3, 3));
    assert!(out.plan.deployment.is_none());
    assert!(placed(&out).iter().all(|a| a.deployment_id.is_empty()));
}

#[test]
fn canaries_wait_for_promotion_then_the_rest_rolls() {
    let (mut state, v1) = running_then_updated(1, 1);
    let out = state.run(&v1);
    let d = out.plan.deployment.clone().unwrap();
    assert_eq!(
        d.status_description,
        deployment_desc::RUNNING_NEEDS_PROMOTION
    );
    assert_eq!(d.task_groups["web"].desired_canaries, 1);
    assert_eq!((placed(&out).len(), stopped(&out).len()), (1, 0));
    assert!(placed(&out)[0].deployment_status.as_ref().unwrap().canary);
    state.apply(&out);
    let canary = new_ids(&out);
    state.mark_healthy(&canary);
    assert!(state.run(&v1).plan.is_no_op(), "held until promoted");
    state.edit_deployment(|d| d.task_groups.get_mut("web").unwrap().promoted = true);
    let out = state.run(&v1);
    // The allocation sharing the canary's slot goes, and one more is replaced.
    assert_eq!((placed(&out).len(), stopped(&out).len()), (1, 2));
    assert!(stopped(&out).iter().all(|a| !canary.contains(&a.id)));
    let names: Vec<&str> = stopped(&out).iter().map(|a| a.name.as_str()).collect();
    let canary_name = state.mem.allocs[&canary[0]].name.clone();
    assert!(names.contains(&canary_name.as_str()));
}

#[test]
fn paused_deployments_replace_nothing_and_newer_versions_cancel() {
    let (mut state, v1) = running_then_updated(1, 0);
    let out = state.run(&v1);
    state.apply(&out);
    state.mark_healthy(&new_ids(&out));
    state.edit_deployment(|d| d.status = DEPLOYMENT_STATUS_PAUSED.into());
    assert!(state.run(&v1).plan.is_no_op());
    let v2 = state.mem.put_job(changed(&v1));
    let out = state.run(&v2);
    assert_eq!(out.plan.deployment_updates.len(), 1);
    assert_eq!(
        out.plan.deployment_updates[0].status,
        DEPLOYMENT_STATUS_CANCELLED
    );
    assert_eq!(
        out.plan.deployment_updates[0].status_description,
        deployment_desc::NEWER_JOB
    );
    assert_eq!(out.plan.deployment.as_ref().unwrap().job_version, 2);
}

#[test]
fn stopping_the_job_cancels_its_deployment() {
    let (mut state, v1) = running_then_updated(1, 0);
    let out = state.run(&v1);
    state.apply(&out);
    let mut stopped_job = next_version(&v1);
    stopped_job.stop = true;
    let stopped_job = state.mem.put_job(stopped_job);
    let out = state.run(&stopped_job);
    assert_eq!(
        out.plan.deployment_updates[0].status_description,
        deployment_desc::STOPPED_JOB
    );
}

#[test]
fn a_reverted_version_updates_in_place_into_a_new_deployment() {
    let (mut state, v1) = running_then_updated(1, 1);
    let out = state.run(&v1);
    state.apply(&out);
    let canary = new_ids(&out)[0].clone();
    state
        .mem
        .edit_alloc(&canary, |a| a.client_status = "failed".into());
    state.edit_deployment(|d| d.status = "failed".into());
    // Version 2 is version 0's specification again.
    let mut v2 = Job::clone(&state.mem.job("default", "web").unwrap());
    v2.task_groups[0].tasks[0].config.clear();
    v2.version = 2;
    let v2 = state.mem.put_job(v2);
    let out = state.run(&v2);
    let d = out
        .plan
        .deployment
        .as_ref()
        .expect("a deployment for version 2");
    assert_eq!(
        (d.job_version, d.task_groups["web"].desired_canaries),
        (2, 0)
    );
    assert!(
        stopped(&out).is_empty(),
        "nothing stopped: {:?}",
        stopped(&out)
    );
    let updated = placed(&out);
    assert_eq!(updated.len(), 3);
    assert!(updated.iter().all(|a| a.id != canary
        && a.deployment_id == d.id
        && a.deployment_status.is_none()
        && a.job.as_ref().unwrap().version == 2));
}
