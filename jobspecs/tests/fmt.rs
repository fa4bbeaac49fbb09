//! The formatter over the repository's jobspecs: the examples and the good fixtures are
//! already formatted, formatting is idempotent, and it never changes the parsed job.
//! (The broken fixtures are left as written: their expected error positions depend on it.)

use std::fs;
use std::path::{Path, PathBuf};

use nomadish_jobspecs::fmt::format;

fn hcl_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl" || e == "nomad"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no jobspecs in {}", dir.display());
    files
}

fn good_jobspecs() -> Vec<PathBuf> {
    let mut files = hcl_files("tests/fixtures/good");
    files.extend(hcl_files("../examples"));
    files
}

#[test]
fn examples_and_good_fixtures_are_formatted() {
    for path in good_jobspecs() {
        let src = fs::read_to_string(&path).expect("read");
        let name = path.display().to_string();
        let formatted = format(&src, &name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            formatted, src,
            "{name} is not formatted: run `nomadish fmt {name}`"
        );
    }
}

#[test]
fn formatting_is_idempotent_and_keeps_the_job() {
    for path in good_jobspecs() {
        let name = path.display().to_string();
        let src = fs::read_to_string(&path).expect("read");
        // A deliberately messy copy: no indentation, extra blank lines, no alignment.
        // (Not for files with heredocs, whose lines are content.)
        let messy: String = src
            .lines()
            .map(|line| {
                let line = line.trim_start();
                let key = line.starts_with(|c: char| c.is_ascii_alphabetic());
                let line = match line.split_once(" = ") {
                    Some((k, v)) if key => format!("{}={v}", k.trim_end()),
                    _ => line.to_string(),
                };
                line + "\n\n"
            })
            .collect();
        let texts = if src.contains("<<") {
            vec![&src]
        } else {
            vec![&src, &messy]
        };
        for text in texts {
            let once = format(text, &name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                format(&once, &name).unwrap(),
                once,
                "{name}: not idempotent"
            );
            let before = nomadish_jobspecs::parse(text, &name);
            let after = nomadish_jobspecs::parse(&once, &name);
            match (before, after) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}: formatting changed the job"),
                (a, b) => panic!("{name}: parse before {a:?}, after {b:?}"),
            }
            let comments = |t: &str| t.matches('#').count();
            assert_eq!(comments(text), comments(&once), "{name}: comments lost");
        }
    }
}
