//! Query parameters every read understands, blocking queries, and response headers.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use nomadish_proto::model::DEFAULT_NAMESPACE;
use serde::Serialize;

use super::HttpError;
use crate::server::Server;
use crate::state::StateView;

/// Default and longest wait of a blocking query (Nomad's 5 minutes).
pub const MAX_BLOCKING_WAIT: Duration = Duration::from_secs(300);

/// Nomad's common query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    /// `?namespace=` (default `default`; `*` for all).
    pub namespace: String,
    /// Whether `?namespace=` was given explicitly.
    pub namespace_given: bool,
    /// `?prefix=`.
    pub prefix: String,
    /// `?index=`: block until the result's index is above this.
    pub index: u64,
    /// `?wait=`: the longest a blocking query waits.
    pub wait: Duration,
    /// `?stale`: any server may answer from its own state.
    pub stale: bool,
    /// `?pretty`: indent the JSON.
    pub pretty: bool,
    /// `?filter=`: a filter expression over list entries (see `filter.rs`).
    pub filter: Option<String>,
    /// `?per_page=`: the most entries a list page holds (`None` or `0`: all).
    pub per_page: Option<u32>,
    /// `?next_token=`: the token of the first entry to answer.
    pub next_token: String,
    /// `?reverse=`: answer a list in reverse order.
    pub reverse: bool,
    /// Every parameter, for handler-specific ones.
    pub raw: HashMap<String, String>,
}

/// Nomad's boolean query values (Go's `strconv.ParseBool`: `true`, `True`, `TRUE`, `t`, `T`,
/// `1`, and their `false` forms), a bare `?flag` being true; anything else is `None`.
pub fn parse_bool_strict(v: &str) -> Option<bool> {
    match v {
        "" | "1" | "t" | "T" | "true" | "True" | "TRUE" => Some(true),
        "0" | "f" | "F" | "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A boolean query value, false unless [`parse_bool_strict`] reads it as true.
pub fn parse_bool(v: &str) -> bool {
    parse_bool_strict(v) == Some(true)
}

impl QueryOptions {
    /// Parses the query string.
    pub fn parse(raw: HashMap<String, String>) -> Result<Self, HttpError> {
        let namespace_given = raw.get("namespace").is_some_and(|n| !n.is_empty());
        let namespace = raw
            .get("namespace")
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        let index = match raw.get("index") {
            Some(v) => v
                .parse()
                .map_err(|_| HttpError::bad_request(format!("Failed to parse index: {v:?}")))?,
            None => 0,
        };
        let wait = match raw.get("wait") {
            Some(v) => parse_wait(v)?.min(MAX_BLOCKING_WAIT),
            None => MAX_BLOCKING_WAIT,
        };
        Ok(Self {
            namespace,
            namespace_given,
            prefix: raw.get("prefix").cloned().unwrap_or_default(),
            index,
            wait,
            stale: raw.get("stale").is_some_and(|v| parse_bool(v)),
            pretty: raw.get("pretty").is_some_and(|v| parse_bool(v)),
            filter: raw.get("filter").cloned(),
            // As Nomad: a per_page that is not a positive number means no paging.
            per_page: raw
                .get("per_page")
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|n| *n > 0),
            next_token: raw.get("next_token").cloned().unwrap_or_default(),
            reverse: raw.get("reverse").is_some_and(|v| parse_bool(v)),
            raw,
        })
    }

    /// A boolean parameter.
    pub fn flag(&self, name: &str) -> bool {
        self.raw.get(name).is_some_and(|v| parse_bool(v))
    }

    /// `?cas=N`: the modify index a check-and-set write expects (`0`: only if absent).
    pub fn cas(&self) -> Result<Option<u64>, HttpError> {
        self.raw
            .get("cas")
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| HttpError::bad_request(format!("Failed to parse cas: {v:?}")))
            })
            .transpose()
    }
}

fn parse_wait(v: &str) -> Result<Duration, HttpError> {
    if let Ok(ms) = v.parse::<u64>() {
        return Ok(Duration::from_millis(ms));
    }
    humantime::parse_duration(v)
        .map_err(|_| HttpError::bad_request(format!("Failed to parse wait: {v:?}")))
}

/// A view to answer a read from: linearizable unless `?stale`, and for a blocking query the
/// first view whose `table` index is above `?index` (or the last one when `?wait` runs out).
pub async fn read_view(
    server: &Server,
    opts: &QueryOptions,
    table: impl Fn(&StateView) -> u64,
) -> Result<StateView, HttpError> {
    let mut changes = server.state.subscribe();
    let jitter = opts.wait / 16;
    let deadline = tokio::time::Instant::now() + opts.wait + jitter.mul_f64(rand::random::<f64>());
    loop {
        let view = if opts.stale {
            server.state.snapshot()
        } else {
            server.consistent_view().await?
        };
        if opts.index == 0 || table(&view) > opts.index {
            return Ok(view);
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return Ok(view) },
            _ = tokio::time::sleep_until(deadline) => return Ok(view),
        }
    }
}

/// An allocation list as Nomad's stubs, with the query metadata headers.
pub fn reply_stubs(
    server: &Server,
    opts: &QueryOptions,
    index: u64,
    allocs: &[std::sync::Arc<nomadish_proto::model::Allocation>],
) -> Response {
    let stubs: Vec<_> = allocs.iter().map(|a| a.stub()).collect();
    reply(server, opts, index, &stubs)
}

/// A JSON response with Nomad's query metadata headers.
pub fn reply<T: Serialize>(server: &Server, opts: &QueryOptions, index: u64, body: &T) -> Response {
    let json = if opts.pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    };
    let Ok(json) = json else {
        return HttpError::internal("failed to encode response").into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-nomad-index", HeaderValue::from(index.max(1)));
    let known = if server.leader().is_some() {
        "true"
    } else {
        "false"
    };
    headers.insert("x-nomad-knownleader", HeaderValue::from_static(known));
    headers.insert(
        "x-nomad-lastcontact",
        HeaderValue::from(server.last_contact_ms()),
    );
    (headers, json).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<QueryOptions, HttpError> {
        QueryOptions::parse(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_and_parsing() {
        let o = q(&[]).expect("parses");
        assert_eq!(
            (o.namespace.as_str(), o.index, o.wait),
            ("default", 0, MAX_BLOCKING_WAIT)
        );
        let o = q(&[
            ("namespace", "*"),
            ("index", "7"),
            ("wait", "2s"),
            ("stale", ""),
        ])
        .expect("parses");
        assert_eq!(
            (o.namespace.as_str(), o.index, o.wait, o.stale),
            ("*", 7, Duration::from_secs(2), true)
        );
        assert_eq!(
            q(&[("wait", "10m")]).expect("parses").wait,
            MAX_BLOCKING_WAIT
        );
        assert!(q(&[("index", "x")]).is_err());
        assert!(q(&[("wait", "soon")]).is_err());
        assert!(q(&[("pretty", "True")]).expect("parses").pretty);
        assert!(!q(&[("stale", "false")]).expect("parses").stale);
    }

    #[test]
    fn booleans_and_paging_parameters() {
        for v in ["", "1", "t", "T", "true", "True", "TRUE"] {
            assert!(parse_bool(v), "{v:?}");
        }
        for v in ["0", "f", "false", "False", "yes", "on"] {
            assert!(!parse_bool(v), "{v:?}");
        }
        assert_eq!(parse_bool_strict("maybe"), None);
        let o = q(&[
            ("per_page", "5"),
            ("next_token", "default.web"),
            ("reverse", "1"),
            ("filter", "Status == \"running\""),
        ])
        .expect("parses");
        assert_eq!(
            (o.per_page, o.next_token.as_str(), o.reverse),
            (Some(5), "default.web", true)
        );
        assert_eq!(o.filter.as_deref(), Some("Status == \"running\""));
        // As Nomad, a per_page that is not a positive number pages nothing.
        for bad in ["0", "-1", "many"] {
            assert_eq!(q(&[("per_page", bad)]).expect("parses").per_page, None);
        }
    }

    #[test]
    fn cas_is_optional_and_numeric() {
        assert_eq!(q(&[]).expect("parses").cas().ok(), Some(None));
        assert_eq!(
            q(&[("cas", "0")]).expect("parses").cas().ok(),
            Some(Some(0))
        );
        assert_eq!(
            q(&[("cas", "42")]).expect("parses").cas().ok(),
            Some(Some(42))
        );
        assert!(q(&[("cas", "-1")]).expect("parses").cas().is_err());
        assert!(q(&[("cas", "soon")]).expect("parses").cas().is_err());
    }
}
