use std::os::unix::fs::symlink;

use super::*;
use crate::fs::ops::{list, open_file, stat};

/// An allocation directory `root/a1` with `alloc/logs/web.stdout.0`, `web/local/x` and
/// `web/secrets/token`, next to a file `root/outside` that must never be served.
fn layout() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a1");
    std::fs::create_dir_all(root.join("alloc/logs")).unwrap();
    std::fs::create_dir_all(root.join("web/local")).unwrap();
    std::fs::create_dir_all(root.join("web/secrets")).unwrap();
    std::fs::write(root.join("alloc/logs/web.stdout.0"), b"hello\n").unwrap();
    std::fs::write(root.join("web/local/x"), b"local").unwrap();
    std::fs::write(root.join("web/secrets/token"), b"s3cret").unwrap();
    std::fs::write(tmp.path().join("outside"), b"do not read").unwrap();
    (tmp, root)
}

fn refused_as_escape(r: Result<Opened, FsError>) -> bool {
    matches!(r, Err(FsError::Escapes { .. }))
}

#[test]
fn opens_files_and_directories_inside() {
    let (_tmp, root) = layout();
    let o = open_in(&root, "alloc/logs/web.stdout.0").unwrap();
    assert_eq!(o.rel, "alloc/logs/web.stdout.0");
    assert!(!o.secret);
    assert_eq!(open_in(&root, "/").unwrap().rel, "");
    assert_eq!(open_in(&root, "").unwrap().rel, "");
    assert_eq!(open_in(&root, "./web//local/").unwrap().rel, "web/local");
}

#[test]
fn parent_components_are_refused_even_when_they_would_stay_inside() {
    let (_tmp, root) = layout();
    for p in ["../outside", "alloc/../../outside", "alloc/..", ".."] {
        let r = open_in(&root, p);
        assert!(matches!(r, Err(FsError::InvalidPath(_))), "{p}: {r:?}");
        assert_eq!(r.unwrap_err().status(), 400);
    }
}

#[test]
fn absolute_paths_are_refused() {
    let (tmp, root) = layout();
    let outside = tmp.path().join("outside");
    for p in ["/etc/passwd", outside.to_str().unwrap()] {
        assert!(
            matches!(open_in(&root, p), Err(FsError::InvalidPath(_))),
            "{p}"
        );
    }
}

#[test]
fn a_symlink_to_a_file_outside_is_refused() {
    let (tmp, root) = layout();
    symlink(tmp.path().join("outside"), root.join("web/local/abs")).unwrap();
    symlink("../../../outside", root.join("web/local/rel")).unwrap();
    symlink("/etc/passwd", root.join("alloc/passwd")).unwrap();
    for p in ["web/local/abs", "web/local/rel", "alloc/passwd"] {
        let r = open_in(&root, p);
        assert!(refused_as_escape(open_in(&root, p)), "{p}: {r:?}");
        assert!(matches!(open_file(&root, p), Err(FsError::Escapes { .. })));
        assert!(matches!(stat(&root, p), Err(FsError::Escapes { .. })));
    }
}

#[test]
fn a_symlinked_directory_component_leaving_is_refused() {
    let (tmp, root) = layout();
    symlink(tmp.path(), root.join("web/local/up")).unwrap();
    symlink("/etc", root.join("alloc/etc")).unwrap();
    assert!(refused_as_escape(open_in(&root, "web/local/up/outside")));
    assert!(refused_as_escape(open_in(&root, "web/local/up")));
    assert!(refused_as_escape(open_in(&root, "alloc/etc/passwd")));
    // Missing files behind a link that leaves are refused too, not "not found": the answer
    // must not reveal what exists outside.
    assert!(refused_as_escape(open_in(
        &root,
        "web/local/up/no-such-file"
    )));
    assert!(refused_as_escape(open_in(&root, "alloc/etc/no/such/file")));
    assert!(matches!(
        list(&root, "alloc/etc"),
        Err(FsError::Escapes { .. })
    ));
}

#[test]
fn symlinks_that_stay_inside_are_followed() {
    let (_tmp, root) = layout();
    symlink("../../alloc/logs/web.stdout.0", root.join("web/local/log")).unwrap();
    let o = open_in(&root, "web/local/log").unwrap();
    assert_eq!(o.rel, "alloc/logs/web.stdout.0");
    let info = stat(&root, "web/local/log").unwrap();
    assert_eq!(
        (info.name.as_str(), info.size),
        ("log", 6),
        "the link's name, the file's size"
    );
    assert_eq!(stat(&root, "/").unwrap().name, "a1");
    // A listing shows the link itself, not its target.
    let entries = list(&root, "web/local").unwrap();
    let link = entries.iter().find(|e| e.name == "log").unwrap();
    assert!(link.file_mode.starts_with('L'), "{link:?}");
}

#[test]
fn secrets_are_listed_but_never_read() {
    let (_tmp, root) = layout();
    let names: Vec<String> = list(&root, "web/secrets")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["token"]);
    let err = open_file(&root, "web/secrets/token").unwrap_err();
    assert_eq!(err.status(), 403, "{err}");
    // Also through a link from a readable place.
    symlink("../secrets/token", root.join("web/local/t")).unwrap();
    assert_eq!(open_file(&root, "web/local/t").unwrap_err().status(), 403);
}

#[test]
fn missing_paths_are_not_found_and_kinds_are_checked() {
    let (_tmp, root) = layout();
    let err = open_in(&root, "nope/x").unwrap_err();
    assert_eq!(err.status(), 404, "{err}");
    assert_eq!(open_in(&root, "web/local/x/y").unwrap_err().status(), 404);
    assert!(matches!(
        open_file(&root, "alloc"),
        Err(FsError::IsDir { .. })
    ));
    assert!(matches!(
        list(&root, "web/local/x"),
        Err(FsError::WrongKind { .. })
    ));
    let gone = tempfile::tempdir().unwrap().path().join("missing");
    assert_eq!(open_in(&gone, "/").unwrap_err().status(), 404);
}

#[test]
fn stat_and_list_report_nomads_fields() {
    let (_tmp, root) = layout();
    let info = stat(&root, "web/local/x").unwrap();
    assert_eq!(info.name, "x");
    assert_eq!(info.size, 5);
    assert!(!info.is_dir);
    assert_eq!(info.content_type, "text/plain; charset=utf-8");
    let names: Vec<(String, bool)> = list(&root, "/")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.is_dir))
        .collect();
    assert_eq!(names, [("alloc".into(), true), ("web".into(), true)]);
}
