//! Reading PEM files into rustls types, with errors that name the file.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// A certificate chain and its key, loaded from files.
#[derive(Debug)]
pub(crate) struct LoadedIdentity {
    /// The chain, leaf first.
    pub(crate) certs: Vec<CertificateDer<'static>>,
    /// The private key.
    pub(crate) key: PrivateKeyDer<'static>,
    /// The PEM text of the chain (for tonic's `Identity`).
    pub(crate) cert_pem: Vec<u8>,
    /// The PEM text of the key.
    pub(crate) key_pem: Vec<u8>,
}

/// `path` itself, or [`TlsError::MissingSetting`] when it is empty.
pub(crate) fn required<'a>(path: &'a Path, setting: &'static str) -> Result<&'a Path, TlsError> {
    if path.as_os_str().is_empty() {
        return Err(TlsError::MissingSetting { setting });
    }
    Ok(path)
}

/// Reads a whole file.
pub(crate) fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in PEM text; at least one.
pub(crate) fn parse_certs(
    pem: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let no_cert = |detail: Option<String>| TlsError::NoCertificate {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_cert(Some(e.to_string())))?;
    if certs.is_empty() {
        return Err(no_cert(None));
    }
    Ok(certs)
}

/// The first private key in PEM text.
pub(crate) fn parse_key(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::NoPrivateKey {
        path: path.to_path_buf(),
        detail: match e {
            rustls::pki_types::pem::Error::NoItemsFound => None,
            other => Some(other.to_string()),
        },
    })
}

/// Reads a certificate chain and its key, and checks that they belong together.
pub(crate) fn load_identity(cert: &Path, key: &Path) -> Result<LoadedIdentity, TlsError> {
    let cert_pem = read(cert, "certificate")?;
    let key_pem = read(key, "key")?;
    let certs = parse_certs(&cert_pem, cert, "certificate")?;
    let parsed_key = parse_key(&key_pem, key)?;
    let provider = super::provider();
    rustls::sign::CertifiedKey::from_der(certs.clone(), parsed_key.clone_key(), &provider)
        .map_err(|source| TlsError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            source,
        })?;
    Ok(LoadedIdentity {
        certs,
        key: parsed_key,
        cert_pem,
        key_pem,
    })
}

/// A root store holding every certificate of the CA file, plus the file's PEM text.
pub(crate) fn load_roots(path: &Path) -> Result<(Arc<RootCertStore>, Vec<u8>), TlsError> {
    let pem = read(path, "CA certificate")?;
    let certs = parse_certs(&pem, path, "CA certificate")?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| TlsError::BadCa {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    Ok((Arc::new(roots), pem))
}
