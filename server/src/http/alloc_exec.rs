//! `GET /v1/client/allocation/:id/exec?task=T&command=["sh","-c","..."]&tty=false`: runs a
//! command inside a running task, as a WebSocket carrying Nomad's JSON frames.
//!
//! ```text
//!   user ── {"stdin":{"data":b64}} | {"stdin":{"close":true}} | {"tty_size":{...}} ──> ws
//!        <─ {"stdout":{"data":b64}} | {"stderr":{...}} | {"exited":true,"result":{...}}
//!   ws <──> ExecConn (this server's tunnel to the node, or a peer's) <──> client
//! ```
//!
//! The allocation, task and command are checked before the upgrade (404 unknown allocation
//! or task, 400 bad command or task not running); errors the client reports later close the
//! socket with code 1011 (1008 for a refused request) and the message as the reason.

use std::collections::HashMap;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use nomadish_proto::model::{
    ExecExitResult, ExecIoOperation, ExecRequestFrame, ExecResponseFrame, TASK_STATE_RUNNING,
};
use nomadish_proto::node_v1::{ExecInput, ExecOutput, ExecStart};

use super::alloc_ops::find_alloc;
use super::{AppState, HttpError};
use crate::task_ops_route::{self, ExecConn};

/// WebSocket close code for an internal error.
const CLOSE_ERROR: u16 = 1011;
/// WebSocket close code for a request the task refused (e.g. a TTY it cannot give).
const CLOSE_POLICY: u16 = 1008;
/// How long to wait for the user's side of the closing handshake.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
/// WebSocket close code for a normal end.
const CLOSE_NORMAL: u16 = 1000;

/// Reads `task`, `command` (a JSON list) and `tty` from the query.
pub fn parse_params(
    params: &HashMap<String, String>,
) -> Result<(String, Vec<String>, bool), HttpError> {
    let task = params.get("task").cloned().unwrap_or_default();
    if task.is_empty() {
        return Err(HttpError::bad_request("missing task name (task)"));
    }
    let raw = params
        .get("command")
        .ok_or_else(|| HttpError::bad_request("missing command (command)"))?;
    let command: Vec<String> = serde_json::from_str(raw).map_err(|e| {
        HttpError::bad_request(format!("command must be a JSON list of strings: {e}"))
    })?;
    if command.is_empty() || command[0].is_empty() {
        return Err(HttpError::bad_request("command is empty"));
    }
    let tty = match params.get("tty").map(String::as_str) {
        None | Some("") => false,
        Some(v) => super::query::parse_bool_strict(v).ok_or_else(|| {
            HttpError::bad_request(format!("tty must be true or false, not {v:?}"))
        })?,
    };
    Ok((task, command, tty))
}

/// `GET /v1/client/allocation/:id/exec`.
pub async fn exec(
    State(server): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    identity: Option<axum::Extension<std::sync::Arc<crate::auth::Identity>>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, HttpError> {
    let (task, command, tty) = parse_params(&params)?;
    let alloc = find_alloc(&server, &id)?;
    let known = alloc
        .job
        .as_ref()
        .and_then(|j| j.group(&alloc.task_group))
        .and_then(|g| g.task(&task))
        .is_some();
    if !known {
        return Err(HttpError::not_found(format!("Unknown task name {task:?}")));
    }
    let running = alloc
        .task_states
        .get(&task)
        .is_some_and(|s| s.state == TASK_STATE_RUNNING);
    if !running {
        return Err(HttpError::bad_request(format!(
            "task {task:?} is not running"
        )));
    }
    let start = ExecStart {
        stream_id: 0,
        alloc_id: alloc.id.clone(),
        task,
        command,
        tty,
    };
    // Checked after the request itself, so a plain GET learns what is wrong with it.
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let conn = task_ops_route::open_exec(&server, &alloc.node_id, start)
        .await
        .map_err(|e| HttpError::internal(e.to_string()))?;
    // The session ends when the token that opened it expires or is deleted.
    let token = identity.and_then(|axum::Extension(id)| id.token.clone());
    let server = server.clone();
    let token_gone = async move {
        match token {
            Some(token) => crate::auth::streams::token_gone(server, token).await,
            None => std::future::pending().await,
        }
    };
    Ok(ws.on_upgrade(move |socket| bridge(socket, conn, token_gone)))
}

/// Copies frames between the socket and the exec stream until the command ends.
async fn bridge(
    mut socket: WebSocket,
    mut conn: ExecConn,
    token_gone: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(token_gone);
    let mut input_open = true;
    let close = loop {
        tokio::select! {
            () = &mut token_gone => break (CLOSE_POLICY, "ACL token expired".to_string()),
            out = conn.next() => match out {
                Some(out) => match output_frames(&out) {
                    Ok(frames) => {
                        for frame in frames {
                            let text = serde_json::to_string(&frame).unwrap_or_default();
                            if socket.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                        if out.exited {
                            break (CLOSE_NORMAL, String::new());
                        }
                    }
                    Err(close) => break close,
                },
                None => break (CLOSE_ERROR, "the client's connection closed".to_string()),
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    // A refused input does not end the session: a command that already
                    // exited may have closed its input side while its last output (the exit)
                    // is still on the way. The output side says when the session is over.
                    if input_open && let Some(input) = input_from_frame(text.as_str()) {
                        input_open = conn.send(input).await;
                    }
                }
                // The user went away; dropping the stream ends the command.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    };
    let (code, reason) = close;
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    // Finish the closing handshake: closing with the user's last frames unread would reset
    // the connection and could lose the exit frame on the user's side.
    let drain = async { while let Some(Ok(_)) = socket.recv().await {} };
    let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
}

/// The frames for one output message, or the close code and reason when it is an error.
pub fn output_frames(out: &ExecOutput) -> Result<Vec<ExecResponseFrame>, (u16, String)> {
    if !out.error.is_empty() {
        let code = if out.error_code == 400 {
            CLOSE_POLICY
        } else {
            CLOSE_ERROR
        };
        return Err((code, out.error.clone()));
    }
    let mut frames = Vec::new();
    let io = |data: &[u8]| {
        Some(ExecIoOperation {
            data: data.to_vec(),
            close: false,
        })
    };
    if !out.stdout.is_empty() {
        frames.push(ExecResponseFrame {
            stdout: io(&out.stdout),
            ..ExecResponseFrame::default()
        });
    }
    if !out.stderr.is_empty() {
        frames.push(ExecResponseFrame {
            stderr: io(&out.stderr),
            ..ExecResponseFrame::default()
        });
    }
    if out.exited {
        frames.push(ExecResponseFrame {
            exited: true,
            result: Some(ExecExitResult {
                exit_code: out.exit_code,
            }),
            ..ExecResponseFrame::default()
        });
    }
    Ok(frames)
}

/// The input a user's frame carries; `None` for frames that carry nothing (pings).
pub fn input_from_frame(text: &str) -> Option<ExecInput> {
    let frame: ExecRequestFrame = serde_json::from_str(text).ok()?;
    let mut input = ExecInput::default();
    if let Some(stdin) = frame.stdin {
        input.stdin = stdin.data;
        input.close_stdin = stdin.close;
    }
    if let Some(size) = frame.tty_size {
        input.resize = true;
        input.rows = size.height;
        input.cols = size.width;
    }
    let empty = input.stdin.is_empty() && !input.close_stdin && !input.resize;
    (!empty).then_some(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_inputs_and_outputs_become_frames() {
        let input = input_from_frame(r#"{"stdin":{"data":"aGkK"}}"#).unwrap();
        assert_eq!(input.stdin, b"hi\n");
        assert!(
            input_from_frame(r#"{"stdin":{"close":true}}"#)
                .unwrap()
                .close_stdin
        );
        let resize = input_from_frame(r#"{"tty_size":{"height":24,"width":80}}"#).unwrap();
        assert_eq!((resize.resize, resize.rows, resize.cols), (true, 24, 80));
        assert!(input_from_frame("{}").is_none());
        assert!(input_from_frame("not json").is_none());
        let out = ExecOutput {
            stdout: b"a".to_vec(),
            stderr: b"b".to_vec(),
            ..ExecOutput::default()
        };
        let frames = output_frames(&out).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].stderr.as_ref().unwrap().data, b"b");
        let exited = ExecOutput {
            exited: true,
            exit_code: 3,
            ..ExecOutput::default()
        };
        let frames = output_frames(&exited).unwrap();
        assert_eq!(frames[0].result, Some(ExecExitResult { exit_code: 3 }));
        let refused = ExecOutput {
            error: "no TTY".into(),
            error_code: 400,
            ..ExecOutput::default()
        };
        assert_eq!(
            output_frames(&refused),
            Err((CLOSE_POLICY, "no TTY".into()))
        );
    }

    #[test]
    fn params_need_a_task_and_a_json_command() {
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        let (task, cmd, tty) =
            parse_params(&p(&[("task", "web"), ("command", r#"["echo","hi"]"#)])).unwrap();
        assert_eq!(
            (task.as_str(), cmd, tty),
            ("web", vec!["echo".to_string(), "hi".into()], false)
        );
        assert!(
            parse_params(&p(&[("command", r#"["x"]"#)]))
                .unwrap_err()
                .message
                .contains("task")
        );
        assert!(parse_params(&p(&[("task", "t"), ("command", "echo")])).is_err());
        assert!(parse_params(&p(&[("task", "t"), ("command", "[]")])).is_err());
        let bad_tty = p(&[("task", "t"), ("command", r#"["x"]"#), ("tty", "yes")]);
        assert!(parse_params(&bad_tty).unwrap_err().message.contains("tty"));
    }
}
