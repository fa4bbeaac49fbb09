use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::Evaluation;
use openraft::RaftLogReader;
use openraft::storage::RaftStateMachine;
use openraft::testing::{StoreBuilder, Suite};
use openraft::{Config, StorageError};

use super::*;
use crate::fsm::Command;

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
fn raft_store_passes_openraft_storage_suite() {
    Suite::test_all(StoreBuilderOnTempDir).expect("storage suite passes");
}

fn eval(id: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: "web".into(),
        status: "pending".into(),
        ..Evaluation::default()
    }
}

async fn start(dir: &std::path::Path, state: StateStore) -> Arc<Raft> {
    let (log, sm) = open_storage(dir, state).expect("opens");
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        ..Config::default()
    };
    let config = Arc::new(config.validate().expect("valid config"));
    Arc::new(
        Raft::new(1, config, Network::default(), log, sm)
            .await
            .expect("raft starts"),
    )
}

/// A one-server raft on `dir`, initialized and leading.
async fn start_initialized(dir: &std::path::Path, state: StateStore) -> Arc<Raft> {
    let raft = start(dir, state).await;
    raft.initialize(BTreeMap::from([(1, ServerNode::default())]))
        .await
        .expect("initializes");
    wait_leader(&raft).await;
    raft
}

/// Writes evaluations `e0`..`e<n-1>`, one entry each.
async fn write_evals(raft: &Raft, n: usize) {
    for i in 0..n {
        let cmd = Command::UpsertEvals {
            evals: vec![eval(&format!("e{i}"))],
        };
        let resp = raft.client_write(cmd).await.expect("writes");
        assert_eq!(resp.data.index, resp.log_id.index);
    }
}

/// Restarts the raft on `dir` and waits (up to 5 s) until `state` holds `evals` evaluations.
async fn restart_and_replay(dir: &std::path::Path, state: &StateStore, evals: usize) -> Arc<Raft> {
    let raft = start(dir, state.clone()).await;
    wait_leader(&raft).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.snapshot().evals.len() < evals && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    raft
}

async fn wait_leader(raft: &Raft) {
    raft.wait(Some(Duration::from_secs(5)))
        .current_leader(1, "leader elected")
        .await
        .expect("becomes leader");
}

#[tokio::test]
async fn single_node_writes_survive_restart_with_and_without_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = StateStore::new();
    let raft = start_initialized(dir.path(), state.clone()).await;
    write_evals(&raft, 5).await;
    assert_eq!(state.snapshot().evals.len(), 5);
    raft.shutdown().await.expect("shuts down");
    drop(raft);

    // Restart from the log alone.
    let state = StateStore::new();
    let raft = restart_and_replay(dir.path(), &state, 5).await;
    assert_eq!(state.snapshot().evals.len(), 5, "log re-applied");
    raft.trigger().snapshot().await.expect("snapshot requested");
    raft.wait(Some(Duration::from_secs(5)))
        .metrics(|m| m.snapshot.is_some(), "snapshot built")
        .await
        .expect("snapshot built");
    raft.client_write(Command::UpsertEvals {
        evals: vec![eval("after-snapshot")],
    })
    .await
    .expect("writes after snapshot");
    raft.shutdown().await.expect("shuts down");
    drop(raft);

    // Restart from snapshot + the entry after it.
    let state = StateStore::new();
    {
        let (_log, mut sm) = open_storage(dir.path(), state.clone()).expect("opens");
        let (applied, _) = sm.applied_state().await.expect("applied state");
        assert!(applied.is_some(), "snapshot restores last applied");
        assert_eq!(state.snapshot().evals.len(), 5, "snapshot restores tables");
    }
    let raft = start(dir.path(), state.clone()).await;
    wait_leader(&raft).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.snapshot().evals.len() < 6 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(state.snapshot().evals.contains_key("after-snapshot"));
    raft.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_entries_and_keep_their_own_outcomes() {
    use crate::fsm::ApplyError;
    use crate::group_commit::GroupCommit;
    use nomadish_proto::model::SchedulerConfiguration;

    let dir = tempfile::tempdir().expect("temp dir");
    let state = StateStore::new();
    let raft = start_initialized(dir.path(), state.clone()).await;
    let before = raft.metrics().borrow().last_log_index.unwrap_or(0);
    let commit = Arc::new(GroupCommit::default());
    // 60 writers of distinct evaluations, and 4 compare-and-set writers that all expect the
    // scheduler configuration never set (index 0): exactly one of those may win.
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (commit, raft) = (commit.clone(), raft.clone());
        writers.spawn(async move {
            let cmd = if i % 16 == 0 {
                Command::SetSchedulerConfig {
                    config: SchedulerConfiguration {
                        scheduler_algorithm: "spread".into(),
                        ..SchedulerConfiguration::default()
                    },
                    cas_index: Some(0),
                }
            } else {
                Command::UpsertEvals {
                    evals: vec![eval(&format!("e{i}"))],
                }
            };
            (i, commit.commit(&raft, cmd).await.expect("committed"))
        });
    }
    let mut cas_won = 0;
    let mut indexes = std::collections::BTreeSet::new();
    while let Some(done) = writers.join_next().await {
        let (i, resp) = done.expect("writer");
        indexes.insert(resp.index);
        if i % 16 == 0 {
            match resp.error {
                None => cas_won += 1,
                Some(ApplyError::CasMismatch { .. }) => {}
                Some(other) => panic!("unexpected refusal: {other:?}"),
            }
        } else {
            assert_eq!(resp.error, None, "write {i}");
        }
    }
    assert_eq!(cas_won, 1, "exactly one compare-and-set of index 0 wins");
    let view = state.snapshot();
    assert_eq!(
        view.evals.len(),
        60,
        "every acknowledged write is in the state"
    );
    let after = raft.metrics().borrow().last_log_index.unwrap_or(0);
    assert!(
        after - before < 64,
        "64 concurrent writes took {} entries: none were grouped",
        after - before
    );
    assert_eq!(indexes.len() as u64, after - before, "one index per entry");
    raft.shutdown().await.expect("shuts down");
}

/// A store written by a version that kept the log in sled: on open the entries move into
/// segment files, the tree is emptied, and raft replays them.
#[tokio::test]
async fn a_log_kept_in_sled_by_an_earlier_version_moves_into_segment_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = StateStore::new();
    let raft = start_initialized(dir.path(), state.clone()).await;
    write_evals(&raft, 5).await;
    raft.shutdown().await.expect("shuts down");
    drop(raft);

    // Rewrite the store the way the earlier version kept it.
    let entries = {
        let (mut log, _sm) = open_storage(dir.path(), StateStore::new()).expect("opens");
        log.try_get_log_entries(0..).await.expect("reads")
    };
    assert!(entries.len() >= 6, "membership and five writes");
    std::fs::remove_dir_all(dir.path().join("raft-log")).expect("removes the files");
    {
        let db = sled::open(dir.path()).expect("opens sled");
        let tree = db.open_tree("raft_log").expect("tree");
        for entry in &entries {
            let bytes = serde_json::to_vec(entry).expect("encodes");
            tree.insert(entry.log_id.index.to_be_bytes(), bytes)
                .expect("inserts");
        }
        db.flush().expect("flushes");
    }

    let state = StateStore::new();
    let raft = restart_and_replay(dir.path(), &state, 5).await;
    assert_eq!(state.snapshot().evals.len(), 5, "moved log re-applied");
    raft.shutdown().await.expect("shuts down");
    drop(raft);

    let db = sled::open(dir.path()).expect("opens sled");
    assert!(
        db.open_tree("raft_log").expect("tree").is_empty(),
        "the sled copy is gone"
    );
    drop(db);
    let (mut log, _sm) = open_storage(dir.path(), StateStore::new()).expect("opens");
    let moved = log.try_get_log_entries(0..).await.expect("reads");
    assert_eq!(
        moved[..entries.len()],
        entries[..],
        "the same entries, in files"
    );
}
