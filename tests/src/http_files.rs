//! A tiny HTTP server on loopback that offers fixed files, for suites that need the agent to
//! download something (artifacts, remote templates).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most request-head bytes read before answering.
const MAX_HEAD_BYTES: usize = 8192;

/// Serves `files` (URL path -> body) over HTTP on 127.0.0.1 until the runtime ends: `200` with
/// the body for a known path, `404` for anything else. Returns the base URL
/// (`http://127.0.0.1:PORT`).
pub async fn serve_files(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer(sock, files.clone()));
        }
    });
    format!("http://{addr}")
}

/// Reads one request head and answers it, closing the connection.
async fn answer(mut sock: tokio::net::TcpStream, files: Arc<HashMap<String, Vec<u8>>>) {
    let mut buf = vec![0u8; MAX_HEAD_BYTES];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
        match sock.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => len += n,
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match files.get(path) {
        Some(b) => ("200 OK", b.as_slice()),
        None => ("404 Not Found", b"not found".as_slice()),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(header.as_bytes()).await;
    let _ = sock.write_all(body).await;
    let _ = sock.shutdown().await;
}
