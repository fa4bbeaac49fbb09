//! Bodies of the allocation operations (`alloc restart|signal|stop`) and the JSON frames of
//! `alloc exec`'s WebSocket, as Nomad's HTTP API has them.

use serde::{Deserialize, Serialize};

/// `POST /v1/client/allocation/:id/restart`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocRestartRequest {
    /// The task to restart; empty restarts the running tasks.
    pub task_name: String,
    /// Restart every task, not only the running ones.
    pub all_tasks: bool,
}

/// `POST /v1/client/allocation/:id/signal`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocSignalRequest {
    /// The task to signal; empty signals every running task.
    pub task: String,
    /// The signal's name, e.g. `SIGUSR1` (default `SIGKILL`, as Nomad).
    pub signal: String,
}

/// The answer to restart and signal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenericResponse {
    pub index: u64,
}

/// The answer to `POST /v1/allocation/:id/stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocStopResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// A chunk of a stream, or its end (`{"data": "<base64>"}`, `{"close": true}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecIoOperation {
    /// The bytes, base64 in JSON.
    #[serde(with = "b64", skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

/// A terminal's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TerminalSize {
    pub height: u32,
    pub width: u32,
}

/// A frame from the user to the command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecRequestFrame {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<ExecIoOperation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty_size: Option<TerminalSize>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecExitResult {
    pub exit_code: i32,
}

/// A frame from the command to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecResponseFrame {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<ExecIoOperation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<ExecIoOperation>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ExecExitResult>,
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_frames_have_nomads_shapes() {
        let stdin: ExecRequestFrame = serde_json::from_str(r#"{"stdin":{"data":"aGkK"}}"#).unwrap();
        assert_eq!(stdin.stdin.unwrap().data, b"hi\n");
        let close: ExecRequestFrame = serde_json::from_str(r#"{"stdin":{"close":true}}"#).unwrap();
        assert!(close.stdin.unwrap().close);
        let size: ExecRequestFrame =
            serde_json::from_str(r#"{"tty_size":{"height":24,"width":80}}"#).unwrap();
        assert_eq!(
            size.tty_size,
            Some(TerminalSize {
                height: 24,
                width: 80
            })
        );
        let ping: ExecRequestFrame = serde_json::from_str("{}").unwrap();
        assert_eq!(ping, ExecRequestFrame::default());
        let out = ExecResponseFrame {
            stdout: Some(ExecIoOperation {
                data: b"hi\n".to_vec(),
                close: false,
            }),
            ..ExecResponseFrame::default()
        };
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"stdout":{"data":"aGkK"}}"#
        );
        let exited = ExecResponseFrame {
            exited: true,
            result: Some(ExecExitResult { exit_code: 3 }),
            ..ExecResponseFrame::default()
        };
        assert_eq!(
            serde_json::to_string(&exited).unwrap(),
            r#"{"exited":true,"result":{"exit_code":3}}"#
        );
    }

    #[test]
    fn restart_signal_and_stop_bodies_use_nomads_names() {
        let r: AllocRestartRequest =
            serde_json::from_str(r#"{"TaskName":"web","AllTasks":true}"#).unwrap();
        assert_eq!((r.task_name.as_str(), r.all_tasks), ("web", true));
        let s: AllocSignalRequest =
            serde_json::from_str(r#"{"Task":"web","Signal":"SIGUSR1"}"#).unwrap();
        assert_eq!((s.task.as_str(), s.signal.as_str()), ("web", "SIGUSR1"));
        let stop = AllocStopResponse {
            eval_id: "e1".into(),
            index: 7,
        };
        assert_eq!(
            serde_json::to_string(&stop).unwrap(),
            r#"{"EvalID":"e1","Index":7}"#
        );
    }
}
