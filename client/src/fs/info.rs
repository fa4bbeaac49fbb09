//! `AllocFileInfo` as Nomad renders it: Go's `FileMode` string and `http.DetectContentType`'s
//! verdict for text versus binary.

use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::UNIX_EPOCH;

use nomadish_proto::model::{AllocFileInfo, rfc3339};

/// Bytes sniffed to guess a file's content type (as Go's `http.DetectContentType`).
pub const SNIFF_LEN: usize = 512;

/// The entry for `name` with `meta` (from `lstat` for listings, `fstat` for stat).
pub fn file_info(name: &str, meta: &Metadata, content_type: String) -> AllocFileInfo {
    let mod_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    AllocFileInfo {
        name: name.to_string(),
        is_dir: meta.is_dir(),
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        file_mode: go_file_mode(meta),
        mod_time: rfc3339(mod_ns),
        content_type,
    }
}

/// Go's `os.FileMode.String()`: type letters (`d`, `L`, `p`, `S`, `D`, `c`, `u`, `g`, `t`)
/// then `rwxrwxrwx`, with `-` when no type letter applies.
pub fn go_file_mode(meta: &Metadata) -> String {
    let ft = meta.file_type();
    let mode = meta.permissions().mode();
    let mut s = String::new();
    if ft.is_dir() {
        s.push('d');
    }
    if ft.is_symlink() {
        s.push('L');
    }
    if ft.is_block_device() || ft.is_char_device() {
        s.push('D');
    }
    if ft.is_fifo() {
        s.push('p');
    }
    if ft.is_socket() {
        s.push('S');
    }
    if mode & 0o4000 != 0 {
        s.push('u');
    }
    if mode & 0o2000 != 0 {
        s.push('g');
    }
    if ft.is_char_device() {
        s.push('c');
    }
    if mode & 0o1000 != 0 {
        s.push('t');
    }
    if s.is_empty() {
        s.push('-');
    }
    const RWX: &[u8; 9] = b"rwxrwxrwx";
    for (i, c) in RWX.iter().enumerate() {
        let bit = 1 << (8 - i);
        s.push(if mode & bit != 0 { char::from(*c) } else { '-' });
    }
    s
}

/// A small subset of `http.DetectContentType`: the common signatures, then text (no binary
/// control bytes) versus `application/octet-stream`.
pub fn sniff_content_type(head: &[u8]) -> String {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x1f\x8b\x08", "application/x-gzip"),
        (b"PK\x03\x04", "application/zip"),
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x7fELF", "application/octet-stream"),
    ];
    let head = &head[..head.len().min(SNIFF_LEN)];
    if let Some((_, ty)) = SIGNATURES.iter().find(|(sig, _)| head.starts_with(sig)) {
        return (*ty).to_string();
    }
    let binary = head
        .iter()
        .any(|b| matches!(b, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f));
    if binary {
        "application/octet-stream".to_string()
    } else {
        "text/plain; charset=utf-8".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_render_as_go_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            go_file_mode(&std::fs::metadata(&file).unwrap()),
            "-rw-r-----"
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            go_file_mode(&std::fs::metadata(dir.path()).unwrap()),
            "drwxr-xr-x"
        );
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("f", &link).unwrap();
        assert_eq!(
            go_file_mode(&std::fs::symlink_metadata(&link).unwrap()),
            "Lrwxrwxrwx"
        );
    }

    #[test]
    fn content_types_tell_text_from_binary() {
        assert_eq!(sniff_content_type(b"hello\n"), "text/plain; charset=utf-8");
        assert_eq!(sniff_content_type(b""), "text/plain; charset=utf-8");
        assert_eq!(
            sniff_content_type(b"\x00\x01\x02"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff_content_type(b"\x1f\x8b\x08\x00"),
            "application/x-gzip"
        );
    }

    #[test]
    fn file_info_has_nomads_fields() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.txt");
        std::fs::write(&file, b"12345").unwrap();
        let info = file_info(
            "data.txt",
            &std::fs::metadata(&file).unwrap(),
            String::new(),
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["Name"], "data.txt");
        assert_eq!(json["Size"], 5);
        assert_eq!(json["IsDir"], false);
        assert!(json["ModTime"].as_str().unwrap().ends_with('Z'));
        assert!(json.get("ContentType").is_none(), "omitted when empty");
    }
}
