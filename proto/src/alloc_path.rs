//! The lexical rules for paths inside an allocation directory, shared by servers (which refuse
//! obviously bad paths before forwarding a request) and clients (which also resolve the path
//! on disk and refuse symlinks that leave the directory).
//!
//! ```text
//! ""  "/"            the allocation directory itself
//! "alloc/logs"       relative: fine ("." and empty components are skipped)
//! "/etc/passwd"      refused: absolute
//! "alloc/../.."      refused: ".." component
//! "a\0b"             refused: NUL byte
//! ```
//!
//! The path arrives already percent-decoded (once) by the HTTP layer, so `%2e%2e` is `..` here.

/// Why a path was refused before touching the disk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocPathError {
    /// The path starts with `/` (other than the bare `/` naming the directory itself).
    #[error(
        "invalid path {path:?}: absolute paths are not allowed, give a path relative to the allocation directory"
    )]
    Absolute { path: String },
    /// A `..` component.
    #[error("invalid path {path:?}: \"..\" components are not allowed")]
    ParentComponent { path: String },
    /// A NUL byte.
    #[error("invalid path {path:?}: NUL bytes are not allowed")]
    Nul { path: String },
}

/// The components of `path` relative to the allocation directory (empty for the directory
/// itself), or why it is refused.
pub fn components(path: &str) -> Result<Vec<&str>, AllocPathError> {
    if path.contains('\0') {
        return Err(AllocPathError::Nul {
            path: path.to_string(),
        });
    }
    if path == "/" {
        return Ok(Vec::new());
    }
    if path.starts_with('/') {
        return Err(AllocPathError::Absolute {
            path: path.to_string(),
        });
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(AllocPathError::ParentComponent {
                    path: path.to_string(),
                });
            }
            p => parts.push(p),
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_split_into_components() {
        assert_eq!(components("").unwrap(), Vec::<&str>::new());
        assert_eq!(components("/").unwrap(), Vec::<&str>::new());
        assert_eq!(components(".").unwrap(), Vec::<&str>::new());
        assert_eq!(
            components("alloc//logs/./web.stdout.0").unwrap(),
            ["alloc", "logs", "web.stdout.0"]
        );
        assert_eq!(components("alloc/logs/").unwrap(), ["alloc", "logs"]);
        // A name that merely contains dots, or a literal "%2e%2e", is an ordinary name.
        assert_eq!(components("a..b/%2e%2e").unwrap(), ["a..b", "%2e%2e"]);
    }

    #[test]
    fn parent_components_are_refused_anywhere() {
        for p in ["..", "../etc/passwd", "alloc/../..", "alloc/..", "a/b/../c"] {
            assert!(
                matches!(components(p), Err(AllocPathError::ParentComponent { .. })),
                "{p}"
            );
        }
    }

    #[test]
    fn absolute_paths_and_nul_bytes_are_refused() {
        assert!(matches!(
            components("/etc/passwd"),
            Err(AllocPathError::Absolute { .. })
        ));
        assert!(matches!(
            components("//etc"),
            Err(AllocPathError::Absolute { .. })
        ));
        assert!(matches!(
            components("alloc\0/x"),
            Err(AllocPathError::Nul { .. })
        ));
    }
}
