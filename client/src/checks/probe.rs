//! One probe of one check: `http` (a request to the path; 2xx passing, 429 warning, anything
//! else critical), `tcp` (a connection is passing) and `script` (the command run inside the
//! task through the driver's exec: exit 0 passing, 1 warning, anything else critical). Each
//! probe is bounded by the check's timeout.

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::ServiceCheck;
use tokio::sync::mpsc;

use super::status::Status;
pub use super::tls::http_client;
use crate::driver::{ExecOutput, ExecSession, TaskControl};

/// Largest script output kept as the check's output.
const MAX_OUTPUT: usize = 4 * 1024;

/// The outcome of one probe.
pub type ProbeResult = (Status, String);

/// Where and how to probe.
#[derive(Debug, Clone)]
pub struct Target {
    pub address: String,
    pub port: u16,
    /// For script checks: the running task to exec in (`None` while it is not running).
    pub task: Option<Arc<dyn TaskControl>>,
}

/// Runs one probe, bounded by the check's timeout.
pub async fn probe(check: &ServiceCheck, target: &Target, http: &reqwest::Client) -> ProbeResult {
    let timeout = Duration::from_nanos(u64::try_from(check.timeout).unwrap_or(0).max(1));
    let run = async {
        match check.check_type.as_str() {
            "http" => probe_http(check, target, http).await,
            "tcp" => probe_tcp(target).await,
            "script" => probe_script(check, target).await,
            other => (
                Status::Critical,
                format!("unsupported check type {other:?}"),
            ),
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => (
            Status::Critical,
            format!(
                "check timed out after {}",
                humantime::format_duration(timeout)
            ),
        ),
    }
}

/// The HTTP status to check status rule (Consul's).
pub fn http_status(code: u16) -> Status {
    match code {
        200..=299 => Status::Passing,
        429 => Status::Warning,
        _ => Status::Critical,
    }
}

/// The script exit code to check status rule.
pub fn exit_status(code: i64) -> Status {
    match code {
        0 => Status::Passing,
        1 => Status::Warning,
        _ => Status::Critical,
    }
}

fn host(address: &str) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

async fn probe_http(check: &ServiceCheck, target: &Target, http: &reqwest::Client) -> ProbeResult {
    let scheme = if check.protocol == "https" {
        "https"
    } else {
        "http"
    };
    let url = format!(
        "{scheme}://{}:{}{}",
        host(&target.address),
        target.port,
        check.path
    );
    let method = if check.method.is_empty() {
        "GET"
    } else {
        check.method.as_str()
    };
    let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return (Status::Critical, format!("invalid method {method:?}"));
    };
    let mut request = http.request(method.clone(), &url);
    for (name, values) in &check.header {
        for v in values {
            request = request.header(name.as_str(), v.as_str());
        }
    }
    match request.send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            (
                http_status(code),
                format!("HTTP {method} {url}: {}", resp.status()),
            )
        }
        Err(e) => (Status::Critical, format!("HTTP {method} {url}: {e}")),
    }
}

async fn probe_tcp(target: &Target) -> ProbeResult {
    let addr = format!("{}:{}", host(&target.address), target.port);
    match tokio::net::TcpStream::connect(&addr).await {
        Ok(_) => (Status::Passing, format!("TCP connect {addr}: Success")),
        Err(e) => (Status::Critical, format!("TCP connect {addr}: {e}")),
    }
}

async fn probe_script(check: &ServiceCheck, target: &Target) -> ProbeResult {
    let Some(task) = target.task.as_ref() else {
        return (Status::Critical, "task is not running".to_string());
    };
    let mut command = vec![check.command.clone()];
    command.extend(check.args.iter().cloned());
    let (_input_tx, input) = mpsc::channel(1);
    let (output, mut output_rx) = mpsc::channel(16);
    let session = ExecSession {
        command,
        tty: false,
        input,
        output,
    };
    let collect = async {
        let mut text = Vec::new();
        while let Some(chunk) = output_rx.recv().await {
            let (ExecOutput::Stdout(b) | ExecOutput::Stderr(b)) = chunk;
            if text.len() < MAX_OUTPUT {
                text.extend_from_slice(&b);
            }
        }
        text
    };
    let (result, text) = tokio::join!(task.exec(session), collect);
    let mut output = String::from_utf8_lossy(&text[..text.len().min(MAX_OUTPUT)]).into_owned();
    match result {
        Ok(exit) if exit.signal != 0 => {
            output.push_str(&format!("(killed by signal {})", exit.signal));
            (Status::Critical, output)
        }
        Ok(exit) => (exit_status(exit.code), output),
        Err(e) => (Status::Critical, format!("exec failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules() {
        assert_eq!(http_status(200), Status::Passing);
        assert_eq!(http_status(204), Status::Passing);
        assert_eq!(http_status(429), Status::Warning);
        assert_eq!(http_status(404), Status::Critical);
        assert_eq!(http_status(500), Status::Critical);
        assert_eq!(exit_status(0), Status::Passing);
        assert_eq!(exit_status(1), Status::Warning);
        assert_eq!(exit_status(2), Status::Critical);
    }

    #[tokio::test]
    async fn tcp_and_http_probes_against_a_local_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let status = if req.starts_with("GET /ok ") {
                    "200 OK"
                } else {
                    "404 Not Found"
                };
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        let target = Target {
            address: "127.0.0.1".into(),
            port,
            task: None,
        };
        let http = http_client(false);
        let check = |t: &str, path: &str| ServiceCheck {
            check_type: t.into(),
            path: path.into(),
            timeout: 2_000_000_000,
            ..ServiceCheck::default()
        };
        assert_eq!(
            probe(&check("tcp", ""), &target, &http).await.0,
            Status::Passing
        );
        assert_eq!(
            probe(&check("http", "/ok"), &target, &http).await.0,
            Status::Passing
        );
        let (status, output) = probe(&check("http", "/missing"), &target, &http).await;
        assert_eq!(status, Status::Critical);
        assert!(output.contains("404"), "{output}");
        let closed = Target { port: 1, ..target };
        assert_eq!(
            probe(&check("tcp", ""), &closed, &http).await.0,
            Status::Critical
        );
        assert_eq!(
            probe(&check("script", ""), &closed, &http).await.0,
            Status::Critical
        );
    }
}
