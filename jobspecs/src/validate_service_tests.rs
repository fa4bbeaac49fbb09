//! Tests of the service and check rules, through the public parser (positions included).

fn errors(body: &str) -> String {
    let src = format!(
        "job \"j\" {{\n  group \"g\" {{\n    network {{\n      port \"http\" {{}}\n    }}\n{body}\n    task \"t\" {{\n      driver = \"raw_exec\"\n    }}\n  }}\n}}\n"
    );
    match crate::parse(&src, "s.hcl") {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_nomad_service_with_checks_is_valid_and_defaults_are_filled() {
    let src = "job \"j\" {\n  group \"g\" {\n    network {\n      port \"http\" {}\n    }\n    service {\n      provider = \"nomad\"\n      port = \"http\"\n      check_restart {\n        limit = 3\n      }\n      check {\n        type = \"http\"\n        path = \"/health\"\n        interval = \"5s\"\n        timeout = \"2s\"\n        check_restart {\n          grace = \"10s\"\n        }\n      }\n    }\n    task \"t\" {\n      driver = \"raw_exec\"\n      service {\n        provider = \"nomad\"\n        port = 8080\n      }\n    }\n  }\n}\n";
    let job = crate::parse(src, "s.hcl").expect("valid");
    let s = &job.task_groups[0].services[0];
    assert_eq!(s.name, "j-g");
    assert_eq!(s.address_mode, "auto");
    assert_eq!(s.on_update, "require_healthy");
    let c = &s.checks[0];
    assert_eq!(c.on_update, "require_healthy");
    let r = c.check_restart.as_ref().expect("merged");
    assert_eq!((r.limit, r.grace), (3, 10_000_000_000));
    let ts = &job.task_groups[0].tasks[0].services[0];
    assert_eq!(
        (ts.name.as_str(), ts.port_label.as_str()),
        ("j-g-t", "8080")
    );
}

#[test]
fn consul_provider_is_refused_at_the_service() {
    let e = errors("    service {\n      port = \"http\"\n    }");
    assert!(e.starts_with("s.hcl:6:5: "), "{e}");
    assert!(
        e.contains("not supported by nomadish: service provider consul (set provider = \"nomad\")"),
        "{e}"
    );
}

#[test]
fn unknown_port_label_is_positioned_at_the_port() {
    let e = errors("    service {\n      provider = \"nomad\"\n      port = \"web\"\n    }");
    assert!(e.starts_with("s.hcl:8:7: "), "{e}");
    assert!(e.contains("port label \"web\""), "{e}");
}

#[test]
fn check_rules() {
    let svc = |check: &str| {
        errors(&format!(
            "    service {{\n      provider = \"nomad\"\n      port = \"http\"\n      check {{\n{check}\n      }}\n    }}"
        ))
    };
    let e = svc(
        "        type = \"http\"\n        path = \"/\"\n        interval = \"500ms\"\n        timeout = \"1s\"",
    );
    assert!(
        e.starts_with("s.hcl:12:9: ") && e.contains("interval (500ms) cannot be lower than 1s"),
        "{e}"
    );
    let e = svc("        type = \"tcp\"\n        interval = \"5s\"");
    assert!(e.contains("missing required value timeout"), "{e}");
    let e = svc("        type = \"http\"\n        interval = \"5s\"\n        timeout = \"1s\"");
    assert!(e.contains("http type must have http path"), "{e}");
    let e = svc("        type = \"grpc\"\n        interval = \"5s\"\n        timeout = \"1s\"");
    assert!(e.contains("invalid type (\"grpc\")"), "{e}");
    let e = svc(
        "        type = \"script\"\n        command = \"true\"\n        interval = \"5s\"\n        timeout = \"1s\"",
    );
    assert!(
        e.contains("script checks in a group service must set task"),
        "{e}"
    );
    let e = svc(
        "        type = \"script\"\n        task = \"t\"\n        command = \"true\"\n        interval = \"5s\"\n        timeout = \"1s\"",
    );
    assert_eq!(e, "");
    let e = svc(
        "        type = \"http\"\n        path = \"/\"\n        expose = true\n        interval = \"5s\"\n        timeout = \"1s\"",
    );
    assert!(e.contains("not supported by nomadish: check expose"), "{e}");
}

#[test]
fn unknown_attribute_in_check_is_a_decode_error() {
    let e = errors(
        "    service {\n      provider = \"nomad\"\n      check {\n        colour = \"red\"\n      }\n    }",
    );
    assert!(e.contains("unknown attribute \"colour\" in check"), "{e}");
}
