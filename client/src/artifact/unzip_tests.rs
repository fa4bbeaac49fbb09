use std::io::Write;

use zip::write::SimpleFileOptions;

use super::*;

enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Link(&'a str, &'a str),
}

fn zip_with(entries: &[E<'_>]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for e in entries {
        match e {
            E::File(name, data) => {
                w.start_file(*name, opts.unix_permissions(0o755)).unwrap();
                w.write_all(data).unwrap();
            }
            E::Dir(name) => w.add_directory(*name, opts).unwrap(),
            E::Link(name, target) => w.add_symlink(*name, *target, opts).unwrap(),
        }
    }
    w.finish().unwrap().into_inner()
}

fn unpack(bytes: &[u8]) -> (tempfile::TempDir, Result<(), String>) {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("local");
    std::fs::create_dir_all(&dest).unwrap();
    let r = unpack_zip(bytes, &dest);
    (tmp, r)
}

#[test]
fn a_good_zip_unpacks_with_modes_and_links() {
    let bytes = zip_with(&[
        E::Dir("site/"),
        E::File("site/index.html", b"<h1>hi</h1>"),
        E::File("bin/run", b"#!/bin/sh\n"),
        E::Link("site/home.html", "index.html"),
        E::Link("lib", "site/../bin"),
    ]);
    let (tmp, r) = unpack(&bytes);
    r.unwrap();
    let local = tmp.path().join("local");
    let home = std::fs::read_to_string(local.join("site/home.html")).unwrap();
    assert_eq!(home, "<h1>hi</h1>");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(local.join("bin/run"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(local.join("lib/run").exists());
}

#[test]
fn escaping_zip_entries_refuse_the_whole_archive() {
    let cases: Vec<(Vec<E<'_>>, &str)> = vec![
        (vec![E::File("../evil", b"x")], "escapes the destination"),
        (
            vec![E::File("a/../../evil", b"x")],
            "escapes the destination",
        ),
        (vec![E::File("/tmp/evil", b"x")], "escapes the destination"),
        (vec![E::Link("l", "/etc/passwd")], "points outside"),
        (vec![E::Link("d/l", "../../x")], "points outside"),
        // A link to "." then ".." through it would leave the destination.
        (
            vec![E::Link("here", "."), E::Link("out", "here/..")],
            "points outside",
        ),
        (
            vec![E::Link("out", "here/.."), E::Link("here", ".")],
            "points outside",
        ),
        (
            vec![E::Link("l", "sub"), E::File("l/evil", b"x")],
            "beneath a symlink",
        ),
    ];
    for (entries, want) in cases {
        let mut all = vec![E::File("good.txt", b"ok")];
        all.extend(entries);
        let (tmp, r) = unpack(&zip_with(&all));
        let err = r.unwrap_err();
        assert!(err.contains(want), "{want}: {err}");
        assert!(
            !tmp.path().join("local/good.txt").exists(),
            "partial unpack"
        );
        assert!(!tmp.path().join("evil").exists());
    }
}

#[test]
fn garbage_is_not_a_zip() {
    let (_tmp, r) = unpack(b"not a zip at all");
    assert!(r.unwrap_err().starts_with("zip:"));
}
