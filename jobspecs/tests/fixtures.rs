//! Fixture jobspecs: every `fixtures/good/*.hcl` parses to the job in its `.json` twin, and
//! every `fixtures/broken/*.hcl` fails with `FILE:LINE:COL: message` at the expected place.
//!
//! After an intended change to the output, `UPDATE_FIXTURES=1 cargo test -p nomadish-jobspecs
//! --test fixtures` rewrites the `.json` files; review the diff before committing.

use std::fs;
use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("fixture directory")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    files.sort();
    files
}

#[test]
fn good_fixtures_parse_to_their_expected_json() {
    let files = hcl_files(&fixtures("good"));
    assert!(
        files.len() >= 5,
        "expected a handful of good fixtures, found {}",
        files.len()
    );
    for path in files {
        let job = nomadish_jobspecs::parse_file(&path)
            .unwrap_or_else(|err| panic!("{} should parse:\n{err}", path.display()));
        let actual = serde_json::to_value(&job).expect("job serializes");
        let expected_path = path.with_extension("json");
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            let text = serde_json::to_string_pretty(&actual).expect("json") + "\n";
            fs::write(&expected_path, text).expect("write expected json");
        }
        let expected_text = fs::read_to_string(&expected_path)
            .unwrap_or_else(|err| panic!("{}: {err}", expected_path.display()));
        let expected: serde_json::Value =
            serde_json::from_str(&expected_text).expect("expected json");
        assert_eq!(
            actual,
            expected,
            "{} differs from {}",
            path.display(),
            expected_path.display()
        );
        // The JSON form round-trips through the model, and canonicalizing again changes nothing.
        let mut reread: nomadish_proto::model::Job =
            serde_json::from_value(actual).expect("decode");
        assert_eq!(reread, job);
        reread.canonicalize();
        assert_eq!(
            reread,
            job,
            "{}: canonicalize is not idempotent",
            path.display()
        );
    }
}

/// Parses `broken/NAME.hcl` and checks the first problem's position and message.
fn check_broken(name: &str, line: usize, column: usize, needle: &str) {
    let file = format!("{name}.hcl");
    let src = fs::read_to_string(fixtures("broken").join(&file)).expect("fixture");
    let err = nomadish_jobspecs::parse(&src, &file).expect_err("broken fixture must not parse");
    let text = err.to_string();
    let prefix = format!("{file}:{line}:{column}: ");
    assert!(
        text.starts_with(&prefix),
        "expected {prefix:?}..., got:\n{text}"
    );
    assert_eq!((err.line(), err.column()), (line, column), "{text}");
    let first = text.lines().next().unwrap_or_default();
    assert!(first.contains(needle), "expected {needle:?} in:\n{text}");
}

macro_rules! broken {
    ($($name:ident => $line:literal : $column:literal, $needle:literal;)*) => {
        $(
            #[test]
            fn $name() {
                check_broken(stringify!($name), $line, $column, $needle);
            }
        )*

        /// Every broken fixture on disk has a test above.
        #[test]
        fn every_broken_fixture_is_tested() {
            let tested = [$(concat!(stringify!($name), ".hcl")),*];
            for path in hcl_files(&fixtures("broken")) {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                assert!(tested.contains(&name.as_str()), "{name} has no expectation");
            }
        }
    };
}

broken! {
    // The cases the brief names.
    unknown_block => 6:7, "unknown block \"frobnicate\" in task \"t\"";
    missing_driver => 3:5, "Task \"t\" in group \"g\": missing driver";
    negative_count => 3:5, "Task group \"g\": count can't be negative (got -1)";
    unterminated_string => 4:16, "unterminated string";
    bad_type => 3:3, "Invalid job type \"nonsense\"";
    duplicate_task => 7:10, "task 2 redefines \"web\" from task 1";
    memory_lots => 8:9, "memory: expected a number, got string \"lots\"";
    // Blocks and attributes.
    template_block => 9:9, "template change_mode \"reload\" is not one of";
    service_block => 3:5, "block \"service\" is not supported yet";
    unknown_attribute => 3:5, "unknown attribute \"countt\" in group \"g\"";
    repeated_resources => 10:7, "block \"resources\" may appear only once here (the first is at 6:7)";
    group_without_label => 2:3, "block \"group\" needs exactly one label";
    variable_reference => 5:7, "user: variable references are not supported yet";
    no_job => 1:1, "no job block found";
    two_jobs => 9:1, "only one job block is allowed per file (the first is at 1:1)";
    several_problems => 2:3, "priority: expected a whole number, got number 0.5";
    bad_artifact_mode => 7:9, "artifact mode \"folder\" is not one of \"any\", \"file\", \"dir\"";
    // Syntax.
    missing_brace => 6:5, "syntax error";
    duplicate_attribute => 3:3, "syntax error";
    // Values.
    bad_duration => 5:7, "kill_timeout: invalid duration \"5 minutes\"";
    // Nomad's validation rules, at the attribute or block at fault.
    bad_operator => 4:5, "constraint 1: unknown operator \"like\"";
    bad_regexp => 8:9, "regular expression \"(ubuntu|debian\" does not compile";
    system_count => 5:5, "count can't exceed 1";
    priority_range => 2:3, "Job priority must be between [1, 100]; got 500";
    duplicate_group => 8:9, "Task group 2 redefines \"g\" from group 1";
    bad_restart_mode => 5:7, "restart mode \"sometimes\" is not supported";
    bad_delay_function => 4:7, "delay_function \"linear\" is not supported";
    memory_too_small => 7:9, "minimum MemoryMB value is 10; got 5";
    job_id_space => 1:5, "Job ID \"my job\" contains a space";
    no_groups => 1:1, "Missing job task groups";
    no_tasks => 2:3, "Task group \"g\": missing tasks";
    bad_lifecycle_hook => 6:9, "invalid lifecycle hook \"prerun\"";
    only_lifecycle_tasks => 2:3, "must have at least one main task";
}

#[test]
fn all_problems_are_reported_in_source_order() {
    let file = "several_problems.hcl";
    let src = fs::read_to_string(fixtures("broken").join(file)).expect("fixture");
    let err = nomadish_jobspecs::parse(&src, file).expect_err("broken");
    let positions: Vec<(usize, usize)> = err
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.column))
        .collect();
    assert_eq!(positions, vec![(2, 3), (5, 5), (11, 9), (14, 7)], "{err}");
    assert_eq!(err.to_string().lines().count(), 4);
    assert!(
        err.to_string()
            .contains("several_problems.hcl:14:7: block \"vault\" is not supported yet")
    );
}

#[test]
fn restart_problems_inherited_by_tasks_are_reported_once() {
    let file = "bad_restart_mode.hcl";
    let src = fs::read_to_string(fixtures("broken").join(file)).expect("fixture");
    let err = nomadish_jobspecs::parse(&src, file).expect_err("broken");
    assert_eq!(err.diagnostics().len(), 1, "{err}");
}
