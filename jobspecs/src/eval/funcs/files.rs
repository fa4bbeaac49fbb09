//! Filesystem functions: file, fileexists, abspath, dirname, basename. Relative paths are
//! resolved against the jobspec's directory.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Args, Func};

/// Files larger than this are refused by `file()`: a jobspec is not a place for bulk data.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("file", file),
    ("fileexists", |a| {
        a.exactly(1)?;
        let path = resolve(a.base_dir, &a.str(0)?);
        Ok(Value::Bool(path.is_file()))
    }),
    ("abspath", |a| {
        a.exactly(1)?;
        let path = std::path::absolute(a.str(0)?).map_err(|e| e.to_string())?;
        Ok(Value::String(path.display().to_string()))
    }),
    ("dirname", |a| {
        a.exactly(1)?;
        let s = a.str(0)?;
        let dir = Path::new(&s).parent().map(|p| p.display().to_string());
        Ok(Value::String(match dir {
            Some(d) if d.is_empty() => ".".to_string(),
            Some(d) => d,
            None if s.starts_with('/') => "/".to_string(),
            None => ".".to_string(),
        }))
    }),
    ("basename", |a| {
        a.exactly(1)?;
        let s = a.str(0)?;
        let name = Path::new(&s)
            .file_name()
            .map(|n| n.to_string_lossy().to_string());
        Ok(Value::String(name.unwrap_or_else(|| {
            if s.starts_with('/') { "/" } else { "." }.to_string()
        })))
    }),
];

fn resolve(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn file(args: Args<'_>) -> Result<Value, String> {
    args.exactly(1)?;
    let given = args.str(0)?;
    let path = resolve(args.base_dir, &given);
    let meta =
        std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} is larger than {} bytes",
            path.display(),
            MAX_FILE_BYTES
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| format!("{} is not UTF-8 text", path.display()))
}
