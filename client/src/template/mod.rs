//! Task templates (`template { ... }`): rendered before the task starts, re-rendered when the
//! data they read changes.
//!
//! ```text
//!   prestart: Templates::new (paths checked, sources read)
//!             render_all ──(data funcs discover deps)──> TemplateData RPC ──> render again
//!             ├─ Missing(nomadVar paths) -> "Missing: ..." event, wait for the variables
//!             └─ Done -> files written atomically (perms), env=true output -> task env
//!   running:  watcher: one blocking TemplateData call per dependency (min_index = last seen)
//!             changed answer -> render_all -> changed files -> random splay
//!             -> ChangeAction::Restart | Signal(change_signal) to the task runner (noop: none)
//! ```
//!
//! Limits: gtmpl ranges over maps in unspecified key order; `error_on_missing_key` is
//! detected from gtmpl's `<no value>` output.

pub mod data;
mod files;
mod funcs;
pub mod render;

#[cfg(test)]
mod render_tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::select_all;
use nomadish_proto::model::{TEMPLATE_CHANGE_RESTART, TEMPLATE_CHANGE_SIGNAL, Template};
use tokio::sync::mpsc;

use data::{BLOCKING_WAIT, DataClient, FetchError};
use render::{Dep, Fetched, RenderInput, Rendered};

pub use files::{parse_env, resolve_inside};

/// Pause after a failed fetch before trying again.
const RETRY: Duration = Duration::from_secs(1);
/// Render rounds (each may discover new dependencies) before giving up.
const MAX_ROUNDS: usize = 16;

/// What the task runner must do after a re-render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeAction {
    /// Restart the task (`change_mode = "restart"`).
    Restart,
    /// Send this signal (`change_mode = "signal"`).
    Signal(String),
}

/// How a full render ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderAll {
    /// Every template rendered; the indexes of those whose file changed.
    Done(Vec<usize>),
    /// Variables read with `nomadVar` do not exist yet.
    Missing(BTreeSet<String>),
}

struct Spec {
    tmpl: Template,
    text: String,
    dest: PathBuf,
    mode: u32,
    last: Option<String>,
    used: BTreeSet<Dep>,
}

/// A task's templates and the data they read.
pub struct Templates {
    specs: Vec<Spec>,
    env: BTreeMap<String, String>,
    data: HashMap<Dep, Fetched>,
    client: Option<DataClient>,
    /// Variables from `env = true` templates (shared with the task runner).
    pub env_out: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Templates {
    /// Checks paths and reads `source` files. `env` is the task's environment (`env "X"`).
    pub fn new(
        templates: &[Template],
        alloc_root: &Path,
        task_dir: &Path,
        env: BTreeMap<String, String>,
        client: Option<DataClient>,
    ) -> Result<Self, String> {
        let mut specs = Vec::new();
        for t in templates {
            let text = if t.source_path.is_empty() {
                t.embedded_tmpl.clone()
            } else {
                let src = resolve_inside(alloc_root, task_dir, &t.source_path)?;
                std::fs::read_to_string(&src)
                    .map_err(|e| format!("reading source {:?}: {e}", t.source_path))?
            };
            if t.dest_path.is_empty() {
                return Err("template has no destination".to_string());
            }
            specs.push(Spec {
                dest: resolve_inside(alloc_root, task_dir, &t.dest_path)?,
                mode: files::parse_perms(&t.perms)?,
                tmpl: t.clone(),
                text,
                last: None,
                used: BTreeSet::new(),
            });
        }
        Ok(Self {
            specs,
            env,
            data: HashMap::new(),
            client,
            env_out: Arc::default(),
        })
    }

    /// Whether any template exists.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Fetches until the server answers or refuses (transient failures are retried).
    async fn fetch(&self, dep: &Dep, min_index: u64, wait: Duration) -> Result<Fetched, String> {
        let Some(client) = &self.client else {
            return Err("template data needs a server connection".to_string());
        };
        loop {
            match client.fetch(dep, min_index, wait).await {
                Ok(f) => return Ok(f),
                Err(FetchError::Denied(m)) => return Err(m),
                Err(FetchError::Transient(m)) => {
                    tracing::debug!(error = %m, "template data fetch failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    /// Renders every template (fetching what they read), writes changed files and refreshes
    /// the env output. `Err` is the message of the task's `Template` failure event.
    pub async fn render_all(&mut self) -> Result<RenderAll, String> {
        let mut texts = Vec::with_capacity(self.specs.len());
        for i in 0..self.specs.len() {
            let mut rounds = 0;
            loop {
                rounds += 1;
                if rounds > MAX_ROUNDS {
                    return Err("template reads data in too many dependent steps".into());
                }
                let spec = &self.specs[i];
                let input = RenderInput {
                    text: &spec.text,
                    left_delim: &spec.tmpl.left_delim,
                    right_delim: &spec.tmpl.right_delim,
                    err_missing_key: spec.tmpl.err_missing_key,
                    env: &self.env,
                    data: &self.data,
                };
                let dest = spec.tmpl.dest_path.clone();
                match render::render(&input).map_err(|e| format!("{dest}: {e}"))? {
                    Rendered::Done(text, used) => {
                        self.specs[i].used = used;
                        texts.push(text);
                        break;
                    }
                    Rendered::Need(deps) => {
                        for dep in deps {
                            let f = self.fetch(&dep, 0, Duration::ZERO).await?;
                            self.data.insert(dep, f);
                        }
                    }
                    Rendered::Missing(paths) => return Ok(RenderAll::Missing(paths)),
                }
            }
        }
        let mut changed = Vec::new();
        let mut env = BTreeMap::new();
        for (i, text) in texts.into_iter().enumerate() {
            let spec = &mut self.specs[i];
            if spec.tmpl.envvars {
                env.extend(parse_env(&text).map_err(|e| format!("{}: {e}", spec.tmpl.dest_path))?);
            }
            if spec.last.as_deref() != Some(text.as_str()) {
                let t = &spec.tmpl;
                files::write_atomic(&spec.dest, text.as_bytes(), spec.mode, t.uid, t.gid)?;
                spec.last = Some(text);
                changed.push(i);
            }
        }
        *self.env_out.lock().unwrap_or_else(|e| e.into_inner()) = env;
        Ok(RenderAll::Done(changed))
    }

    /// Waits until the variables `paths` may have appeared (a blocking call on the first).
    pub async fn wait_for_variables(&mut self, paths: &BTreeSet<String>) -> Result<(), String> {
        let Some(path) = paths.iter().next() else {
            return Ok(());
        };
        let dep = Dep::Var(path.clone());
        let index = self.data.get(&dep).map_or(0, |f| f.index);
        let f = self.fetch(&dep, index, BLOCKING_WAIT).await?;
        self.data.insert(dep, f);
        Ok(())
    }

    fn watched(&self) -> Vec<(Dep, u64)> {
        let deps: BTreeSet<&Dep> = self.specs.iter().flat_map(|s| &s.used).collect();
        deps.into_iter()
            .map(|d| (d.clone(), self.data.get(d).map_or(0, |f| f.index)))
            .collect()
    }

    /// Watches the data every template read; on a change re-renders, waits a random splay
    /// and sends the action. Runs until the receiver goes away.
    pub async fn watch(mut self, actions: mpsc::Sender<ChangeAction>) {
        loop {
            let deps = self.watched();
            if deps.is_empty() || self.client.is_none() {
                return;
            }
            let Some(client) = self.client.clone() else {
                return;
            };
            let calls = deps.iter().map(|(dep, index)| {
                let client = client.clone();
                Box::pin(async move { client.fetch(dep, *index, BLOCKING_WAIT).await })
            });
            let (result, i, _) = tokio::select! {
                r = select_all(calls) => r,
                () = actions.closed() => return,
            };
            let dep = deps[i].0.clone();
            let fetched = match result {
                Ok(f) => f,
                Err(e) => {
                    tracing::debug!(error = %e, "template watch failed; retrying");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            let changed_data = self
                .data
                .get(&dep)
                .is_none_or(|old| old.json != fetched.json);
            self.data.insert(dep, fetched);
            if !changed_data {
                continue;
            }
            match self.render_all().await {
                Ok(RenderAll::Done(changed)) if !changed.is_empty() => {
                    if let Some((action, splay)) = self.action_for(&changed) {
                        tokio::time::sleep(splay).await;
                        if actions.send(action).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "template re-render failed; keeping the old file")
                }
            }
        }
    }

    /// The action for changed templates (restart wins over signals) and a random splay up to
    /// the largest of theirs.
    fn action_for(&self, changed: &[usize]) -> Option<(ChangeAction, Duration)> {
        let specs: Vec<&Spec> = changed.iter().map(|i| &self.specs[*i]).collect();
        let max_splay = specs.iter().map(|s| s.tmpl.splay.max(0)).max().unwrap_or(0);
        let splay = Duration::from_nanos((rand::random::<f64>() * max_splay as f64) as u64);
        let mode = |m: &str| specs.iter().find(|s| s.tmpl.change_mode == m);
        if mode(TEMPLATE_CHANGE_RESTART).is_some() {
            return Some((ChangeAction::Restart, splay));
        }
        mode(TEMPLATE_CHANGE_SIGNAL)
            .map(|s| (ChangeAction::Signal(s.tmpl.change_signal.clone()), splay))
    }
}
