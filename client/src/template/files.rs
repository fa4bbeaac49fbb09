//! Where templates read and write: `source` inside the task directory, `destination` inside
//! the allocation directory (the task's own directory, or the shared `alloc/` through
//! `../alloc/...`, as Nomad's sandbox allows), written atomically with the template's perms;
//! and the `KEY=VALUE` parsing of `env = true` templates.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Resolves `rel` (relative to `task_dir`, or absolute) lexically, refusing results outside
/// `alloc_root`; then refuses it when an existing parent is a symlink leaving `alloc_root`.
pub fn resolve_inside(alloc_root: &Path, task_dir: &Path, rel: &str) -> Result<PathBuf, String> {
    if rel.contains('\0') {
        return Err(format!("path {rel:?} contains a NUL byte"));
    }
    let joined = if Path::new(rel).is_absolute() {
        PathBuf::from(rel)
    } else {
        task_dir.join(rel)
    };
    let mut clean = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                if !clean.pop() {
                    return Err(format!("path {rel:?} escapes the allocation directory"));
                }
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    if !clean.starts_with(alloc_root) || clean == alloc_root {
        return Err(format!(
            "path {rel:?} escapes the allocation directory (templates may only read and write inside it)"
        ));
    }
    // Symlinks: the nearest existing ancestor must still be inside the allocation directory.
    let root = alloc_root
        .canonicalize()
        .map_err(|e| format!("allocation directory: {e}"))?;
    let mut probe = clean.parent().map(Path::to_path_buf);
    while let Some(p) = probe {
        if let Ok(real) = p.canonicalize() {
            if !real.starts_with(&root) {
                return Err(format!(
                    "path {rel:?} leaves the allocation directory through a symlink"
                ));
            }
            break;
        }
        probe = p.parent().map(Path::to_path_buf);
    }
    if let Ok(meta) = std::fs::symlink_metadata(&clean)
        && meta.file_type().is_symlink()
    {
        return Err(format!("path {rel:?} is a symlink"));
    }
    Ok(clean)
}

/// Octal perms (`"0644"`).
pub fn parse_perms(perms: &str) -> Result<u32, String> {
    u32::from_str_radix(perms, 8)
        .ok()
        .filter(|p| *p <= 0o7777)
        .ok_or_else(|| format!("template perms {perms:?} is not an octal file mode"))
}

/// Writes `content` to `dest` atomically (temporary file in the same directory, then rename),
/// with `mode` and, when given, the owner.
pub fn write_atomic(
    dest: &Path,
    content: &[u8],
    mode: u32,
    uid: Option<i64>,
    gid: Option<i64>,
) -> Result<(), String> {
    let dir = dest
        .parent()
        .ok_or_else(|| format!("{}: no parent directory", dest.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        f.write_all(content).map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
        if uid.is_some() || gid.is_some() {
            let to_id = |v: Option<i64>| v.and_then(|i| u32::try_from(i).ok());
            std::os::unix::fs::chown(&tmp, to_id(uid), to_id(gid))
                .map_err(|e| format!("chown: {e}"))?;
        }
        std::fs::rename(&tmp, dest).map_err(|e| e.to_string())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| format!("writing {}: {e}", dest.display()))
}

/// Parses an `env = true` template's output: `KEY=VALUE` lines (optionally `export KEY=...`,
/// values optionally quoted), blank lines and `#` comments skipped.
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("env template line {}: expected KEY=VALUE", n + 1));
        };
        let key = key.trim();
        if key.is_empty() || key.chars().any(|c| c.is_whitespace()) {
            return Err(format!("env template line {}: invalid key {key:?}", n + 1));
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| {
                value
                    .strip_prefix(*q)
                    .and_then(|v| v.strip_suffix(*q))
                    .filter(|_| value.len() >= 2)
            })
            .unwrap_or(value);
        out.insert(key.to_string(), unquoted.to_string());
    }
    Ok(out)
}
