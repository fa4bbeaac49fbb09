//! `alloc exec` for raw_exec against real processes.

use std::time::Duration;

use super::*;

const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn control(dir: &std::path::Path) -> RawExecControl {
    RawExecControl {
        pgid: 0,
        env: BTreeMap::from([("GREETING".into(), "hello".into())]),
        task_dir: dir.to_path_buf(),
    }
}

/// Runs `command` with `input` on stdin; returns (stdout, stderr, exit).
async fn run(
    control: &RawExecControl,
    command: &[&str],
    input: Vec<ExecInput>,
    tty: bool,
) -> (Vec<u8>, Vec<u8>, Result<ExitResult, DriverError>) {
    let (in_tx, in_rx) = mpsc::channel(8);
    let (out_tx, mut out_rx) = mpsc::channel(8);
    let session = ExecSession {
        command: command.iter().map(|s| s.to_string()).collect(),
        tty,
        input: in_rx,
        output: out_tx,
    };
    let feed = async move {
        for msg in input {
            in_tx.send(msg).await.unwrap();
        }
        // Keep the input open until the command ends on its own.
        in_tx
    };
    let collect = async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(msg) = out_rx.recv().await {
            match msg {
                ExecOutput::Stdout(d) => out.extend(d),
                ExecOutput::Stderr(d) => err.extend(d),
            }
        }
        (out, err)
    };
    let work = async { tokio::join!(control.exec(session), feed, collect) };
    let (exit, _in, (out, err)) = tokio::time::timeout(TEST_TIMEOUT, work).await.unwrap();
    (out, err, exit)
}

#[tokio::test]
async fn exec_runs_in_the_task_dir_with_the_task_env() {
    let dir = tempfile::tempdir().unwrap();
    let c = control(dir.path());
    let script = "echo $GREETING; pwd; echo oops >&2; exit 3";
    let (out, err, exit) = run(&c, &["/bin/sh", "-c", script], vec![], false).await;
    let task_dir = dir.path().canonicalize().unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("hello\n{}\n", task_dir.display())
    );
    assert_eq!(err, b"oops\n");
    assert_eq!(exit.unwrap(), ExitResult { code: 3, signal: 0 });
}

#[tokio::test]
async fn exec_stdin_reaches_the_command_and_close_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = control(dir.path());
    let input = vec![
        ExecInput::Stdin(b"abc\n".to_vec()),
        ExecInput::Resize { cols: 80, rows: 24 },
        ExecInput::Stdin(b"def\n".to_vec()),
        ExecInput::CloseStdin,
    ];
    let (out, _, exit) = run(&c, &["cat"], input, false).await;
    assert_eq!(out, b"abc\ndef\n");
    assert!(exit.unwrap().success());
}

#[tokio::test]
async fn exec_refuses_a_tty_and_reports_a_missing_command() {
    let dir = tempfile::tempdir().unwrap();
    let c = control(dir.path());
    let (_, _, exit) = run(&c, &["true"], vec![], true).await;
    let err = exit.unwrap_err();
    assert!(err.to_string().contains("TTY"), "{err}");
    let (_, _, exit) = run(&c, &["/nonexistent/cmd"], vec![], false).await;
    assert!(matches!(exit.unwrap_err(), DriverError::Spawn { .. }));
    let (_, _, exit) = run(&c, &[], vec![], false).await;
    assert!(exit.unwrap_err().to_string().contains("command"));
}
