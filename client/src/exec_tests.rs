//! The tunnel side of task operations, with a fake task control and a fake task runner.

use std::time::Duration;

use nomadish_proto::model::{Allocation, Job, Task, TaskGroup};

use super::*;
use crate::driver::{BoxFuture, ExitResult, TaskControl};
use crate::error::DriverError;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Echoes its stdin to stdout until stdin closes; exits with the command's length.
#[derive(Debug)]
struct Echo;

impl TaskControl for Echo {
    fn signal(&self, _: Signal) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async { Ok(()) })
    }

    fn exec(&self, mut s: ExecSession) -> BoxFuture<'_, Result<ExitResult, DriverError>> {
        Box::pin(async move {
            while let Some(input) = s.input.recv().await {
                match input {
                    ExecInput::Stdin(d) => s.output.send(ExecOutput::Stdout(d)).await.unwrap(),
                    ExecInput::CloseStdin => break,
                    ExecInput::Resize { .. } => {}
                }
            }
            Ok(ExitResult {
                code: s.command.len() as i64,
                signal: 0,
            })
        })
    }
}

struct Fixture {
    ops: TunnelOps,
    rx: mpsc::Receiver<TunnelFromClient>,
    controls: TaskControls,
    registry: AllocRegistry,
}

fn fixture() -> Fixture {
    let registry = AllocRegistry::default();
    let job = Job {
        task_groups: vec![TaskGroup {
            name: "g".into(),
            tasks: vec![
                Task {
                    name: "web".into(),
                    ..Task::default()
                },
                Task {
                    name: "idle".into(),
                    ..Task::default()
                },
            ],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    registry.insert(Arc::new(Allocation {
        id: "a1".into(),
        task_group: "g".into(),
        job: Some(Arc::new(job)),
        ..Allocation::default()
    }));
    let controls = TaskControls::default();
    let (tx, rx) = mpsc::channel(16);
    Fixture {
        ops: TunnelOps::new(controls.clone(), registry.clone(), tx),
        rx,
        controls,
        registry,
    }
}

async fn next(rx: &mut mpsc::Receiver<TunnelFromClient>) -> tunnel_from_client::Msg {
    tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .unwrap()
        .unwrap()
        .msg
        .unwrap()
}

fn start(task: &str, alloc: &str) -> tunnel_to_client::Msg {
    tunnel_to_client::Msg::ExecStart(ExecStart {
        stream_id: 7,
        alloc_id: alloc.into(),
        task: task.into(),
        command: vec!["cat".into(), "-".into()],
        tty: false,
    })
}

#[tokio::test]
async fn exec_streams_both_ways_and_ends_with_the_exit_code() {
    let mut f = fixture();
    let (commands, _rx) = mpsc::channel(1);
    let _running = f.controls.publish("a1", "web", Arc::new(Echo), commands);
    f.ops.handle(start("web", "a1"));
    let input = |stdin: &[u8], close: bool| {
        tunnel_to_client::Msg::ExecInput(WireInput {
            stream_id: 7,
            stdin: stdin.to_vec(),
            close_stdin: close,
            ..WireInput::default()
        })
    };
    f.ops.handle(input(b"hello", false));
    let tunnel_from_client::Msg::ExecOutput(out) = next(&mut f.rx).await else {
        panic!("expected output")
    };
    assert_eq!((out.stream_id, out.stdout.as_slice()), (7, &b"hello"[..]));
    f.ops.handle(input(b"", true));
    let tunnel_from_client::Msg::ExecOutput(end) = next(&mut f.rx).await else {
        panic!("expected the exit")
    };
    assert!(end.exited && end.error.is_empty());
    assert_eq!(end.exit_code, 2);
}

#[tokio::test]
async fn exec_on_unknown_or_idle_tasks_is_refused_with_a_status() {
    let mut f = fixture();
    for (task, alloc, code) in [("web", "nope", 404), ("db", "a1", 404), ("idle", "a1", 400)] {
        f.ops.handle(start(task, alloc));
        let tunnel_from_client::Msg::ExecOutput(out) = next(&mut f.rx).await else {
            panic!("expected an error")
        };
        assert_eq!(out.error_code, code, "{task} in {alloc}: {}", out.error);
        assert!(!out.exited);
    }
    assert!(f.registry.get("a1").is_some());
}

#[tokio::test]
async fn signals_go_through_the_task_runner_and_bad_names_are_refused() {
    let mut f = fixture();
    let (commands, mut runner) = mpsc::channel(1);
    let _running = f.controls.publish("a1", "web", Arc::new(Echo), commands);
    let request = |signal: &str| {
        tunnel_to_client::Msg::TaskSignal(TaskSignalRequest {
            request_id: 3,
            alloc_id: "a1".into(),
            task: String::new(),
            signal: signal.into(),
        })
    };
    f.ops.handle(request("usr1"));
    let Some(TaskCommand::Signal { signal, reply }) = runner.recv().await else {
        panic!("expected a signal command")
    };
    assert_eq!(signal, Signal::SIGUSR1);
    reply.send(Ok(())).unwrap();
    let tunnel_from_client::Msg::TaskSignalReply(ok) = next(&mut f.rx).await else {
        panic!("expected a reply")
    };
    assert_eq!((ok.request_id, ok.error.as_str()), (3, ""));
    f.ops.handle(request("SIGNOPE"));
    let tunnel_from_client::Msg::TaskSignalReply(bad) = next(&mut f.rx).await else {
        panic!("expected a reply")
    };
    assert_eq!(bad.error_code, 400);
    assert!(bad.error.contains("SIGNOPE"));
}

#[tokio::test]
async fn restart_without_running_tasks_is_a_bad_request() {
    let mut f = fixture();
    f.ops
        .handle(tunnel_to_client::Msg::TaskRestart(TaskRestartRequest {
            request_id: 1,
            alloc_id: "a1".into(),
            task: String::new(),
            all_tasks: true,
        }));
    let tunnel_from_client::Msg::TaskRestartReply(r) = next(&mut f.rx).await else {
        panic!("expected a reply")
    };
    assert_eq!(r.error_code, 400, "{}", r.error);
}
