//! Start hook: build the task's environment and spec from the latest allocation and start
//! it with its driver.

use nomadish_proto::model::{Allocation, Task, now_ns};

use super::{TaskRunner, events, restart::Outcome};
use crate::driver::{self, TaskHandle, TaskSpec};
use crate::error::DriverError;
use crate::taskenv::{EnvInputs, TaskEnv};

/// Starts the task with the newest definition the allocation carries.
pub(super) async fn start(tr: &mut TaskRunner) -> Result<TaskHandle, DriverError> {
    let alloc = tr.alloc.borrow().clone();
    if let Some(task) = find_task(&alloc, &tr.name) {
        tr.task = task.clone();
    }
    let mut env = TaskEnv::build(EnvInputs {
        alloc: &alloc,
        task: &tr.task,
        node: &tr.deps.node,
        region: &tr.deps.region,
        alloc_dir: tr.alloc_dir.root(),
    });
    if tr.task.driver == driver::docker::DOCKER {
        env.use_container_dirs(tr.alloc_dir.root(), &tr.name);
    }
    // `env = true` templates, as Nomad: after the task's own environment.
    let template_env = tr
        .template_env
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    env.env.extend(template_env);
    let spec = TaskSpec {
        driver: tr.task.driver.clone(),
        task_name: tr.name.clone(),
        user: tr.task.user.clone(),
        config: env.interpolate_config(&tr.task.config),
        env: env.env,
        task_dir: tr.alloc_dir.task_dir(&tr.name),
        log_dir: tr.alloc_dir.logs_dir(),
        log_config: tr.task.log_config.clone().unwrap_or_default(),
        host_mounts: driver::mounts::resolve(&alloc, &tr.task, &tr.deps.node)?,
    };
    if !spec.host_mounts.is_empty() {
        match spec.driver.as_str() {
            driver::docker::DOCKER => {}
            crate::fingerprint::RAW_EXEC => {
                driver::mounts::link_into_task_dir(&spec.task_dir, &spec.host_mounts)?;
            }
            driver::ssh::SSH => {
                return Err(DriverError::Unsupported {
                    driver: driver::ssh::SSH,
                    what: "host volumes (volume_mount): the task runs on another machine",
                });
            }
            _ => {}
        }
    }
    driver::start(&tr.deps.drivers, &spec).await
}

/// Records a `Driver Failure` and tells the restart policy what kind of failure it was.
pub(super) fn driver_failed(tr: &mut TaskRunner, err: &DriverError) -> Outcome {
    tracing::warn!(alloc_id = %tr.alloc_id, task = %tr.name, error = %err, "task failed to start");
    tr.event(events::driver_failure(now_ns(), &err.to_string(), false));
    Outcome::StartFailed {
        recoverable: err.is_recoverable(),
    }
}

/// The task of this name in the allocation's group.
pub fn find_task<'a>(alloc: &'a Allocation, name: &str) -> Option<&'a Task> {
    alloc.job.as_ref()?.group(&alloc.task_group)?.task(name)
}

/// Counts a start attempt: `nomad.client.allocs.start{driver}`, or a failure to start.
pub(super) fn record_start(driver: &str, ok: bool) {
    if ok {
        nomadish_metrics::incr("nomad.client.allocs.start", &[("driver", driver)]);
    } else {
        record_failure(driver, "start");
    }
}

/// Counts a task failure (`reason`: `start` when the driver could not start it, `exit` when
/// it exited unsuccessfully) as `nomad.client.allocs.failed{driver,reason}`.
pub(super) fn record_failure(driver: &str, reason: &str) {
    let labels = [("driver", driver), ("reason", reason)];
    nomadish_metrics::incr("nomad.client.allocs.failed", &labels);
}
