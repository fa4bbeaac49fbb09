//! Variable values through the public API: precedence of the sources, conversions, errors
//! and warnings, sensitive values kept out of messages.

use std::path::PathBuf;

use nomadish_jobspecs::{ParseOptions, parse_with};

const JOB: &str = r#"
variable "msg" {
  type    = string
  default = "default"
}

variable "n" {
  type    = number
  default = 1
}

variable "tags" {
  type    = list(string)
  default = []
}

variable "secret" {
  type      = number
  default   = 7
  sensitive = true
}

job "j" {
  update {
    stagger = "10s"
  }
  group "g" {
    count = var.n
    task "t" {
      driver = "raw_exec"
      env {
        MSG  = var.msg
        TAGS = join(",", var.tags)
        S    = var.secret
      }
    }
  }
}
"#;

fn env_of(options: &ParseOptions) -> (String, i64, String) {
    let parsed = parse_with(JOB, "j.hcl", options).unwrap_or_else(|e| panic!("{e}"));
    let group = &parsed.job.task_groups[0];
    let env = &group.tasks[0].env;
    (env["MSG"].clone(), group.count, env["TAGS"].clone())
}

fn var_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[test]
fn sources_follow_nomads_precedence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = var_file(&dir, "a.hcl", "msg = \"file-a\"\nn = 2\n");
    let b = var_file(&dir, "b.json", r#"{"msg": "file-b", "tags": ["x", "y"]}"#);
    let env = vec![
        pair("NOMAD_VAR_msg", "env"),
        pair("NOMAD_VAR_n", "5"),
        pair("OTHER", "x"),
    ];
    assert_eq!(
        env_of(&ParseOptions::default()),
        ("default".into(), 1, "".into())
    );
    let with_env = ParseOptions {
        env: env.clone(),
        ..Default::default()
    };
    assert_eq!(env_of(&with_env), ("env".into(), 5, "".into()));
    let with_files = ParseOptions {
        env: env.clone(),
        var_files: vec![a.clone(), b.clone()],
        ..Default::default()
    };
    assert_eq!(env_of(&with_files), ("file-b".into(), 2, "x,y".into()));
    let with_flags = ParseOptions {
        env,
        var_files: vec![a, b],
        vars: vec![
            pair("msg", "flag-1"),
            pair("msg", "flag-2"),
            pair("tags", "[\"z\"]"),
        ],
    };
    assert_eq!(env_of(&with_flags), ("flag-2".into(), 2, "z".into()));
}

#[test]
fn undeclared_values_error_or_warn_like_nomad() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = var_file(&dir, "v.hcl", "msg = \"x\"\n\nunknown = 1\n");
    let options = ParseOptions {
        var_files: vec![file],
        env: vec![pair("NOMAD_VAR_nope", "ignored")],
        ..Default::default()
    };
    let parsed = parse_with(JOB, "j.hcl", &options).expect("parses");
    let texts: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert!(
        texts.iter().any(|w| w.ends_with("v.hcl:3:1: value for undeclared variable \"unknown\" is ignored (declare it with variable \"unknown\" { ... })")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|w| w == "j.hcl:25:5: \"stagger\" is deprecated and has no effect (rolling updates are paced by max_parallel and min_healthy_time)"), "{texts:?}");
    let bad = ParseOptions {
        vars: vec![pair("nope", "1")],
        ..Default::default()
    };
    let err = parse_with(JOB, "j.hcl", &bad).expect_err("undeclared -var");
    assert!(
        err.to_string()
            .contains("-var nope=...: no variable \"nope\" is declared"),
        "{err}"
    );
}

#[test]
fn wrong_types_are_positioned_and_sensitive_values_hidden() {
    let bad = ParseOptions {
        vars: vec![pair("n", "lots")],
        ..Default::default()
    };
    let err = parse_with(JOB, "j.hcl", &bad)
        .expect_err("bad number")
        .to_string();
    assert_eq!(
        err,
        "j.hcl:7:1: invalid value for variable \"n\" from -var n=...: expected number, got string \"lots\""
    );
    let bad = ParseOptions {
        vars: vec![pair("secret", "hunter2")],
        ..Default::default()
    };
    let err = parse_with(JOB, "j.hcl", &bad)
        .expect_err("bad secret")
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("sensitive variable \"secret\""), "{err}");
    let bad = ParseOptions {
        env: vec![pair("NOMAD_VAR_tags", "[oops")],
        ..Default::default()
    };
    let err = parse_with(JOB, "j.hcl", &bad)
        .expect_err("bad list")
        .to_string();
    assert!(err.contains("environment variable NOMAD_VAR_tags"), "{err}");
}

#[test]
fn missing_values_name_the_variable_and_how_to_set_it() {
    let src = "variable \"image\" {}\njob \"j\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      config {\n        image = var.image\n      }\n    }\n  }\n}\n";
    let err = parse_with(src, "j.hcl", &ParseOptions::default())
        .expect_err("no value")
        .to_string();
    assert_eq!(
        err,
        "j.hcl:1:1: variable \"image\" has no value: give it a default, or set it with -var image=..., a -var-file, or the NOMAD_VAR_image environment variable"
    );
    let ok = ParseOptions {
        vars: vec![pair("image", "redis:7")],
        ..Default::default()
    };
    let job = parse_with(src, "j.hcl", &ok).expect("parses").job;
    assert_eq!(job.task_groups[0].tasks[0].config["image"], "redis:7");
}
