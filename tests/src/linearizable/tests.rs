//! Hand-made and generated histories for the linearizability checker.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt as _, SeedableRng};

use super::*;
use crate::history::{Completion, History, Output};

fn w(v: &str) -> Input {
    Input::Write {
        value: v.to_string(),
    }
}

fn cas(expected: Option<&str>, new: &str) -> Input {
    Input::Cas {
        expected: expected.map(str::to_string),
        new: new.to_string(),
    }
}

fn val(v: Option<&str>) -> Output {
    Output::Value(v.map(str::to_string))
}

/// A history written by hand; times in milliseconds.
#[derive(Default)]
struct B {
    ops: Vec<Operation>,
}

impl B {
    fn push(
        mut self,
        p: usize,
        key: &str,
        input: Input,
        from: u64,
        end: Option<(u64, Completion)>,
    ) -> Self {
        self.ops.push(Operation {
            id: self.ops.len(),
            process: p,
            key: key.to_string(),
            input,
            invoke: Duration::from_millis(from),
            complete: end.map(|(t, c)| (Duration::from_millis(t), c)),
        });
        self
    }

    fn ok(self, p: usize, input: Input, from: u64, to: u64, out: Output) -> Self {
        self.push(p, "x", input, from, Some((to, Completion::Ok(out))))
    }

    fn unknown(self, p: usize, input: Input, from: u64) -> Self {
        let end = Some((from + 5_000, Completion::Unknown("timeout".into())));
        self.push(p, "x", input, from, end)
    }

    fn failed(self, p: usize, input: Input, from: u64, to: u64) -> Self {
        self.push(
            p,
            "x",
            input,
            from,
            Some((to, Completion::Failed("400".into()))),
        )
    }

    fn check(&self) -> Report {
        check(&self.ops, Limits::default())
    }
}

fn violation(report: &Report) -> &Violation {
    match &report.verdict {
        Verdict::NotLinearizable(v) => v,
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn sequential_reads_writes_and_cas_are_linearizable() {
    let r = B::default()
        .ok(0, Input::Read, 0, 1, val(None))
        .ok(0, w("a"), 2, 3, Output::Done)
        .ok(1, Input::Read, 4, 5, val(Some("a")))
        .ok(1, cas(Some("a"), "b"), 6, 7, Output::CasOk)
        .ok(0, cas(Some("a"), "c"), 8, 9, Output::CasFailed)
        .ok(0, Input::Read, 10, 11, val(Some("b")))
        .check();
    assert!(r.is_linearizable(), "{r}");
    assert_eq!((r.keys, r.ops), (1, 6));
}

#[test]
fn stale_read_after_an_acknowledged_write_is_not_linearizable() {
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .ok(0, w("b"), 2, 3, Output::Done)
        .ok(1, Input::Read, 4, 5, val(Some("a")))
        .check();
    let v = violation(&r);
    assert_eq!(v.culprit.id, 2, "{v}");
    assert_eq!(v.prefix_ops, 3);
    let text = r.to_string();
    assert!(
        text.contains("NOT linearizable") && text.contains("read"),
        "{text}"
    );
}

#[test]
fn two_successful_cas_from_the_same_value_are_not_linearizable() {
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .ok(1, cas(Some("a"), "b"), 2, 10, Output::CasOk)
        .ok(2, cas(Some("a"), "c"), 3, 11, Output::CasOk)
        .check();
    let v = violation(&r);
    assert_eq!(v.culprit.id, 2, "the second one to return: {v}");
    assert!(v.context.iter().any(|o| o.id == 1), "{v}");
    // One of them refused instead: fine, in either order.
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .ok(1, cas(Some("a"), "b"), 2, 10, Output::CasFailed)
        .ok(2, cas(Some("a"), "c"), 3, 11, Output::CasOk)
        .ok(1, Input::Read, 12, 13, val(Some("c")))
        .check();
    assert!(r.is_linearizable(), "{r}");
}

#[test]
fn a_lost_acknowledged_write_is_not_linearizable() {
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .ok(1, Input::Read, 2, 3, val(None))
        .check();
    assert_eq!(violation(&r).culprit.id, 1);
    // Overwritten by a later write, then read back as the older one: lost too.
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .ok(0, w("b"), 2, 3, Output::Done)
        .ok(1, Input::Read, 4, 5, val(Some("b")))
        .ok(2, Input::Read, 6, 7, val(Some("a")))
        .check();
    assert_eq!(violation(&r).culprit.id, 3);
}

#[test]
fn concurrent_writes_may_take_effect_in_either_order() {
    let r = B::default()
        .ok(0, w("a"), 0, 10, Output::Done)
        .ok(1, w("b"), 1, 9, Output::Done)
        .ok(2, Input::Read, 11, 12, val(Some("a")))
        .ok(3, Input::Read, 13, 14, val(Some("a")))
        .check();
    assert!(r.is_linearizable(), "{r}");
    let r = B::default()
        .ok(0, w("a"), 0, 10, Output::Done)
        .ok(1, w("b"), 1, 9, Output::Done)
        .ok(2, Input::Read, 11, 12, val(Some("b")))
        .check();
    assert!(r.is_linearizable(), "{r}");
}

#[test]
fn a_read_during_a_write_sees_old_or_new_but_never_back_again() {
    let ok = B::default()
        .ok(0, w("a"), 0, 20, Output::Done)
        .ok(1, Input::Read, 1, 2, val(None))
        .ok(1, Input::Read, 3, 4, val(Some("a")))
        .ok(2, Input::Read, 5, 6, val(Some("a")))
        .check();
    assert!(ok.is_linearizable(), "{ok}");
    let bad = B::default()
        .ok(0, w("a"), 0, 20, Output::Done)
        .ok(1, Input::Read, 1, 2, val(Some("a")))
        .ok(2, Input::Read, 3, 4, val(None))
        .check();
    assert_eq!(violation(&bad).culprit.id, 2, "{bad}");
}

#[test]
fn an_unknown_write_may_or_may_not_have_happened() {
    let happened = B::default()
        .unknown(0, w("a"), 0)
        .ok(1, Input::Read, 100, 101, val(Some("a")))
        .check();
    assert!(happened.is_linearizable(), "{happened}");
    let never = B::default()
        .unknown(0, w("a"), 0)
        .ok(1, Input::Read, 100, 101, val(None))
        .ok(1, w("b"), 102, 103, Output::Done)
        .ok(1, Input::Read, 104, 105, val(Some("b")))
        .check();
    assert!(never.is_linearizable(), "{never}");
    // Seen once, it cannot vanish again.
    let flicker = B::default()
        .unknown(0, w("a"), 0)
        .ok(1, Input::Read, 100, 101, val(Some("a")))
        .ok(1, Input::Read, 102, 103, val(None))
        .check();
    assert!(!flicker.is_linearizable(), "{flicker}");
    // But it may land after a later acknowledged write (it never returned).
    let late = B::default()
        .unknown(0, w("a"), 0)
        .ok(1, w("b"), 100, 101, Output::Done)
        .ok(1, Input::Read, 102, 103, val(Some("a")))
        .check();
    assert!(late.is_linearizable(), "{late}");
}

#[test]
fn an_unknown_cas_and_an_unanswered_read() {
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .unknown(1, cas(Some("a"), "b"), 2)
        .unknown(2, Input::Read, 3)
        .ok(2, Input::Read, 10, 11, val(Some("b")))
        .check();
    assert!(r.is_linearizable(), "{r}");
    // An op that never completed at all counts as unknown.
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .push(1, "x", cas(Some("a"), "b"), 2, None)
        .ok(2, Input::Read, 10, 11, val(Some("a")))
        .ok(2, Input::Read, 12, 13, val(Some("b")))
        .check();
    assert!(r.is_linearizable(), "{r}");
    // An unknown cas can only set its value from the expected one.
    let r = B::default()
        .ok(0, w("z"), 0, 1, Output::Done)
        .unknown(1, cas(Some("a"), "b"), 2)
        .ok(2, Input::Read, 10, 11, val(Some("b")))
        .check();
    assert!(!r.is_linearizable(), "{r}");
}

#[test]
fn a_failed_write_did_not_happen() {
    let r = B::default()
        .failed(0, w("a"), 0, 1)
        .ok(1, Input::Read, 2, 3, val(None))
        .check();
    assert!(r.is_linearizable(), "{r}");
    let r = B::default()
        .failed(0, w("a"), 0, 1)
        .ok(1, Input::Read, 2, 3, val(Some("a")))
        .check();
    assert!(!r.is_linearizable(), "{r}");
}

#[test]
fn a_refused_cas_must_have_seen_another_value() {
    let r = B::default()
        .ok(0, w("a"), 0, 1, Output::Done)
        .ok(1, cas(Some("a"), "b"), 2, 3, Output::CasFailed)
        .check();
    assert!(!r.is_linearizable(), "{r}");
    let r = B::default()
        .ok(0, cas(None, "a"), 0, 1, Output::CasOk)
        .ok(1, cas(None, "b"), 2, 3, Output::CasFailed)
        .ok(1, Input::Read, 4, 5, val(Some("a")))
        .check();
    assert!(r.is_linearizable(), "{r}");
}

#[test]
fn keys_are_checked_independently_and_the_bad_one_is_named() {
    let r = B::default()
        .push(
            0,
            "good",
            w("a"),
            0,
            Some((1, Completion::Ok(Output::Done))),
        )
        .push(1, "bad", w("a"), 0, Some((1, Completion::Ok(Output::Done))))
        .push(
            0,
            "good",
            Input::Read,
            2,
            Some((3, Completion::Ok(val(Some("a"))))),
        )
        .push(
            1,
            "bad",
            Input::Read,
            2,
            Some((3, Completion::Ok(val(Some("b"))))),
        )
        .push(
            2,
            "set",
            Input::Add {
                element: "j".into(),
            },
            2,
            None,
        )
        .check();
    assert_eq!(r.keys, 2, "adds are not register ops");
    assert_eq!(violation(&r).key, "bad");
}

#[test]
fn the_explanation_is_the_shortest_failing_prefix() {
    let mut b = B::default();
    for i in 0..50u64 {
        let v = format!("v{i}");
        b = b.ok(0, w(&v), i * 10, i * 10 + 2, Output::Done).ok(
            1,
            Input::Read,
            i * 10 + 3,
            i * 10 + 4,
            val(Some(&v)),
        );
    }
    // A stale read in the middle, then a long tail of correct ops.
    b = b.ok(2, Input::Read, 205, 206, val(Some("v3")));
    let r = b.check();
    let v = violation(&r);
    assert_eq!(v.culprit.invoke, Duration::from_millis(205), "{v}");
    assert!(v.prefix_ops < 50, "{v}");
    assert!(v.context.len() <= CONTEXT_OPS + RECENT_WRITES, "{v}");
}

#[test]
fn a_step_limit_gives_unknown_not_a_verdict() {
    let mut b = B::default();
    for p in 0..12 {
        b = b.ok(p, w(&format!("v{p}")), 0, 100, Output::Done);
    }
    b = b.ok(20, Input::Read, 101, 102, val(Some("nowhere")));
    let limits = Limits {
        max_steps_per_key: 50,
        timeout: Duration::from_secs(10),
    };
    let r = check(&b.ops, limits);
    assert!(matches!(r.verdict, Verdict::Unknown(_)), "{r}");
    assert!(r.to_string().starts_with("unknown"), "{r}");
}

/// A run of an atomic register: each op takes effect at a random instant inside its interval.
/// Some writes and cas get no answer (and take effect or not); a few are refused outright.
fn simulate(seed: u64, processes: usize, total: usize, keys: usize) -> Vec<Operation> {
    struct Planned {
        process: usize,
        key: usize,
        kind: u8,
        invoke: u64,
        at: u64,
        ret: u64,
        fate: u8,
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut clocks = vec![0u64; processes];
    let mut plan = Vec::with_capacity(total);
    for _ in 0..total {
        let process = (0..processes)
            .min_by_key(|p| clocks[*p])
            .expect("processes");
        let invoke = clocks[process] + rng.random_range(0..300);
        let ret = invoke + rng.random_range(50..5_000);
        let at = rng.random_range(invoke + 1..ret);
        clocks[process] = ret;
        plan.push(Planned {
            process,
            key: rng.random_range(0..keys),
            kind: rng.random_range(0..3u8),
            invoke,
            at,
            ret,
            // 0: ok, 1: unknown and applied, 2: unknown and not, 3: refused.
            fate: match rng.random_range(0..100) {
                0..4 => 1,
                4..8 => 2,
                8..10 => 3,
                _ => 0,
            },
        });
    }
    plan.sort_by_key(|p| p.at);
    let mut registers: HashMap<usize, Option<String>> = HashMap::new();
    let mut ops = Vec::with_capacity(total);
    for (n, p) in plan.iter().enumerate() {
        let current = registers.entry(p.key).or_default();
        let new = format!("v{n}");
        let applies = matches!(p.fate, 0 | 1);
        let (input, output) = match p.kind {
            0 => (Input::Read, val(current.as_deref())),
            1 => {
                if applies {
                    *current = Some(new.clone());
                }
                (w(&new), Output::Done)
            }
            _ => {
                let expected = if rng.random_bool(0.6) {
                    current.clone()
                } else {
                    Some(format!("v{}", rng.random_range(0..n + 1)))
                };
                let set = *current == expected;
                if set && applies {
                    *current = Some(new.clone());
                }
                let out = if set {
                    Output::CasOk
                } else {
                    Output::CasFailed
                };
                (cas(expected.as_deref(), &new), out)
            }
        };
        let completion = match p.fate {
            0 => Completion::Ok(output),
            3 => Completion::Failed("refused".into()),
            _ => Completion::Unknown("timeout".into()),
        };
        ops.push(Operation {
            id: 0,
            process: p.process,
            key: format!("k{}", p.key),
            input,
            invoke: Duration::from_micros(p.invoke),
            complete: Some((Duration::from_micros(p.ret), completion)),
        });
    }
    History::from_operations(ops).operations()
}

#[test]
fn a_generated_atomic_register_history_of_1000_ops_is_linearizable() {
    for seed in 0..5 {
        let ops = simulate(seed, 16, 1_000, 10);
        let started = Instant::now();
        let r = check(&ops, Limits::default());
        eprintln!("seed {seed}: {r} (wall {:?})", started.elapsed());
        assert!(r.is_linearizable(), "seed {seed}: {r}");
        assert_eq!(r.keys, 10);
        assert!(r.elapsed < Duration::from_secs(5), "{r}");
    }
}

#[test]
fn a_generated_history_with_one_corrupted_read_is_not() {
    for seed in 0..5 {
        let mut ops = simulate(seed, 16, 1_000, 10);
        // A read that returns a value only written by an op invoked after the read returned.
        let end = |o: &Operation| o.complete.as_ref().map(|(t, _)| *t).expect("completed");
        let (read, value) = ops
            .iter()
            .filter(|r| matches!(r.output(), Some(Output::Value(_))))
            .find_map(|r| {
                ops.iter()
                    .find(|o| {
                        o.key == r.key && o.invoke > end(r) && o.output() == Some(&Output::Done)
                    })
                    .map(|o| match &o.input {
                        Input::Write { value } => (r.id, value.clone()),
                        _ => unreachable!("only writes answer Done"),
                    })
            })
            .expect("a read followed by a write on its key");
        let when = end(&ops[read]);
        ops[read].complete = Some((when, Completion::Ok(val(Some(&value)))));
        let r = check(&ops, Limits::default());
        eprintln!("seed {seed}, read #{read} corrupted: {r}");
        let v = violation(&r);
        assert_eq!(v.culprit.id, read, "{v}");
    }
}

/// The search is exponential in how many ops overlap on one key; measured in a debug build:
/// 400 ops with 4 clients ~2 ms, 8 ~35 ms, 12 ~0.4 s, 16 ~6 s (4.5 M steps).
#[test]
fn one_hot_key_with_a_dozen_concurrent_clients_checks_in_time() {
    for processes in [8, 12] {
        let ops = simulate(42, processes, 400, 1);
        let r = check(&ops, Limits::default());
        eprintln!("hot key, {processes} clients: {r}");
        assert!(r.is_linearizable(), "{r}");
        assert!(r.elapsed < Duration::from_secs(10), "{r}");
    }
}
