//! Focused behaviours of `parse`: value conversions, shorthand forms, positions in unusual
//! layouts, and the error type's accessors.

use nomadish_jobspecs::{JobspecError, parse, parse_file};

/// A job around one task body.
fn with_task(task_body: &str) -> String {
    format!(
        "job \"j\" {{\n  group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n{task_body}    }}\n  }}\n}}\n"
    )
}

fn first_error(src: &str) -> (usize, usize, String) {
    let err = parse(src, "t.hcl").expect_err("should fail");
    let d = err.diagnostics().first().expect("a diagnostic").clone();
    (d.line, d.column, d.message)
}

#[test]
fn numbers_and_bools_convert_like_hcl() {
    let src = "job \"j\" {\n  priority = \"70\"\n  all_at_once = \"true\"\n  group \"g\" {\n    count = 1 + 1\n    task \"t\" {\n      driver = \"raw_exec\"\n      env {\n        N = 3\n        B = true\n      }\n    }\n  }\n}\n";
    let job = parse(src, "t.hcl").expect("parses");
    assert_eq!(job.priority, 70);
    assert!(job.all_at_once);
    assert_eq!(job.task_groups[0].count, 2);
    let env = &job.task_groups[0].tasks[0].env;
    assert_eq!((env["N"].as_str(), env["B"].as_str()), ("3", "true"));
}

#[test]
fn env_and_meta_accept_the_map_attribute_form() {
    let job = parse(
        &with_task("      env = { \"A.B\" = \"x\" }\n      meta = { k = 1 }\n"),
        "t.hcl",
    )
    .expect("parses");
    let task = &job.task_groups[0].tasks[0];
    assert_eq!(task.env["A.B"], "x");
    assert_eq!(task.meta["k"], "1");
}

#[test]
fn constraint_shorthands_set_operator_and_value() {
    let body = "      constraint {\n        attribute = \"${attr.os.version}\"\n        version = \">= 22.04\"\n      }\n      constraint {\n        attribute = \"${meta.tags}\"\n        set_contains_any = \"a,b\"\n      }\n      constraint {\n        distinct_hosts = false\n      }\n";
    let job = parse(&with_task(body), "t.hcl").expect("parses");
    let constraints = &job.task_groups[0].tasks[0].constraints;
    assert_eq!(constraints.len(), 2, "distinct_hosts = false is dropped");
    assert_eq!(
        (
            constraints[0].operand.as_str(),
            constraints[0].r_target.as_str()
        ),
        ("version", ">= 22.04")
    );
    assert_eq!(constraints[1].operand, "set_contains_any");
}

#[test]
fn dropped_constraints_do_not_shift_positions() {
    let body = "      constraint {\n        distinct_hosts = false\n      }\n      constraint {\n        attribute = \"${attr.x}\"\n        operator = \"near\"\n        value = \"y\"\n      }\n";
    let (line, column, message) = first_error(&with_task(body));
    assert_eq!((line, column), (10, 9), "{message}");
    assert!(
        message.contains("constraint 1: unknown operator \"near\""),
        "{message}"
    );
}

#[test]
fn crlf_tabs_and_a_bom_keep_positions_right() {
    let src = "\u{feff}job \"j\" {\r\n\tgroup \"g\" {\r\n\t\tcount = -3\r\n\t\ttask \"t\" {\r\n\t\t\tdriver = \"raw_exec\"\r\n\t\t}\r\n\t}\r\n}\r\n";
    let (line, column, message) = first_error(src);
    assert_eq!((line, column), (3, 3), "{message}");
}

#[test]
fn unterminated_string_in_a_multiline_list_points_at_its_quote() {
    let src = with_task(
        "      config {\n        args = [\n          \"ok\",\n          \"broken,\n        ]\n      }\n",
    );
    let (line, column, message) = first_error(&src);
    assert_eq!((line, column), (8, 11), "{message}");
    assert!(message.contains("unterminated string"), "{message}");
}

#[test]
fn type_errors_name_the_attribute_and_the_value() {
    let cases = [
        (
            "      kill_timeout = 30\n",
            "kill_timeout: expected a duration string such as \"30s\", got number 30",
        ),
        (
            "      leader = \"yes\"\n",
            "leader: expected a bool, got string \"yes\"",
        ),
        (
            "      user = [\"a\"]\n",
            "user: expected a string, got list",
        ),
        (
            "      env = [\"A=1\"]\n",
            "env: expected a map of strings, got list",
        ),
    ];
    for (body, expected) in cases {
        let (line, column, message) = first_error(&with_task(body));
        assert_eq!((line, column, message.as_str()), (5, 7, expected));
    }
    // A function's error points at the call.
    let (line, column, message) = first_error(&with_task("      user = upper([\"x\"])\n"));
    assert_eq!(
        (line, column, message.as_str()),
        (
            5,
            14,
            "user: upper(): argument 1: expected a string, got list"
        )
    );
}

#[test]
fn network_ports_and_their_errors() {
    let ok = "job \"j\" {\n  group \"g\" {\n    network {\n      mode = \"bridge\"\n      port \"http\" {\n        to = 80\n      }\n      port \"db\" {\n        static = 5432\n      }\n    }\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n";
    let job = parse(ok, "t.hcl").expect("parses");
    let net = &job.task_groups[0].networks[0];
    assert_eq!(net.mode, "bridge");
    assert_eq!(
        (net.dynamic_ports[0].label.as_str(), net.dynamic_ports[0].to),
        ("http", 80)
    );
    assert_eq!(
        (
            net.reserved_ports[0].label.as_str(),
            net.reserved_ports[0].value
        ),
        ("db", 5432)
    );

    let bad = ok.replace("static = 5432", "static = 70000");
    let (line, column, message) = first_error(&bad);
    assert_eq!((line, column), (9, 9), "{message}");
    assert!(
        message.contains("static: must be between 0 and 65535, got 70000"),
        "{message}"
    );

    let dup = ok.replace("port \"db\"", "port \"http\"");
    let (line, column, message) = first_error(&dup);
    // Reserved ports are checked before dynamic ones, so the dynamic duplicate is flagged.
    assert_eq!((line, column), (5, 12), "{message}");
    assert!(
        message.contains("port label \"http\" is used more than once"),
        "{message}"
    );
}

#[test]
fn io_errors_have_no_position() {
    let err = parse_file(std::path::Path::new("/nonexistent/job.hcl")).expect_err("missing file");
    assert!(matches!(err, JobspecError::Io { .. }));
    assert_eq!((err.line(), err.column()), (0, 0));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/job.hcl: cannot read the jobspec"),
        "{err}"
    );
}

#[test]
fn parse_file_labels_errors_with_the_path() {
    let dir = std::env::temp_dir().join(format!("nomadish-jobspecs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.hcl");
    std::fs::write(&path, "job \"j\" {\n  bogus = 1\n}\n").expect("write");
    let err = parse_file(&path).expect_err("bad");
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let expected = format!(
        "{}:2:3: unknown attribute \"bogus\" in job \"j\"",
        path.display()
    );
    assert_eq!(err.to_string(), expected);
}

#[test]
fn validate_job_checks_json_jobs_too() {
    let mut job = parse(&with_task(""), "t.hcl").expect("parses");
    job.task_groups[0].tasks[0]
        .constraints
        .push(nomadish_proto::model::Constraint {
            l_target: "${attr.os.name}".into(),
            r_target: "[".into(),
            operand: "regexp".into(),
        });
    let problems = nomadish_jobspecs::validate_job(&job).expect_err("bad regexp");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("does not compile"), "{problems:?}");
}

#[test]
fn affinity_and_spread_blocks_parse_with_nomads_defaults() {
    let src = r#"job "j" {
  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
  }
  spread {
    attribute = "${meta.rack}"
  }
  group "g" {
    affinity {
      attribute = "${meta.tier}"
      operator  = "!="
      value     = "cold"
      weight    = -30
    }
    spread {
      attribute = "${node.datacenter}"
      weight    = 80
      target "dc1" {
        percent = 70
      }
      target "dc2" {
        percent = 30
      }
    }
    task "t" {
      driver = "raw_exec"
      affinity {
        attribute = "${attr.kernel.name}"
        regexp    = "lin.*"
      }
    }
  }
}
"#;
    let job = parse(src, "t.hcl").expect("parses");
    let a = &job.affinities[0];
    assert_eq!(
        (
            a.l_target.as_str(),
            a.operand.as_str(),
            a.r_target.as_str(),
            a.weight
        ),
        ("${node.datacenter}", "=", "dc1", 50)
    );
    assert_eq!(
        (job.spreads[0].attribute.as_str(), job.spreads[0].weight),
        ("${meta.rack}", 50)
    );
    let g = &job.task_groups[0];
    assert_eq!(
        (g.affinities[0].operand.as_str(), g.affinities[0].weight),
        ("!=", -30)
    );
    let s = &g.spreads[0];
    assert_eq!(s.weight, 80);
    let targets: Vec<(&str, u8)> = s
        .spread_target
        .iter()
        .map(|t| (t.value.as_str(), t.percent))
        .collect();
    assert_eq!(targets, vec![("dc1", 70), ("dc2", 30)]);
    let t = &g.tasks[0].affinities[0];
    assert_eq!(
        (t.operand.as_str(), t.r_target.as_str()),
        ("regexp", "lin.*")
    );
}

#[test]
fn affinity_weight_out_of_range_is_an_error() {
    let src = "job \"j\" {\n  group \"g\" {\n    affinity {\n      attribute = \"${meta.a}\"\n      value = \"b\"\n      weight = 200\n    }\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n";
    assert!(parse(src, "t.hcl").is_err());
}
