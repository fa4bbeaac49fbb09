//! A small HTTP client for the v1 API, returning JSON values and status codes.

use reqwest::StatusCode;
use serde_json::Value;

/// The API of one agent.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// A client for `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        crate::install_crypto();
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET, returning status, `X-Nomad-Index` and the body as JSON (Null when not JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, u64, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        let status = r.status();
        let index = r
            .headers()
            .get("x-nomad-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let text = r.text().await.unwrap_or_default();
        (
            status,
            index,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// GET a JSON body, asserting 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, _, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// GET the raw body text.
    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        let status = r.status();
        (status, r.text().await.unwrap_or_default())
    }

    /// Sends `body` with `method`, returning status and body (JSON when it parses).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, self.url(path))
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// PUT a JSON value.
    pub async fn put_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::PUT,
            path,
            serde_json::to_vec(body).expect("json"),
        )
        .await
    }

    /// The current index of the state (from `/v1/jobs`).
    pub async fn index(&self) -> u64 {
        self.get("/v1/jobs").await.1
    }
}
