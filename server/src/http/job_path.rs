//! Job IDs with slashes in request paths.
//!
//! Dispatched and periodic children have IDs like `batch/dispatch-1795449455-47b955b1`, and
//! Nomad's clients put them in paths unescaped (`GET /v1/job/batch/dispatch-…`): Nomad's
//! router takes everything after `/v1/job/` as the ID unless it ends with one of the job
//! sub-resources. This rewrite runs before routing and escapes the ID's slashes (`%2F`), so
//! the one `/v1/job/{id}…` route set, and the authorization layer on it, serve both forms.

use axum::extract::Request;
use axum::http::Uri;

/// The sub-resources of `/v1/job/:id/…`, longest first where one ends another.
const SUFFIXES: &[&str] = &[
    "/periodic/force",
    "/allocations",
    "/evaluations",
    "/deployments",
    "/deployment",
    "/versions",
    "/summary",
    "/plan",
    "/evaluate",
    "/dispatch",
    "/revert",
    "/stable",
    "/scale",
    "/submission",
    "/services",
];

/// The path with the job ID's slashes escaped, or `None` when it needs no change.
pub fn rewrite(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v1/job/")?;
    let (id, suffix) = SUFFIXES
        .iter()
        .find_map(|s| {
            rest.strip_suffix(s)
                .filter(|id| !id.is_empty())
                .map(|id| (id, *s))
        })
        .unwrap_or((rest, ""));
    if !id.contains('/') {
        return None;
    }
    Some(format!("/v1/job/{}{suffix}", id.replace('/', "%2F")))
}

/// Applies [`rewrite`] to a request's URI, keeping its query.
pub fn escape_job_ids(mut req: Request) -> Request {
    let Some(path) = rewrite(req.uri().path()) else {
        return req;
    };
    let target = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Ok(uri) = target.parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    req
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn child_ids_are_escaped_and_sub_resources_kept() {
        let cases = [
            ("/v1/job/web", None),
            ("/v1/job/web/allocations", None),
            ("/v1/job/web/periodic/force", None),
            ("/v1/job/b/dispatch-1-ab", Some("/v1/job/b%2Fdispatch-1-ab")),
            (
                "/v1/job/b/dispatch-1-ab/allocations",
                Some("/v1/job/b%2Fdispatch-1-ab/allocations"),
            ),
            (
                "/v1/job/c/periodic-17/periodic/force",
                Some("/v1/job/c%2Fperiodic-17/periodic/force"),
            ),
            ("/v1/job/b%2Fdispatch-1", None),
            ("/v1/jobs", None),
        ];
        for (path, want) in cases {
            assert_eq!(rewrite(path).as_deref(), want, "{path}");
        }
    }
}
