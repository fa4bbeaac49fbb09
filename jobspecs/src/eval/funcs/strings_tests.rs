//! String functions against Nomad's documented examples.

use serde_json::json;

use crate::eval::eval_for_test as eval;

#[test]
fn documented_examples() {
    let cases = [
        (r#"format("Hello, %s!", "Ander")"#, json!("Hello, Ander!")),
        (
            r#"format("There are %d lights", 4)"#,
            json!("There are 4 lights"),
        ),
        (
            r#"format("%-5s|%5s|%05d|%.2f|%t", "a", "b", 42, 3.14159, true)"#,
            json!("a    |    b|00042|3.14|true"),
        ),
        (
            r#"format("%x %X %o %b %q %%", 255, 255, 8, 5, "hi")"#,
            json!("ff FF 10 101 \"hi\" %"),
        ),
        (r#"format("%[2]s %[1]s", "a", "b")"#, json!("b a")),
        (
            r#"formatlist("Hello, %s!", ["Valentina", "Ander"])"#,
            json!(["Hello, Valentina!", "Hello, Ander!"]),
        ),
        (
            r#"formatlist("%s, %s!", "Salutations", ["Valentina", "Ander"])"#,
            json!(["Salutations, Valentina!", "Salutations, Ander!"]),
        ),
        (
            r#"join(", ", ["foo", "bar", "baz"])"#,
            json!("foo, bar, baz"),
        ),
        (r#"join(", ", ["foo"])"#, json!("foo")),
        (r#"split(",", "foo,bar,baz")"#, json!(["foo", "bar", "baz"])),
        (r#"split(",", "foo")"#, json!(["foo"])),
        (r#"split(",", "")"#, json!([""])),
        (r#"upper("hello")"#, json!("HELLO")),
        (r#"lower("HELLO")"#, json!("hello")),
        (r#"title("hello world")"#, json!("Hello World")),
        (r#"replace("1 + 2 + 3", "+", "-")"#, json!("1 - 2 - 3")),
        (
            r#"replace("hello world", "/w.*d/", "everybody")"#,
            json!("hello everybody"),
        ),
        (
            r#"regex_replace("hello world", "w.*d", "everybody")"#,
            json!("hello everybody"),
        ),
        (
            r#"regex_replace("-ab-axxb-", "a(x*)b", "$1W")"#,
            json!("---"),
        ),
        (
            r#"regex_replace("-ab-axxb-", "a(x*)b", "$${1}W")"#,
            json!("-W-xxW-"),
        ),
        (r#"trimspace("  hello\n\n")"#, json!("hello")),
        (r#"trim("?!hello?!", "!?")"#, json!("hello")),
        (r#"trimprefix("helloworld", "hello")"#, json!("world")),
        (r#"trimprefix("helloworld", "cat")"#, json!("helloworld")),
        (r#"trimsuffix("helloworld", "world")"#, json!("hello")),
        (
            r#"regex("[a-z]+", "53453453.345345aaabbbccc23454")"#,
            json!("aaabbbccc"),
        ),
        (
            r#"regex("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)", "2019-02-01")"#,
            json!(["2019", "02", "01"]),
        ),
        (
            r#"regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")"#,
            json!({"scheme": "https", "authority": "terraform.io"}),
        ),
        (
            r#"regexall("[a-z]+", "1234abcd5678efgh9")"#,
            json!(["abcd", "efgh"]),
        ),
        (
            r#"length(regexall("[a-z]+", "1234abcd5678efgh9"))"#,
            json!(2),
        ),
        (r#"substr("hello world", 1, 4)"#, json!("ello")),
        (r#"substr("🤔🤷", 0, 1)"#, json!("🤔")),
        (r#"substr("hello world", -5, -1)"#, json!("world")),
        (r#"strrev("hello")"#, json!("olleh")),
        (r#"strrev("a ☃")"#, json!("☃ a")),
        (
            r#""items: ${indent(2, "[\n  foo,\n  bar,\n]\n")}""#,
            json!("items: [\n    foo,\n    bar,\n  ]\n  "),
        ),
        (r#"chomp("hello\n")"#, json!("hello")),
        (r#"chomp("hello\r\n")"#, json!("hello")),
        (r#"chomp("hello\n\n")"#, json!("hello")),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src), Ok(want), "{src}");
    }
}

#[test]
fn errors_are_clear() {
    assert!(
        eval(r#"regex("[a-z]+", "123")"#)
            .unwrap_err()
            .contains("did not match")
    );
    assert!(
        eval(r#"regex("(", "x")"#)
            .unwrap_err()
            .contains("invalid regular expression")
    );
    assert!(
        eval(r#"format("%d", "x")"#)
            .unwrap_err()
            .contains("format()")
    );
    assert!(
        eval(r#"format("%s")"#)
            .unwrap_err()
            .contains("not enough arguments")
    );
    assert!(
        eval(r#"upper("a", "b")"#)
            .unwrap_err()
            .contains("takes 1 argument")
    );
    assert!(
        eval(r#"substr("abc", 5, 1)"#)
            .unwrap_err()
            .contains("out of range")
    );
}
