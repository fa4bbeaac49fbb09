//! Group commit on the leader: writes that arrive while earlier ones are still on their way
//! through raft wait, then travel together as one raft entry ([`Command::Batch`]), so many
//! concurrent writers cost one log append, one flush and one replication round instead of
//! one each.
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

use tokio::sync::{Semaphore, mpsc, oneshot};

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

/// What a write's caller gets back: the command's response, or why raft did not take it.
pub type CommitResult = Result<CommandResponse, String>;

struct Pending {
    cmd: Command,
    reply: oneshot::Sender<CommitResult>,
}

/// The leader's write queue (started on first use, inside the runtime).
#[derive(Default)]
pub struct GroupCommit {
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl GroupCommit {
    /// Commits `cmd` through `raft` (this server must be the leader), batched with whatever
    /// other writes are waiting.
    pub async fn commit(&self, raft: &Arc<Raft>, cmd: Command) -> CommitResult {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(raft.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        queue
            .send(Pending { cmd, reply })
            .map_err(|_| "the write queue has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the write was dropped before raft answered".to_string())?
    }
}

async fn run(raft: Arc<Raft>, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    // A command taken from the queue that did not fit in the previous entry.
    let mut carried: Option<Pending> = None;
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
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && total < MAX_WEIGHT {
            match queue.try_recv() {
                Ok(next) if total + weight(&next.cmd) > MAX_WEIGHT => {
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
        let raft = raft.clone();
        tokio::spawn(async move {
            write(&raft, batch).await;
            drop(permit);
        });
    }
}

/// One raft entry for `batch`; every caller gets its own response.
async fn write(raft: &Raft, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let Pending { cmd, reply } = batch.remove(0);
        let _ = reply.send(client_write(raft, cmd).await);
        return;
    }
    crate::metrics::add("nomad.raft.group_commit.commands", &[], batch.len() as f64);
    let (commands, replies): (Vec<Command>, Vec<_>) =
        batch.into_iter().map(|p| (p.cmd, p.reply)).unzip();
    let count = commands.len();
    match client_write(raft, Command::Batch { commands }).await {
        Ok(response) if response.batch.len() == count => {
            for (reply, response) in replies.into_iter().zip(response.batch) {
                let _ = reply.send(Ok(response));
            }
        }
        Ok(response) => {
            let error = format!(
                "a batch of {count} commands got {} responses",
                response.batch.len()
            );
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
        .map_err(|e| e.to_string())
}
