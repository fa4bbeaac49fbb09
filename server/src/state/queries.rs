//! Read queries over a [`StateView`]: lookups, prefix searches, summaries, job status, and the
//! scheduler's [`State`](crate::scheduler::State) trait.

use std::sync::Arc;

use nomadish_proto::model::{
    ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, ALLOC_CLIENT_LOST, ALLOC_CLIENT_PENDING,
    ALLOC_CLIENT_RUNNING, ALLOC_CLIENT_UNKNOWN, Allocation, EVAL_STATUS_COMPLETE, Evaluation,
    JOB_STATUS_DEAD, JOB_STATUS_PENDING, JOB_STATUS_RUNNING, Job, JobChildrenSummary, JobSummary,
    Node, TaskGroupSummary,
};

use super::{JobKey, StateView};
use crate::scheduler::State;

/// The wildcard namespace: every namespace.
pub const ALL_NAMESPACES: &str = "*";

fn ns_matches(filter: &str, ns: &str) -> bool {
    filter == ALL_NAMESPACES || filter == ns
}

impl StateView {
    /// The current version of a job.
    pub fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.jobs
            .get(&(namespace.to_string(), id.to_string()))
            .cloned()
    }

    /// Jobs in `namespace` (or `*`) whose ID starts with `prefix`, in ID order.
    pub fn jobs_by_prefix(&self, namespace: &str, prefix: &str) -> Vec<Arc<Job>> {
        self.jobs
            .values()
            .filter(|j| ns_matches(namespace, &j.namespace) && j.id.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Tracked versions of a job, newest first.
    pub fn job_versions(&self, namespace: &str, id: &str) -> Vec<Arc<Job>> {
        let (ns, id) = (namespace.to_string(), id.to_string());
        let mut versions: Vec<_> = self
            .job_versions
            .range((ns.clone(), id.clone(), 0)..=(ns, id, u64::MAX))
            .map(|(_, j)| j.clone())
            .collect();
        versions.reverse();
        versions
    }

    /// Every allocation of a job.
    pub fn job_allocs(&self, namespace: &str, id: &str) -> Vec<Arc<Allocation>> {
        let key: JobKey = (namespace.to_string(), id.to_string());
        self.allocs_by_job
            .get(&key)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| self.allocs.get(i).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every evaluation of a job.
    pub fn job_evals(&self, namespace: &str, id: &str) -> Vec<Arc<Evaluation>> {
        let key: JobKey = (namespace.to_string(), id.to_string());
        self.evals_by_job
            .get(&key)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| self.evals.get(i).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every allocation on a node.
    pub fn node_allocs(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.allocs_by_node
            .get(node_id)
            .map(|allocs| allocs.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The allocations an evaluation created or changed.
    pub fn eval_allocs(&self, eval: &Evaluation) -> Vec<Arc<Allocation>> {
        self.job_allocs(&eval.namespace, &eval.job_id)
            .into_iter()
            .filter(|a| a.eval_id == eval.id)
            .collect()
    }

    /// Allocations in `namespace` (or `*`) whose ID starts with `prefix`.
    pub fn allocs_by_prefix(&self, namespace: &str, prefix: &str) -> Vec<Arc<Allocation>> {
        prefix_range(&self.allocs, prefix)
            .filter(|a| ns_matches(namespace, &a.namespace))
            .collect()
    }

    /// Evaluations in `namespace` (or `*`) whose ID starts with `prefix`.
    pub fn evals_by_prefix(&self, namespace: &str, prefix: &str) -> Vec<Arc<Evaluation>> {
        prefix_range(&self.evals, prefix)
            .filter(|e| ns_matches(namespace, &e.namespace))
            .collect()
    }

    /// Nodes whose ID starts with `prefix`.
    pub fn nodes_by_prefix(&self, prefix: &str) -> Vec<Arc<Node>> {
        prefix_range(&self.nodes, prefix).collect()
    }

    /// The job's summary: allocation counts per group by client status, and queued counts
    /// from its latest evaluation.
    pub fn job_summary(&self, job: &Job) -> JobSummary {
        let mut summary = JobSummary {
            job_id: job.id.clone(),
            namespace: job.namespace.clone(),
            create_index: job.create_index,
            modify_index: job.modify_index,
            ..JobSummary::default()
        };
        for tg in &job.task_groups {
            summary
                .summary
                .insert(tg.name.clone(), TaskGroupSummary::default());
        }
        if job.is_parent() {
            summary.children = self.children_summary(job);
        }
        for alloc in self.job_allocs(&job.namespace, &job.id) {
            let tg = summary.summary.entry(alloc.task_group.clone()).or_default();
            match alloc.client_status.as_str() {
                ALLOC_CLIENT_PENDING => tg.starting += 1,
                ALLOC_CLIENT_RUNNING => tg.running += 1,
                ALLOC_CLIENT_COMPLETE => tg.complete += 1,
                ALLOC_CLIENT_FAILED => tg.failed += 1,
                ALLOC_CLIENT_LOST => tg.lost += 1,
                ALLOC_CLIENT_UNKNOWN => tg.unknown += 1,
                _ => {}
            }
            summary.modify_index = summary.modify_index.max(alloc.modify_index);
        }
        let latest = self
            .job_evals(&job.namespace, &job.id)
            .into_iter()
            .filter(|e| e.status == EVAL_STATUS_COMPLETE || !e.queued_allocations.is_empty())
            .max_by_key(|e| e.modify_index);
        if let Some(eval) = latest {
            for (group, queued) in &eval.queued_allocations {
                if let Some(tg) = summary.summary.get_mut(group) {
                    tg.queued = *queued;
                }
            }
        }
        summary
    }

    /// Counts a parent job's children (`PARENT/...` with its ID as `ParentID`) by status.
    pub fn children_summary(&self, job: &Job) -> JobChildrenSummary {
        let prefix = format!("{}/", job.id);
        let mut c = JobChildrenSummary::default();
        let children = self
            .jobs
            .range((job.namespace.clone(), prefix.clone())..)
            .take_while(|((ns, id), _)| *ns == job.namespace && id.starts_with(&prefix))
            .filter(|(_, child)| child.parent_id == job.id);
        for (_, child) in children {
            match child.status.as_str() {
                JOB_STATUS_RUNNING => c.running += 1,
                JOB_STATUS_DEAD => c.dead += 1,
                _ => c.pending += 1,
            }
        }
        c
    }

    /// Nomad's job status: `running` while any allocation is live, `pending` while an
    /// evaluation is outstanding, else `dead` (parents of periodic/parameterized children are
    /// `running` until stopped).
    pub fn compute_job_status(&self, job: &Job) -> &'static str {
        if job.is_parent() {
            return if job.stop {
                JOB_STATUS_DEAD
            } else {
                JOB_STATUS_RUNNING
            };
        }
        // Called on every write that touches the job's allocations: the scans stop at the
        // first live allocation or outstanding evaluation instead of collecting the job's
        // (possibly thousands of) allocations first.
        let key: JobKey = (job.namespace.clone(), job.id.clone());
        let alloc_ids = self.allocs_by_job.get(&key);
        let live = |ids: &imbl::OrdSet<String>| {
            ids.iter()
                .any(|i| self.allocs.get(i).is_some_and(|a| !a.terminal()))
        };
        if alloc_ids.is_some_and(live) {
            return JOB_STATUS_RUNNING;
        }
        let eval_ids = self.evals_by_job.get(&key);
        let outstanding = |ids: &imbl::OrdSet<String>| {
            ids.iter()
                .any(|i| self.evals.get(i).is_some_and(|e| !e.terminal()))
        };
        if eval_ids.is_some_and(outstanding) {
            return JOB_STATUS_PENDING;
        }
        let has_allocs =
            alloc_ids.is_some_and(|ids| ids.iter().any(|i| self.allocs.contains_key(i)));
        let has_evals = eval_ids.is_some_and(|ids| ids.iter().any(|i| self.evals.contains_key(i)));
        if has_allocs || has_evals || job.stop {
            JOB_STATUS_DEAD
        } else {
            JOB_STATUS_PENDING
        }
    }
}

fn prefix_range<'a, V: Clone>(
    map: &'a imbl::OrdMap<String, V>,
    prefix: &str,
) -> impl Iterator<Item = V> + 'a {
    let prefix = prefix.to_string();
    map.range(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&prefix))
        .map(|(_, v)| v.clone())
}

impl State for StateView {
    fn index(&self) -> u64 {
        self.index
    }

    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        StateView::job(self, namespace, id)
    }

    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        self.job_allocs(namespace, job_id)
    }

    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.node_allocs(node_id)
    }

    fn node_usage(&self, node_id: &str) -> super::NodeUsage {
        self.node_usage.get(node_id).copied().unwrap_or_default()
    }

    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.nodes.get(id).cloned()
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.values().cloned().collect()
    }

    fn latest_deployment(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> Option<Arc<nomadish_proto::model::Deployment>> {
        StateView::latest_deployment(self, namespace, job_id)
    }

    fn scheduler_config(&self) -> nomadish_proto::model::SchedulerConfiguration {
        self.scheduler_config
            .as_deref()
            .cloned()
            .unwrap_or_default()
    }

    fn namespace_quota(&self, namespace: &str) -> Option<nomadish_proto::model::QuotaLimits> {
        self.namespace(namespace).and_then(|ns| ns.limits())
    }

    fn namespace_allocs(&self, namespace: &str) -> Vec<Arc<Allocation>> {
        self.namespace_live_allocs(namespace)
    }
}
