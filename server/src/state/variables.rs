//! The `variables` table and its encryption at rest.
//!
//! ```text
//!   Variable {Items} ──encrypt(root key, random 96-bit nonce, AAD = namespace \0 path)──>
//!   StoredVariable { metadata, key_id, nonce, ciphertext }   (replicated, snapshotted, digested)
//! ```
//!
//! Items are sealed with AES-256-GCM under one cluster root key before the write is proposed,
//! so neither the raft log nor snapshots hold them in clear. The root key is 256 random bits
//! created by the first variables write of the cluster and replicated through raft (so every
//! server can decrypt); the API never returns it. It lives in the state (and in `operator
//! snapshot save` files, which must be kept as secret as the servers' data directories). Key
//! rotation is not implemented: one key, ID recorded with every variable for a later rotation.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nomadish_proto::model::{Variable, VariableMetadata};
use serde::{Deserialize, Serialize};

use super::StateView;

/// The cluster's root key (base64 of 32 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootKey {
    /// The key's ID (a UUID).
    pub key_id: String,
    /// Base64 of the 256-bit key.
    pub key: String,
    /// Unix nanoseconds.
    pub create_time: i64,
}

impl RootKey {
    /// A fresh random key.
    pub fn generate(now: i64) -> Self {
        let bytes: [u8; 32] = rand::random();
        Self {
            key_id: uuid::Uuid::new_v4().to_string(),
            key: STANDARD.encode(bytes),
            create_time: now,
        }
    }

    fn cipher(&self) -> Result<Aes256Gcm, String> {
        let key = STANDARD
            .decode(&self.key)
            .map_err(|e| format!("root key: {e}"))?;
        Aes256Gcm::new_from_slice(&key).map_err(|_| "root key has the wrong length".to_string())
    }
}

/// A variable as stored: metadata in clear, items sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVariable {
    /// Namespace, path, indexes and times.
    pub meta: VariableMetadata,
    /// The root key that sealed the items.
    pub key_id: String,
    /// Base64 of the 96-bit nonce.
    pub nonce: String,
    /// Base64 of the AES-GCM ciphertext (with tag) of the items' JSON.
    pub ciphertext: String,
}

fn aad(namespace: &str, path: &str) -> Vec<u8> {
    format!("{namespace}\0{path}").into_bytes()
}

/// Seals `var`'s items under `key`.
pub fn seal(key: &RootKey, var: &Variable) -> Result<StoredVariable, String> {
    let plain = serde_json::to_vec(&var.items).map_err(|e| e.to_string())?;
    let nonce_bytes: [u8; 12] = rand::random();
    let nonce = Nonce::from(nonce_bytes);
    let aad = aad(&var.namespace, &var.path);
    let ciphertext = key
        .cipher()?
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| "encrypting variable failed".to_string())?;
    Ok(StoredVariable {
        meta: var.metadata(),
        key_id: key.key_id.clone(),
        nonce: STANDARD.encode(nonce_bytes),
        ciphertext: STANDARD.encode(ciphertext),
    })
}

/// Opens a stored variable with `key`.
pub fn open(key: &RootKey, stored: &StoredVariable) -> Result<Variable, String> {
    if stored.key_id != key.key_id {
        return Err(format!(
            "variable sealed with unknown key {}",
            stored.key_id
        ));
    }
    let nonce_bytes = STANDARD.decode(&stored.nonce).map_err(|e| e.to_string())?;
    let nonce_arr: [u8; 12] = nonce_bytes
        .try_into()
        .map_err(|_| "variable nonce has the wrong length".to_string())?;
    let ciphertext = STANDARD
        .decode(&stored.ciphertext)
        .map_err(|e| e.to_string())?;
    let aad = aad(&stored.meta.namespace, &stored.meta.path);
    let plain = key
        .cipher()?
        .decrypt(
            &Nonce::from(nonce_arr),
            Payload {
                msg: &ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| "decrypting variable failed (wrong key or tampered data)".to_string())?;
    let items: BTreeMap<String, String> =
        serde_json::from_slice(&plain).map_err(|e| e.to_string())?;
    Ok(Variable::from_parts(&stored.meta, items))
}

impl StateView {
    /// The stored variable at `(namespace, path)`.
    pub fn variable(&self, namespace: &str, path: &str) -> Option<&StoredVariable> {
        self.variables
            .get(&(namespace.to_string(), path.to_string()))
            .map(AsRef::as_ref)
    }

    /// The variable at `(namespace, path)`, decrypted; `Ok(None)` when there is none.
    pub fn decrypted_variable(
        &self,
        namespace: &str,
        path: &str,
    ) -> Result<Option<Variable>, String> {
        let Some(stored) = self.variable(namespace, path) else {
            return Ok(None);
        };
        let key = self.root_key.as_deref().ok_or("no root key in the state")?;
        open(key, stored).map(Some)
    }

    /// Metadata of the variables whose path starts with `prefix`, in `namespace` (`*`: every
    /// namespace), ordered by namespace and path.
    pub fn variables_with_prefix(&self, namespace: &str, prefix: &str) -> Vec<&StoredVariable> {
        self.variables
            .iter()
            .filter(|((ns, path), _)| {
                (namespace == "*" || ns == namespace) && path.starts_with(prefix)
            })
            .map(|(_, v)| v.as_ref())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var() -> Variable {
        Variable {
            namespace: "default".into(),
            path: "app/db".into(),
            items: [("user".to_string(), "me".to_string())].into(),
            ..Variable::default()
        }
    }

    #[test]
    fn seal_and_open_round_trip_without_clear_text() {
        let key = RootKey::generate(1);
        let stored = seal(&key, &var()).unwrap();
        assert!(!stored.ciphertext.contains("me"));
        assert!(!serde_json::to_string(&stored).unwrap().contains("\"user\""));
        assert_eq!(open(&key, &stored).unwrap(), var());
        // Same plaintext, fresh nonce: different ciphertext.
        assert_ne!(seal(&key, &var()).unwrap().ciphertext, stored.ciphertext);
    }

    #[test]
    fn wrong_key_or_moved_ciphertext_is_refused() {
        let key = RootKey::generate(1);
        let stored = seal(&key, &var()).unwrap();
        let mut other = RootKey::generate(1);
        other.key_id = key.key_id.clone();
        assert!(open(&other, &stored).is_err());
        let mut moved = stored.clone();
        moved.meta.path = "app/other".into();
        assert!(open(&key, &moved).is_err());
    }
}
