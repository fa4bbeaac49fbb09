//! Scenario 9 of RELIABILITY.md: the raft store (log entries in segment files, the vote and
//! bookkeeping in sled) passes openraft's storage conformance suite, and 100 `kill -9`s of a
//! process appending to it leave no hole in the log and lose no entry that was reported
//! flushed.
//!
//! ```text
//!   this test ──spawn──> itself with NOMADISH_SCENARIO_9_DIR set (the child mode):
//!                         a one-server raft on the store, 4 writers, prints
//!                         "acked <index> <eval id>" after each write returns
//!        │ reads the acks, SIGKILLs the child after a varying number of them
//!        └─ opens the store: entries contiguous from the first to the last index, every
//!           acked entry at its index with its payload; then the next child on the same dir
//! ```
//!
//! A write returns only once its entry is committed, and a one-server raft commits an entry
//! only after the log store reported it flushed, so an ack line is a flushed entry.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nomadish_proto::model::Evaluation;
use nomadish_server::fsm::Command as RaftCommand;
use nomadish_server::raft::{
    LogStore, Network, NodeId, Raft, ServerNode, StateMachine, TypeConfig, open_storage,
};
use nomadish_server::state::StateStore;
use openraft::storage::RaftLogStorage;
use openraft::testing::{StoreBuilder, Suite};
use openraft::{Config, EntryPayload, RaftLogReader, SnapshotPolicy, StorageError};

/// Set in the child process: the store's directory.
const CHILD_DIR_ENV: &str = "NOMADISH_SCENARIO_9_DIR";
/// Set in the child process: which run it is (keeps eval IDs unique across runs).
const CHILD_RUN_ENV: &str = "NOMADISH_SCENARIO_9_RUN";
/// How many times the appending process is killed.
const KILLS: u64 = 100;
/// Concurrent writers in the child (so appends arrive in batches, as under load).
const CHILD_WRITERS: usize = 4;
/// The child exits on its own after this long (if the test died without killing it).
const CHILD_LIFETIME: Duration = Duration::from_secs(60);
/// Longest wait for a child to elect itself and print `ready`, or for its next ack.
const CHILD_WAIT: Duration = Duration::from_secs(20);
/// The name of this test, for the child's `--exact` filter.
const TEST_NAME: &str = "scenario_9_raft_store_passes_openraft_suite_and_survives_100_kill9s";

struct StoreBuilderOnTempDir;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for StoreBuilderOnTempDir {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (log, sm) = open_storage(dir.path(), StateStore::new()).expect("opens");
        Ok((dir, log, sm))
    }
}

#[test]
fn scenario_9_raft_store_passes_openraft_suite_and_survives_100_kill9s() {
    if let Some(dir) = std::env::var_os(CHILD_DIR_ENV) {
        let run: u64 = std::env::var(CHILD_RUN_ENV)
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        child(Path::new(&dir), run);
        return;
    }
    let started = Instant::now();
    Suite::test_all(StoreBuilderOnTempDir).expect("the raft store passes openraft's storage suite");
    eprintln!("openraft storage suite: {:?}", started.elapsed());

    let dir = nomadish_tests::test_dir();
    let store = dir.path().join("raft");
    let started = Instant::now();
    // Every acknowledged entry so far: index -> eval ID.
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for run in 0..KILLS {
        // A varying kill point: after 1 to 40 acknowledgements of this run.
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let kill_after = 1 + (seed >> 33) % 40;
        let run_acks = run_child_and_kill(&store, run, kill_after);
        for (index, id) in run_acks {
            if let Some(old) = acked.insert(index, id.clone()) {
                panic!("run {run}: index {index} acknowledged twice ({old} and {id})");
            }
        }
        check_store(&store, &acked, run);
    }
    eprintln!(
        "{KILLS} kill -9s, {} acknowledged entries, all present, no hole: {:?}",
        acked.len(),
        started.elapsed()
    );
    assert!(
        acked.len() as u64 >= KILLS,
        "every run acknowledged at least one entry"
    );
}

/// Starts the child on `store`, reads its acks, kills it with SIGKILL after `kill_after` of
/// them, and returns every ack it printed (including those already in the pipe).
fn run_child_and_kill(store: &Path, run: u64, kill_after: u64) -> Vec<(u64, String)> {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, store)
        .env(CHILD_RUN_ENV, run.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the appending child");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut acks = Vec::new();
    let mut ready = false;
    loop {
        let line = match rx.recv_timeout(CHILD_WAIT) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("run {run}: the child went quiet ({e}); ready {ready}, {acks:?}");
            }
        };
        if line.starts_with("ready") {
            ready = true;
        } else if let Some(ack) = parse_ack(&line) {
            acks.push(ack);
            if acks.len() as u64 >= kill_after {
                break;
            }
        }
    }
    child.kill().expect("kill -9 the child");
    child.wait().expect("reap the child");
    // Lines written before the kill are still in the pipe: they were acknowledged too.
    reader.join().expect("reader thread");
    acks.extend(rx.try_iter().filter_map(|l| parse_ack(&l)));
    acks
}

fn parse_ack(line: &str) -> Option<(u64, String)> {
    let mut parts = line.strip_prefix("acked ")?.split(' ');
    let index = parts.next()?.parse().ok()?;
    let id = parts.next()?.to_string();
    Some((index, id))
}

/// Opens the store after a kill: no hole between the first and the last entry, and every
/// acknowledged entry present at its index with its eval.
fn check_store(store: &Path, acked: &BTreeMap<u64, String>, run: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (mut log, _sm) = open_storage(store, StateStore::new()).expect("the store reopens");
        let state = log.get_log_state().await.expect("log state");
        assert!(
            state.last_purged_log_id.is_none(),
            "run {run}: nothing is purged (no snapshots in this test)"
        );
        let last = state.last_log_id.expect("a last entry").index;
        let entries = log
            .try_get_log_entries(0..=last)
            .await
            .expect("read the log");
        let first = entries.first().expect("a first entry").log_id.index;
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(
                entry.log_id.index,
                first + i as u64,
                "run {run}: a hole in the log before index {}",
                entry.log_id.index
            );
        }
        assert_eq!(
            entries.len() as u64,
            last + 1 - first,
            "run {run}: the log ends early"
        );
        for (index, id) in acked {
            let at = index.checked_sub(first).map(|i| i as usize);
            let entry = at.and_then(|i| entries.get(i)).unwrap_or_else(|| {
                panic!("run {run}: acknowledged entry {index} ({id}) lost; log ends at {last}")
            });
            let found = match &entry.payload {
                EntryPayload::Normal(RaftCommand::UpsertEvals { evals }) => {
                    evals.iter().any(|e| &e.id == id)
                }
                _ => false,
            };
            assert!(
                found,
                "run {run}: entry {index} is not the acknowledged write of {id}"
            );
        }
    });
}

/// The child mode: a one-server raft on `dir` appending evaluations until killed.
fn child(dir: &Path, run: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (log, sm) = open_storage(dir, StateStore::new()).expect("opens");
        let config = Config {
            heartbeat_interval: 30,
            election_timeout_min: 80,
            election_timeout_max: 160,
            snapshot_policy: SnapshotPolicy::Never,
            ..Config::default()
        };
        let config = Arc::new(config.validate().expect("valid config"));
        let raft = Raft::new(1, config, Network::default(), log, sm)
            .await
            .expect("raft starts");
        if !raft.is_initialized().await.expect("initialized?") {
            let mut members = BTreeMap::new();
            members.insert(1, ServerNode::default());
            raft.initialize(members).await.expect("initializes");
        }
        raft.wait(Some(CHILD_WAIT))
            .current_leader(1, "leader elected")
            .await
            .expect("becomes leader");
        println!("ready");
        let raft = Arc::new(raft);
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..CHILD_WRITERS {
            let raft = raft.clone();
            writers.spawn(async move {
                for n in 0u64.. {
                    let id = format!("r{run}-w{w}-{n}");
                    let eval = Evaluation {
                        id: id.clone(),
                        namespace: "default".into(),
                        job_id: "scenario-9".into(),
                        status: "pending".into(),
                        ..Evaluation::default()
                    };
                    let cmd = RaftCommand::UpsertEvals { evals: vec![eval] };
                    let resp = raft.client_write(cmd).await.expect("write");
                    println!("acked {} {id}", resp.log_id.index);
                }
            });
        }
        let _ = tokio::time::timeout(CHILD_LIFETIME, writers.join_next()).await;
        std::process::exit(1);
    });
}
