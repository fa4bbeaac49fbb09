//! The eval broker's decisions, without I/O: events in, evaluations and actions out.
//!
//! ```text
//!   enqueue ──> delayed (WaitUntil in the future) ──promote_due──┐
//!      │                                                         v
//!      ├──> pending[job] (the job already has one in flight) ──> ready ──dequeue──> unacked
//!      │                                                         ^                   │  │
//!      └─────────────────────────────────────────────────────────┘   ack (release job)  │
//!   block ──> blocked[job] ──unblock_all──> ready                    nack / lease expiry ┘
//!                                                 (re-enqueued with a delay; failed after
//!                                                  the delivery limit)
//! ```
//!
//! At most one evaluation per job is ready or in flight; others for the same job wait in
//! `pending` in arrival order. Delivery is at-least-once: an unacknowledged evaluation comes
//! back after a nack or when its lease expires.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use nomadish_proto::model::Evaluation;

use crate::state::JobKey;

/// Deliveries before an evaluation is given up as failed (Nomad's delivery limit).
pub const DELIVERY_LIMIT: u32 = 3;
/// Delay before a nacked evaluation is offered again, first time (ns).
pub const INITIAL_NACK_DELAY_NS: i64 = 1_000_000_000;
/// Delay before a nacked evaluation is offered again, later times (ns).
pub const SUBSEQUENT_NACK_DELAY_NS: i64 = 20_000_000_000;

type ReadyKey = (Reverse<i64>, u64, String);

#[derive(Debug, Clone)]
struct Unacked {
    eval: Evaluation,
    token: String,
    lease_deadline: i64,
}

/// What the shell must do after a nack or an expired lease.
#[derive(Debug, Clone, PartialEq)]
pub enum NackOutcome {
    /// Offered again later.
    Requeued,
    /// Delivered too often: mark it failed.
    Failed(Box<Evaluation>),
}

/// Errors from acknowledging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The evaluation is not outstanding (already acked, nacked or expired).
    #[error("evaluation {0} is not outstanding")]
    NotOutstanding(String),
    /// The token does not match the current delivery.
    #[error("evaluation {0}: token does not match the current delivery")]
    TokenMismatch(String),
}

/// Counts for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Ready to dequeue.
    pub ready: usize,
    /// Dequeued, not yet acknowledged.
    pub unacked: usize,
    /// Waiting for their job's in-flight evaluation.
    pub pending: usize,
    /// Waiting for `WaitUntil` or a nack delay.
    pub delayed: usize,
    /// Waiting for capacity.
    pub blocked: usize,
}

/// The broker's state.
#[derive(Debug, Default)]
pub struct BrokerCore {
    enabled: bool,
    seq: u64,
    ready: BTreeMap<ReadyKey, Evaluation>,
    unacked: HashMap<String, Unacked>,
    deliveries: HashMap<String, u32>,
    /// The evaluation of each job that is ready or unacked.
    inflight: HashMap<JobKey, String>,
    pending: HashMap<JobKey, Vec<Evaluation>>,
    delayed: BTreeSet<(i64, String)>,
    delayed_evals: HashMap<String, Evaluation>,
    blocked: BTreeMap<JobKey, Evaluation>,
    known: BTreeSet<String>,
    /// The last capacity change the broker was told of (see [`BrokerCore::missed_capacity`]).
    capacity_index: u64,
}

fn job_key(eval: &Evaluation) -> JobKey {
    (eval.namespace.clone(), eval.job_id.clone())
}

impl BrokerCore {
    /// Turns the broker on (leader) or off (follower); turning off drops everything.
    pub fn set_enabled(&mut self, enabled: bool) {
        if !enabled {
            *self = Self::default();
        }
        self.enabled = enabled;
    }

    /// Whether the broker accepts work.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Accepts an evaluation; returns whether something became ready.
    pub fn enqueue(&mut self, eval: Evaluation, now: i64) -> bool {
        if !self.enabled || !self.known.insert(eval.id.clone()) {
            return false;
        }
        self.route(eval, now)
    }

    fn route(&mut self, eval: Evaluation, now: i64) -> bool {
        if eval.wait_until > now {
            self.delayed.insert((eval.wait_until, eval.id.clone()));
            self.delayed_evals.insert(eval.id.clone(), eval);
            return false;
        }
        let key = job_key(&eval);
        if self.inflight.contains_key(&key) {
            self.pending.entry(key).or_default().push(eval);
            return false;
        }
        self.inflight.insert(key, eval.id.clone());
        self.make_ready(eval);
        true
    }

    fn make_ready(&mut self, eval: Evaluation) {
        self.seq += 1;
        self.ready
            .insert((Reverse(eval.priority), self.seq, eval.id.clone()), eval);
    }

    /// Hands out the highest-priority ready evaluation with a delivery token.
    pub fn dequeue(
        &mut self,
        now: i64,
        lease_ns: i64,
        token: String,
    ) -> Option<(Evaluation, String)> {
        let (_, eval) = self.ready.pop_first()?;
        *self.deliveries.entry(eval.id.clone()).or_insert(0) += 1;
        self.unacked.insert(
            eval.id.clone(),
            Unacked {
                eval: eval.clone(),
                token: token.clone(),
                lease_deadline: now + lease_ns,
            },
        );
        Some((eval, token))
    }

    fn take_unacked(&mut self, id: &str, token: &str) -> Result<Unacked, BrokerError> {
        match self.unacked.get(id) {
            None => Err(BrokerError::NotOutstanding(id.to_string())),
            Some(u) if u.token != token => Err(BrokerError::TokenMismatch(id.to_string())),
            Some(_) => Ok(self.unacked.remove(id).expect("checked above")),
        }
    }

    /// The evaluation was processed: release its job and promote the job's next evaluation.
    pub fn ack(&mut self, id: &str, token: &str, now: i64) -> Result<bool, BrokerError> {
        let done = self.take_unacked(id, token)?;
        self.deliveries.remove(id);
        self.known.remove(id);
        Ok(self.release_job(&job_key(&done.eval), now))
    }

    fn release_job(&mut self, key: &JobKey, now: i64) -> bool {
        self.inflight.remove(key);
        let next = match self.pending.get_mut(key) {
            Some(queue) if !queue.is_empty() => Some(queue.remove(0)),
            _ => None,
        };
        if self.pending.get(key).is_some_and(Vec::is_empty) {
            self.pending.remove(key);
        }
        next.is_some_and(|eval| self.route(eval, now))
    }

    /// The evaluation could not be processed now: offer it again after a delay, or give up.
    pub fn nack(&mut self, id: &str, token: &str, now: i64) -> Result<NackOutcome, BrokerError> {
        let u = self.take_unacked(id, token)?;
        Ok(self.requeue_or_fail(u.eval, now))
    }

    fn requeue_or_fail(&mut self, eval: Evaluation, now: i64) -> NackOutcome {
        let key = job_key(&eval);
        let count = self.deliveries.get(&eval.id).copied().unwrap_or(0);
        if count >= DELIVERY_LIMIT {
            self.deliveries.remove(&eval.id);
            self.known.remove(&eval.id);
            self.release_job(&key, now);
            return NackOutcome::Failed(Box::new(eval));
        }
        let delay = if count <= 1 {
            INITIAL_NACK_DELAY_NS
        } else {
            SUBSEQUENT_NACK_DELAY_NS
        };
        let mut again = eval;
        again.wait_until = now + delay;
        // The job stays in flight, so no other evaluation of it overtakes this one.
        self.delayed.insert((again.wait_until, again.id.clone()));
        self.delayed_evals.insert(again.id.clone(), again);
        NackOutcome::Requeued
    }

    /// Nacks every evaluation whose lease has run out.
    pub fn expire_leases(&mut self, now: i64) -> Vec<NackOutcome> {
        let expired: Vec<(String, String)> = self
            .unacked
            .iter()
            .filter(|(_, u)| u.lease_deadline <= now)
            .map(|(id, u)| (id.clone(), u.token.clone()))
            .collect();
        expired
            .into_iter()
            .filter_map(|(id, token)| self.nack(&id, &token, now).ok())
            .collect()
    }

    /// Moves delayed evaluations that are due into the queues; returns whether any became ready.
    pub fn promote_due(&mut self, now: i64) -> bool {
        let mut any = false;
        while let Some((at, id)) = self.delayed.first().cloned() {
            if at > now {
                break;
            }
            self.delayed.pop_first();
            let Some(eval) = self.delayed_evals.remove(&id) else {
                continue;
            };
            let key = job_key(&eval);
            if self.inflight.get(&key) == Some(&eval.id) {
                // A nacked evaluation that kept its job in flight.
                self.make_ready(eval);
                any = true;
            } else {
                any |= self.route(eval, now);
            }
        }
        any
    }

    /// When the next delayed evaluation is due.
    pub fn next_due(&self) -> Option<i64> {
        self.delayed.first().map(|(at, _)| *at)
    }

    /// Holds a blocked evaluation until capacity changes; returns the one it replaces.
    pub fn block(&mut self, eval: Evaluation) -> Option<Evaluation> {
        if !self.enabled {
            return None;
        }
        self.blocked.insert(job_key(&eval), eval)
    }

    /// Records a capacity change at raft index `index`.
    pub fn note_capacity(&mut self, index: u64) {
        self.capacity_index = self.capacity_index.max(index);
    }

    /// Whether a blocked evaluation was scheduled on a snapshot older than a capacity change
    /// already seen: blocking it would wait for a change that has happened, so it is offered
    /// again at once (as Nomad's blocked-evals tracker does with its snapshot index).
    pub fn missed_capacity(&self, eval: &Evaluation) -> bool {
        eval.snapshot_index != 0 && eval.snapshot_index < self.capacity_index
    }

    /// Offers every blocked evaluation again; returns whether any became ready.
    pub fn unblock_all(&mut self, now: i64) -> bool {
        let blocked = std::mem::take(&mut self.blocked);
        let mut any = false;
        for (_, eval) in blocked {
            any |= self.enqueue(eval, now);
        }
        any
    }

    /// Current counts.
    pub fn stats(&self) -> BrokerStats {
        BrokerStats {
            ready: self.ready.len(),
            unacked: self.unacked.len(),
            pending: self.pending.values().map(Vec::len).sum(),
            delayed: self.delayed.len(),
            blocked: self.blocked.len(),
        }
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
