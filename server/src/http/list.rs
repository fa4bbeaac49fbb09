//! Nomad's list conventions in one place: ACL scoping, `?filter=`, ordering, `?reverse=`,
//! `?per_page=` / `?next_token=` and the `X-Nomad-NextToken` header.
//!
//! ```text
//!   entries (as serialized) ─> ACL scope (namespace=* lists) ─> ?filter= ─> sort by token
//!     ─> ?reverse ─> skip before ?next_token ─> first ?per_page ─> JSON + X-Nomad-NextToken
//! ```
//!
//! A list's token is the `.`-joined values of its [`Paging`] fields (e.g. `default.example`
//! for a job, `41.8d3c...` for an allocation): entries are ordered by it (numbers as numbers),
//! and the token of the first entry of the next page is the `X-Nomad-NextToken` answer.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::filter::{Filter, FilterError};
use super::query::reply;
use super::{HttpError, QueryOptions};
use crate::server::Server;

/// The response header naming the first entry of the next page.
pub const NEXT_TOKEN_HEADER: &str = "x-nomad-nexttoken";

/// The entry fields, joined with `.`, that order a list and name its pages.
#[derive(Debug, Clone, Copy)]
pub struct Paging(pub &'static [&'static str]);

impl Paging {
    /// Unique IDs (nodes, allocations and evaluations by prefix).
    pub const ID: Paging = Paging(&["ID"]);
    /// Objects unique within a namespace (jobs).
    pub const NAMESPACE_ID: Paging = Paging(&["Namespace", "ID"]);
    /// Creation order (allocations, evaluations, deployments).
    pub const CREATE_INDEX_ID: Paging = Paging(&["CreateIndex", "ID"]);
    /// Named objects (namespaces, ACL policies).
    pub const NAME: Paging = Paging(&["Name"]);
    /// ACL tokens, in creation order.
    pub const TOKENS: Paging = Paging(&["CreateIndex", "AccessorID"]);
    /// Variables.
    pub const VARIABLES: Paging = Paging(&["Namespace", "Path"]);
    /// Service registrations grouped by namespace.
    pub const NAMESPACE: Paging = Paging(&["Namespace"]);

    /// Nomad's order for allocations, evaluations and deployments: by ID when `?prefix=` is
    /// given, else by creation.
    pub fn by_prefix_or_creation(opts: &QueryOptions) -> Paging {
        if opts.prefix.is_empty() {
            Paging::CREATE_INDEX_ID
        } else {
            Paging::ID
        }
    }

    /// An entry's sort key: its paging fields, numbers as numbers.
    fn key(&self, entry: &Value) -> Vec<Part> {
        self.0
            .iter()
            .map(|f| match entry.get(*f) {
                Some(Value::Number(n)) => Part::Num(n.as_u64().unwrap_or_default()),
                Some(Value::String(s)) => Part::Str(s.clone()),
                Some(other) => Part::Str(other.to_string()),
                None => Part::Str(String::new()),
            })
            .collect()
    }

    /// A `?next_token=` as a sort key shaped like `like` (the last field takes the rest, so
    /// IDs with dots survive).
    fn parse_token(&self, token: &str, like: &[Part]) -> Vec<Part> {
        token
            .splitn(self.0.len(), '.')
            .zip(like)
            .map(|(s, l)| match (l, s.parse::<u64>()) {
                (Part::Num(_), Ok(n)) => Part::Num(n),
                _ => Part::Str(s.to_string()),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Num(u64),
    Str(String),
}

fn token_string(key: &[Part]) -> String {
    key.iter()
        .map(|p| match p {
            Part::Num(n) => n.to_string(),
            Part::Str(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Which entries of a list the caller's token may see, set by the authorization layer on
/// `namespace=*`-style lists and applied here before filtering and paging.
#[derive(Clone)]
pub struct ListScope(Arc<dyn Fn(&Value) -> bool + Send + Sync>);

impl ListScope {
    /// A scope that keeps the entries `allow` accepts.
    pub fn new(allow: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(allow))
    }
}

/// Marks a response whose entries were already scoped by [`ListScope`].
#[derive(Debug, Clone, Copy)]
pub struct ListScoped;

/// A list request: the query options and the caller's scope.
pub struct ListQuery {
    /// The parsed query parameters.
    pub opts: QueryOptions,
    /// The authorization layer's scope, when the list is narrowed per entry.
    pub scope: Option<ListScope>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(raw) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| HttpError::bad_request(e.body_text()))?;
        Ok(Self {
            opts: QueryOptions::parse(raw)?,
            scope: parts.extensions.get::<ListScope>().cloned(),
        })
    }
}

/// One page of a list: the entries and the token of the next page (empty on the last).
#[derive(Debug, PartialEq)]
pub struct Page {
    /// The entries of this page.
    pub entries: Vec<Value>,
    /// `X-Nomad-NextToken`.
    pub next_token: String,
}

/// Scopes, filters, orders and pages `entries` as the query asks.
pub fn page<T: Serialize>(
    opts: &QueryOptions,
    scope: Option<&ListScope>,
    entries: impl IntoIterator<Item = T>,
    paging: Paging,
) -> Result<Page, HttpError> {
    let filter = match opts.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(src) => Some(Filter::parse(src).map_err(filter_error)?),
        None => None,
    };
    let mut keyed = Vec::new();
    for entry in entries {
        let value = serde_json::to_value(entry)
            .map_err(|e| HttpError::internal(format!("failed to encode response: {e}")))?;
        if scope.is_some_and(|s| !(s.0)(&value)) {
            continue;
        }
        if let Some(f) = &filter
            && !f.matches(&value).map_err(filter_error)?
        {
            continue;
        }
        keyed.push((paging.key(&value), value));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if opts.reverse {
        keyed.reverse();
    }
    let start = match (opts.next_token.as_str(), keyed.first()) {
        ("", _) | (_, None) => 0,
        (token, Some((like, _))) => {
            let target = paging.parse_token(token, like);
            let before = if opts.reverse {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            keyed
                .iter()
                .position(|(k, _)| k.as_slice().cmp(target.as_slice()) != before)
                .unwrap_or(keyed.len())
        }
    };
    let mut rest = keyed.into_iter().skip(start);
    let per_page = opts.per_page.map_or(usize::MAX, |n| n as usize);
    let entries: Vec<Value> = rest.by_ref().take(per_page).map(|(_, v)| v).collect();
    let next_token = rest
        .next()
        .map(|(k, _)| token_string(&k))
        .unwrap_or_default();
    Ok(Page {
        entries,
        next_token,
    })
}

/// Answers a list the Nomad way (see the module doc), with the query metadata headers.
pub fn reply_list<T: Serialize>(
    server: &Server,
    list: &ListQuery,
    index: u64,
    entries: impl IntoIterator<Item = T>,
    paging: Paging,
) -> Result<Response, HttpError> {
    let page = page(&list.opts, list.scope.as_ref(), entries, paging)?;
    let mut response = reply(server, &list.opts, index, &page.entries);
    if !page.next_token.is_empty()
        && let Ok(v) = HeaderValue::from_str(&page.next_token)
    {
        response.headers_mut().insert(NEXT_TOKEN_HEADER, v);
    }
    if list.scope.is_some() {
        response.extensions_mut().insert(ListScoped);
    }
    Ok(response)
}

fn filter_error(e: FilterError) -> HttpError {
    HttpError::bad_request(format!("failed to read filter expression: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> QueryOptions {
        QueryOptions::parse(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .expect("parses")
    }

    fn allocs() -> Vec<Value> {
        // Creation order differs from ID order; 10 sorts after 9 as a number.
        [(10, "a"), (9, "b"), (11, "c"), (12, "d.e")]
            .iter()
            .map(|(i, id)| json!({"ID": id, "CreateIndex": i, "Status": if *i % 2 == 0 {"even"} else {"odd"}}))
            .collect()
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.entries
            .iter()
            .map(|e| e["ID"].as_str().unwrap_or_default())
            .collect()
    }

    #[test]
    fn pages_walk_every_entry_once_in_token_order() {
        let mut seen = Vec::new();
        let mut token = String::new();
        for _ in 0..10 {
            let p = page(
                &opts(&[("per_page", "3"), ("next_token", &token)]),
                None,
                allocs(),
                Paging::CREATE_INDEX_ID,
            )
            .expect("pages");
            seen.extend(ids(&p).iter().map(|s| s.to_string()));
            token = p.next_token;
            if token.is_empty() {
                break;
            }
            assert_eq!(token, "12.d.e");
        }
        assert_eq!(seen, ["b", "a", "c", "d.e"]);
    }

    #[test]
    fn reverse_filter_and_missing_tokens() {
        let p = page(
            &opts(&[("reverse", "true"), ("per_page", "1")]),
            None,
            allocs(),
            Paging::ID,
        )
        .expect("pages");
        assert_eq!((ids(&p), p.next_token.as_str()), (vec!["d.e"], "c"));
        // A token that names no entry starts at the next one in order, as Nomad's paginator.
        let p = page(&opts(&[("next_token", "bb")]), None, allocs(), Paging::ID).expect("pages");
        assert_eq!(ids(&p), ["c", "d.e"]);
        let p = page(
            &opts(&[("filter", r#"Status == "even""#), ("per_page", "1")]),
            None,
            allocs(),
            Paging::ID,
        )
        .expect("pages");
        assert_eq!((ids(&p), p.next_token.as_str()), (vec!["a"], "d.e"));
        let scope = ListScope::new(|v| v["ID"] != "a");
        let p = page(&opts(&[]), Some(&scope), allocs(), Paging::ID).expect("pages");
        assert_eq!(ids(&p), ["b", "c", "d.e"]);
    }

    #[test]
    fn bad_filters_are_bad_requests() {
        for f in ["Status ==", "Colour == 1"] {
            let err =
                page(&opts(&[("filter", f)]), None, allocs(), Paging::ID).expect_err("bad filter");
            assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST, "{f}");
        }
    }
}
