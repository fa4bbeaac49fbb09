//! Readers for streamed answers: a CLI process whose stdout is collected in the background,
//! and Nomad's framed JSON streams (`/v1/client/fs/logs`, `/v1/client/fs/stream`).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::agent::{Agent, nomadish_bin};

/// A child process whose stdout is collected in the background.
pub struct Collected {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Collected {
    /// Runs the CLI with `args` against `agent`.
    pub fn spawn(agent: &Agent, args: &[&str]) -> Collected {
        let mut child = Command::new(nomadish_bin())
            .args(args)
            .env("NOMAD_ADDR", &agent.http)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn cli");
        let mut stdout = child.stdout.take().expect("stdout");
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        Collected { child, out }
    }

    /// What it printed so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().expect("lock")).into_owned()
    }
}

impl Drop for Collected {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a framed stream until `done` says so (or the time runs out); returns the frames.
pub async fn read_frames(
    url: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let resp = reqwest::get(url).await.expect("GET stream");
    assert_eq!(resp.status(), StatusCode::OK, "{url}");
    let mut resp = resp;
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    while Instant::now() < deadline && !done(&frames) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Ok(Some(chunk))) = tokio::time::timeout(left, resp.chunk()).await else {
            break;
        };
        buf.extend_from_slice(&chunk);
        let mut stream = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
        let mut used = 0;
        while let Some(Ok(v)) = stream.next() {
            used = stream.byte_offset();
            frames.push(v);
        }
        buf.drain(..used);
    }
    frames
}

/// A frame's decoded `Data`.
pub fn frame_data(frame: &Value) -> Vec<u8> {
    let data = frame["Data"].as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64 Data")
}

/// Checks frames carry each file's bytes contiguously (no gap, no repeat) and returns them.
pub fn contiguous_data(frames: &[Value]) -> Vec<u8> {
    let mut all = Vec::new();
    let mut at: Option<(String, i64)> = None;
    for f in frames.iter().filter(|f| f.get("Data").is_some()) {
        let file = f["File"].as_str().unwrap_or_default().to_string();
        let offset = f["Offset"].as_i64().unwrap_or(0);
        let data = frame_data(f);
        if let Some((prev_file, next)) = &at {
            if *prev_file == file {
                assert_eq!(offset, *next, "gap or repeat inside {file}");
            } else {
                assert_eq!(
                    offset, 0,
                    "{file} must be read from its start after {prev_file}"
                );
            }
        }
        at = Some((file, offset + data.len() as i64));
        all.extend(data);
    }
    all
}
