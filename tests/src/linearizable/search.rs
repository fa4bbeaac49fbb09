//! The depth-first search for a linearization of one key's operations.
//!
//! ```text
//!   head ─> call a ─> call b ─> ret a ─> call c ─> ret b ─> ret c ─> ... ─> ret x (never)
//!   take the first call whose op is legal now: lift its call and return out of the list,
//!   push (entry, state before); back to the head.
//!   meet a return first: its op should have been placed by now; pop, put the entries back,
//!   try the next call after the one popped. Stack empty: no linearization exists.
//! ```
//!
//! `seen` remembers every (set of ops placed, state) reached: reaching one again cannot lead
//! anywhere new (Lowe's memoization). An op that never returned may be placed anywhere after
//! its call or never; it is placed only where it changes the state (a no-op placement can move
//! to the end) and, among interchangeable ones, earliest-called first (see `model`). Once only
//! such ops are left, the rest of them can all go at the end: linearizable.

use std::collections::HashSet;
use std::time::Instant;

use super::model::{NEVER, Op, step};

/// How often (in search steps) the wall-clock limit is looked at.
const CLOCK_EVERY: u64 = 1024;
/// The end of the list.
const NIL: usize = usize::MAX;

/// Steps and wall time left for one search.
pub(super) struct Budget {
    pub steps: u64,
    max_steps: u64,
    deadline: Instant,
}

impl Budget {
    pub fn new(max_steps: u64, deadline: Instant) -> Self {
        Self {
            steps: 0,
            max_steps,
            deadline,
        }
    }

    /// Counts a step; `Err` with the reason once a limit is reached.
    fn tick(&mut self) -> Result<(), String> {
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(format!("step limit {} reached", self.max_steps));
        }
        if self.steps.is_multiple_of(CLOCK_EVERY) && Instant::now() > self.deadline {
            return Err(format!("time limit reached after {} steps", self.steps));
        }
        Ok(())
    }
}

/// What one search concluded.
pub(super) enum Outcome {
    Linearizable,
    Illegal,
    Exhausted(String),
}

/// One call or return event in the doubly linked list the search lifts entries out of.
#[derive(Debug, Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
    /// For a call, its return entry.
    matching: usize,
    prev: usize,
    next: usize,
}

/// The event list; entry 0 is the head sentinel.
struct Events {
    e: Vec<Entry>,
}

impl Events {
    fn new(ops: &[Op]) -> Self {
        // (time, return?, op): at equal times calls come first, so touching ops overlap.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, false, i));
            events.push((op.ret, true, i));
        }
        events.sort_unstable();
        let head = Entry {
            op: NIL,
            is_call: false,
            matching: NIL,
            prev: NIL,
            next: if events.is_empty() { NIL } else { 1 },
        };
        let mut e = vec![head];
        let mut ret_of = vec![NIL; ops.len()];
        for (pos, (_, is_ret, op)) in events.iter().enumerate() {
            let idx = pos + 1;
            e.push(Entry {
                op: *op,
                is_call: !is_ret,
                matching: NIL,
                prev: idx - 1,
                next: if idx < events.len() { idx + 1 } else { NIL },
            });
            if *is_ret {
                ret_of[*op] = idx;
            }
        }
        for call in e.iter_mut().skip(1).filter(|x| x.is_call) {
            call.matching = ret_of[call.op];
        }
        Self { e }
    }

    fn first(&self) -> usize {
        self.e[0].next
    }

    fn unlink(&mut self, i: usize) {
        let Entry { prev, next, .. } = self.e[i];
        self.e[prev].next = next;
        if next != NIL {
            self.e[next].prev = prev;
        }
    }

    fn relink(&mut self, i: usize) {
        let Entry { prev, next, .. } = self.e[i];
        self.e[prev].next = i;
        if next != NIL {
            self.e[next].prev = i;
        }
    }

    /// Takes a call and its return out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.e[call].matching);
    }

    /// Puts back what [`Events::lift`] took (in reverse order).
    fn unlift(&mut self, call: usize) {
        self.relink(self.e[call].matching);
        self.relink(call);
    }
}

/// The search's position: what is placed, the state, and what placing the rest may use.
struct Placed {
    bits: Vec<u64>,
    state: u32,
    /// Ops that returned, not yet placed.
    finite_left: usize,
    /// Per group of interchangeable never-returned ops: how many are placed.
    group_next: Vec<usize>,
}

impl Placed {
    fn new(ops: &[Op]) -> Self {
        let groups = ops
            .iter()
            .filter(|o| o.ret == NEVER)
            .map(|o| o.group + 1)
            .max()
            .unwrap_or(0);
        Self {
            bits: vec![0u64; ops.len().div_ceil(64)],
            state: super::model::ABSENT,
            finite_left: ops.iter().filter(|o| o.ret != NEVER).count(),
            group_next: vec![0; groups],
        }
    }

    /// The state after placing `op` now, if it may be placed now.
    fn try_step(&self, op: &Op) -> Option<u32> {
        let next = step(self.state, op.kind)?;
        if op.ret != NEVER {
            return Some(next);
        }
        (next != self.state && self.group_next[op.group] == op.rank).then_some(next)
    }

    fn flip(&mut self, i: usize, op: &Op, placed: bool) {
        self.bits[i / 64] ^= 1 << (i % 64);
        match (op.ret == NEVER, placed) {
            (false, true) => self.finite_left -= 1,
            (false, false) => self.finite_left += 1,
            (true, true) => self.group_next[op.group] += 1,
            (true, false) => self.group_next[op.group] -= 1,
        }
    }
}

/// Looks for a linearization of `ops` (from [`super::model::prepare`]).
pub(super) fn search(ops: &[Op], budget: &mut Budget) -> Outcome {
    let mut events = Events::new(ops);
    let mut at = Placed::new(ops);
    let mut seen: HashSet<(Vec<u64>, u32)> = HashSet::new();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut entry = events.first();
    while at.finite_left > 0 {
        if let Err(why) = budget.tick() {
            return Outcome::Exhausted(why);
        }
        let Entry { op, is_call, .. } = events.e[entry];
        if is_call {
            if let Some(next) = at.try_step(&ops[op]) {
                at.flip(op, &ops[op], true);
                if seen.insert((at.bits.clone(), next)) {
                    stack.push((entry, at.state));
                    at.state = next;
                    events.lift(entry);
                    entry = events.first();
                    continue;
                }
                at.flip(op, &ops[op], false);
            }
            entry = events.e[entry].next;
        } else {
            // A return whose op is not placed: nothing still pending could be placed before
            // it, so undo the last choice.
            let Some((call, before)) = stack.pop() else {
                return Outcome::Illegal;
            };
            let op = events.e[call].op;
            at.flip(op, &ops[op], false);
            at.state = before;
            events.unlift(call);
            entry = events.e[call].next;
        }
    }
    Outcome::Linearizable
}
