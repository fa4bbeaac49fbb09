//! The node's identity: a node ID and a secret, both UUIDs, generated on first start and
//! kept in `data_dir/client/node.json` so the node is the same node across restarts.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::fsutil::write_atomic;

/// The file, under the client directory, that holds the identity.
pub const IDENTITY_FILE: &str = "node.json";

/// The node ID and the secret the node proves itself with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIdentity {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SecretID")]
    pub secret_id: String,
}

impl NodeIdentity {
    /// Reads the identity from `client_dir`, or generates and persists a new one.
    pub fn load_or_create(client_dir: &Path) -> Result<Self, ClientError> {
        let path = client_dir.join(IDENTITY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| ClientError::CorruptState { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let identity = Self {
                    id: nomadish_proto::model::generate_id(),
                    secret_id: nomadish_proto::model::generate_id(),
                };
                let bytes =
                    serde_json::to_vec_pretty(&identity).map_err(|source| ClientError::Encode {
                        what: "node identity",
                        source,
                    })?;
                write_atomic(&path, &bytes).map_err(|e| ClientError::io("write", &path, e))?;
                Ok(identity)
            }
            Err(e) => Err(ClientError::io("read", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = NodeIdentity::load_or_create(dir.path()).unwrap();
        let second = NodeIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_ne!(first.id, first.secret_id);
        assert!(uuid::Uuid::parse_str(&first.id).is_ok());
        let text = std::fs::read_to_string(dir.path().join(IDENTITY_FILE)).unwrap();
        assert!(text.contains("\"SecretID\""));
    }

    #[test]
    fn corrupt_identity_is_an_error_not_a_new_node() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(IDENTITY_FILE), b"{not json").unwrap();
        let err = NodeIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, ClientError::CorruptState { .. }), "{err}");
    }
}
