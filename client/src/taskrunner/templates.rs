//! Prestart hook and change handling for the task's templates (see `crate::template`).
//!
//! ```text
//!   prestart (after artifacts): render every template; a nomadVar that does not exist yet
//!     -> "Template" event "Missing: nomad.var.block(PATH@NS.REGION)", wait for it;
//!     a render/permission failure -> "Template" event "Template failed: ..." (fails the task)
//!   running: watcher action Restart -> "Restart Signaled" (Template with change_mode restart
//!     re-rendered) -> kill -> start again; Signal(S) -> "Signaling" (Template re-rendered)
//! ```

use nomadish_proto::model::{TaskEvent, now_ns};
use tokio::sync::mpsc;

use super::{Supervised, TaskRunner, operate, restart::Outcome};
use crate::driver::{self, TaskHandle};
use crate::taskenv::{EnvInputs, TaskEnv};
use crate::template::data::DataClient;
use crate::template::{ChangeAction, RenderAll, Templates};

/// Event type of template problems (Nomad's `Template`).
pub const TEMPLATE_EVENT: &str = "Template";
/// Restart reason after a re-render.
pub const RESTART_REASON: &str = "Template with change_mode restart re-rendered";
/// Actions buffered from the watcher.
const ACTION_BUFFER: usize = 4;

/// Aborts the watcher when the task runner goes away.
#[derive(Debug)]
pub(super) struct Watcher(tokio::task::JoinHandle<()>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn failed(now: i64, error: &str) -> TaskEvent {
    let msg = format!("Template failed: {error}");
    let mut e = TaskEvent::new(TEMPLATE_EVENT, now, msg);
    e.fails_task = true;
    e.details.insert("template_error".into(), error.into());
    e
}

/// Renders the templates before the first start and starts their watcher.
pub(super) async fn render_templates(tr: &mut TaskRunner) -> Result<(), Outcome> {
    if tr.task.templates.is_empty() {
        return Ok(());
    }
    let alloc = tr.alloc.borrow().clone();
    let env = TaskEnv::build(EnvInputs {
        alloc: &alloc,
        task: &tr.task,
        node: &tr.deps.node,
        region: &tr.deps.region,
        alloc_dir: tr.alloc_dir.root(),
    });
    let client = tr.deps.servers.clone().map(|pool| DataClient {
        pool,
        node_id: tr.deps.node.id.clone(),
        secret_id: tr.deps.node.secret_id.clone(),
        alloc_id: tr.alloc_id.clone(),
        task: tr.name.clone(),
    });
    let task_dir = tr.alloc_dir.task_dir(&tr.name);
    let templates = Templates::new(
        &tr.task.templates,
        tr.alloc_dir.root(),
        &task_dir,
        env.env,
        client,
    );
    let mut templates = match templates {
        Ok(t) => t,
        Err(e) => return Err(fail(tr, &e)),
    };
    let mut reported_missing = false;
    loop {
        let rendered = tokio::select! {
            r = templates.render_all() => r,
            _ = tr.kill_requested() => return Err(Outcome::StartFailed { recoverable: false }),
        };
        match rendered {
            Ok(RenderAll::Done(_)) => break,
            Ok(RenderAll::Missing(paths)) => {
                if !reported_missing {
                    reported_missing = true;
                    let ns = &alloc.namespace;
                    let region = &tr.deps.region;
                    let list: Vec<String> = paths
                        .iter()
                        .map(|p| format!("nomad.var.block({p}@{ns}.{region})"))
                        .collect();
                    let msg = format!("Missing: {}", list.join(", "));
                    tr.event(TaskEvent::new(TEMPLATE_EVENT, now_ns(), msg));
                    tr.emit();
                }
                let waited = tokio::select! {
                    r = templates.wait_for_variables(&paths) => r,
                    _ = tr.kill_requested() => return Err(Outcome::StartFailed { recoverable: false }),
                };
                if let Err(e) = waited {
                    return Err(fail(tr, &e));
                }
            }
            Err(e) => return Err(fail(tr, &e)),
        }
    }
    tr.template_env = templates.env_out.clone();
    let (tx, rx) = mpsc::channel(ACTION_BUFFER);
    tr.template_rx = Some(rx);
    tr.template_watch = Some(Watcher(tokio::spawn(templates.watch(tx))));
    Ok(())
}

fn fail(tr: &mut TaskRunner, error: &str) -> Outcome {
    tracing::warn!(alloc_id = %tr.alloc_id, task = %tr.name, error, "template failed");
    tr.event(failed(now_ns(), error));
    Outcome::StartFailed { recoverable: false }
}

/// The next watcher action, or never when there is no watcher.
pub(super) async fn next_action(rx: &mut Option<mpsc::Receiver<ChangeAction>>) -> ChangeAction {
    match rx {
        Some(r) => match r.recv().await {
            Some(a) => a,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Drops actions queued while the task was not running (its next start uses the new files).
pub(super) fn drain(rx: &mut Option<mpsc::Receiver<ChangeAction>>) {
    if let Some(r) = rx {
        while r.try_recv().is_ok() {}
    }
}

/// Acts on a re-render while the task runs; `Some` when supervision of this run ends.
pub(super) async fn on_change(
    tr: &mut TaskRunner,
    handle: &mut TaskHandle,
    action: ChangeAction,
) -> Option<Supervised> {
    match action {
        ChangeAction::Restart => {
            operate::restart(tr, handle, RESTART_REASON).await;
            Some(Supervised::Restart)
        }
        ChangeAction::Signal(name) => {
            let signal = driver::parse_signal(&name);
            let mut e = operate::signaling(now_ns(), signal);
            e.display_message = "Template re-rendered".to_string();
            tr.event(e);
            tr.emit();
            if let Err(err) = handle.control().signal(signal).await {
                tracing::warn!(alloc_id = %tr.alloc_id, task = %tr.name, error = %err, "template signal failed");
            }
            None
        }
    }
}
