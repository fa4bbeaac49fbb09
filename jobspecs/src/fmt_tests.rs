use super::format;

fn fmt(src: &str) -> String {
    format(src, "test.hcl").expect("formats")
}

#[test]
fn indents_and_aligns_a_run_of_attributes() {
    let src =
        "job \"a\" {\ntype = \"batch\"\n    datacenters   =   [\"*\"]\n\n  priority = 50\n}\n";
    assert_eq!(
        fmt(src),
        "job \"a\" {\n  type        = \"batch\"\n  datacenters = [\"*\"]\n\n  priority = 50\n}\n"
    );
}

#[test]
fn keeps_comments_of_every_kind() {
    let src = "# top\njob \"a\" { // after brace\n  /* block\n     comment */\n  type = \"batch\" # trailing\n  // last\n}\n";
    let out = fmt(src);
    for comment in [
        "# top",
        "// after brace",
        "/* block\n     comment */",
        "# trailing",
        "// last",
    ] {
        assert!(out.contains(comment), "{comment:?} lost in:\n{out}");
    }
    assert_eq!(
        out,
        "# top\njob \"a\" { // after brace\n  /* block\n     comment */\n  type = \"batch\" # trailing\n  // last\n}\n"
    );
}

#[test]
fn keeps_at_most_one_blank_line_and_none_inside_braces() {
    let src = "\n\njob \"a\" {\n\n\n  a = 1\n\n\n\n  b = 2\n\n}\n\n\n";
    assert_eq!(fmt(src), "job \"a\" {\n  a = 1\n\n  b = 2\n}\n");
}

#[test]
fn a_multi_line_value_breaks_the_alignment_run() {
    let src = "config {\n  command = \"sh\"\n  args = [\n    \"-c\",\n  ]\n  x = 1\n  yy = 2\n}\n";
    assert_eq!(
        fmt(src),
        "config {\n  command = \"sh\"\n  args = [\n    \"-c\",\n  ]\n  x  = 1\n  yy = 2\n}\n"
    );
}

#[test]
fn one_line_blocks_stay_on_one_line() {
    assert_eq!(fmt("a {}\nb {   c=1   }\n"), "a {}\nb { c = 1 }\n");
}

#[test]
fn formatting_twice_is_formatting_once() {
    let src = "job \"a\"   {\n# c\n      group \"g\" {\n task \"t\" {\ndriver=\"raw_exec\" # d\nconfig {\ncommand = \"/bin/true\"\n  args=[\"x\",\n\"y\"]\n}\n}\n}\n}";
    let once = fmt(src);
    assert_eq!(fmt(&once), once);
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let err = format("job \"a\" {\n  type = \n}\n", "x.hcl").unwrap_err();
    assert!(err.starts_with("x.hcl:"), "{err}");
}

#[test]
fn heredocs_templates_and_comments_after_braces_are_kept() {
    let src = "job \"a\" {\n  group \"g\" {\n    task \"t\" {\n      config {\n        script = <<EOF\n  keep   this   = as is\n%{ if true }x%{ endif }\nEOF\n      } # end config\n    }\n  }\n}\n";
    assert_eq!(fmt(src), src);
}

#[test]
fn labels_keep_their_escapes() {
    let src = "meta \"a\\\"b\" {\n  k = \"${var.x}\"\n}\n";
    assert_eq!(fmt(src), src);
}

#[test]
fn multi_line_values_move_with_their_attribute() {
    let src = "a {\nb {\nargs = [\n  \"x\",\n]\n}\n}\n";
    assert_eq!(
        fmt(src),
        "a {\n  b {\n    args = [\n      \"x\",\n    ]\n  }\n}\n"
    );
    let src = "a {\n        args = [\n          \"x\",\n        ]\n}\n";
    assert_eq!(fmt(src), "a {\n  args = [\n    \"x\",\n  ]\n}\n");
}

#[test]
fn a_comment_inside_a_one_line_block_is_kept() {
    let src = "a {\nb \"x\" { /* why */ c =   1 }\n}\n";
    assert_eq!(fmt(src), "a {\n  b \"x\" { /* why */ c =   1 }\n}\n");
}
