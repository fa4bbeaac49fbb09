//! The HTTP API client every command uses: address, ACL token, namespace and region, and
//! small `get`/`put`/`delete` helpers that return the decoded body with `X-Nomad-Index`.
//!
//! Errors render the way Nomad's Go client renders them, so commands can print
//! `Error querying job: Unexpected response code: 404 (job not found)`.
//!
//! An `https://` address uses the TLS settings in [`ApiConfig::tls`] (see
//! [`super::api_tls`]); a failed handshake becomes [`ApiError::Tls`] with a plain sentence.

use std::time::Duration;

use nomadish_proto::tls::{CliTlsConfig, TlsError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api_tls;

/// Where the CLI talks to when neither `-address` nor `NOMAD_ADDR` is given.
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:4646";
/// How long to wait for a TCP (and TLS) connection to the agent.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The header carrying the ACL token.
pub const TOKEN_HEADER: &str = "X-Nomad-Token";
/// The header carrying the raft index a read reflects.
pub const INDEX_HEADER: &str = "X-Nomad-Index";

/// Connection settings shared by every command (`-address`, `-token`, `-namespace`, `-region`,
/// and the TLS flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiConfig {
    /// Base URL of the agent, e.g. `http://127.0.0.1:4646`.
    pub address: String,
    /// ACL token secret, sent as `X-Nomad-Token`.
    pub token: Option<String>,
    /// Namespace sent as `?namespace=`.
    pub namespace: Option<String>,
    /// Region sent as `?region=`.
    pub region: Option<String>,
    /// TLS settings, used when the address is `https://`.
    pub tls: CliTlsConfig,
}

/// Errors from talking to the HTTP API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The address could not be used as a base URL.
    #[error("invalid address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The TLS settings are unusable (missing file, key that does not fit, no CA, ...).
    #[error("invalid TLS settings: {0}")]
    TlsConfig(#[source] TlsError),
    /// The TLS handshake with the agent failed; `message` says why in plain words.
    #[error("{method} {url:?}: {message}")]
    Tls {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// What went wrong, e.g. "the server rejected this client's certificate: ...".
        message: String,
    },
    /// The request never got a response (connection refused, reset, ...).
    #[error("{method} {url:?}: {detail}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// The transport error and its causes.
        detail: String,
    },
    /// The agent answered with a non-2xx status.
    #[error("Unexpected response code: {code} ({body})")]
    Status {
        /// HTTP status code.
        code: u16,
        /// The response body (Nomad's errors are plain text).
        body: String,
    },
    /// The body was not the JSON we expected.
    #[error("failed to decode response from {url:?}: {source}")]
    Decode {
        /// Full URL.
        url: String,
        /// The decoding error.
        source: serde_json::Error,
    },
}

impl ApiError {
    /// The HTTP status code, if the agent answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A decoded response and the index it reflects.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    /// The decoded body.
    pub body: T,
    /// `X-Nomad-Index`, or 0 when absent.
    pub index: u64,
}

/// Query parameters of one request, in order.
pub type Query<'a> = &'a [(&'a str, String)];

/// A client for the nomadish (Nomad) HTTP API v1.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    config: ApiConfig,
}

impl ApiClient {
    /// A client for `config`; an address without a scheme gets `http://`. An `https://`
    /// address needs a CA certificate in `config.tls` (or `skip_verify`).
    pub fn new(config: ApiConfig) -> Result<Self, ApiError> {
        install_crypto_provider();
        let base = normalize_address(&config.address)?;
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
        if base.starts_with("https://") {
            builder = builder.use_preconfigured_tls(api_tls::client_config(&config.tls)?);
        }
        let http = builder.build().map_err(ApiError::Client)?;
        Ok(Self { http, base, config })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A copy of this client that targets another namespace (e.g. the job's own).
    pub fn with_namespace(&self, namespace: &str) -> Self {
        let mut copy = self.clone();
        copy.config.namespace = Some(namespace.to_string()).filter(|n| !n.is_empty());
        copy
    }

    /// A copy of this client that targets another region.
    pub fn with_region(&self, region: &str) -> Self {
        let mut copy = self.clone();
        copy.config.region = Some(region.to_string()).filter(|r| !r.is_empty());
        copy
    }

    /// `GET path` decoded as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query<'_>,
    ) -> Result<Response<T>, ApiError> {
        let resp = self.send(reqwest::Method::GET, path, query, None).await?;
        decode(resp).await
    }

    /// `PUT path` with a JSON body, decoded as JSON.
    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        query: Query<'_>,
    ) -> Result<Response<T>, ApiError> {
        let json = serde_json::to_value(body).map_err(|source| ApiError::Decode {
            url: self.url(path),
            source,
        })?;
        let resp = self
            .send(reqwest::Method::PUT, path, query, Some(json))
            .await?;
        decode(resp).await
    }

    /// `DELETE path`, decoded as JSON.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query<'_>,
    ) -> Result<Response<T>, ApiError> {
        let resp = self
            .send(reqwest::Method::DELETE, path, query, None)
            .await?;
        decode(resp).await
    }

    /// `GET path` returning the raw, successful response (for streams such as logs).
    pub async fn get_stream(
        &self,
        path: &str,
        query: Query<'_>,
    ) -> Result<reqwest::Response, ApiError> {
        self.send(reqwest::Method::GET, path, query, None).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends one request with the token, namespace and region attached; non-2xx becomes
    /// [`ApiError::Status`].
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: Query<'_>,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, ApiError> {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .query(query);
        if let Some(ns) = self.config.namespace.as_deref().filter(|n| !n.is_empty()) {
            req = req.query(&[("namespace", ns)]);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.execute(method, path, req).await
    }

    /// Sends `method path?query` with an optional raw body (cluster-wide endpoints: no
    /// namespace), with the same token, region, TLS and error handling as every request.
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        query: Query<'_>,
        body: Option<reqwest::Body>,
    ) -> Result<reqwest::Response, ApiError> {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .query(query);
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body);
        }
        self.execute(method, path, req).await
    }

    async fn execute(
        &self,
        method: reqwest::Method,
        path: &str,
        mut req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let url = self.url(path);
        if let Some(region) = self.config.region.as_deref().filter(|r| !r.is_empty()) {
            req = req.query(&[("region", region)]);
        }
        if let Some(token) = self.config.token.as_deref().filter(|t| !t.is_empty()) {
            req = req.header(TOKEN_HEADER, token);
        }
        let resp = req.send().await.map_err(|e| {
            match api_tls::explain_tls_failure(&e, self.config.tls.has_client_cert()) {
                Some(message) => ApiError::Tls {
                    method: method.to_string(),
                    url: url.clone(),
                    message,
                },
                None => ApiError::Transport {
                    method: method.to_string(),
                    url: url.clone(),
                    detail: error_chain(&e),
                },
            }
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let code = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        Err(ApiError::Status {
            code,
            body: body.trim().to_string(),
        })
    }
}

/// Installs ring as rustls's process-wide crypto provider (the workspace uses ring only);
/// a no-op when a provider is already installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads `X-Nomad-Index` and decodes the JSON body.
async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<Response<T>, ApiError> {
    let index = index_of(&resp);
    let url = resp.url().to_string();
    let bytes = resp.bytes().await.map_err(|e| ApiError::Transport {
        method: "GET".to_string(),
        url: url.clone(),
        detail: error_chain(&e),
    })?;
    let body = serde_json::from_slice(&bytes).map_err(|source| ApiError::Decode { url, source })?;
    Ok(Response { body, index })
}

/// The `X-Nomad-Index` of a response, 0 when absent or malformed.
pub fn index_of(resp: &reqwest::Response) -> u64 {
    resp.headers()
        .get(INDEX_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The causes of a transport error, without reqwest's and hyper's generic wrappers
/// ("error sending request for url (...)", "client error (Connect)"), joined with `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.starts_with("client error") {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() {
        err.to_string()
    } else {
        causes.join(": ")
    }
}

/// Trims a trailing `/` and adds `http://` when the scheme is missing.
pub fn normalize_address(address: &str) -> Result<String, ApiError> {
    let trimmed = address.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(ApiError::InvalidAddress {
            address: address.to_string(),
            reason: "empty".to_string(),
        });
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    if !(with_scheme.starts_with("http://") || with_scheme.starts_with("https://")) {
        return Err(ApiError::InvalidAddress {
            address: address.to_string(),
            reason: "the scheme must be http or https".to_string(),
        });
    }
    Ok(with_scheme)
}

/// Percent-encodes one path segment (IDs may contain `/`, e.g. periodic children).
pub fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_gets_scheme_and_loses_trailing_slash() {
        assert_eq!(
            normalize_address("127.0.0.1:4646").unwrap(),
            "http://127.0.0.1:4646"
        );
        assert_eq!(
            normalize_address("https://nomad.example:4646/").unwrap(),
            "https://nomad.example:4646"
        );
        assert!(normalize_address("ftp://x").is_err());
        assert!(normalize_address("  ").is_err());
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(escape_segment("web"), "web");
        assert_eq!(
            escape_segment("batch/periodic-1700000000"),
            "batch%2Fperiodic-1700000000"
        );
        assert_eq!(escape_segment("a b"), "a%20b");
    }

    #[test]
    fn status_errors_render_like_nomad() {
        let err = ApiError::Status {
            code: 404,
            body: "job not found".to_string(),
        };
        assert_eq!(
            err.to_string(),
            "Unexpected response code: 404 (job not found)"
        );
        assert_eq!(err.status(), Some(404));
    }
}
