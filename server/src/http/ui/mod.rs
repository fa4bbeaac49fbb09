//! The web UI: a few static files (HTML, CSS, JavaScript) embedded in the binary and served
//! at `/ui` by every agent, on the API's port and with its TLS.
//!
//! ```text
//!   GET /            307 -> /ui/
//!   GET /ui, /ui/    index.html
//!   GET /ui/<file>   that file (app.js, style.css, ...)
//!   GET /ui/<other>  index.html (the app routes by the URL's #fragment; a deep link that
//!                    lost its # still opens the app)
//! ```
//!
//! The files carry no data, so they are served outside the authorization layer: the page
//! loads without a token (or with a stale one), and everything it shows comes from `/v1`
//! calls the browser makes with the signed-in token in `X-Nomad-Token`. Each answer has a
//! strict Content-Security-Policy (this origin only, no inline script or style), an ETag
//! and `Cache-Control: no-cache`, so a browser revalidates (304) and never runs a stale app
//! after an upgrade.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The UI's files; `index.html` first.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: HTML,
        body: include_bytes!("assets/index.html"),
    },
    Asset {
        name: "style.css",
        content_type: CSS,
        body: include_bytes!("assets/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: JS,
        body: include_bytes!("assets/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JS,
        body: include_bytes!("assets/api.js"),
    },
    Asset {
        name: "jobs.js",
        content_type: JS,
        body: include_bytes!("assets/jobs.js"),
    },
    Asset {
        name: "plan.js",
        content_type: JS,
        body: include_bytes!("assets/plan.js"),
    },
    Asset {
        name: "job.js",
        content_type: JS,
        body: include_bytes!("assets/job.js"),
    },
    Asset {
        name: "alloc.js",
        content_type: JS,
        body: include_bytes!("assets/alloc.js"),
    },
    Asset {
        name: "nodes.js",
        content_type: JS,
        body: include_bytes!("assets/nodes.js"),
    },
    Asset {
        name: "cluster.js",
        content_type: JS,
        body: include_bytes!("assets/cluster.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: SVG,
        body: include_bytes!("assets/favicon.svg"),
    },
];

/// The policy every UI answer carries: scripts, styles, images and API calls from this
/// origin only; no inline code, no frames, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The cache policy: keep, but revalidate (with the ETag) before each use.
pub const CACHE_CONTROL: &str = "no-cache";

/// Each file's ETag, a digest of its bytes (stable for one binary).
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    use std::hash::{DefaultHasher, Hash, Hasher};
    ASSETS
        .iter()
        .map(|a| {
            let mut h = DefaultHasher::new();
            a.body.hash(&mut h);
            let tag = format!("\"{}-{:016x}\"", env!("CARGO_PKG_VERSION"), h.finish());
            HeaderValue::from_str(&tag).expect("ASCII tag")
        })
        .collect()
});

/// The UI's routes, for any router state (the server's API router and a client-only
/// agent's listener both merge them).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(root))
        .route("/ui", get(index))
        .route("/ui/", get(index))
        .route("/ui/{*path}", get(file))
}

async fn root() -> Redirect {
    Redirect::temporary("/ui/")
}

async fn index(headers: HeaderMap) -> Response {
    serve(0, &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // Unknown paths are app routes: the app itself answers them.
    let i = ASSETS.iter().position(|a| a.name == path).unwrap_or(0);
    serve(i, &headers)
}

/// One file with its headers, or 304 when the browser's copy is current.
fn serve(i: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[i];
    let etag = ETAGS[i].clone();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn get(path: &str, etag: Option<&HeaderValue>) -> Response {
        let mut req = axum::http::Request::get(path);
        if let Some(tag) = etag {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let req = req.body(axum::body::Body::empty()).expect("request");
        routes::<()>().oneshot(req).await.expect("answer")
    }

    #[tokio::test]
    async fn files_have_their_type_and_app_routes_get_the_index() {
        for (path, ty) in [
            ("/ui", HTML),
            ("/ui/", HTML),
            ("/ui/app.js", JS),
            ("/ui/style.css", CSS),
            ("/ui/jobs/default", HTML),
        ] {
            let r = get(path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], ty, "{path}");
            assert_eq!(
                r.headers()[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(r.headers()[header::CACHE_CONTROL], CACHE_CONTROL);
        }
        let root = get("/", None).await;
        assert_eq!(root.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(root.headers()[header::LOCATION], "/ui/");
    }

    #[tokio::test]
    async fn a_current_etag_gets_304() {
        let first = get("/ui/app.js", None).await;
        let tag = first.headers()[header::ETAG].clone();
        let again = get("/ui/app.js", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get("/ui/style.css", Some(&tag)).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[test]
    fn every_script_the_index_loads_is_embedded() {
        let index = std::str::from_utf8(ASSETS[0].body).expect("utf-8");
        for attr in ["src=\"/ui/", "href=\"/ui/"] {
            for part in index.split(attr).skip(1) {
                let name = part.split('"').next().expect("name");
                assert!(ASSETS.iter().any(|a| a.name == name), "{name} not embedded");
            }
        }
        // Every module a script imports is embedded too.
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(asset.body).expect("utf-8");
            for part in text.split("from \"./").skip(1) {
                let name = part.split('"').next().expect("name");
                assert!(ASSETS.iter().any(|a| a.name == name), "{name} not embedded");
            }
        }
        // No inline script: the policy would block it.
        assert!(!index.contains("<script>"), "inline script in index.html");
        assert!(!index.contains("style=\""), "inline style in index.html");
    }
}
