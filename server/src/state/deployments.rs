//! Deployment queries on the state view: by ID prefix, by job, the latest of a job.

use std::sync::Arc;

use nomadish_proto::model::{Allocation, Deployment};

use super::StateView;

impl StateView {
    /// Deployments of a namespace (`*`: all) whose ID starts with `prefix`, newest first.
    pub fn deployments_by_prefix(&self, namespace: &str, prefix: &str) -> Vec<Arc<Deployment>> {
        let mut list: Vec<Arc<Deployment>> = self
            .deployments
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, d)| namespace == "*" || d.namespace == namespace)
            .map(|(_, d)| d.clone())
            .collect();
        list.sort_by(|a, b| b.create_index.cmp(&a.create_index).then(a.id.cmp(&b.id)));
        list
    }

    /// Every deployment of a job, newest first.
    pub fn job_deployments(&self, namespace: &str, job_id: &str) -> Vec<Arc<Deployment>> {
        let mut list: Vec<Arc<Deployment>> = self
            .deployments
            .values()
            .filter(|d| d.namespace == namespace && d.job_id == job_id)
            .cloned()
            .collect();
        list.sort_by(|a, b| b.create_index.cmp(&a.create_index).then(a.id.cmp(&b.id)));
        list
    }

    /// The job's most recently created deployment.
    pub fn latest_deployment(&self, namespace: &str, job_id: &str) -> Option<Arc<Deployment>> {
        self.job_deployments(namespace, job_id).into_iter().next()
    }

    /// The allocations placed by a deployment.
    pub fn deployment_allocs(&self, deployment: &Deployment) -> Vec<Arc<Allocation>> {
        self.job_allocs(&deployment.namespace, &deployment.job_id)
            .into_iter()
            .filter(|a| a.deployment_id == deployment.id)
            .collect()
    }

    /// Records a deployment.
    pub fn put_deployment(&mut self, deployment: Arc<Deployment>) {
        self.changes
            .put(crate::events::Payload::Deployment(deployment.clone()));
        self.deployments.insert(deployment.id.clone(), deployment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{decode_snapshot, encode_snapshot, state_digest};
    use nomadish_proto::model::{DEPLOYMENT_STATUS_RUNNING, DeploymentState};

    fn deployment(id: &str, job: &str, create_index: u64) -> Arc<Deployment> {
        let mut d = Deployment {
            id: id.into(),
            namespace: "default".into(),
            job_id: job.into(),
            status: DEPLOYMENT_STATUS_RUNNING.into(),
            create_index,
            ..Deployment::default()
        };
        d.task_groups.insert(
            "web".into(),
            DeploymentState {
                desired_total: 3,
                healthy_allocs: 1,
                ..DeploymentState::default()
            },
        );
        Arc::new(d)
    }

    #[test]
    fn latest_is_the_newest_of_the_job() {
        let mut view = StateView::default();
        view.put_deployment(deployment("aaaa", "web", 5));
        view.put_deployment(deployment("bbbb", "web", 9));
        view.put_deployment(deployment("cccc", "db", 12));
        assert_eq!(view.latest_deployment("default", "web").unwrap().id, "bbbb");
        assert_eq!(view.deployments_by_prefix("*", "").len(), 3);
        assert_eq!(view.deployments_by_prefix("default", "bb")[0].id, "bbbb");
        assert!(view.deployments_by_prefix("other", "").is_empty());
    }

    #[test]
    fn deployments_survive_the_snapshot_and_change_the_digest() {
        let mut view = StateView::default();
        let before = state_digest(&view);
        view.put_deployment(deployment("aaaa", "web", 5));
        assert_ne!(state_digest(&view), before);
        let restored = decode_snapshot(&encode_snapshot(&view)).unwrap();
        assert_eq!(restored.deployments, view.deployments);
        assert_eq!(state_digest(&restored), state_digest(&view));
    }
}
