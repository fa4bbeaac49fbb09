use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::Evaluation;
use openraft::storage::RaftStateMachine;
use openraft::testing::{StoreBuilder, Suite};
use openraft::{Config, StorageError};

use super::*;
use crate::fsm::Command;

struct SledBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for SledBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (log, sm) = open_storage(dir.path(), StateStore::new()).expect("opens");
        Ok((dir, log, sm))
    }
}

#[test]
fn sled_store_passes_openraft_storage_suite() {
    Suite::test_all(SledBuilder).expect("storage suite passes");
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
    let raft = start(dir.path(), state.clone()).await;
    let mut members = BTreeMap::new();
    members.insert(1, ServerNode::default());
    raft.initialize(members).await.expect("initializes");
    wait_leader(&raft).await;
    for i in 0..5 {
        let cmd = Command::UpsertEvals {
            evals: vec![eval(&format!("e{i}"))],
        };
        let resp = raft.client_write(cmd).await.expect("writes");
        assert_eq!(resp.data.index, resp.log_id.index);
    }
    assert_eq!(state.snapshot().evals.len(), 5);
    raft.shutdown().await.expect("shuts down");
    drop(raft);

    // Restart from the log alone.
    let state = StateStore::new();
    let raft = start(dir.path(), state.clone()).await;
    wait_leader(&raft).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.snapshot().evals.len() < 5 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
    let raft = start(dir.path(), state.clone()).await;
    raft.initialize(BTreeMap::from([(1, ServerNode::default())]))
        .await
        .expect("initializes");
    wait_leader(&raft).await;
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
