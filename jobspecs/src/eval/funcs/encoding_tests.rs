//! Encoding and type conversion functions against Nomad's documented examples.

use serde_json::json;

use crate::eval::eval_for_test as eval;

#[test]
fn documented_encoding_examples() {
    let cases = [
        (r#"base64encode("Hello World")"#, json!("SGVsbG8gV29ybGQ=")),
        (r#"base64decode("SGVsbG8gV29ybGQ=")"#, json!("Hello World")),
        (
            r#"jsonencode({"hello"="world"})"#,
            json!("{\"hello\":\"world\"}"),
        ),
        (
            r#"jsondecode("{\"hello\": \"world\"}")"#,
            json!({"hello": "world"}),
        ),
        (r#"jsondecode("true")"#, json!(true)),
        (r#"yamlencode({"a":"b", "c":"d"})"#, json!("a: b\nc: d\n")),
        (
            r#"yamlencode({"foo":[1, 2, 3], "bar": "baz"})"#,
            json!("bar: baz\nfoo:\n- 1\n- 2\n- 3\n"),
        ),
        (r#"yamldecode("hello: world")"#, json!({"hello": "world"})),
        (r#"yamldecode("true")"#, json!(true)),
        (
            r#"yamldecode("{a: &foo [1, 2, 3], b: *foo}")"#,
            json!({"a": [1, 2, 3], "b": [1, 2, 3]}),
        ),
        (
            r#"csvdecode("a,b,c\n1,2,3\n4,5,6")"#,
            json!([{"a": "1", "b": "2", "c": "3"}, {"a": "4", "b": "5", "c": "6"}]),
        ),
        (r#"urlencode("Hello World")"#, json!("Hello+World")),
        (r#"urlencode("☃")"#, json!("%E2%98%83")),
        (
            r#""http://example.com/search?q=${urlencode("terraform urlencode")}""#,
            json!("http://example.com/search?q=terraform+urlencode"),
        ),
        (r#"tostring("hello")"#, json!("hello")),
        (r#"tostring(1)"#, json!("1")),
        (r#"tostring(true)"#, json!("true")),
        (r#"tostring(null)"#, json!(null)),
        (r#"tonumber(1)"#, json!(1)),
        (r#"tonumber("1")"#, json!(1)),
        (r#"tonumber(null)"#, json!(null)),
        (r#"tobool(true)"#, json!(true)),
        (r#"tobool("true")"#, json!(true)),
        (r#"tolist(["a", "b", "c"])"#, json!(["a", "b", "c"])),
        (r#"toset(["a", "b", "c", "a"])"#, json!(["a", "b", "c"])),
        (r#"tomap({"a" = 1, "b" = 2})"#, json!({"a": 1, "b": 2})),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src), Ok(want), "{src}");
    }
    assert!(
        eval(r#"tonumber("no")"#)
            .unwrap_err()
            .contains("expected number")
    );
    assert!(
        eval(r#"tobool("no")"#)
            .unwrap_err()
            .contains("expected bool")
    );
    assert!(
        eval(r#"base64decode("!!")"#)
            .unwrap_err()
            .contains("invalid base64")
    );
    assert!(
        eval(r#"jsondecode("{")"#)
            .unwrap_err()
            .contains("invalid JSON")
    );
    assert!(eval(r#"yamldecode(": : :")"#).unwrap_err().contains("YAML"));
}
