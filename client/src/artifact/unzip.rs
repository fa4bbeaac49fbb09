//! Unpacking zip archives with the same rules as tar: every entry is checked before anything
//! is written (no absolute paths, no `..` climbing out, symlinks pointing inside only and never
//! stepping back out through another link, no entry beneath a link), sizes are bounded, and
//! links are made last so no file is ever written through one.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::path::{Component, Path, PathBuf};

use zip::ZipArchive;

/// The most bytes an archive may unpack to.
pub const MAX_UNPACKED_BYTES: u64 = 4 << 30;
/// The most entries an archive may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// The longest symlink target read from an archive.
const MAX_LINK_TARGET: u64 = 4096;

/// One checked entry.
enum Planned {
    Dir(PathBuf),
    File {
        index: usize,
        path: PathBuf,
        mode: Option<u32>,
    },
    Link {
        path: PathBuf,
        target: PathBuf,
    },
}

/// Checks every entry, then unpacks into `dest` (which exists); nothing is written if any
/// entry is refused.
pub fn unpack_zip(bytes: &[u8], dest: &Path) -> Result<(), String> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("zip: {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!("the archive has more than {MAX_ENTRIES} entries"));
    }
    let plan = check(&mut zip)?;
    for step in &plan {
        if let Planned::Dir(path) = step {
            create_dir(dest, path)?;
        }
    }
    for step in &plan {
        if let Planned::File { index, path, mode } = step {
            write_file(&mut zip, *index, dest, path, *mode)?;
        }
    }
    for step in &plan {
        if let Planned::Link { path, target } = step {
            let at = dest.join(path);
            if let Some(parent) = path.parent() {
                create_dir(dest, parent)?;
            }
            remove_existing_link(&at)?;
            std::os::unix::fs::symlink(target, &at)
                .map_err(|e| format!("entry {:?}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn check(zip: &mut ZipArchive<Cursor<&[u8]>>) -> Result<Vec<Planned>, String> {
    let mut plan = Vec::with_capacity(zip.len());
    let mut links = BTreeSet::new();
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| format!("zip entry {index}: {e}"))?;
        let name = entry.name().to_string();
        let escapes = || format!("entry {name:?} escapes the destination; the archive is refused");
        let path = Path::new(&name);
        if name.is_empty()
            || path
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(escapes());
        }
        let path: PathBuf = path.components().collect();
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes; refused"
            ));
        }
        if entry.is_symlink() {
            let mut target = String::new();
            (&mut entry)
                .take(MAX_LINK_TARGET)
                .read_to_string(&mut target)
                .map_err(|e| format!("symlink {name:?}: {e}"))?;
            let target = PathBuf::from(target);
            if target.is_absolute() {
                return Err(link_outside(&name, &target));
            }
            links.insert(path.clone());
            plan.push(Planned::Link { path, target });
        } else if entry.is_dir() {
            plan.push(Planned::Dir(path));
        } else {
            let mode = entry.unix_mode();
            plan.push(Planned::File { index, path, mode });
        }
    }
    // Targets are checked once every link is known (a `..` may not step back out of one).
    for step in &plan {
        if let Planned::Link { path, target } = step {
            let base = path.parent().unwrap_or(Path::new(""));
            if !stays_inside(&base.join(target), &links) {
                return Err(link_outside(&path.display().to_string(), target));
            }
        }
    }
    // Nothing may live beneath a link: it would be written through it.
    for step in &plan {
        let path = match step {
            Planned::Dir(p) | Planned::File { path: p, .. } | Planned::Link { path: p, .. } => p,
        };
        if path.ancestors().skip(1).any(|a| links.contains(a)) {
            return Err(format!(
                "entry {:?} lies beneath a symlink; the archive is refused",
                path.display()
            ));
        }
    }
    Ok(plan)
}

fn link_outside(name: &str, target: &Path) -> String {
    format!(
        "symlink {name:?} -> {:?} points outside the destination; the archive is refused",
        target.display()
    )
}

/// Whether `path` (relative to the destination) stays inside it, with no `..` stepping back
/// out of a link (where the link's own target, not its name, decides where `..` leads).
fn stays_inside(path: &Path, links: &BTreeSet<PathBuf>) -> bool {
    let mut current = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => current.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if links.contains(&current) || !current.pop() {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Creates `dest/rel` and its parents, refusing to go through a link already on disk.
fn create_dir(dest: &Path, rel: &Path) -> Result<(), String> {
    let mut at = dest.to_path_buf();
    for component in rel.components() {
        at.push(component);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{} exists and is not a directory; the archive is refused",
                    at.display()
                ));
            }
            Err(_) => {
                std::fs::create_dir(&at).map_err(|e| format!("create {}: {e}", at.display()))?
            }
        }
    }
    Ok(())
}

fn remove_existing_link(at: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(at) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::remove_file(at).map_err(|e| format!("replace {}: {e}", at.display()))
        }
        _ => Ok(()),
    }
}

fn write_file(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
    dest: &Path,
    path: &Path,
    mode: Option<u32>,
) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        create_dir(dest, parent)?;
    }
    let at = dest.join(path);
    remove_existing_link(&at)?;
    let mut entry = zip
        .by_index(index)
        .map_err(|e| format!("zip entry {index}: {e}"))?;
    let declared = entry.size();
    let mut file =
        std::fs::File::create(&at).map_err(|e| format!("create {}: {e}", at.display()))?;
    // A lying header cannot make the entry larger than it declared.
    let written = std::io::copy(
        &mut (&mut entry).take(declared.saturating_add(1)),
        &mut file,
    )
    .map_err(|e| format!("entry {:?}: {e}", path.display()))?;
    if written > declared {
        return Err(format!(
            "entry {:?} is larger than its header says; the archive is refused",
            path.display()
        ));
    }
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(mode & 0o777);
        std::fs::set_permissions(&at, perms).map_err(|e| format!("chmod {}: {e}", at.display()))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "unzip_tests.rs"]
mod tests;
