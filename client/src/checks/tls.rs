//! TLS for `http` checks with `protocol = "https"`: the system's roots, or, with
//! `tls_skip_verify = true`, any certificate (signatures are still checked).

use std::sync::Arc;

use nomadish_proto::tls::SkipVerify;

/// The HTTP client of checks; `skip_verify` accepts any server certificate.
pub fn http_client(skip_verify: bool) -> reqwest::Client {
    build(skip_verify).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "building the check HTTP client failed; using defaults");
        reqwest::Client::builder().build().unwrap_or_default()
    })
}

fn build(skip_verify: bool) -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let tls = if skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SkipVerify::new(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| e.to_string())
}
