//! Expressions, references and templates.

use serde_json::json;

use super::eval_for_test as eval;

#[test]
fn literals_keep_their_types() {
    assert_eq!(
        eval("[1, 2.5, true, null, \"x\"]"),
        Ok(json!([1, 2.5, true, null, "x"]))
    );
    assert_eq!(
        eval("{ a = 1, \"b.c\" = [\"x\"] }"),
        Ok(json!({"a": 1, "b.c": ["x"]}))
    );
    assert_eq!(eval("-7"), Ok(json!(-7)));
}

#[test]
fn runtime_templates_stay_verbatim() {
    assert_eq!(
        eval(r#""id=${NOMAD_ALLOC_ID} k=${attr.kernel.name} \"q\"""#),
        Ok(json!("id=${NOMAD_ALLOC_ID} k=${attr.kernel.name} \"q\""))
    );
    assert_eq!(
        eval(r#""${ NOMAD_TASK_DIR }/x""#),
        Ok(json!("${ NOMAD_TASK_DIR }/x"))
    );
    assert_eq!(
        eval("<<-EOF\n    a ${NOMAD_JOB_NAME}\n      b\n    EOF"),
        Ok(json!("a ${NOMAD_JOB_NAME}\n  b\n"))
    );
    assert_eq!(eval(r#""$${X} %%{y}""#), Ok(json!("${X} %{y}")));
    assert_eq!(
        eval(r#""%{ if meta.x == "1" }x%{ endif }""#),
        Ok(json!("%{ if meta.x == \"1\" }x%{ endif }"))
    );
}

#[test]
fn mixed_templates_evaluate_only_jobspec_parts() {
    assert_eq!(
        eval(r#""${var.name}-${NOMAD_ALLOC_INDEX}-${upper(local.prefix)}-${node.unique.name}""#),
        Ok(json!("web-${NOMAD_ALLOC_INDEX}-PRE-${node.unique.name}"))
    );
    assert_eq!(eval(r#""${var.tags}""#), Ok(json!(["a", "b"])));
    assert_eq!(eval(r#""n=${var.count + 1}""#), Ok(json!("n=4")));
}

#[test]
fn template_directives() {
    assert_eq!(
        eval(r#""%{ if var.count > 2 }many%{ else }few%{ endif }""#),
        Ok(json!("many"))
    );
    assert_eq!(
        eval(r#""%{ for t in var.tags }[${t}]%{ endfor }""#),
        Ok(json!("[a][b]"))
    );
    assert_eq!(
        eval(r#""%{ for k, v in var.env ~} ${k}=${v}; %{~ endfor }""#),
        Ok(json!("A=1;B=2;"))
    );
    assert_eq!(
        eval(r#""%{ for t in var.tags }${t}:${NOMAD_TASK_NAME} %{ endfor }""#),
        Ok(json!("a:${NOMAD_TASK_NAME} b:${NOMAD_TASK_NAME} "))
    );
}

#[test]
fn references_traversals_and_splats() {
    assert_eq!(eval("var.servers[1].port"), Ok(json!(81)));
    assert_eq!(eval("var.servers[*].name"), Ok(json!(["s1", "s2"])));
    assert_eq!(eval("var.servers.*.port"), Ok(json!([80, 81])));
    assert_eq!(eval("var.env[\"B\"]"), Ok(json!("2")));
    assert_eq!(eval("var.tags.0"), Ok(json!("a")));
    assert_eq!(eval("local.prefix"), Ok(json!("pre")));
    assert!(
        eval("var.nope")
            .unwrap_err()
            .contains("unknown variable var.nope")
    );
    assert!(
        eval("local.nope")
            .unwrap_err()
            .contains("unknown variable local.nope")
    );
    assert!(eval("var.tags[5]").unwrap_err().contains("out of range"));
    assert!(
        eval("attr.kernel.name")
            .unwrap_err()
            .contains("only known at runtime")
    );
    assert!(
        eval("foo")
            .unwrap_err()
            .contains("unknown variable \"foo\"")
    );
}

#[test]
fn for_expressions() {
    assert_eq!(
        eval("[for t in var.tags : upper(t)]"),
        Ok(json!(["A", "B"]))
    );
    assert_eq!(
        eval("[for i, t in var.tags : \"${i}${t}\" if t != \"a\"]"),
        Ok(json!(["1b"]))
    );
    assert_eq!(
        eval("{for s in var.servers : s.name => s.port}"),
        Ok(json!({"s1": 80, "s2": 81}))
    );
    assert_eq!(
        eval("{for s in [\"ab\", \"ac\", \"b\"] : substr(s, 0, 1) => s...}"),
        Ok(json!({"a": ["ab", "ac"], "b": ["b"]}))
    );
    assert!(
        eval("{for s in [\"a\", \"a\"] : s => 1}")
            .unwrap_err()
            .contains("duplicate key")
    );
}

#[test]
fn operators_and_conditionals() {
    assert_eq!(eval("1 + 2 * 3"), Ok(json!(7)));
    assert_eq!(eval("7 / 2"), Ok(json!(3.5)));
    assert_eq!(eval("(3 > 2) && !false"), Ok(json!(true)));
    assert_eq!(eval("var.count > 2 ? \"a\" : \"b\""), Ok(json!("a")));
    assert!(eval("9223372036854775807 + 1").is_err());
    assert!(eval("1 / 0").is_err());
    assert!(eval("-9223372036854775808 % -1").is_err());
    assert!(eval("\"a\" + 1").is_err());
    assert!(eval("1 ? 2 : 3").unwrap_err().contains("must be a bool"));
}

#[test]
fn functions_are_called_with_expansion() {
    assert!(eval("max(var.tags...)").unwrap_err().contains("max()"));
    assert_eq!(eval("max([1, 5, 2]...)"), Ok(json!(5)));
    assert!(
        eval("nosuch(1)")
            .unwrap_err()
            .contains("unknown function nosuch()")
    );
    assert_eq!(eval("try(var.nope, \"fallback\")"), Ok(json!("fallback")));
    assert_eq!(eval("can(var.nope)"), Ok(json!(false)));
    assert_eq!(eval("can(var.name)"), Ok(json!(true)));
}

#[test]
fn indented_heredocs_dedent_inside_directives() {
    let src = "<<-EOF\n    a\n    %{ for t in var.tags }\n    x${t}\n    %{ endfor }\n    EOF";
    assert_eq!(eval(src), Ok(json!("a\n\nxa\n\nxb\n\n")));
}

#[test]
fn indented_heredocs_dedent_inside_stripped_directives() {
    let src = "<<-EOF\n      c <<X\n      %{~ for i, u in var.tags }\n      s${i} ${u};\n      %{~ endfor }\n      X\n    EOF";
    assert_eq!(eval(src), Ok(json!("c <<X\ns0 a;\ns1 b;\nX\n")));
}
