//! A seeded schedule of faults against a cluster behind the fault network: partitions, kills,
//! pauses, one-way cuts, slow links and clients cut off, each held for a while and then
//! healed.
//!
//! ```text
//!   Schedule::generate(seed, duration, servers, clients)   the same seed, the same schedule
//!   run(&schedule, &mut cluster, &clients, &net)            applies each step, heals after it
//! ```
//!
//! A step that names "the leader" picks whoever leads when it starts, so a replay repeats
//! the schedule exactly and the cluster's answers to it as closely as timing allows.

use std::fmt;
use std::time::{Duration, Instant};

use crate::Cluster;
use crate::faults::Net;

/// One fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Cut the leader off from every other server.
    IsolateLeader,
    /// Cut server `i` off from every other server.
    Isolate(usize),
    /// `kill -9` the leader (restarted when the step heals).
    KillLeader,
    /// `kill -9` server `i` (restarted when the step heals).
    Kill(usize),
    /// SIGSTOP the leader (SIGCONT when the step heals).
    PauseLeader,
    /// SIGSTOP server `i`.
    Pause(usize),
    /// Server `from`'s bytes to every other server are lost; it still hears them.
    Mute(usize),
    /// 50-250 ms each way with 5% loss between two servers.
    Slow(usize, usize, u64),
    /// Client `i` cut off from every server.
    CutClient(usize),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::IsolateLeader => write!(f, "isolate the leader"),
            Fault::Isolate(i) => write!(f, "isolate s{}", i + 1),
            Fault::KillLeader => write!(f, "kill -9 the leader"),
            Fault::Kill(i) => write!(f, "kill -9 s{}", i + 1),
            Fault::PauseLeader => write!(f, "pause the leader"),
            Fault::Pause(i) => write!(f, "pause s{}", i + 1),
            Fault::Mute(i) => write!(f, "mute s{} (it hears, is not heard)", i + 1),
            Fault::Slow(a, b, ms) => write!(f, "slow s{} <-> s{} by {ms} ms", a + 1, b + 1),
            Fault::CutClient(i) => write!(f, "cut client {} off", i + 1),
        }
    }
}

/// One step: at `at` from the start, apply `fault`, hold it for `hold`, then heal.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Offset from the start of the run.
    pub at: Duration,
    /// What goes wrong.
    pub fault: Fault,
    /// How long it lasts.
    pub hold: Duration,
}

/// A seeded list of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The seed it came from.
    pub seed: u64,
    /// The steps, in order, not overlapping.
    pub steps: Vec<Step>,
}

/// splitmix64: small, seeded and the same on every platform and crate version.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

impl Schedule {
    /// Faults for `duration` against `servers` servers and `clients` clients: each held 1-6 s,
    /// with 1-3 s of calm after each heal.
    pub fn generate(seed: u64, duration: Duration, servers: usize, clients: usize) -> Schedule {
        let mut dice = Dice(seed);
        let mut steps = Vec::new();
        let mut at = Duration::from_secs(dice.range(1, 3));
        let kinds = if clients > 0 { 9 } else { 8 };
        loop {
            let hold = Duration::from_millis(dice.range(1_000, 6_000));
            if at + hold > duration {
                break;
            }
            let server = dice.range(0, servers as u64) as usize;
            let fault = match dice.range(0, kinds) {
                0 => Fault::IsolateLeader,
                1 => Fault::Isolate(server),
                2 => Fault::KillLeader,
                3 => Fault::Kill(server),
                4 => Fault::PauseLeader,
                5 => Fault::Pause(server),
                6 => Fault::Mute(server),
                7 => {
                    let other = (server + 1 + dice.range(0, servers as u64 - 1) as usize) % servers;
                    Fault::Slow(server, other, dice.range(50, 250))
                }
                _ => Fault::CutClient(dice.range(0, clients as u64) as usize),
            };
            steps.push(Step { at, fault, hold });
            at += hold + Duration::from_millis(dice.range(1_000, 3_000));
        }
        Schedule { seed, steps }
    }
}

/// The seed from `NOMADISH_NEMESIS_SEED`, else one from the clock; printed either way so a
/// failing run can be replayed.
pub fn seed_from_env() -> u64 {
    let seed = std::env::var("NOMADISH_NEMESIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("nemesis seed {seed} (replay with NOMADISH_NEMESIS_SEED={seed})");
    seed
}

/// What the run did: each step with when it started and what it hit.
pub type Log = Vec<String>;

/// Applies the schedule to `cluster` (servers) and the clients named `clients`, healing after
/// each step; leaves every server running and every link healed.
pub async fn run(schedule: &Schedule, cluster: &mut Cluster, clients: &[String], net: &Net) -> Log {
    let start = Instant::now();
    let mut log = Vec::new();
    for step in &schedule.steps {
        if let Some(wait) = step.at.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let leader = cluster.leader().await.map(|(i, _)| i);
        let target = match step.fault {
            Fault::IsolateLeader | Fault::KillLeader | Fault::PauseLeader => leader,
            Fault::Isolate(i) | Fault::Kill(i) | Fault::Pause(i) | Fault::Mute(i) => Some(i),
            Fault::Slow(a, _, _) => Some(a),
            Fault::CutClient(_) => None,
        };
        let names: Vec<String> = cluster.servers.iter().map(|s| s.name.clone()).collect();
        let mut killed = None;
        let mut paused = None;
        match (&step.fault, target) {
            (Fault::IsolateLeader | Fault::Isolate(_), Some(i)) => {
                for other in names.iter().filter(|n| **n != names[i]) {
                    net.cut(&names[i], other);
                }
            }
            (Fault::KillLeader | Fault::Kill(_), Some(i)) => {
                cluster.servers[i].kill9();
                killed = Some(i);
            }
            (Fault::PauseLeader | Fault::Pause(_), Some(i)) => {
                cluster.servers[i].pause();
                paused = Some(i);
            }
            (Fault::Mute(_), Some(i)) => {
                for other in names.iter().filter(|n| **n != names[i]) {
                    net.cut_one_way(&names[i], other);
                }
            }
            (Fault::Slow(a, b, ms), _) => {
                net.slow(&names[*a], &names[*b], Duration::from_millis(*ms), 0.05);
            }
            (Fault::CutClient(c), _) => {
                if let Some(client) = clients.get(*c) {
                    for s in &names {
                        net.cut(client, s);
                    }
                }
            }
            // A step on "the leader" when there is none does nothing.
            _ => {}
        }
        let hit = target.map_or("-".to_string(), |i| names[i].clone());
        log.push(format!(
            "{:>7.1}s {} (on {hit}) for {:.1}s",
            start.elapsed().as_secs_f64(),
            step.fault,
            step.hold.as_secs_f64()
        ));
        tokio::time::sleep(step.hold).await;
        net.heal_all();
        if let Some(i) = paused {
            cluster.servers[i].resume();
        }
        if let Some(i) = killed {
            cluster.servers[i].launch();
        }
    }
    net.heal_all();
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_steps_never_overlap() {
        let d = Duration::from_secs(600);
        let a = Schedule::generate(42, d, 3, 2);
        assert_eq!(a, Schedule::generate(42, d, 3, 2));
        assert_ne!(a, Schedule::generate(43, d, 3, 2));
        assert!(a.steps.len() > 50, "{} steps", a.steps.len());
        for w in a.steps.windows(2) {
            assert!(w[0].at + w[0].hold < w[1].at, "{w:?}");
        }
        let last = a.steps.last().expect("steps");
        assert!(last.at + last.hold <= d);
        for s in &a.steps {
            match s.fault {
                Fault::Isolate(i) | Fault::Kill(i) | Fault::Pause(i) | Fault::Mute(i) => {
                    assert!(i < 3)
                }
                Fault::Slow(x, y, ms) => assert!(x < 3 && y < 3 && x != y && ms >= 50),
                Fault::CutClient(c) => assert!(c < 2),
                _ => {}
            }
        }
        // Every kind of fault comes up in ten minutes.
        let kinds: std::collections::HashSet<std::mem::Discriminant<Fault>> = a
            .steps
            .iter()
            .map(|s| std::mem::discriminant(&s.fault))
            .collect();
        assert_eq!(kinds.len(), 9);
        // Without clients, no client step.
        let b = Schedule::generate(42, d, 3, 0);
        assert!(
            b.steps
                .iter()
                .all(|s| !matches!(s.fault, Fault::CutClient(_)))
        );
    }
}
