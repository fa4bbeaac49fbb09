//! Collection and numeric functions against Nomad's documented examples.

use serde_json::json;

use crate::eval::eval_for_test as eval;

#[test]
fn documented_collection_examples() {
    let cases = [
        (
            r#"concat(["a", ""], ["b", "c"])"#,
            json!(["a", "", "b", "c"]),
        ),
        (
            r#"flatten([["a", "b"], [], ["c"]])"#,
            json!(["a", "b", "c"]),
        ),
        (
            r#"flatten([[["a", "b"], []], ["c"]])"#,
            json!(["a", "b", "c"]),
        ),
        (r#"keys({a=1, c=2, d=3})"#, json!(["a", "c", "d"])),
        (r#"values({a=3, c=2, d=1})"#, json!([3, 2, 1])),
        (r#"lookup({a="ay", b="bee"}, "a", "what?")"#, json!("ay")),
        (r#"lookup({a="ay", b="bee"}, "c", "what?")"#, json!("what?")),
        (
            r#"merge({a="b", c="d"}, {e="f", c="z"})"#,
            json!({"a": "b", "c": "z", "e": "f"}),
        ),
        (r#"length([])"#, json!(0)),
        (r#"length(["a", "b"])"#, json!(2)),
        (r#"length({"a" = "b"})"#, json!(1)),
        (r#"length("hello")"#, json!(5)),
        (r#"length("👾🕹️")"#, json!(3)),
        (r#"contains(["a", "b", "c"], "a")"#, json!(true)),
        (r#"contains(["a", "b", "c"], "d")"#, json!(false)),
        (r#"range(3)"#, json!([0, 1, 2])),
        (r#"range(1, 4)"#, json!([1, 2, 3])),
        (r#"range(1, 8, 2)"#, json!([1, 3, 5, 7])),
        (r#"range(1, 4, 0.5)"#, json!([1, 1.5, 2, 2.5, 3, 3.5])),
        (r#"range(4, 1)"#, json!([4, 3, 2])),
        (r#"range(10, 5, -2)"#, json!([10, 8, 6])),
        (r#"zipmap(["a", "b"], [1, 2])"#, json!({"a": 1, "b": 2})),
        (
            r#"distinct(["a", "b", "a", "c", "d", "b"])"#,
            json!(["a", "b", "c", "d"]),
        ),
        (r#"element(["a", "b", "c"], 1)"#, json!("b")),
        (r#"element(["a", "b", "c"], 3)"#, json!("a")),
        (r#"index(["a", "b", "c"], "b")"#, json!(1)),
        (r#"reverse([1, 2, 3])"#, json!([3, 2, 1])),
        (r#"slice(["a", "b", "c", "d"], 1, 3)"#, json!(["b", "c"])),
        (r#"sort(["e", "d", "a", "x"])"#, json!(["a", "d", "e", "x"])),
        (r#"coalesce("a", "b")"#, json!("a")),
        (r#"coalesce("", "b")"#, json!("b")),
        (r#"coalesce(1, 2)"#, json!(1)),
        (r#"coalescelist(["a", "b"], ["c", "d"])"#, json!(["a", "b"])),
        (r#"coalescelist([], ["c", "d"])"#, json!(["c", "d"])),
        (r#"compact(["a", "", "b", "c"])"#, json!(["a", "b", "c"])),
        (
            r#"chunklist(["a", "b", "c", "d", "e"], 2)"#,
            json!([["a", "b"], ["c", "d"], ["e"]]),
        ),
        (
            r#"chunklist(["a", "b", "c", "d", "e"], 1)"#,
            json!([["a"], ["b"], ["c"], ["d"], ["e"]]),
        ),
        (
            r#"setunion(["a", "b"], ["b", "c"], ["d"])"#,
            json!(["a", "b", "c", "d"]),
        ),
        (
            r#"setintersection(["a", "b"], ["b", "c"], ["b", "d"])"#,
            json!(["b"]),
        ),
        (r#"setsubtract(["a", "b", "c"], ["a", "c"])"#, json!(["b"])),
        (
            r#"setproduct(["development", "staging"], ["app1", "app2"])"#,
            json!([
                ["development", "app1"],
                ["development", "app2"],
                ["staging", "app1"],
                ["staging", "app2"]
            ]),
        ),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src), Ok(want), "{src}");
    }
}

#[test]
fn documented_numeric_examples() {
    let cases = [
        ("abs(23)", json!(23)),
        ("abs(0)", json!(0)),
        ("abs(-12.4)", json!(12.4)),
        ("ceil(5)", json!(5)),
        ("ceil(5.1)", json!(6)),
        ("floor(5)", json!(5)),
        ("floor(4.9)", json!(4)),
        ("log(50, 10)", json!(1.6989700043360185)),
        ("log(16, 2)", json!(4)),
        ("max(12, 54, 3)", json!(54)),
        ("min(12, 54, 3)", json!(3)),
        ("pow(3, 2)", json!(9)),
        ("pow(4, 0)", json!(1)),
        ("signum(-13)", json!(-1)),
        ("signum(0)", json!(0)),
        ("signum(344)", json!(1)),
        (r#"parseint("100", 10)"#, json!(100)),
        (r#"parseint("FF", 16)"#, json!(255)),
        (r#"parseint("-10", 16)"#, json!(-16)),
        (r#"parseint("1011111011101111", 2)"#, json!(48879)),
        (r#"parseint("aA", 36)"#, json!(370)),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src), Ok(want), "{src}");
    }
    assert!(
        eval(r#"parseint("12", 2)"#)
            .unwrap_err()
            .contains("cannot parse")
    );
    assert!(eval("element([], 0)").unwrap_err().contains("empty list"));
    assert!(eval(r#"lookup({}, "x")"#).unwrap_err().contains("no key"));
    assert!(eval("slice([1], 0, 2)").is_err());
}
