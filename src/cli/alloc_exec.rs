//! `alloc exec [-task T] [-job] [-i] [-t] ALLOC CMD...`: runs a command inside a running
//! task through `GET /v1/client/allocation/:id/exec` (a WebSocket with Nomad's JSON frames)
//! and exits with the command's exit code.
//!
//! ```text
//!   stdin (thread) ── {"stdin":{"data"}} … {"stdin":{"close":true}} ──> ws
//!   stdout/stderr  <── {"stdout"} / {"stderr"} … {"exited":true,"result":{"exit_code"}}
//!   a close frame with a reason (task refused, client gone) is printed; exit 1
//! ```
//!
//! With `-t` the local terminal is put in raw mode for the session and restored after, and its
//! size is sent at the start and on every change (SIGWINCH).

use std::io::{IsTerminal, Read, Write};

use futures::{SinkExt, StreamExt};
use nomadish_proto::model::{
    AllocListStub, Allocation, ExecIoOperation, ExecRequestFrame, ExecResponseFrame, TerminalSize,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;

use super::alloc::find_alloc;
use super::api::{ApiClient, escape_segment};
use super::args::AllocExecArgs;
use super::logs::pick_task;
use super::{EXIT_ERROR, client_or_exit};

/// Bytes read from stdin per frame.
const STDIN_CHUNK: usize = 16 * 1024;
/// How long to wait for the server's close after the exit frame.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
/// The token header, as every request sends it.
const TOKEN_HEADER: &str = "X-Nomad-Token";

/// A byte stream the WebSocket runs over (TCP or TLS).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// `alloc exec`.
pub async fn run(args: AllocExecArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let alloc = match target_alloc(&api, &args.alloc, args.job).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let api = api.with_namespace(&alloc.namespace);
    let task = match pick_task(&alloc, args.task.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let stdin_on = args.stdin.unwrap_or(true);
    let tty = args
        .tty
        .unwrap_or_else(|| stdin_on && std::io::stdin().is_terminal());
    let socket = match connect(&api, &alloc.id, &task, &args.command, tty).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("failed to exec into task: {e}");
            return EXIT_ERROR;
        }
    };
    let _raw = if tty { RawMode::enter() } else { None };
    session(socket, stdin_on, tty).await
}

/// The allocation named, or with `-job` a running allocation of the job.
async fn target_alloc(api: &ApiClient, id: &str, job: bool) -> Result<Allocation, String> {
    if !job {
        return find_alloc(api, id.trim()).await.map_err(|e| e.to_string());
    }
    let path = format!("/v1/job/{}/allocations", escape_segment(id.trim()));
    let stubs: Vec<AllocListStub> = api
        .get(&path, &[])
        .await
        .map_err(|e| format!("Error querying job allocations: {e}"))?
        .body;
    let running = stubs
        .iter()
        .find(|a| a.client_status == "running" && a.desired_status == "run")
        .ok_or_else(|| format!("job {id:?} has no running allocations"))?;
    find_alloc(api, &running.id)
        .await
        .map_err(|e| e.to_string())
}

/// The exec URL: the API address with a `ws`/`wss` scheme and the query.
pub fn exec_url(
    base: &str,
    alloc_id: &str,
    task: &str,
    command: &[String],
    tty: bool,
    extra: &[(&str, String)],
) -> Result<reqwest::Url, String> {
    let path = format!(
        "{base}/v1/client/allocation/{}/exec",
        escape_segment(alloc_id)
    );
    let mut url = reqwest::Url::parse(&path).map_err(|e| format!("invalid address: {e}"))?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .map_err(|()| "invalid address scheme".to_string())?;
    let command = serde_json::to_string(command).unwrap_or_default();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("task", task)
            .append_pair("command", &command)
            .append_pair("tty", if tty { "true" } else { "false" });
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

type Socket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// Opens the WebSocket (over TLS for `https://` addresses, with the CLI's certificates).
async fn connect(
    api: &ApiClient,
    alloc_id: &str,
    task: &str,
    command: &[String],
    tty: bool,
) -> Result<Socket, String> {
    let config = api.config();
    let mut extra = Vec::new();
    if let Some(ns) = config.namespace.as_deref().filter(|n| !n.is_empty()) {
        extra.push(("namespace", ns.to_string()));
    }
    if let Some(region) = config.region.as_deref().filter(|r| !r.is_empty()) {
        extra.push(("region", region.to_string()));
    }
    let url = exec_url(api.base_url(), alloc_id, task, command, tty, &extra)?;
    let host = url.host_str().unwrap_or("127.0.0.1").to_string();
    let port = url.port_or_known_default().unwrap_or(4646);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    let io: Box<dyn Io> = if url.scheme() == "wss" {
        let tls = super::api_tls::client_config(&config.tls).map_err(|e| e.to_string())?;
        let name = config
            .tls
            .server_name
            .clone()
            .unwrap_or_else(|| host.clone());
        let name = rustls::pki_types::ServerName::try_from(name)
            .map_err(|e| format!("invalid TLS server name: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    if let Some(token) = config.token.as_deref().filter(|t| !t.is_empty())
        && let Ok(value) = token.parse()
    {
        request.headers_mut().insert(TOKEN_HEADER, value);
    }
    match tokio_tungstenite::client_async(request, io).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default();
            Err(format!(
                "Unexpected response code: {} ({body})",
                resp.status().as_u16()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the session: stdin to the socket, output to stdout/stderr, until the command exits.
async fn session(socket: Socket, stdin_on: bool, tty: bool) -> i32 {
    let (mut sink, mut stream) = socket.split();
    let (input_tx, mut input_rx) = mpsc::channel::<ExecRequestFrame>(4);
    if tty {
        spawn_resize_watcher(input_tx.clone());
    }
    if stdin_on {
        spawn_stdin_reader(input_tx);
    } else {
        let _ = input_tx.try_send(close_frame());
    }
    let mut input_open = true;
    loop {
        tokio::select! {
            frame = input_rx.recv(), if input_open => match frame {
                Some(frame) => {
                    let text = serde_json::to_string(&frame).unwrap_or_default();
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        input_open = false;
                    }
                }
                None => input_open = false,
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if let Some(code) = output(text.as_str()) {
                        // Answer the server's close so the connection ends cleanly.
                        let finish = async {
                            while let Some(Ok(msg)) = stream.next().await {
                                if msg.is_close() {
                                    break;
                                }
                            }
                            let _ = sink.close().await;
                        };
                        let _ = tokio::time::timeout(CLOSE_GRACE, finish).await;
                        return code;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    if reason.is_empty() {
                        eprintln!("the exec session ended without an exit code");
                    } else {
                        eprintln!("failed to exec into task: {reason}");
                    }
                    return EXIT_ERROR;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    eprintln!("exec session failed: {e}");
                    return EXIT_ERROR;
                }
                None => {
                    eprintln!("the exec session ended without an exit code");
                    return EXIT_ERROR;
                }
            },
        }
    }
}

fn close_frame() -> ExecRequestFrame {
    ExecRequestFrame {
        stdin: Some(ExecIoOperation {
            data: Vec::new(),
            close: true,
        }),
        tty_size: None,
    }
}

/// Reads stdin on a plain thread (so a pending read never holds up exiting) and sends it as
/// frames, ending with a close.
fn spawn_stdin_reader(tx: mpsc::Sender<ExecRequestFrame>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; STDIN_CHUNK];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frame = ExecRequestFrame {
                        stdin: Some(ExecIoOperation {
                            data: buf[..n].to_vec(),
                            close: false,
                        }),
                        tty_size: None,
                    };
                    if tx.blocking_send(frame).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.blocking_send(close_frame());
    });
}

/// Writes one output frame; `Some(exit code)` when it says the command exited.
fn output(text: &str) -> Option<i32> {
    let Ok(frame) = serde_json::from_str::<ExecResponseFrame>(text) else {
        return None;
    };
    if let Some(out) = frame.stdout {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(&out.data).and_then(|()| stdout.flush());
    }
    if let Some(err) = frame.stderr {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(&err.data).and_then(|()| stderr.flush());
    }
    if frame.exited {
        return Some(frame.result.map_or(0, |r| r.exit_code));
    }
    None
}

/// The terminal in raw mode; restored when dropped.
struct RawMode;

impl RawMode {
    fn enter() -> Option<Self> {
        crossterm::terminal::enable_raw_mode().ok().map(|()| Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// The local terminal's size as a frame, if stdin is a terminal.
fn tty_size_frame() -> Option<ExecRequestFrame> {
    let (width, height) = crossterm::terminal::size().ok()?;
    Some(ExecRequestFrame {
        stdin: None,
        tty_size: Some(TerminalSize {
            height: u32::from(height),
            width: u32::from(width),
        }),
    })
}

/// Sends the terminal's size now and whenever it changes (SIGWINCH).
fn spawn_resize_watcher(tx: mpsc::Sender<ExecRequestFrame>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        if let Some(frame) = tty_size_frame()
            && tx.send(frame).await.is_err()
        {
            return;
        }
        let Ok(mut changes) = signal(SignalKind::window_change()) else {
            return;
        };
        while changes.recv().await.is_some() {
            if let Some(frame) = tty_size_frame()
                && tx.send(frame).await.is_err()
            {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_url_carries_task_command_and_tty() {
        let cmd = vec!["sh".to_string(), "-c".into(), "echo hi".into()];
        let url = exec_url("http://127.0.0.1:4646", "a1", "web", &cmd, false, &[]).unwrap();
        assert_eq!(url.scheme(), "ws");
        assert_eq!(url.path(), "/v1/client/allocation/a1/exec");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("task".to_string(), "web".to_string()),
                ("command".into(), r#"["sh","-c","echo hi"]"#.into()),
                ("tty".into(), "false".into()),
            ]
        );
        let tls = exec_url("https://h:4646", "a1", "web", &cmd, true, &[]).unwrap();
        assert_eq!(tls.scheme(), "wss");
    }

    #[test]
    fn output_frames_end_with_the_exit_code() {
        assert_eq!(output(r#"{"stdout":{"data":""}}"#), None);
        assert_eq!(
            output(r#"{"exited":true,"result":{"exit_code":3}}"#),
            Some(3)
        );
        assert_eq!(output("garbage"), None);
    }
}
