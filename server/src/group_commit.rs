//! Group commit on the leader: writes that arrive while earlier ones are still on their way
//! through raft wait, then travel together as one raft entry ([`Command::Batch`]), so many
//! concurrent writers cost one log append, one flush and one replication round instead of
//! one each. Followers batch the same way before forwarding: the writes queued behind a
//! forward in flight go to the leader as one `Batch` in one RPC, and the leader's own queue
//! takes that batch as one command of its combined weight.
//!
//! ```text
//!   write ─> queue ─> [a permit free?] ─> take everything queued (up to MAX_BATCH)
//!                         │                  (and up to MAX_WEIGHT objects)
//!                         │                  ├─ one command ──> client_write(command)
//!                         │                  └─ several ─────> client_write(Batch[...])
//!                         └─ MAX_IN_FLIGHT entries still uncommitted: the queue grows
//! ```
//!
//! A lone write goes out at once, unwrapped, so an idle cluster pays no extra latency; the
//! batches grow only while raft is busy, and never past 64 objects (an entry must reach a
//! follower within one append-entries timeout). Each command keeps its
//! own response (a refused compare-and-set in a batch refuses only that command), and the
//! commands of a batch apply in the order they arrived, at the entry's index.

use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::fsm::{Command, CommandResponse};
use crate::raft::Raft;

/// Entries on their way through raft at once; later writes queue and batch up.
const MAX_IN_FLIGHT: usize = 2;
/// Commands in one entry at most.
const MAX_BATCH: usize = 256;
/// Weight of one entry at most (see [`weight`]). A raft entry must reach a follower within
/// one append-entries timeout, and openraft sends heartbeats behind the entries: in a debug
/// build, batches of a thousand allocation updates delayed them past the election timeout
/// and moved the leadership, while 64 keep small writes batching.
const MAX_WEIGHT: usize = 64;

/// A command's rough size: the objects it carries (allocations, updates, evaluations).
fn weight(cmd: &Command) -> usize {
    let objects = match cmd {
        Command::ApplyPlanResults {
            placed, stopped, ..
        } => placed.len() + stopped.len(),
        Command::UpdateAllocsFromClient { updates, evals, .. } => updates.len() + evals.len(),
        Command::UpsertEvals { evals } => evals.len(),
        Command::UpdateAllocDesiredTransition { transitions, evals } => {
            transitions.len() + evals.len()
        }
        Command::RestoreState { .. } | Command::GarbageCollect { .. } => MAX_WEIGHT,
        Command::Batch { commands } => commands.iter().map(weight).sum(),
        _ => 1,
    };
    objects.max(1)
}

/// What `cmd` writes that a later write may check by its modify index (a check-and-set of a
/// variable, a job's `EnforceIndex`, the scheduler or autopilot configuration), as hashes of
/// the objects' identities. Every command of one entry gets the entry's index, so two writes
/// of one object in one entry would leave a caller of the first holding the index of the
/// second: a later check-and-set against it would pass over a write it never saw. Such writes
/// go in separate entries (a hash collision only splits a batch that need not be split).
fn cas_keys(cmd: &Command, out: &mut Vec<u64>) {
    use crate::fsm::variables::VariableOp;
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let key = |object: (&str, &str, &str)| {
        BuildHasherDefault::<DefaultHasher>::default().hash_one(object)
    };
    match cmd {
        Command::ApplyVariable { op } => match op {
            VariableOp::Upsert { var, .. } => {
                out.push(key(("var", &var.meta.namespace, &var.meta.path)));
            }
            VariableOp::Delete {
                namespace, path, ..
            } => out.push(key(("var", namespace, path))),
            VariableOp::InitRootKey { .. } => out.push(key(("root_key", "", ""))),
        },
        Command::UpsertJob { job, .. } => out.push(key(("job", &job.namespace, &job.id))),
        Command::DeregisterJob {
            namespace, job_id, ..
        } => out.push(key(("job", namespace, job_id))),
        Command::SetSchedulerConfig { .. } => out.push(key(("scheduler_config", "", ""))),
        Command::SetAutopilotConfig { .. } => out.push(key(("autopilot_config", "", ""))),
        Command::Batch { commands } => commands.iter().for_each(|c| cas_keys(c, out)),
        _ => {}
    }
}

/// What a write's caller gets back: the command's response, or why raft did not take it.
pub type CommitResult = Result<CommandResponse, CommitFailure>;

/// Why the leader's raft did not commit a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitFailure {
    /// This server no longer leads, and raft says the write was never committed: it was
    /// refused before it reached the log, or its entry was cut from the log by the new
    /// leader's. Sending it on to the new leader cannot apply it twice.
    #[error("not the leader: {0}")]
    NotLeader(String),
    /// Anything else (the outcome may be unknown).
    #[error("{0}")]
    Failed(String),
}

impl CommitError for CommitFailure {
    fn queue_failed(message: String) -> Self {
        CommitFailure::Failed(message)
    }
}

/// Where a queue sends each entry: raft on the leader, the leader's RPC on a follower.
pub type Submit<E> =
    Arc<dyn Fn(Command) -> BoxFuture<'static, Result<CommandResponse, E>> + Send + Sync>;

/// The error type of a queue's results: what its submitter fails with, plus the queue's own
/// failures in words.
pub trait CommitError: Clone + Send + 'static {
    /// A failure of the queue itself (stopped, or a batch answered out of shape).
    fn queue_failed(message: String) -> Self;
}

impl CommitError for String {
    fn queue_failed(message: String) -> Self {
        message
    }
}

struct Pending<E> {
    cmd: Command,
    reply: oneshot::Sender<Result<CommandResponse, E>>,
    /// The HTTP request the write came from, carried to the submission (a forward sends it
    /// to the leader).
    request_id: Option<String>,
    /// Counts the write as unfinished until its submission ends (or it is dropped unsent).
    unfinished: Unfinished,
}

/// One write taken by the queue and not yet through its submission: while any is, the
/// submitter may still be handed a new entry.
struct Unfinished(Arc<watch::Sender<usize>>);

impl Unfinished {
    fn new(count: &Arc<watch::Sender<usize>>) -> Self {
        count.send_modify(|n| *n += 1);
        Self(count.clone())
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// A started queue: where writes go in, and how many are unfinished.
struct Queue<E> {
    tx: mpsc::UnboundedSender<Pending<E>>,
    unfinished: Arc<watch::Sender<usize>>,
}

/// A write queue (started on first use, inside the runtime).
pub struct GroupCommit<E = String> {
    queue: OnceLock<Queue<E>>,
    /// The metric counting the commands of each batch.
    metric: &'static str,
}

impl<E> GroupCommit<E> {
    /// An idle queue whose batch sizes are counted under `metric`.
    pub const fn new(metric: &'static str) -> Self {
        Self {
            queue: OnceLock::new(),
            metric,
        }
    }
}

impl Default for GroupCommit<CommitFailure> {
    /// The leader's raft queue.
    fn default() -> Self {
        Self::new("nomad.raft.group_commit.commands")
    }
}

impl GroupCommit<CommitFailure> {
    /// Commits `cmd` through `raft` (this server must be the leader), batched with whatever
    /// other writes are waiting.
    pub async fn commit(&self, raft: &Arc<Raft>, cmd: Command) -> CommitResult {
        let start = || -> Submit<CommitFailure> {
            let raft = raft.clone();
            Arc::new(move |cmd| {
                let raft = raft.clone();
                Box::pin(async move { client_write(&raft, cmd).await })
            })
        };
        self.submit(start, cmd).await
    }
}

impl<E: CommitError> GroupCommit<E> {
    /// Sends `cmd` through the queue's submitter (made by `start` on first use), batched with
    /// whatever other writes are waiting.
    pub async fn submit(
        &self,
        start: impl FnOnce() -> Submit<E>,
        cmd: Command,
    ) -> Result<CommandResponse, E> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(start(), rx, self.metric));
            Queue {
                tx,
                unfinished: Arc::new(watch::Sender::new(0)),
            }
        });
        let (reply, answer) = oneshot::channel();
        queue
            .tx
            .send(Pending {
                cmd,
                reply,
                request_id: crate::http::request_id::current(),
                unfinished: Unfinished::new(&queue.unfinished),
            })
            .map_err(|_| E::queue_failed("the write queue has stopped".to_string()))?;
        answer.await.map_err(|_| {
            E::queue_failed("the write was dropped before it was answered".to_string())
        })?
    }
}

impl<E> GroupCommit<E> {
    /// Returns once every write the queue has taken so far is through its submission (on
    /// the leader: in the log, committed or refused). Writes taken meanwhile count too, so
    /// the caller should first stop new ones from arriving.
    pub async fn drained(&self) {
        if let Some(queue) = self.queue.get() {
            let mut count = queue.unfinished.subscribe();
            let _ = count.wait_for(|n| *n == 0).await;
        }
    }
}

async fn run<E: CommitError>(
    submit: Submit<E>,
    mut queue: mpsc::UnboundedReceiver<Pending<E>>,
    metric: &'static str,
) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    // A command taken from the queue that did not fit in the previous entry.
    let mut carried: Option<Pending<E>> = None;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            None => match queue.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        // Everything that queued while the permits were taken goes in this entry, up to
        // the weight bound, except writes whose callers gave up meanwhile (never
        // submitted, so never applied).
        let mut total = weight(&first.cmd);
        let mut keys = Vec::new();
        cas_keys(&first.cmd, &mut keys);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && total < MAX_WEIGHT {
            match queue.try_recv() {
                Ok(next) if total + weight(&next.cmd) > MAX_WEIGHT => {
                    carried = Some(next);
                    break;
                }
                Ok(next) if shares_a_key(&next.cmd, &mut keys) => {
                    carried = Some(next);
                    break;
                }
                Ok(next) => {
                    total += weight(&next.cmd);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        batch.retain(|p| !p.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let submit = submit.clone();
        tokio::spawn(async move {
            write(&submit, batch, metric).await;
            drop(permit);
        });
    }
}

/// Whether `cmd` writes an object already in `keys`; if not, its objects join `keys`.
fn shares_a_key(cmd: &Command, keys: &mut Vec<u64>) -> bool {
    let before = keys.len();
    cas_keys(cmd, keys);
    let (earlier, mine) = keys.split_at(before);
    if mine.iter().any(|k| earlier.contains(k)) {
        keys.truncate(before);
        return true;
    }
    false
}

/// One submission for `batch`; every caller gets its own response.
async fn write<E: CommitError>(submit: &Submit<E>, mut batch: Vec<Pending<E>>, metric: &str) {
    let ids: Vec<String> = batch.iter().filter_map(|p| p.request_id.clone()).collect();
    let in_request = |fut| async move {
        match crate::http::request_id::joined(&ids) {
            Some(id) => crate::http::request_id::scope(id, fut).await,
            None => fut.await,
        }
    };
    if batch.len() == 1 {
        let Pending {
            cmd,
            reply,
            unfinished,
            ..
        } = batch.remove(0);
        let _ = reply.send(in_request(submit(cmd)).await);
        drop(unfinished);
        return;
    }
    crate::metrics::add(metric, &[], batch.len() as f64);
    let count = batch.len();
    let (mut commands, mut replies) = (Vec::with_capacity(count), Vec::with_capacity(count));
    // Dropped when this function returns, after the submission.
    let mut _unfinished = Vec::with_capacity(count);
    for p in batch {
        commands.push(p.cmd);
        replies.push(p.reply);
        _unfinished.push(p.unfinished);
    }
    match in_request(submit(Command::Batch { commands })).await {
        Ok(response) if response.batch.len() == count => {
            for (reply, response) in replies.into_iter().zip(response.batch) {
                let _ = reply.send(Ok(response));
            }
        }
        Ok(response) => {
            let error = E::queue_failed(format!(
                "a batch of {count} commands got {} responses",
                response.batch.len()
            ));
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

async fn client_write(raft: &Raft, cmd: Command) -> CommitResult {
    crate::metrics::raft_commit(raft.client_write(cmd))
        .await
        .map(|r| r.data)
        .map_err(|e| failure(&e))
}

/// How a write raft did not commit failed. openraft answers `ForwardToLeader` only for a
/// write it refused up front or whose entry a new leader's log replaced: never for one that
/// may still commit.
fn failure(
    e: &openraft::error::RaftError<
        crate::raft::NodeId,
        openraft::error::ClientWriteError<crate::raft::NodeId, crate::raft::ServerNode>,
    >,
) -> CommitFailure {
    match e.forward_to_leader::<crate::raft::ServerNode>() {
        Some(_) => CommitFailure::NotLeader(e.to_string()),
        None => CommitFailure::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::fsm::ApplyError;

    /// A stand-in for raft or the leader: records how many commands each submission carried,
    /// holds every submission until `gate` lets it through, refuses the fifth command of a
    /// batch, and fails everything when `down`.
    struct Fake {
        calls: Mutex<Vec<usize>>,
        gate: Semaphore,
        down: bool,
    }

    fn submitter(fake: Arc<Fake>) -> Submit<String> {
        Arc::new(move |cmd| {
            let fake = fake.clone();
            Box::pin(async move {
                let commands = match cmd {
                    Command::Batch { commands } => Some(commands.len()),
                    _ => None,
                };
                fake.calls.lock().unwrap().push(commands.unwrap_or(1));
                fake.gate.acquire().await.expect("gate open").forget();
                if fake.down {
                    return Err("the leader is unreachable".to_string());
                }
                let answer = |i: usize| CommandResponse {
                    index: 7,
                    error: (i == 4).then(|| ApplyError::Rejected {
                        reason: "refused".into(),
                    }),
                    ..CommandResponse::default()
                };
                Ok(CommandResponse {
                    index: 7,
                    batch: (0..commands.unwrap_or(0)).map(answer).collect(),
                    ..CommandResponse::default()
                })
            })
        })
    }

    /// Two submissions held in flight, then ten writes queued behind them; returns the
    /// queue's calls and the ten writes' results.
    async fn ten_behind_two(down: bool) -> (Vec<usize>, Vec<Result<CommandResponse, String>>) {
        let fake = Arc::new(Fake {
            calls: Mutex::default(),
            gate: Semaphore::new(0),
            down,
        });
        let queue = Arc::new(GroupCommit::new("test.batch"));
        let write = |i: usize| {
            let (queue, fake) = (queue.clone(), fake.clone());
            tokio::spawn(async move {
                let cmd = Command::UpsertEvals { evals: Vec::new() };
                (i, queue.submit(|| submitter(fake), cmd).await)
            })
        };
        // One at a time, so each goes out alone and takes a permit.
        let mut first = Vec::new();
        for i in 0..MAX_IN_FLIGHT {
            first.push(write(i));
            while fake.calls.lock().unwrap().len() <= i {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let behind: Vec<_> = (0..10).map(write).collect();
        // The ten queue up while both permits are taken.
        tokio::time::sleep(Duration::from_millis(100)).await;
        fake.gate.add_permits(100);
        for w in first {
            let (_, result) = w.await.expect("writer");
            assert_eq!(result.is_ok(), !down);
        }
        let mut results = Vec::new();
        for w in behind {
            let (i, result) = w.await.expect("writer");
            results.push((i, result));
        }
        results.sort_by_key(|(i, _)| *i);
        let calls = fake.calls.lock().unwrap().clone();
        (calls, results.into_iter().map(|(_, r)| r).collect())
    }

    #[tokio::test]
    async fn writes_queued_behind_the_ones_in_flight_go_as_one_batch_with_their_own_outcomes() {
        let (calls, results) = ten_behind_two(false).await;
        assert_eq!(
            calls,
            vec![1, 1, 10],
            "two alone, then the ten as one batch"
        );
        for (i, result) in results.iter().enumerate() {
            let response = result.as_ref().expect("answered");
            assert_eq!(response.index, 7);
            assert_eq!(response.error.is_some(), i == 4, "write {i}: {response:?}");
        }
    }

    #[tokio::test]
    async fn drained_waits_for_every_taken_write_even_one_whose_caller_gave_up() {
        let fake = Arc::new(Fake {
            calls: Mutex::default(),
            gate: Semaphore::new(0),
            down: false,
        });
        let queue = Arc::new(GroupCommit::new("test.batch"));
        tokio::time::timeout(Duration::from_millis(100), queue.drained())
            .await
            .expect("a queue never used is drained");
        let write = || {
            let (queue, fake) = (queue.clone(), fake.clone());
            tokio::spawn(async move {
                let cmd = Command::UpsertEvals { evals: Vec::new() };
                queue.submit(|| submitter(fake), cmd).await
            })
        };
        // Two submissions held in flight, one at a time, then three queued behind them.
        let mut writers = Vec::new();
        for i in 0..MAX_IN_FLIGHT {
            writers.push(write());
            while fake.calls.lock().unwrap().len() <= i {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        writers.extend((0..3).map(|_| write()));
        // The first submission's caller goes away; its entry is still on its way.
        writers[0].abort();
        let held = tokio::time::timeout(Duration::from_millis(200), queue.drained()).await;
        assert!(held.is_err(), "drained while submissions were held");
        fake.gate.add_permits(100);
        tokio::time::timeout(Duration::from_secs(5), queue.drained())
            .await
            .expect("drained once every submission ended");
        let calls: usize = fake.calls.lock().unwrap().iter().sum();
        assert_eq!(
            calls, 5,
            "every write was submitted before drained returned"
        );
        for w in writers.into_iter().skip(1) {
            w.await.expect("writer").expect("answered");
        }
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_write_in_it() {
        let (calls, results) = ten_behind_two(true).await;
        assert_eq!(calls, vec![1, 1, 10]);
        for result in results {
            assert_eq!(result.unwrap_err(), "the leader is unreachable");
        }
    }

    #[test]
    fn two_writes_of_one_variable_never_share_an_entry() {
        use crate::fsm::variables::VariableOp;
        use crate::state::{RootKey, seal_variable};
        use nomadish_proto::model::Variable;
        let key = RootKey::generate(0);
        let put = |path: &str| {
            let var = Variable {
                namespace: "default".into(),
                path: path.into(),
                ..Variable::default()
            };
            let var = seal_variable(&key, &var).unwrap();
            Command::ApplyVariable {
                op: VariableOp::Upsert { var, cas: None },
            }
        };
        let mut keys = Vec::new();
        assert!(!shares_a_key(&put("a"), &mut keys));
        assert!(!shares_a_key(&put("b"), &mut keys));
        assert!(shares_a_key(&put("a"), &mut keys), "a second write of a");
        let forwarded = Command::Batch {
            commands: vec![put("c"), put("b")],
        };
        assert!(shares_a_key(&forwarded, &mut keys), "a batch holding b");
        assert!(!shares_a_key(
            &Command::UpsertEvals { evals: Vec::new() },
            &mut keys
        ));
    }

    #[test]
    fn only_a_write_raft_never_took_counts_as_refused_for_not_leading() {
        use openraft::error::{ClientWriteError, Fatal, ForwardToLeader, RaftError};
        let refused: RaftError<_, ClientWriteError<_, crate::raft::ServerNode>> =
            RaftError::APIError(ClientWriteError::ForwardToLeader(ForwardToLeader::empty()));
        assert!(matches!(failure(&refused), CommitFailure::NotLeader(_)));
        let stopped: RaftError<_, ClientWriteError<_, crate::raft::ServerNode>> =
            RaftError::Fatal(Fatal::Stopped);
        assert_eq!(
            failure(&stopped),
            CommitFailure::Failed(stopped.to_string())
        );
    }

    #[test]
    fn a_forwarded_batch_weighs_what_its_commands_weigh() {
        let evals = |n: usize| Command::UpsertEvals {
            evals: (0..n).map(|_| Default::default()).collect(),
        };
        let batch = Command::Batch {
            commands: vec![evals(3), evals(0), evals(5)],
        };
        assert_eq!(weight(&batch), 3 + 1 + 5);
    }
}
