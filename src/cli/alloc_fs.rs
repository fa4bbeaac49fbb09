//! `alloc fs`: an allocation's directory through `/v1/client/fs/*`, as Nomad's command.
//!
//! ```text
//! alloc fs A                  list the allocation directory
//! alloc fs A alloc/logs       list a directory, or print a file
//! alloc fs -stat A PATH       the entry's mode, size, time, content type
//! alloc fs -f A PATH          print and follow the file (fs/stream, plain)
//! alloc fs -tail [-n N|-c N] [-f] A PATH   the end: N lines (default 10) or N bytes
//! ```
//! PATH is relative to the allocation directory; a leading `/` names that directory's root
//! (as Nomad's CLI accepts), never the client's filesystem root.

use std::io::Write;

use futures::StreamExt;
use nomadish_proto::model::AllocFileInfo;

use super::alloc::find_alloc;
use super::api::{ApiClient, ApiError, escape_segment};
use super::args::AllocFsArgs;
use super::format::{format_list, format_task_time, ibytes};
use super::logs::{BYTES_PER_LINE, DEFAULT_TAIL_LINES, TAIL_SETTLE, last_lines};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// Errors of `alloc fs`.
#[derive(Debug, thiserror::Error)]
pub enum FsCliError {
    /// The request failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The stream broke.
    #[error("error reading file: {0}")]
    Stream(String),
    /// `-n` and `-c` together.
    #[error("Both -n and -c set")]
    BothLimits,
}

/// The path sent to the API: relative to the allocation directory.
pub fn api_path(path: Option<&str>) -> String {
    match path.map(|p| p.trim_start_matches('/')) {
        None | Some("") => "/".to_string(),
        Some(p) => p.to_string(),
    }
}

/// One row of a listing or stat table (`Mode|Size|Modified Time|[Content Type|]Name`).
pub fn row(file: &AllocFileInfo, machine: bool, with_type: bool) -> Vec<String> {
    let name = if file.is_dir {
        format!("{}/", file.name)
    } else {
        file.name.clone()
    };
    let size = if machine {
        file.size.to_string()
    } else {
        ibytes(u64::try_from(file.size).unwrap_or(0))
    };
    let mut cells = vec![
        file.file_mode.clone(),
        size,
        format_task_time(Some(&file.mod_time)),
    ];
    if with_type {
        cells.push(file.content_type.clone());
    }
    cells.push(name);
    cells
}

/// `alloc fs`.
pub async fn run(args: AllocFsArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let alloc = match find_alloc(&api, args.alloc.trim()).await {
        Ok(alloc) => alloc,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let api = api.with_namespace(&alloc.namespace);
    let path = api_path(args.path.as_deref());
    let base = |op: &str| format!("/v1/client/fs/{op}/{}", escape_segment(&alloc.id));
    let stat_query = [("path", path.clone())];
    let file: AllocFileInfo = match api.get(&base("stat"), &stat_query).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error getting file info: {e}");
            return EXIT_ERROR;
        }
    };
    if args.stat {
        let header = ["Mode", "Size", "Modified Time", "Content Type", "Name"];
        let rows = vec![
            header.iter().map(|h| h.to_string()).collect(),
            row(&file, args.machine, true),
        ];
        println!("{}", format_list(&rows));
        return EXIT_OK;
    }
    if file.is_dir {
        return list(&api, &base("ls"), &path, args.machine).await;
    }
    let result = tokio::select! {
        r = print_file(&api, &alloc.id, &path, file.size, &args) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_ERROR
        }
    }
}

async fn list(api: &ApiClient, url: &str, path: &str, machine: bool) -> i32 {
    let files: Vec<AllocFileInfo> = match api.get(url, &[("path", path.to_string())]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error listing alloc dir: {e}");
            return EXIT_ERROR;
        }
    };
    let header = ["Mode", "Size", "Modified Time", "Name"];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    rows.extend(files.iter().map(|f| row(f, machine, false)));
    println!("{}", format_list(&rows));
    EXIT_OK
}

fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// Copies a response body to stdout.
async fn copy(resp: reqwest::Response) -> Result<(), FsCliError> {
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        write_stdout(&chunk.map_err(|e| FsCliError::Stream(e.to_string()))?);
    }
    Ok(())
}

/// Prints the file: whole, followed, or its tail.
async fn print_file(
    api: &ApiClient,
    alloc_id: &str,
    path: &str,
    size: i64,
    args: &AllocFsArgs,
) -> Result<(), FsCliError> {
    let url = |op: &str| format!("/v1/client/fs/{op}/{}", escape_segment(alloc_id));
    let size = u64::try_from(size).unwrap_or(0);
    let path = ("path", path.to_string());
    if !args.tail {
        let resp = if args.follow {
            let query = [path, ("follow", "true".into()), ("plain", "true".into())];
            api.get_stream(&url("stream"), &query).await?
        } else {
            api.get_stream(&url("cat"), &[path]).await?
        };
        return copy(resp).await;
    }
    let (offset, lines) = match (args.lines, args.bytes) {
        (Some(_), Some(_)) => return Err(FsCliError::BothLimits),
        (None, Some(bytes)) => (bytes, None),
        (lines, None) => {
            let lines = lines.unwrap_or(DEFAULT_TAIL_LINES);
            (lines.saturating_mul(BYTES_PER_LINE), Some(lines))
        }
    };
    let offset = offset.min(size);
    if args.follow {
        let query = [
            path,
            ("follow", "true".into()),
            ("plain", "true".into()),
            ("origin", "end".into()),
            ("offset", offset.to_string()),
        ];
        let resp = api.get_stream(&url("stream"), &query).await?;
        return match lines {
            Some(n) => follow_tail_lines(resp, offset, n).await,
            None => copy(resp).await,
        };
    }
    let query = [path, ("offset", (size - offset).to_string())];
    let resp = api.get_stream(&url("readat"), &query).await?;
    match lines {
        None => copy(resp).await,
        Some(n) => {
            let data = resp
                .bytes()
                .await
                .map_err(|e| FsCliError::Stream(e.to_string()))?;
            write_stdout(last_lines(&data, n));
            Ok(())
        }
    }
}

/// Buffers the first window (until full or quiet), prints its last `lines` lines, then
/// streams the rest.
async fn follow_tail_lines(
    resp: reqwest::Response,
    window: u64,
    lines: u64,
) -> Result<(), FsCliError> {
    let mut stream = resp.bytes_stream();
    let mut buffer = Vec::new();
    while (buffer.len() as u64) < window {
        match tokio::time::timeout(TAIL_SETTLE, stream.next()).await {
            Ok(Some(chunk)) => {
                buffer.extend_from_slice(&chunk.map_err(|e| FsCliError::Stream(e.to_string()))?)
            }
            Ok(None) | Err(_) => break,
        }
    }
    write_stdout(last_lines(&buffer, lines));
    while let Some(chunk) = stream.next().await {
        write_stdout(&chunk.map_err(|e| FsCliError::Stream(e.to_string()))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_alloc_dir() {
        assert_eq!(api_path(None), "/");
        assert_eq!(api_path(Some("/")), "/");
        assert_eq!(api_path(Some("/alloc/logs")), "alloc/logs");
        assert_eq!(api_path(Some("web/local")), "web/local");
    }

    #[test]
    fn rows_mark_directories_and_sizes() {
        let dir = AllocFileInfo {
            name: "alloc".into(),
            is_dir: true,
            size: 4096,
            file_mode: "drwxr-xr-x".into(),
            mod_time: "2024-05-01T12:00:00.5Z".into(),
            content_type: String::new(),
        };
        assert_eq!(
            row(&dir, false, false),
            ["drwxr-xr-x", "4.0 KiB", "2024-05-01T12:00:00Z", "alloc/"]
        );
        assert_eq!(row(&dir, true, false)[1], "4096");
        assert_eq!(row(&dir, false, true).len(), 5);
    }
}
