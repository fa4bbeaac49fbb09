//! Reading an artifact's bytes: `http://`, `https://` (system roots, rustls on ring),
//! `file://` or an absolute path.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The artifact's bytes; the error names the source.
pub(super) async fn fetch(
    source: &str,
    headers: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return http(source, headers).await;
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    if !path.starts_with('/') {
        return Err(format!(
            "artifact source {source:?}: only http://, https://, file:// and absolute paths are supported"
        ));
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("read artifact {source}: {e}"))
}

async fn http(url: &str, headers: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    let client = client().map_err(|e| format!("GET {url}: {e}"))?;
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {url}: bad response code: {}", status.as_u16()));
    }
    let body = resp.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
    Ok(body.to_vec())
}

fn client() -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| e.to_string())
}

/// The last path segment of the source, without query or fragment (`app.tar.gz`).
pub(super) fn file_name(source: &str) -> String {
    let no_query = source.split(['?', '#']).next().unwrap_or(source);
    let name = no_query.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name == ".." || name == "." {
        "artifact".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_path() {
        assert_eq!(file_name("http://h/x/app.tar.gz?x=1"), "app.tar.gz");
        assert_eq!(file_name("/tmp/a.txt"), "a.txt");
        assert_eq!(file_name("http://h/"), "artifact");
        assert_eq!(file_name("http://h/.."), "artifact");
    }

    #[tokio::test]
    async fn relative_sources_are_refused() {
        let err = fetch("data/x", &BTreeMap::new()).await.unwrap_err();
        assert!(err.contains("only http://"), "{err}");
    }
}
