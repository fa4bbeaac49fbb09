//! `fmt` and `job init`: the repository's jobspecs are formatted, the example job parses,
//! and nothing is overwritten.

use std::path::{Path, PathBuf};

use clap::Parser;

use super::args::{Cli, Command, JobCommand};
use super::argv::translate_args;
use super::fmt::{FmtArgs, format_file};
use super::job_init::{self, JobInitArgs};
use super::{EXIT_ERROR, EXIT_OK};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A fresh empty directory under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("nomadish-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(translate_args(args.iter().copied())).expect("parses")
}

fn fmt_args(check: bool, paths: Vec<PathBuf>) -> FmtArgs {
    FmtArgs {
        check,
        list: true,
        write: true,
        recursive: false,
        paths,
    }
}

#[test]
fn fmt_check_passes_on_the_examples_and_the_good_fixtures() {
    for dir in ["examples", "jobspecs/tests/fixtures/good"] {
        let code = super::fmt::run(fmt_args(true, vec![repo(dir)]));
        assert_eq!(
            code, EXIT_OK,
            "`nomadish fmt -check {dir}` lists files to format"
        );
    }
}

#[test]
fn fmt_check_changes_nothing_and_fmt_writes() {
    let dir = scratch("fmt");
    let file = dir.join("a.nomad");
    let messy = "job \"a\" {\ntype=\"batch\" # kept\n}\n";
    std::fs::write(&file, messy).unwrap();
    std::fs::write(dir.join("notes.txt"), "not = hcl {").unwrap();
    assert_eq!(
        super::fmt::run(fmt_args(true, vec![dir.clone()])),
        EXIT_ERROR
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), messy);
    assert_eq!(super::fmt::run(fmt_args(false, vec![dir.clone()])), EXIT_OK);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "job \"a\" {\n  type = \"batch\" # kept\n}\n"
    );
    assert_eq!(format_file(&file), Ok(None));
    assert_eq!(super::fmt::run(fmt_args(true, vec![dir.clone()])), EXIT_OK);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn fmt_reports_a_syntax_error_and_leaves_the_file() {
    let dir = scratch("fmt-bad");
    let file = dir.join("bad.hcl");
    std::fs::write(&file, "job \"a\" {\n  type = \n}\n").unwrap();
    let err = format_file(&file).unwrap_err();
    assert!(err.starts_with(&format!("{}:2:", file.display())), "{err}");
    assert_eq!(
        super::fmt::run(fmt_args(false, vec![file.clone()])),
        EXIT_ERROR
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "job \"a\" {\n  type = \n}\n"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn fmt_flags_parse_nomad_style() {
    let cli = parse(&[
        "nomadish",
        "fmt",
        "-check",
        "-list=false",
        "-recursive",
        "dir",
    ]);
    let Command::Fmt(args) = cli.command else {
        panic!("not fmt");
    };
    assert!(args.check && args.recursive && !args.list && args.write);
    assert_eq!(args.paths, vec![PathBuf::from("dir")]);
    let cli = parse(&["nomadish", "job", "init", "-short"]);
    let Command::Job(JobCommand::Init(args)) = cli.command else {
        panic!("not job init");
    };
    assert!(args.short && args.filename.is_none());
}

#[test]
fn the_example_job_parses_and_is_formatted() {
    let job = nomadish_jobspecs::parse(job_init::EXAMPLE, "example.nomad.hcl").expect("parses");
    assert_eq!(job.id, "example");
    let short = job_init::short_example();
    assert!(!short.contains('#'), "{short}");
    let short_job = nomadish_jobspecs::parse(&short, "short.hcl").expect("short parses");
    assert_eq!(short_job, job);
    assert_eq!(
        nomadish_jobspecs::fmt::format(job_init::EXAMPLE, "x").unwrap(),
        job_init::EXAMPLE
    );
    let json = job_init::json_example();
    assert_eq!(
        super::jobspec::parse_json_job(&json).expect("json job"),
        job
    );
}

#[tokio::test]
async fn job_init_writes_once_and_refuses_to_overwrite() {
    let dir = scratch("init");
    let file = dir.join(job_init::DEFAULT_FILE);
    let args = |short| JobInitArgs {
        short,
        json: false,
        template: None,
        list_templates: false,
        // Nothing listens here: a template that must be fetched cannot be.
        api: super::args::ApiOpts {
            address: "http://127.0.0.1:1".into(),
            ..Default::default()
        },
        filename: Some(file.clone()),
    };
    assert_eq!(job_init::run(args(false)).await, EXIT_OK);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), job_init::EXAMPLE);
    std::fs::write(&file, "mine").unwrap();
    assert_eq!(job_init::run(args(true)).await, EXIT_ERROR);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let template = JobInitArgs {
        template: Some("redis".into()),
        filename: Some(dir.join("other.hcl")),
        ..args(false)
    };
    assert_eq!(job_init::run(template).await, EXIT_ERROR);
    assert!(!dir.join("other.hcl").exists());
    std::fs::remove_dir_all(dir).ok();
}
