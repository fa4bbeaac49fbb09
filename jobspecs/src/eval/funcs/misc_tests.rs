//! Hash, file and time functions: Nomad's documented examples, and shapes for the
//! non-deterministic ones (uuidv4, timestamp).

use serde_json::json;

use crate::eval::eval_for_test as eval;

#[test]
fn documented_hash_examples() {
    let cases = [
        (
            r#"md5("hello world")"#,
            json!("5eb63bbbe01eeed093cb22bb8f5acdc3"),
        ),
        (
            r#"sha1("hello world")"#,
            json!("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
        ),
        (
            r#"sha256("hello world")"#,
            json!("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
        ),
        (
            r#"sha512("hello world")"#,
            json!(
                "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"
            ),
        ),
        (
            r#"base64sha256("hello world")"#,
            json!("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
        ),
        (
            r#"uuidv5("dns", "www.terraform.io")"#,
            json!("a5008fae-b28c-5ba5-96cd-82b4c53552d6"),
        ),
        (
            r#"uuidv5("url", "https://www.terraform.io/")"#,
            json!("9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5"),
        ),
        (
            r#"uuidv5("oid", "1.3.6.1.4")"#,
            json!("af9d40a5-7a36-5c07-b23a-851cd99fbfa5"),
        ),
        (
            r#"uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")"#,
            json!("a5008fae-b28c-5ba5-96cd-82b4c53552d6"),
        ),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src), Ok(want), "{src}");
    }
}

#[test]
fn uuidv4_and_timestamp_have_the_right_shape() {
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    let a = eval("uuidv4()").unwrap();
    let b = eval("uuidv4()").unwrap();
    assert!(re.is_match(a.as_str().unwrap()), "{a}");
    assert_ne!(a, b);
    let ts = eval("timestamp()").unwrap();
    let ts = ts.as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
    assert!(ts.ends_with('Z'));
}

#[test]
fn documented_time_examples() {
    let cases = [
        (
            r#"formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")"#,
            json!("02 Jan 2018 23:12 UTC"),
        ),
        (
            r#"formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")"#,
            json!("Tuesday, 02-Jan-18 23:12:01 UTC"),
        ),
        (
            r#"formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")"#,
            json!("Tue, 02 Jan 2018 23:12:01 -0800"),
        ),
        (
            r#"formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")"#,
            json!("Jan 02, 2018"),
        ),
        (
            r#"formatdate("HH:mmaa", "2018-01-02T23:12:01Z")"#,
            json!("11:12pm"),
        ),
        (
            r#"formatdate("h'h'mm", "2018-01-02T23:12:01-08:00")"#,
            json!("23h12"),
        ),
        (
            r#"timeadd("2017-11-22T00:00:00Z", "10m")"#,
            json!("2017-11-22T00:10:00Z"),
        ),
        (
            r#"timeadd("2017-11-22T00:00:00Z", "-1h")"#,
            json!("2017-11-21T23:00:00Z"),
        ),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src), Ok(want), "{src}");
    }
    assert!(
        eval(r#"timeadd("yesterday", "1h")"#)
            .unwrap_err()
            .contains("RFC 3339")
    );
}

#[test]
fn files_are_read_relative_to_the_jobspec() {
    let text = eval(r#"file("data/greeting.txt")"#).unwrap();
    assert_eq!(text, json!("hello from a file\n"));
    assert_eq!(eval(r#"fileexists("data/greeting.txt")"#), Ok(json!(true)));
    assert_eq!(eval(r#"fileexists("data/none.txt")"#), Ok(json!(false)));
    let err = eval(r#"file("data/none.txt")"#).unwrap_err();
    assert!(
        err.contains("file(): cannot read") && err.contains("none.txt"),
        "{err}"
    );
    assert!(
        eval(r#"file("data")"#)
            .unwrap_err()
            .contains("not a regular file")
    );
    assert_eq!(eval(r#"dirname("foo/bar/baz.txt")"#), Ok(json!("foo/bar")));
    assert_eq!(eval(r#"basename("foo/bar/baz.txt")"#), Ok(json!("baz.txt")));
    assert!(
        eval(r#"abspath("x")"#)
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with('/')
    );
}

#[test]
fn every_function_is_listed() {
    let names = super::names();
    assert!(names.len() > 80, "{}", names.len());
    for name in [
        "format",
        "regex_replace",
        "yamlencode",
        "file",
        "uuidv5",
        "formatdate",
        "try",
    ] {
        assert!(names.contains(&name), "{name}");
    }
}
