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
