use std::os::unix::fs::symlink;

use super::*;

/// `(name, type, link target)` of every entry of a packed archive.
fn entries(bytes: &[u8]) -> Vec<(String, EntryType, String)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.display().to_string())
                .unwrap_or_default();
            (name, e.header().entry_type(), link)
        })
        .collect()
}

/// An allocation directory with a task `t`, some data and a secret outside it.
fn alloc_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let alloc = tmp.path().join("alloc-1");
    std::fs::create_dir_all(alloc.join("alloc/data/sub")).unwrap();
    std::fs::create_dir_all(alloc.join("t/local")).unwrap();
    std::fs::create_dir_all(alloc.join("t/secrets")).unwrap();
    std::fs::write(alloc.join("alloc/data/db"), "v1").unwrap();
    std::fs::write(alloc.join("alloc/data/sub/part"), "p").unwrap();
    std::fs::write(alloc.join("t/local/cache"), "c").unwrap();
    std::fs::write(alloc.join("t/secrets/token"), "s3cr3t").unwrap();
    std::fs::write(tmp.path().join("outside"), "host file").unwrap();
    (tmp, alloc)
}

#[test]
fn data_and_local_dirs_are_packed_and_nothing_else() {
    let (_tmp, alloc) = alloc_dir();
    std::fs::write(alloc.join("alloc/other"), "not migrated").unwrap();
    symlink("db", alloc.join("alloc/data/db-link")).unwrap();
    let packed = pack_migration(&alloc, &["t".into(), "gone".into()], None).unwrap();
    let names: Vec<String> = entries(&packed.bytes).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "alloc/data",
            "alloc/data/db",
            "alloc/data/db-link",
            "alloc/data/sub",
            "alloc/data/sub/part",
            "t/local",
            "t/local/cache",
        ]
    );
    assert!(packed.skipped.is_empty(), "{:?}", packed.skipped);

    // The archive unpacks with the artifact unpacker into the same layout.
    let dest = tempfile::tempdir().unwrap();
    crate::artifact::unpack_tar(
        crate::artifact::ArchiveKind::TarGz,
        &packed.bytes,
        dest.path(),
    )
    .unwrap();
    let db = dest.path().join("alloc/data/db-link");
    assert_eq!(std::fs::read_to_string(db).unwrap(), "v1");
    let cache = dest.path().join("t/local/cache");
    assert_eq!(std::fs::read_to_string(cache).unwrap(), "c");
}

#[test]
fn symlinks_leading_out_are_left_out_not_followed() {
    let (tmp, alloc) = alloc_dir();
    let outside = tmp.path().join("outside");
    symlink(&outside, alloc.join("alloc/data/abs")).unwrap();
    symlink("../../../outside", alloc.join("alloc/data/rel")).unwrap();
    symlink("../../t/secrets", alloc.join("alloc/data/secrets")).unwrap();
    symlink("../secrets/token", alloc.join("t/local/token")).unwrap();
    let packed = pack_migration(&alloc, &["t".into()], None).unwrap();
    let all = entries(&packed.bytes);
    for (name, kind, link) in &all {
        assert!(
            !name.ends_with("abs") && !name.ends_with("rel") && !name.contains("token"),
            "escaping link packed: {name} ({kind:?} -> {link})"
        );
        assert!(!name.contains("secrets"), "{name}");
    }
    assert_eq!(packed.skipped.len(), 4, "{:?}", packed.skipped);
    // No byte of the files behind the links travelled.
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&packed.bytes[..]));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        assert!(!text.contains("host file") && !text.contains("s3cr3t"));
    }
}

#[test]
fn a_migrated_directory_replaced_by_a_symlink_is_refused() {
    let (tmp, alloc) = alloc_dir();
    std::fs::remove_dir_all(alloc.join("t/local")).unwrap();
    symlink(tmp.path(), alloc.join("t/local")).unwrap();
    let err = pack_migration(&alloc, &["t".into()], None).unwrap_err();
    assert!(matches!(err, FsError::Escapes { .. }), "{err}");
    assert_eq!(err.status(), 400);

    // The same through a task directory that is a link.
    let (tmp, alloc) = alloc_dir();
    std::fs::remove_dir_all(alloc.join("t")).unwrap();
    std::fs::create_dir_all(tmp.path().join("elsewhere/local")).unwrap();
    symlink(tmp.path().join("elsewhere"), alloc.join("t")).unwrap();
    let err = pack_migration(&alloc, &["t".into()], None).unwrap_err();
    assert!(matches!(err, FsError::Escapes { .. }), "{err}");
}

#[test]
fn task_names_that_are_not_one_component_are_not_packed() {
    let (tmp, alloc) = alloc_dir();
    std::fs::create_dir_all(tmp.path().join("local")).unwrap();
    std::fs::write(tmp.path().join("local/x"), "host").unwrap();
    let tasks = ["..".to_string(), "/".to_string(), "a/b".to_string()];
    let packed = pack_migration(&alloc, &tasks, None).unwrap();
    let names: Vec<String> = entries(&packed.bytes).into_iter().map(|e| e.0).collect();
    assert!(
        names.iter().all(|n| n.starts_with("alloc/data")),
        "{names:?}"
    );
}

#[test]
fn data_over_the_limit_is_refused() {
    let (_tmp, alloc) = alloc_dir();
    std::fs::write(alloc.join("alloc/data/big"), vec![0u8; 4096]).unwrap();
    let err = pack_migration(&alloc, &["t".into()], Some(4000)).unwrap_err();
    assert!(matches!(err, FsError::TooLarge { limit: 4000 }), "{err}");
    assert_eq!(err.status(), 413);
    assert!(pack_migration(&alloc, &["t".into()], Some(8192)).is_ok());
}

#[test]
fn a_missing_data_dir_packs_an_empty_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let packed = pack_migration(tmp.path(), &["t".into()], None).unwrap();
    assert!(entries(&packed.bytes).is_empty());
}
