//! The register's sequential specification, and one key's operations turned into search input.
//!
//! Two reductions keep histories with many unknown outcomes tractable, both exact:
//! - **Unobserved values are one value.** A value no read returned and no CAS expected can be
//!   told apart from another such value by no operation, so they all intern to [`UNOBSERVED`]
//!   and the search remembers fewer distinct states.
//! - **Interchangeable pending ops.** Ops that never returned and do the same thing (same
//!   [`Kind`] after interning, e.g. unknown writes of unobserved values) are placed in the
//!   order they were called: any linearization using some of them can use the earliest-called
//!   ones at the same points instead (each point is after that many calls).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::history::{Completion, Input, Operation, Output};

/// The state of a register that does not exist.
pub(super) const ABSENT: u32 = 0;
/// Every value that no operation observes.
pub(super) const UNOBSERVED: u32 = 1;
/// The return time of an op that never returned.
pub(super) const NEVER: u64 = u64::MAX;

/// The outcome of a check-and-set as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum CasResult {
    Set,
    Refused,
    Unknown,
}

/// A register operation with values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Read(u32),
    Write(u32),
    Cas {
        expected: u32,
        new: u32,
        result: CasResult,
    },
}

/// An operation ready for the search: times in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Op {
    pub call: u64,
    /// [`NEVER`] for an outcome not known.
    pub ret: u64,
    pub kind: Kind,
    /// For an op that never returned: its group of interchangeable ops and its rank in it
    /// by call time.
    pub group: usize,
    pub rank: usize,
}

/// The state after `kind` in `state`, or `None` if `kind` cannot happen in `state`.
pub(super) fn step(state: u32, kind: Kind) -> Option<u32> {
    match kind {
        Kind::Read(v) => (v == state).then_some(state),
        Kind::Write(v) => Some(v),
        Kind::Cas {
            expected,
            new,
            result,
        } => match result {
            CasResult::Set => (state == expected).then_some(new),
            CasResult::Refused => (state != expected).then_some(state),
            CasResult::Unknown => Some(if state == expected { new } else { state }),
        },
    }
}

/// One key's operations as they stood at `cut`: ops invoked after it left out, ops completing
/// after it pending (unknown); failed ops and reads without a result dropped. A failed op is
/// left out even when it failed after the cut: it never happened, and keeping that knowledge
/// makes every prefix at least as strict as the whole history, so the prefixes of a
/// linearizable history all pass. Sorted by call time.
pub(super) fn prepare(ops: &[&Operation], cut: Duration) -> Vec<Op> {
    let mut known: Vec<(&Operation, Option<(Duration, &Output)>)> = ops
        .iter()
        .filter(|o| o.invoke <= cut && !o.failed())
        .map(|o| {
            let output = match &o.complete {
                Some((t, Completion::Ok(out))) if *t <= cut => Some((*t, out)),
                _ => None,
            };
            (*o, output)
        })
        .filter(|(o, out)| !matches!(o.input, Input::Add { .. }) && !is_unanswered_read(o, *out))
        .collect();
    known.sort_by_key(|(o, _)| o.invoke);
    let mut values = Interner::new(&known);
    let mut groups: HashMap<Kind, usize> = HashMap::new();
    let mut members: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(known.len());
    for (o, output) in known {
        let out_value = output.map(|(_, v)| v);
        let (kind, answered) = match (&o.input, out_value) {
            (Input::Read, Some(Output::Value(v))) => (Kind::Read(values.get(v.as_deref())), true),
            (Input::Write { value }, answer) => (
                Kind::Write(values.get(Some(value))),
                answer == Some(&Output::Done),
            ),
            (Input::Cas { expected, new }, answer) => {
                let result = match answer {
                    Some(Output::CasOk) => CasResult::Set,
                    Some(Output::CasFailed) => CasResult::Refused,
                    _ => CasResult::Unknown,
                };
                let (expected, new) = (values.get(expected.as_deref()), values.get(Some(new)));
                let kind = Kind::Cas {
                    expected,
                    new,
                    result,
                };
                (kind, result != CasResult::Unknown)
            }
            (Input::Read | Input::Add { .. }, _) => unreachable!("filtered above"),
        };
        // An answer that does not fit the request counts as no answer.
        let mut op = Op {
            call: nanos(o.invoke),
            ret: NEVER,
            kind,
            group: usize::MAX,
            rank: 0,
        };
        match output {
            Some((t, _)) if answered => op.ret = nanos(t),
            _ => {
                let next = groups.len();
                op.group = *groups.entry(kind).or_insert(next);
                if op.group == members.len() {
                    members.push(0);
                }
                op.rank = members[op.group];
                members[op.group] += 1;
            }
        }
        out.push(op);
    }
    out
}

fn is_unanswered_read(o: &Operation, output: Option<(Duration, &Output)>) -> bool {
    matches!(o.input, Input::Read) && !matches!(output, Some((_, Output::Value(_))))
}

/// Values to numbers: [`ABSENT`], [`UNOBSERVED`], then each observed value its own.
struct Interner<'a> {
    observed: HashSet<&'a str>,
    ids: HashMap<&'a str, u32>,
}

impl<'a> Interner<'a> {
    fn new(ops: &[(&'a Operation, Option<(Duration, &'a Output)>)]) -> Self {
        let mut observed = HashSet::new();
        for (o, out) in ops {
            if let Some((_, Output::Value(Some(v)))) = out {
                observed.insert(v.as_str());
            }
            if let Input::Cas {
                expected: Some(e), ..
            } = &o.input
            {
                observed.insert(e.as_str());
            }
        }
        Self {
            observed,
            ids: HashMap::new(),
        }
    }

    fn get(&mut self, value: Option<&'a str>) -> u32 {
        match value {
            None => ABSENT,
            Some(v) if !self.observed.contains(v) => UNOBSERVED,
            Some(v) => {
                let next = self.ids.len() as u32 + 2;
                *self.ids.entry(v).or_insert(next)
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NEVER - 1)
}
