//! A small HTTP client for the v1 API, returning JSON values and status codes.

use reqwest::StatusCode;
use serde_json::Value;

/// Longest wait for one [`Api::try_get`].
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The API of one agent.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// A client for `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        crate::install_crypto();
        Self::with_client(base, reqwest::Client::new())
    }

    /// A client for `base` using `http` (for HTTPS with a client certificate).
    pub fn with_client(base: &str, http: reqwest::Client) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http,
            token: None,
        }
    }

    /// The same client, sending `secret` as `X-Nomad-Token`.
    pub fn with_token(&self, secret: &str) -> Self {
        Self {
            token: Some(secret.to_string()),
            ..self.clone()
        }
    }

    /// A request with the token (if any) attached.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match &self.token {
            Some(t) => builder.header("X-Nomad-Token", t),
            None => builder,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET the raw body bytes, asserting success.
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let r = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.bytes().await.expect("body").to_vec()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET, returning status, `X-Nomad-Index` and the body as JSON (Null when not JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, u64, Value) {
        self.try_get(path).await.expect("GET")
    }

    /// Like [`Api::get`], bounded by [`REQUEST_TIMEOUT`], with failures as errors.
    pub async fn try_get(&self, path: &str) -> Result<(StatusCode, u64, Value), String> {
        let send = self.request(reqwest::Method::GET, path).send();
        let r = tokio::time::timeout(REQUEST_TIMEOUT, send)
            .await
            .map_err(|_| format!("GET {path} timed out"))?
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = r.status();
        let index = r
            .headers()
            .get("x-nomad-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, index, body))
    }

    /// GET a JSON body, asserting 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, _, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// GET the raw body text.
    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET");
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
        self.try_send(method, path, body).await.expect("request")
    }

    /// Like [`Api::send`], but a transport failure is an error instead of a panic (under
    /// faults it means "outcome unknown").
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let r = self.request(method, path).body(body).send().await?;
        let status = r.status();
        let text = r.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// PUT a JSON value; a transport failure is an error.
    pub async fn try_put_json(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        self.try_send(
            reqwest::Method::PUT,
            path,
            serde_json::to_vec(body).expect("json"),
        )
        .await
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
