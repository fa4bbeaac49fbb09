//! Unpacking tar archives (plain or gzip) so that no entry lands outside the destination:
//! every entry is checked first (no absolute paths, no `..` climbing out, links pointing
//! inside only, no device files) and one bad entry refuses the whole archive.

use std::io::Read;
use std::path::{Component, Path};

use tar::{Archive, EntryType};

use super::dest::normalize;

/// The archive formats recognised by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `.tar`
    Tar,
    /// `.tar.gz` or `.tgz`
    TarGz,
    /// `.zip`
    Zip,
}

impl ArchiveKind {
    /// The kind of archive `name` is by its extension, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if lower.ends_with(".tar") {
            Some(Self::Tar)
        } else if lower.ends_with(".zip") {
            Some(Self::Zip)
        } else {
            None
        }
    }
}

fn archive(kind: ArchiveKind, bytes: &[u8]) -> Archive<Box<dyn Read + '_>> {
    let reader: Box<dyn Read> = match kind {
        ArchiveKind::Tar | ArchiveKind::Zip => Box::new(bytes),
        ArchiveKind::TarGz => Box::new(flate2::read::GzDecoder::new(bytes)),
    };
    Archive::new(reader)
}

/// Unpacks a tar or zip archive into `dest` (which exists), refusing the whole archive if
/// any entry would escape.
pub fn unpack_archive(kind: ArchiveKind, bytes: &[u8], dest: &Path) -> Result<(), String> {
    match kind {
        ArchiveKind::Zip => super::unzip::unpack_zip(bytes, dest),
        ArchiveKind::Tar | ArchiveKind::TarGz => unpack_tar(kind, bytes, dest),
    }
}

/// Checks every entry, then unpacks into `dest` (which exists); nothing is written if any
/// entry would escape.
pub fn unpack_tar(kind: ArchiveKind, bytes: &[u8], dest: &Path) -> Result<(), String> {
    let mut check = archive(kind, bytes);
    for entry in check.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        check_entry(&entry)?;
    }
    let mut ar = archive(kind, bytes);
    ar.set_preserve_permissions(true);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = entry
            .path()
            .map_err(|e| e.to_string())?
            .display()
            .to_string();
        let placed = entry
            .unpack_in(dest)
            .map_err(|e| format!("entry {name:?}: {e}"))?;
        if !placed {
            return Err(format!("entry {name:?} escapes the destination"));
        }
    }
    Ok(())
}

fn check_entry<R: Read>(entry: &tar::Entry<'_, R>) -> Result<(), String> {
    let path = entry.path().map_err(|e| e.to_string())?.into_owned();
    let name = path.display().to_string();
    let escapes = || format!("entry {name:?} escapes the destination; the archive is refused");
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(escapes());
    }
    match entry.header().entry_type() {
        EntryType::Regular | EntryType::Directory | EntryType::GNUSparse => Ok(()),
        EntryType::Symlink => {
            let target = link_target(entry, &name)?;
            // A relative target is read from the link's own directory.
            let base = path.parent().unwrap_or(Path::new(""));
            if target.is_absolute() || normalize(&base.join(&target)).is_none() {
                return Err(format!(
                    "symlink {name:?} -> {:?} points outside the destination; the archive is refused",
                    target.display()
                ));
            }
            Ok(())
        }
        EntryType::Link => {
            let target = link_target(entry, &name)?;
            if target.is_absolute() || normalize(&target).is_none() {
                return Err(format!(
                    "hard link {name:?} -> {:?} points outside the destination; the archive is refused",
                    target.display()
                ));
            }
            Ok(())
        }
        EntryType::XHeader
        | EntryType::XGlobalHeader
        | EntryType::GNULongName
        | EntryType::GNULongLink => Ok(()),
        other => Err(format!(
            "entry {name:?} has type {other:?}, which artifacts may not contain"
        )),
    }
}

fn link_target<R: Read>(
    entry: &tar::Entry<'_, R>,
    name: &str,
) -> Result<std::path::PathBuf, String> {
    entry
        .link_name()
        .map_err(|e| e.to_string())?
        .map(|t| t.into_owned())
        .ok_or_else(|| format!("link {name:?} has no target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar whose header names are written raw, so tests can build hostile entries.
    fn tar_with(entries: &[(&str, EntryType, &str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, link, data) in entries {
            let mut h = tar::Header::new_gnu();
            {
                let raw = h.as_old_mut();
                raw.name[..name.len()].copy_from_slice(name.as_bytes());
                raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn unpack(bytes: &[u8]) -> (tempfile::TempDir, Result<(), String>) {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("local");
        std::fs::create_dir_all(&dest).unwrap();
        let r = unpack_tar(ArchiveKind::Tar, bytes, &dest);
        (tmp, r)
    }

    #[test]
    fn a_good_archive_unpacks() {
        let bytes = tar_with(&[
            ("dir/", EntryType::Directory, "", b""),
            ("dir/a.txt", EntryType::Regular, "", b"hello"),
            ("dir/l", EntryType::Symlink, "a.txt", b""),
        ]);
        let (tmp, r) = unpack(&bytes);
        r.unwrap();
        let got = std::fs::read_to_string(tmp.path().join("local/dir/l")).unwrap();
        assert_eq!(got, "hello");
    }

    #[test]
    fn a_gzip_archive_unpacks() {
        use std::io::Write;
        let bytes = tar_with(&[("a.txt", EntryType::Regular, "", b"zipped")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let gz = gz.finish().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        unpack_tar(ArchiveKind::TarGz, &gz, tmp.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a.txt")).unwrap(),
            "zipped"
        );
    }

    #[test]
    fn escaping_entries_refuse_the_whole_archive() {
        let cases: [(&str, EntryType, &str, &str); 6] = [
            ("../evil", EntryType::Regular, "", "escapes the destination"),
            (
                "a/../../evil",
                EntryType::Regular,
                "",
                "escapes the destination",
            ),
            (
                "/tmp/evil",
                EntryType::Regular,
                "",
                "escapes the destination",
            ),
            ("l", EntryType::Symlink, "/etc/passwd", "points outside"),
            ("d/l", EntryType::Symlink, "../../x", "points outside"),
            ("h", EntryType::Link, "../x", "points outside"),
        ];
        for (name, kind, link, want) in cases {
            // A good entry first: it must not be written either.
            let bytes = tar_with(&[
                ("good.txt", EntryType::Regular, "", b"ok"),
                (name, kind, link, b"bad"),
            ]);
            let (tmp, r) = unpack(&bytes);
            let err = r.unwrap_err();
            assert!(err.contains(want), "{name}: {err}");
            assert!(
                !tmp.path().join("local/good.txt").exists(),
                "{name}: partial unpack"
            );
            assert!(!tmp.path().join("evil").exists());
        }
    }

    #[test]
    fn device_files_are_refused() {
        let bytes = tar_with(&[("dev", EntryType::Char, "", b"")]);
        assert!(unpack(&bytes).1.unwrap_err().contains("may not contain"));
    }

    #[test]
    fn kinds_come_from_the_extension() {
        assert_eq!(ArchiveKind::from_name("a.TGZ"), Some(ArchiveKind::TarGz));
        assert_eq!(ArchiveKind::from_name("a.tar"), Some(ArchiveKind::Tar));
        assert_eq!(ArchiveKind::from_name("a.txt"), None);
        assert_eq!(ArchiveKind::from_name("site.ZIP"), Some(ArchiveKind::Zip));
    }
}
