//! Rendering: every function, delimiters, missing keys and variables, dependency discovery,
//! path safety and env parsing.

use std::collections::{BTreeMap, HashMap};

use nomadish_proto::model::{ServiceRegistration, Variable, VariableMetadata};

use super::render::{Dep, Fetched, RenderInput, Rendered, render, translate_delims};
use super::{parse_env, resolve_inside};

fn env() -> BTreeMap<String, String> {
    [("NOMAD_TASK_NAME".to_string(), "web".to_string())].into()
}

fn var(path: &str, items: &[(&str, &str)]) -> Fetched {
    let v = Variable {
        namespace: "default".into(),
        path: path.into(),
        modify_index: 7,
        items: items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Variable::default()
    };
    Fetched {
        index: 7,
        json: Some(serde_json::to_vec(&v).unwrap()),
    }
}

fn data() -> HashMap<Dep, Fetched> {
    let mut d = HashMap::new();
    d.insert(
        Dep::Var("nomad/jobs/web".into()),
        var("nomad/jobs/web", &[("user", "admin"), ("port", "8080")]),
    );
    d.insert(
        Dep::Var("nomad/jobs/absent".into()),
        Fetched {
            index: 7,
            json: None,
        },
    );
    let list = vec![VariableMetadata {
        namespace: "default".into(),
        path: "nomad/jobs/web".into(),
        ..VariableMetadata::default()
    }];
    d.insert(
        Dep::VarList("nomad/jobs".into()),
        Fetched {
            index: 7,
            json: Some(serde_json::to_vec(&list).unwrap()),
        },
    );
    let regs = vec![ServiceRegistration {
        id: "_nomad-task-1".into(),
        service_name: "db".into(),
        address: "127.0.0.1".into(),
        port: 5432,
        tags: vec!["primary".into()],
        ..ServiceRegistration::default()
    }];
    d.insert(
        Dep::Service("db".into()),
        Fetched {
            index: 3,
            json: Some(serde_json::to_vec(&regs).unwrap()),
        },
    );
    d
}

fn run(text: &str) -> Result<Rendered, String> {
    run_with(text, "{{", "}}", false, &data())
}

fn run_with(
    text: &str,
    l: &str,
    r: &str,
    missing_key: bool,
    data: &HashMap<Dep, Fetched>,
) -> Result<Rendered, String> {
    let env = env();
    render(&RenderInput {
        text,
        left_delim: l,
        right_delim: r,
        err_missing_key: missing_key,
        env: &env,
        data,
    })
}

fn text(t: &str) -> String {
    match run(t) {
        Ok(Rendered::Done(s, _)) => s,
        other => panic!("{t}: {other:?}"),
    }
}

#[test]
fn env_and_variables() {
    assert_eq!(
        text(r#"task={{ env "NOMAD_TASK_NAME" }}{{ env "NOPE" }}"#),
        "task=web"
    );
    assert_eq!(
        text(r#"{{ with nomadVar "nomad/jobs/web" }}{{ .user }}:{{ .port }}{{ end }}"#),
        "admin:8080"
    );
    assert_eq!(
        text(
            r#"{{ range $k, $v := nomadVar "nomad/jobs/web" }}{{ if eq $k "user" }}{{ $v }}{{ end }}{{ end }}"#
        ),
        "admin"
    );
    assert_eq!(
        text(r#"{{ nomadVarExists "nomad/jobs/web" }} {{ nomadVarExists "nomad/jobs/absent" }}"#),
        "true false"
    );
    assert_eq!(
        text(r#"{{ range nomadVarList "nomad/jobs" }}{{ .Path }};{{ end }}"#),
        "nomad/jobs/web;"
    );
    assert_eq!(
        text(
            r#"{{ range nomadService "db" }}{{ .Name }} {{ .Address }}:{{ .Port }} {{ index .Tags 0 }}{{ end }}"#
        ),
        "db 127.0.0.1:5432 primary"
    );
}

#[test]
fn dependencies_are_discovered_and_missing_variables_reported() {
    let empty = HashMap::new();
    match run_with(
        r#"{{ with nomadVar "a" }}{{ .x }}{{ end }}{{ nomadService "s" }}"#,
        "{{",
        "}}",
        false,
        &empty,
    )
    .unwrap()
    {
        Rendered::Need(deps) => assert_eq!(
            deps.into_iter().collect::<Vec<_>>(),
            vec![Dep::Var("a".into()), Dep::Service("s".into())]
        ),
        other => panic!("{other:?}"),
    }
    match run(r#"{{ with nomadVar "nomad/jobs/absent" }}x{{ end }}"#).unwrap() {
        Rendered::Missing(p) => assert!(p.contains("nomad/jobs/absent")),
        other => panic!("{other:?}"),
    }
    match run(r#"{{ with nomadVar "nomad/jobs/web" }}{{ .user }}{{ end }}"#).unwrap() {
        Rendered::Done(_, used) => assert!(used.contains(&Dep::Var("nomad/jobs/web".into()))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn helpers() {
    assert_eq!(text(r#"{{ "a,b,c" | split "," | join ";" }}"#), "a;b;c");
    assert_eq!(
        text(r#"{{ parseInt "42" }} {{ parseFloat "1.5" }} {{ parseBool "true" }}"#),
        "42 1.5 true"
    );
    assert!(run(r#"{{ parseInt "x" }}"#).is_err());
    assert_eq!(
        text(r#"{{ toLower "AbC" }}{{ toUpper "x" }}[{{ trimSpace "  y " }}]"#),
        "abcX[y]"
    );
    assert_eq!(text(r#"{{ "a-b-c" | replaceAll "-" "+" }}"#), "a+b+c");
    assert_eq!(
        text(r#"{{ "hello" | contains "ell" }} {{ split "," "a,b" | contains "b" }}"#),
        "true true"
    );
    assert_eq!(
        text(r#"{{ with nomadVar "nomad/jobs/web" }}{{ toJSON . }}{{ end }}"#),
        r#"{"port":"8080","user":"admin"}"#
    );
    assert_eq!(
        text(r#"{{ with nomadVar "nomad/jobs/web" }}{{ toJSONPretty . }}{{ end }}"#),
        "{\n  \"port\": \"8080\",\n  \"user\": \"admin\"\n}"
    );
    assert_eq!(
        text(r#"{{ with nomadVar "nomad/jobs/web" }}{{ toYAML . }}{{ end }}"#),
        "port: \"8080\"\nuser: admin"
    );
    assert_eq!(text(r#"{{ split "," "a,b" | toYAML }}"#), "- a\n- b");
}

#[test]
fn delimiters_escapes_and_missing_keys() {
    let d = data();
    match run_with(
        r#"{{ literal }} [[ env "NOMAD_TASK_NAME" ]]"#,
        "[[",
        "]]",
        false,
        &d,
    )
    .unwrap()
    {
        Rendered::Done(s, _) => assert_eq!(s, "{{ literal }} web"),
        other => panic!("{other:?}"),
    }
    assert!(translate_delims("[[ x", "[[", "]]").is_err());
    assert_eq!(text(r#"{{ "{{" }}x{{ "}}" }}"#), "{{x}}");
    assert_eq!(text(r#"{{/* comment */}}a"#), "a");
    let t = r#"{{ with nomadVar "nomad/jobs/web" }}{{ .nope }}{{ end }}"#;
    assert_eq!(text(t), "<no value>");
    assert!(run_with(t, "{{", "}}", true, &d).is_err());
    assert!(run("{{ if }}").is_err());
    assert!(run("{{ nosuchfunc }}").is_err());
}

#[test]
fn destinations_stay_inside_the_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let task = root.join("web");
    std::fs::create_dir_all(task.join("local")).unwrap();
    std::fs::create_dir_all(root.join("alloc")).unwrap();
    assert_eq!(
        resolve_inside(&root, &task, "local/a.txt").unwrap(),
        task.join("local/a.txt")
    );
    assert_eq!(
        resolve_inside(&root, &task, "../alloc/x").unwrap(),
        root.join("alloc/x")
    );
    assert!(resolve_inside(&root, &task, "../../etc/passwd").is_err());
    assert!(resolve_inside(&root, &task, "/etc/passwd").is_err());
    assert!(resolve_inside(&root, &task, "..").is_err());
    std::os::unix::fs::symlink("/tmp", task.join("local/out")).unwrap();
    assert!(resolve_inside(&root, &task, "local/out/x").is_err());
    assert!(resolve_inside(&root, &task, "local/out").is_err());
}

#[test]
fn env_files() {
    let env = parse_env("# c\nA=1\n\nexport B = \"two words\"\nC='x=y'\n").unwrap();
    assert_eq!(env["A"], "1");
    assert_eq!(env["B"], "two words");
    assert_eq!(env["C"], "x=y");
    assert!(parse_env("novalue").is_err());
    assert!(parse_env("A B=1").is_err());
}

#[tokio::test]
async fn render_all_writes_files_with_perms_and_env_and_picks_actions() {
    use std::os::unix::fs::PermissionsExt;

    use nomadish_proto::model::Template;

    use super::{ChangeAction, RenderAll, Templates};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let task = root.join("web");
    std::fs::create_dir_all(task.join("local")).unwrap();
    std::fs::write(
        task.join("local/in.tpl"),
        "from source {{ env \"NOMAD_TASK_NAME\" }}",
    )
    .unwrap();
    let file = Template {
        source_path: "local/in.tpl".into(),
        dest_path: "local/out.txt".into(),
        perms: "0600".into(),
        change_mode: "signal".into(),
        change_signal: "SIGHUP".into(),
        splay: 0,
        ..Template::default()
    };
    let envt = Template {
        embedded_tmpl: "A=1\nB={{ env \"NOMAD_TASK_NAME\" }}\n".into(),
        dest_path: "secrets/t.env".into(),
        envvars: true,
        splay: 0,
        ..Template::default()
    };
    let mut t = Templates::new(&[file.clone(), envt], &root, &task, env(), None).unwrap();
    assert_eq!(t.render_all().await.unwrap(), RenderAll::Done(vec![0, 1]));
    let out = task.join("local/out.txt");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "from source web");
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(t.env_out.lock().unwrap()["B"], "web");
    // Unchanged output: nothing rewritten.
    assert_eq!(t.render_all().await.unwrap(), RenderAll::Done(vec![]));
    assert_eq!(
        t.action_for(&[0]).map(|a| a.0),
        Some(ChangeAction::Signal("SIGHUP".into()))
    );
    assert_eq!(
        t.action_for(&[0, 1]).map(|a| a.0),
        Some(ChangeAction::Restart)
    );
    // Data functions without a server connection fail clearly.
    let needs = Template {
        embedded_tmpl: "{{ nomadVar \"nomad/jobs/x\" }}".into(),
        dest_path: "local/x".into(),
        ..Template::default()
    };
    let mut t = Templates::new(&[needs], &root, &task, env(), None).unwrap();
    assert!(
        t.render_all()
            .await
            .unwrap_err()
            .contains("server connection")
    );
    // A destination outside the allocation directory is refused up front.
    let out = Template {
        embedded_tmpl: "x".into(),
        dest_path: "../../x".into(),
        ..Template::default()
    };
    assert!(Templates::new(&[out], &root, &task, env(), None).is_err());
}
