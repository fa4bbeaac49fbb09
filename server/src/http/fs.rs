//! The allocation filesystem, as Nomad's `/v1/client/fs/*`: `ls`, `stat`, `cat`, `readat`
//! and `stream` of paths relative to the allocation directory, served by the client that runs
//! the allocation over its tunnel. Paths with `..` components or absolute paths are refused
//! here already (400); the client resolves symlinks and refuses those leaving the directory.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use nomadish_proto::alloc_path;
use nomadish_proto::node_v1::{FsOp, FsRequest};

use super::logs::{offset, origin};
use super::stream::{self, StreamRequest};
use super::{AppState, HttpError, QueryOptions};

/// Nomad's answer when `path` is missing.
const PATH_MISSING: &str = "must provide a file name";

/// What a handler asks for, before the allocation is looked up.
struct Ask {
    op: FsOp,
    path: String,
    offset: i64,
    limit: i64,
    origin: String,
    follow: bool,
}

impl Ask {
    fn new(op: FsOp, path: String) -> Self {
        Self {
            op,
            path,
            offset: 0,
            limit: 0,
            origin: String::new(),
            follow: false,
        }
    }
}

/// `path`, required unless `default` is given; refused early when lexically unsafe.
fn path(opts: &QueryOptions, default: Option<&str>) -> Result<String, HttpError> {
    let path = match opts.raw.get("path").filter(|p| !p.is_empty()) {
        Some(p) => p.clone(),
        None => default
            .ok_or_else(|| HttpError::bad_request(PATH_MISSING))?
            .to_string(),
    };
    alloc_path::components(&path).map_err(|e| HttpError::bad_request(e.to_string()))?;
    Ok(path)
}

/// Sends the request to the allocation's client and returns the answer's chunks.
async fn open(
    server: &AppState,
    alloc_id: &str,
    ask: Ask,
) -> Result<tokio::sync::mpsc::Receiver<nomadish_proto::node_v1::StreamChunk>, HttpError> {
    let alloc = server
        .state
        .snapshot()
        .allocs
        .get(alloc_id)
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("Unknown allocation {alloc_id:?}")))?;
    let req = FsRequest {
        stream_id: 0,
        alloc_id: alloc.id.clone(),
        op: ask.op as i32,
        path: ask.path,
        offset: ask.offset,
        limit: ask.limit,
        origin: ask.origin,
        follow: ask.follow,
    };
    stream::open(server, &alloc.node_id, StreamRequest::Fs(req)).await
}

/// A JSON answer collected from the client.
async fn json(server: AppState, alloc_id: &str, ask: Ask) -> Result<Response, HttpError> {
    let body = stream::collect(open(&server, alloc_id, ask).await?).await?;
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Raw bytes streamed from the client.
async fn bytes(server: AppState, alloc_id: &str, ask: Ask) -> Result<Response, HttpError> {
    let mut rx = open(&server, alloc_id, ask).await?;
    let first = stream::first(&mut rx).await?;
    let mut response = stream::response(first, rx, true);
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

type Params = Query<HashMap<String, String>>;

/// `GET /v1/client/fs/ls/:alloc?path=` (default `/`): the directory's entries.
pub async fn ls(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let ask = Ask::new(FsOp::Ls, path(&opts, Some("/"))?);
    json(server, &alloc_id, ask).await
}

/// `GET /v1/client/fs/stat/:alloc?path=`: one entry, with its content type.
pub async fn stat(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let ask = Ask::new(FsOp::Stat, path(&opts, None)?);
    json(server, &alloc_id, ask).await
}

/// `GET /v1/client/fs/cat/:alloc?path=`: a whole file.
pub async fn cat(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let ask = Ask::new(FsOp::Cat, path(&opts, None)?);
    bytes(server, &alloc_id, ask).await
}

/// `GET /v1/client/fs/readat/:alloc?path=&offset=&limit=`: `limit` bytes (0 or none: to the
/// end) from `offset` (required, as in Nomad).
pub async fn readat(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let mut ask = Ask::new(FsOp::ReadAt, path(&opts, None)?);
    let number = |name: &str, required: bool| -> Result<i64, HttpError> {
        match opts.raw.get(name).filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| HttpError::bad_request(format!("error parsing {name}: {v:?}"))),
            None if required => Err(HttpError::bad_request(format!(
                "error parsing {name}: \"\""
            ))),
            None => Ok(0),
        }
    };
    ask.offset = number("offset", true)?;
    ask.limit = number("limit", false)?;
    if ask.offset < 0 || ask.limit < 0 {
        return Err(HttpError::bad_request(
            "offset and limit must not be negative",
        ));
    }
    bytes(server, &alloc_id, ask).await
}

/// `GET /v1/client/fs/stream/:alloc?path=&offset=&origin=&follow=&plain=`: a file as JSON
/// frames (raw with `plain=true`), following it by default as Nomad does.
pub async fn stream_file(
    State(server): State<AppState>,
    Path(alloc_id): Path<String>,
    Query(params): Params,
) -> Result<Response, HttpError> {
    let opts = QueryOptions::parse(params)?;
    let mut ask = Ask::new(FsOp::Stream, path(&opts, None)?);
    ask.offset = offset(&opts)?;
    ask.origin = origin(&opts)?;
    ask.follow = !opts.raw.contains_key("follow") || opts.flag("follow");
    let mut rx = open(&server, &alloc_id, ask).await?;
    let first = stream::first(&mut rx).await?;
    Ok(stream::response(first, rx, opts.flag("plain")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> QueryOptions {
        let raw = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        QueryOptions::parse(raw).unwrap()
    }

    #[test]
    fn paths_are_checked_before_forwarding() {
        assert_eq!(path(&opts(&[]), Some("/")).unwrap(), "/");
        assert_eq!(path(&opts(&[]), None).unwrap_err().message, PATH_MISSING);
        assert_eq!(
            path(&opts(&[("path", "alloc/logs")]), None).unwrap(),
            "alloc/logs"
        );
        for bad in ["../../etc/passwd", "/etc/passwd", "alloc/../.."] {
            let err = path(&opts(&[("path", bad)]), None).unwrap_err();
            assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn percent_encoded_dots_are_decoded_then_refused() {
        use axum::extract::FromRequestParts;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let req = axum::http::Request::builder()
            .uri("/v1/client/fs/cat/a?path=%2e%2e%2F%2e%2e%2Fetc%2Fpasswd")
            .body(())
            .unwrap();
        let (mut parts, ()) = req.into_parts();
        let Query(raw): Params = rt
            .block_on(Query::from_request_parts(&mut parts, &()))
            .unwrap();
        assert_eq!(raw["path"], "../../etc/passwd");
        let err = path(&QueryOptions::parse(raw).unwrap(), None).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(err.message.contains("\"..\""), "{}", err.message);
    }
}
