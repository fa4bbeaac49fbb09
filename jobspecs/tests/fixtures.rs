//! Fixture jobspecs: every `fixtures/good/*.hcl` parses to the job in its `.json` twin, and
//! every `fixtures/broken/*.hcl` fails with `FILE:LINE:COL: message` at the expected place.
//!
//! A fixture with a sibling `NAME.vars` file gets it as a `-var-file` (HCL `name = value`).
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

/// The parse options for a fixture: its sibling `.vars` file, if any, as a var-file.
fn options_for(path: &Path) -> nomadish_jobspecs::ParseOptions {
    let vars = path.with_extension("vars");
    nomadish_jobspecs::ParseOptions {
        var_files: if vars.exists() {
            vec![vars]
        } else {
            Vec::new()
        },
        ..Default::default()
    }
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
        let job = nomadish_jobspecs::parse_file_with(&path, &options_for(&path))
            .unwrap_or_else(|err| panic!("{} should parse:\n{err}", path.display()))
            .job;
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
    let dir = fixtures("broken");
    let src = fs::read_to_string(dir.join(&file)).expect("fixture");
    let options = options_for(&dir.join(&file));
    let err = nomadish_jobspecs::parse_with(&src, &file, &options)
        .expect_err("broken fixture must not parse");
    // Problems in a var-file name it by its path; compare by file name.
    let text = err.to_string().replace(&format!("{}/", dir.display()), "");
    let vars_file = format!("{name}.vars:");
    let shown = if text.starts_with(&vars_file) {
        format!("{name}.vars")
    } else {
        file
    };
    let prefix = format!("{shown}:{line}:{column}: ");
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
    service_block => 3:5, "not supported by nomadish: service provider consul (set provider = \"nomad\")";
    service_bad_port => 9:7, "port label \"https\" referenced by services web-g does not exist";
    service_check_interval => 16:11, "interval (100ms) cannot be lower than 1s";
    unknown_attribute => 3:5, "unknown attribute \"countt\" in group \"g\"";
    repeated_resources => 10:7, "block \"resources\" may appear only once here (the first is at 6:7)";
    group_without_label => 2:3, "block \"group\" needs exactly one label";
    bad_var_type => 2:1, "invalid value for variable \"port\" from the var-file: expected number, got string \"lots\"";
    validation_failure => 5:3, "variable \"replicas\": replicas must be between 1 and 10";
    missing_variable_value => 1:1, "variable \"image\" has no value";
    unknown_function => 6:19, "command: unknown function shout()";
    function_error => 7:19, "command: file(): cannot read";
    local_cycle => 2:3, "locals refer to each other in a cycle: local.a -> local.b -> local.a";
    undefined_variable => 5:16, "user: unknown variable var.user; declare it with variable \"user\"";
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
    // Blocks and attributes for systems nomadish does not have; host volume rules.
    vault_block => 6:7, "not supported by nomadish: vault";
    consul_block => 2:3, "not supported by nomadish: consul";
    connect_in_group => 3:5, "not supported by nomadish: connect";
    csi_volume => 4:7, "not supported by nomadish: csi volumes";
    multiregion_block => 2:3, "not supported by nomadish: multiregion";
    scaling_policy => 7:7, "not supported by nomadish: scaling policy";
    identity_block => 6:7, "not supported by nomadish: identity";
    csi_plugin_block => 6:7, "not supported by nomadish: csi_plugin";
    vault_token => 2:3, "not supported by nomadish: vault_token";
    disconnect_block => 3:5, "not supported by nomadish: disconnect";
    device_block => 7:9, "not supported by nomadish: device";
    mount_unknown_volume => 7:9, "volume \"data\" is not defined in the group";
    mount_without_destination => 11:7, "volume_mount 1: destination is required";
    every_unsupported_block => 2:3, "not supported by nomadish: ui";
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
            .contains("several_problems.hcl:14:7: not supported by nomadish: vault")
    );
}

#[test]
fn restart_problems_inherited_by_tasks_are_reported_once() {
    let file = "bad_restart_mode.hcl";
    let src = fs::read_to_string(fixtures("broken").join(file)).expect("fixture");
    let err = nomadish_jobspecs::parse(&src, file).expect_err("broken");
    assert_eq!(err.diagnostics().len(), 1, "{err}");
}

#[test]
fn every_unsupported_block_is_listed_not_only_the_first() {
    let file = "every_unsupported_block.hcl";
    let src = fs::read_to_string(fixtures("broken").join(file)).expect("fixture");
    let err = nomadish_jobspecs::parse(&src, file).expect_err("broken");
    let text = err.to_string();
    for (position, block) in [
        ("2:3", "ui"),
        ("7:5", "consul"),
        ("14:7", "vault"),
        ("18:7", "secret"),
        ("22:7", "action"),
        ("26:7", "schedule"),
    ] {
        let line = format!("{file}:{position}: not supported by nomadish: {block}");
        assert!(text.contains(&line), "expected {line:?} in:\n{text}");
    }
    assert_eq!(err.diagnostics().len(), 6, "{text}");
}
