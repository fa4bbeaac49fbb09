//! A linearizability checker for registers with read, write and compare-and-set.
//!
//! ```text
//!   [Operation] ──filter register ops──> by key (P-compositionality: each register is checked
//!        alone; the history is linearizable iff every key's sub-history is)
//!     per key (model.rs): intern values, unobserved ones as one; group interchangeable
//!        pending ops ──> entries (call/return events sorted by time, a linked list; search.rs)
//!        ──> depth-first search (Wing & Gong, with Lowe's memoization as in porcupine):
//!              take the first call in the list whose op is legal in the current state,
//!              "lift" its call and return out of the list, remember (linearized set, state);
//!              on reaching a return entry no pending call could precede, backtrack.
//!              Empty list: linearizable. Nothing left to backtrack: not linearizable.
//!     on failure: binary search for the shortest failing prefix, to name the op at fault.
//! ```
//!
//! **Outcomes.** An ok operation has a call and a return time. A failed one (the API said it
//! did not happen) is left out. An operation with an unknown outcome returns at +∞ and its
//! model step always succeeds (a check-and-set of unknown result sets the value when the
//! expected value matches and changes nothing otherwise), so the search may linearize it
//! anywhere after its call, including after everything else, which is the same as never: it
//! may or may not have happened. A read with no ok result constrains nothing and is left out.
//!
//! **The register and nomadish's CAS.** The register is one variable's content; it starts
//! absent. Nomad's check-and-set (`PUT /v1/var/:path?cas=N`) compares the variable's
//! `ModifyIndex`, which raft assigns when the write commits, so no client knows it in advance
//! and a model over indexes could not say what a write sets. Instead every write (plain or
//! CAS) stores a content unique in the run; the client remembers the content *and* the
//! `ModifyIndex` of its last read, sends `?cas=<that index>` (`?cas=0` when it read "absent",
//! the index nomadish compares against a missing variable) and records the operation as
//! `cas(expected = the content it read, new)`. Each content is written by one request and each
//! committed write gets its own index, so "the index is still N" holds exactly when "the
//! content is still the one read at index N": the content model decides the same as the
//! server. (One write applied twice, e.g. re-proposed by a retry inside the server, would break
//! that equivalence; the workload never retries a request itself.)
//!
//! **Bounds.** The search is exponential in the worst case; [`Limits`] caps the steps per key
//! and the wall time of the whole check, and the verdict is then [`Verdict::Unknown`], never a
//! pass or a fail.

mod model;
mod search;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::history::{Input, Operation};
use model::prepare;
use search::{Budget, Outcome, search};

/// How many operations a [`Violation`] shows besides the one at fault.
const CONTEXT_OPS: usize = 12;
/// How many writes completed before the op at fault a [`Violation`] shows.
const RECENT_WRITES: usize = 4;

/// Bounds on one check.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Search steps allowed per key.
    pub max_steps_per_key: u64,
    /// Wall time allowed for the whole check (all keys and the failure explanation).
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps_per_key: 20_000_000,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A history that is not linearizable, explained by its shortest failing prefix.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The register (variable path).
    pub key: String,
    /// Operations on this key in the shortest failing prefix.
    pub prefix_ops: usize,
    /// The operation whose result no linearization of the prefix can give.
    pub culprit: Operation,
    /// Operations concurrent with the culprit, then the last writes completed before it began.
    pub context: Vec<Operation>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "key {:?} is not linearizable; shortest failing prefix: {} ops, ending with\n  {}\n\
             concurrent ops and the last writes before it:",
            self.key, self.prefix_ops, self.culprit
        )?;
        for op in &self.context {
            writeln!(f, "  {op}")?;
        }
        Ok(())
    }
}

/// What the check concluded.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Every key's history has a linearization.
    Linearizable,
    /// A key's history has none.
    NotLinearizable(Box<Violation>),
    /// A limit was reached first: neither pass nor fail.
    Unknown(String),
}

/// The verdict with what the check cost.
#[derive(Debug, Clone)]
pub struct Report {
    /// The conclusion.
    pub verdict: Verdict,
    /// Registers checked.
    pub keys: usize,
    /// Register operations considered (failed ones and reads without a result left out).
    pub ops: usize,
    /// Search steps over all keys.
    pub steps: u64,
    /// Wall time of the check.
    pub elapsed: Duration,
}

impl Report {
    /// True when the history is linearizable.
    pub fn is_linearizable(&self) -> bool {
        matches!(self.verdict, Verdict::Linearizable)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cost = format!(
            "{} keys, {} ops, {} steps in {:.1} ms",
            self.keys,
            self.ops,
            self.steps,
            self.elapsed.as_secs_f64() * 1e3
        );
        match &self.verdict {
            Verdict::Linearizable => write!(f, "linearizable ({cost})"),
            Verdict::NotLinearizable(v) => write!(f, "NOT linearizable ({cost}): {v}"),
            Verdict::Unknown(why) => write!(f, "unknown ({cost}): {why}"),
        }
    }
}

/// Checks the register operations (read, write, cas) of `history`, each key on its own.
pub fn check(history: &[Operation], limits: Limits) -> Report {
    let started = Instant::now();
    let deadline = started + limits.timeout;
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in history.iter().filter(|o| is_register_op(o)) {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }
    let mut report = Report {
        verdict: Verdict::Linearizable,
        keys: by_key.len(),
        ops: 0,
        steps: 0,
        elapsed: Duration::ZERO,
    };
    let mut unknown = Vec::new();
    for (key, ops) in &by_key {
        let prepared = prepare(ops, Duration::MAX);
        report.ops += prepared.len();
        let mut budget = Budget::new(limits.max_steps_per_key, deadline);
        let outcome = search(&prepared, &mut budget);
        report.steps += budget.steps;
        match outcome {
            Outcome::Linearizable => {}
            Outcome::Exhausted(why) => unknown.push(format!("{key}: {why}")),
            Outcome::Illegal => {
                let violation = explain(key, ops, limits, deadline, &mut report.steps);
                report.verdict = Verdict::NotLinearizable(Box::new(violation));
                break;
            }
        }
    }
    if matches!(report.verdict, Verdict::Linearizable) && !unknown.is_empty() {
        report.verdict = Verdict::Unknown(format!(
            "limit reached on {} keys: {}",
            unknown.len(),
            unknown.join("; ")
        ));
    }
    report.elapsed = started.elapsed();
    report
}

fn is_register_op(op: &Operation) -> bool {
    !matches!(op.input, Input::Add { .. })
}

/// The shortest prefix (cut at an ok completion) of `ops` that is not linearizable; the op
/// completing at the cut is the culprit. Falls back to the whole history on limits.
fn explain(
    key: &str,
    ops: &[&Operation],
    limits: Limits,
    deadline: Instant,
    steps: &mut u64,
) -> Violation {
    let mut cuts: Vec<Duration> = ops
        .iter()
        .filter(|o| o.output().is_some())
        .filter_map(|o| o.complete.as_ref().map(|(t, _)| *t))
        .collect();
    cuts.sort();
    // Invariant: the prefix cut at cuts[hi] fails (the whole history did); before lo it passes.
    let (mut lo, mut hi) = (0, cuts.len().saturating_sub(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mut budget = Budget::new(limits.max_steps_per_key, deadline);
        let outcome = search(&prepare(ops, cuts[mid]), &mut budget);
        *steps += budget.steps;
        match outcome {
            Outcome::Illegal => hi = mid,
            _ => lo = mid + 1,
        }
    }
    let cut = cuts.get(hi).copied().unwrap_or(Duration::MAX);
    let culprit = ops
        .iter()
        .find(|o| o.output().is_some() && o.complete.as_ref().map(|(t, _)| *t) == Some(cut))
        .or(ops.last())
        .map(|o| (*o).clone())
        .expect("a failing history has operations");
    let prefix_ops = ops.iter().filter(|o| o.invoke <= cut).count();
    Violation {
        key: key.to_string(),
        prefix_ops,
        context: context_of(&culprit, ops, cut),
        culprit,
    }
}

/// Ops of the prefix overlapping the culprit, then the last ok writes done before it began.
fn context_of(culprit: &Operation, ops: &[&Operation], cut: Duration) -> Vec<Operation> {
    let end = |o: &Operation| o.complete.as_ref().map_or(Duration::MAX, |(t, _)| *t);
    let mut context: Vec<Operation> = ops
        .iter()
        .filter(|o| o.id != culprit.id && o.invoke <= cut && end(o) >= culprit.invoke)
        .take(CONTEXT_OPS)
        .map(|o| (*o).clone())
        .collect();
    let mut before: Vec<&&Operation> = ops
        .iter()
        .filter(|o| end(o) < culprit.invoke && !matches!(o.input, Input::Read) && !o.failed())
        .collect();
    before.sort_by_key(|o| end(o));
    let skip = before.len().saturating_sub(RECENT_WRITES);
    context.extend(before.into_iter().skip(skip).map(|o| (*o).clone()));
    context
}

#[cfg(test)]
mod tests;
