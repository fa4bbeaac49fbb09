//! A recorder of what clients asked the cluster and what they were told, and the check of the
//! append-only set workload against a final read.
//!
//! ```text
//!   client task ── invoke(process, key, input) ──> OpId      (time taken on the history's clock)
//!        │ ... HTTP request ...
//!        └────── complete(OpId, Completion) ──────>          Ok(output) | Failed | Unknown
//!   History::operations() ──> [Operation] ──> check_acked_present (set workload)
//!                                         └─> linearizable::check (register workload)
//! ```
//!
//! An operation's outcome is one of three, as the reliability scenarios define them:
//! - **ok**: the API answered and the answer says what happened (a write acknowledged, a read's
//!   value, a check-and-set that succeeded *or* one refused with 409: both are known results);
//! - **failed**: the API answered that the operation did not happen (a 4xx other than a CAS
//!   conflict);
//! - **unknown**: no answer, a timeout, a connection error or a 5xx; the operation may or may
//!   not have taken effect, so it may be counted neither as lost nor as present.
//!
//! An operation invoked but never completed (its task was cancelled) is unknown too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How many example elements a [`SetReport`] keeps per kind of anomaly.
const EXAMPLES: usize = 5;

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Input {
    /// Append-only set: add `element` (a job ID, a variable path) to the set named by the key.
    Add {
        /// The element, unique in the history.
        element: String,
    },
    /// Register: read the value.
    Read,
    /// Register: write `value` unconditionally (each written value is unique).
    Write {
        /// The new value.
        value: String,
    },
    /// Register: set `new` if the value is `expected` (`None`: the register is absent).
    Cas {
        /// The value the client last read.
        expected: Option<String>,
        /// The new value (unique in the history).
        new: String,
    },
}

/// What an ok operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Output {
    /// An add or a write was acknowledged.
    Done,
    /// A read's value (`None`: absent).
    Value(Option<String>),
    /// A check-and-set took effect.
    CasOk,
    /// A check-and-set was refused because the value differed (HTTP 409).
    CasFailed,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// Answered, with a known result.
    Ok(Output),
    /// Definitely did not happen; the reason.
    Failed(String),
    /// May or may not have happened; the reason.
    Unknown(String),
}

/// One operation: its invocation and, when it ended, its completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Position in invocation order.
    pub id: usize,
    /// The client (process) that issued it; a client issues one operation at a time.
    pub process: usize,
    /// The object touched: a register's variable path, or a set's name.
    pub key: String,
    /// What was asked.
    pub input: Input,
    /// When it was invoked, since the history began.
    pub invoke: Duration,
    /// When it completed and how; `None` while in flight (or never completed: unknown).
    pub complete: Option<(Duration, Completion)>,
}

impl Operation {
    /// The ok output, if the operation completed ok.
    pub fn output(&self) -> Option<&Output> {
        match &self.complete {
            Some((_, Completion::Ok(out))) => Some(out),
            _ => None,
        }
    }

    /// True when the operation definitely did not happen.
    pub fn failed(&self) -> bool {
        matches!(self.complete, Some((_, Completion::Failed(_))))
    }

    /// True when the outcome is unknown (including never completed).
    pub fn unknown(&self) -> bool {
        matches!(self.complete, None | Some((_, Completion::Unknown(_))))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = match &self.input {
            Input::Add { element } => format!("add {element}"),
            Input::Read => "read".to_string(),
            Input::Write { value } => format!("write {value:?}"),
            Input::Cas { expected, new } => format!("cas {expected:?} -> {new:?}"),
        };
        let (end, outcome) = match &self.complete {
            None => ("∞".to_string(), "never completed".to_string()),
            Some((t, c)) => (
                format!("{:.3}s", t.as_secs_f64()),
                match c {
                    Completion::Ok(Output::Done) => "ok".to_string(),
                    Completion::Ok(Output::Value(v)) => format!("ok {v:?}"),
                    Completion::Ok(Output::CasOk) => "ok (set)".to_string(),
                    Completion::Ok(Output::CasFailed) => "ok (cas failed)".to_string(),
                    Completion::Failed(why) => format!("failed: {why}"),
                    Completion::Unknown(why) => format!("unknown: {why}"),
                },
            ),
        };
        write!(
            f,
            "#{} p{} {} {input} [{:.3}s..{end}] {outcome}",
            self.id,
            self.process,
            self.key,
            self.invoke.as_secs_f64()
        )
    }
}

/// A handle to an invoked operation, for [`History::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpId(usize);

/// A thread-safe, cheaply cloneable history of operations.
#[derive(Clone)]
pub struct History {
    start: Instant,
    ops: Arc<Mutex<Vec<Operation>>>,
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl History {
    /// An empty history whose clock starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            ops: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Time since the history began.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records that `process` invoked `input` on `key`, now.
    pub fn invoke(&self, process: usize, key: &str, input: Input) -> OpId {
        let mut ops = self.ops.lock().expect("history");
        let id = ops.len();
        let invoke = self.start.elapsed();
        ops.push(Operation {
            id,
            process,
            key: key.to_string(),
            input,
            invoke,
            complete: None,
        });
        OpId(id)
    }

    /// Records how `op` ended, now. A second completion of one operation is ignored.
    pub fn complete(&self, op: OpId, completion: Completion) {
        let mut ops = self.ops.lock().expect("history");
        let at = self.start.elapsed();
        if let Some(o) = ops.get_mut(op.0)
            && o.complete.is_none()
        {
            o.complete = Some((at, completion));
        }
    }

    /// A copy of every operation so far, in invocation order.
    pub fn operations(&self) -> Vec<Operation> {
        self.ops.lock().expect("history").clone()
    }

    /// Builds a history from recorded operations (tests, replays); ids are renumbered.
    pub fn from_operations(ops: Vec<Operation>) -> Self {
        let mut ops = ops;
        ops.sort_by_key(|o| o.invoke);
        for (i, o) in ops.iter_mut().enumerate() {
            o.id = i;
        }
        Self {
            start: Instant::now(),
            ops: Arc::new(Mutex::new(ops)),
        }
    }
}

/// The result of checking an append-only set against a final read of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetReport {
    /// The set checked.
    pub set: String,
    /// Adds acknowledged.
    pub ok: usize,
    /// Adds that definitely did not happen.
    pub failed: usize,
    /// Adds with no known outcome.
    pub unknown: usize,
    /// Unknown adds that turned out present.
    pub unknown_present: usize,
    /// Acknowledged adds missing from the final read (examples in `lost_examples`).
    pub lost: usize,
    /// Elements present more than once in the final read.
    pub duplicated: usize,
    /// Elements present although their add failed or was never invoked.
    pub unexpected: usize,
    /// Some lost elements.
    pub lost_examples: Vec<String>,
    /// Some duplicated elements.
    pub duplicated_examples: Vec<String>,
    /// Some unexpected elements.
    pub unexpected_examples: Vec<String>,
}

impl SetReport {
    /// True when nothing acknowledged was lost, nothing appears twice and nothing appears that
    /// should not.
    pub fn valid(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unexpected == 0
    }
}

impl fmt::Display for SetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "set {:?}: {} ok, {} failed, {} unknown ({} of them present); \
             lost {}, duplicated {}, unexpected {}",
            self.set,
            self.ok,
            self.failed,
            self.unknown,
            self.unknown_present,
            self.lost,
            self.duplicated,
            self.unexpected
        )?;
        for (what, examples) in [
            ("lost", &self.lost_examples),
            ("duplicated", &self.duplicated_examples),
            ("unexpected", &self.unexpected_examples),
        ] {
            if !examples.is_empty() {
                write!(f, "; {what} e.g. {examples:?}")?;
            }
        }
        Ok(())
    }
}

/// Checks the adds to `set` in `history` against `final_read`, the set's elements as read
/// after the run (only elements this history could have added should be passed): every ok add
/// is present exactly once, every failed add is absent, unknown adds may be either.
pub fn check_acked_present(history: &[Operation], set: &str, final_read: &[String]) -> SetReport {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in final_read {
        *counts.entry(e.as_str()).or_default() += 1;
    }
    let mut report = SetReport {
        set: set.to_string(),
        ..SetReport::default()
    };
    let mut attempted: BTreeSet<&str> = BTreeSet::new();
    let mut failed: BTreeSet<&str> = BTreeSet::new();
    for op in history.iter().filter(|o| o.key == set) {
        let Input::Add { element } = &op.input else {
            continue;
        };
        attempted.insert(element);
        let present = counts.contains_key(element.as_str());
        if op.failed() {
            report.failed += 1;
            failed.insert(element);
        } else if op.unknown() {
            report.unknown += 1;
            report.unknown_present += usize::from(present);
        } else {
            report.ok += 1;
            if !present {
                report.lost += 1;
                push_example(&mut report.lost_examples, element);
            }
        }
    }
    for (element, n) in counts {
        if n > 1 {
            report.duplicated += 1;
            push_example(&mut report.duplicated_examples, element);
        }
        if failed.contains(element) || !attempted.contains(element) {
            report.unexpected += 1;
            push_example(&mut report.unexpected_examples, element);
        }
    }
    report
}

fn push_example(examples: &mut Vec<String>, element: &str) {
    if examples.len() < EXAMPLES {
        examples.push(element.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(history: &History, process: usize, element: &str, completion: Completion) {
        let id = history.invoke(
            process,
            "jobs",
            Input::Add {
                element: element.to_string(),
            },
        );
        history.complete(id, completion);
    }

    fn read(elements: &[&str]) -> Vec<String> {
        elements.iter().map(|e| e.to_string()).collect()
    }

    fn sample() -> History {
        let h = History::new();
        add(&h, 0, "a", Completion::Ok(Output::Done));
        add(&h, 1, "b", Completion::Ok(Output::Done));
        add(&h, 0, "c", Completion::Failed("400".into()));
        add(&h, 1, "d", Completion::Unknown("timeout".into()));
        add(&h, 2, "e", Completion::Unknown("connection reset".into()));
        // Never completed: unknown.
        h.invoke(
            3,
            "jobs",
            Input::Add {
                element: "f".into(),
            },
        );
        h
    }

    #[test]
    fn every_acked_add_present_once_is_valid_whatever_the_unknowns_did() {
        let h = sample();
        let report = check_acked_present(&h.operations(), "jobs", &read(&["a", "b", "d"]));
        assert!(report.valid(), "{report}");
        assert_eq!((report.ok, report.failed, report.unknown), (2, 1, 3));
        assert_eq!(report.unknown_present, 1);
        let report = check_acked_present(&h.operations(), "jobs", &read(&["b", "a", "f", "e"]));
        assert!(report.valid(), "{report}");
        assert_eq!(report.unknown_present, 2);
    }

    #[test]
    fn a_lost_acked_add_is_reported() {
        let h = sample();
        let report = check_acked_present(&h.operations(), "jobs", &read(&["a", "d"]));
        assert!(!report.valid());
        assert_eq!(report.lost, 1);
        assert_eq!(report.lost_examples, vec!["b".to_string()]);
        assert!(report.to_string().contains("lost 1"), "{report}");
    }

    #[test]
    fn a_duplicated_element_is_reported() {
        let h = sample();
        let report = check_acked_present(&h.operations(), "jobs", &read(&["a", "b", "a"]));
        assert_eq!((report.duplicated, report.lost), (1, 0));
        assert!(!report.valid(), "{report}");
        // An unknown add appearing twice is a duplicate too.
        let report = check_acked_present(&h.operations(), "jobs", &read(&["a", "b", "d", "d"]));
        assert_eq!(report.duplicated_examples, vec!["d".to_string()]);
    }

    #[test]
    fn a_failed_or_never_attempted_element_present_is_unexpected() {
        let h = sample();
        let report = check_acked_present(&h.operations(), "jobs", &read(&["a", "b", "c", "zz"]));
        assert_eq!(report.unexpected, 2, "{report}");
        assert_eq!(
            report.unexpected_examples,
            vec!["c".to_string(), "zz".to_string()]
        );
        assert!(!report.valid());
    }

    #[test]
    fn adds_to_other_sets_are_not_counted() {
        let h = sample();
        let id = h.invoke(
            0,
            "vars",
            Input::Add {
                element: "v1".into(),
            },
        );
        h.complete(id, Completion::Ok(Output::Done));
        let report = check_acked_present(&h.operations(), "jobs", &read(&["a", "b"]));
        assert!(report.valid(), "{report}");
        assert_eq!(report.ok, 2);
        let vars = check_acked_present(&h.operations(), "vars", &[]);
        assert_eq!((vars.ok, vars.lost), (1, 1));
    }

    #[test]
    fn completion_is_recorded_once_and_times_are_ordered() {
        let h = History::new();
        let id = h.invoke(0, "r", Input::Read);
        h.complete(id, Completion::Ok(Output::Value(None)));
        h.complete(id, Completion::Unknown("late".into()));
        let ops = h.operations();
        let (end, completion) = ops[0].complete.clone().expect("completed");
        assert_eq!(completion, Completion::Ok(Output::Value(None)));
        assert!(end >= ops[0].invoke);
        assert!(ops[0].to_string().contains("ok None"), "{}", ops[0]);
    }

    #[test]
    fn history_is_shared_across_threads() {
        let h = History::new();
        let threads: Vec<_> = (0..4)
            .map(|p| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        add(&h, p, &format!("{p}-{i}"), Completion::Ok(Output::Done));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let ops = h.operations();
        assert_eq!(ops.len(), 400);
        assert!(ops.iter().enumerate().all(|(i, o)| o.id == i));
        let all: Vec<String> = ops
            .iter()
            .filter_map(|o| match &o.input {
                Input::Add { element } => Some(element.clone()),
                _ => None,
            })
            .collect();
        assert!(check_acked_present(&ops, "jobs", &all).valid());
    }
}
