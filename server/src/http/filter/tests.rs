//! Filter expressions in the style of Nomad's "Filtering" documentation, over JSON entries
//! shaped as the API returns them.

use serde_json::{Value, json};

use super::{Filter, FilterError};

fn job() -> Value {
    json!({
        "ID": "example",
        "Name": "example",
        "Namespace": "default",
        "Type": "service",
        "Status": "running",
        "Priority": 50,
        "Stop": false,
        "Datacenters": ["dc1", "dc2"],
        "Meta": {"env": "prod", "team": "web"},
        "ParentID": "",
        "TaskGroups": [{"Name": "cache", "Count": 3}],
        "JobSummary": {"Summary": {"cache": {"Running": 3, "Failed": 0}}},
        "Periodic": null
    })
}

fn eval(expr: &str) -> Result<bool, FilterError> {
    Filter::parse(expr)?.matches(&job())
}

fn yes(expr: &str) {
    assert_eq!(eval(expr), Ok(true), "{expr} should match");
}

fn no(expr: &str) {
    assert_eq!(eval(expr), Ok(false), "{expr} should not match");
}

#[test]
fn equality_and_inequality() {
    yes(r#"Status == "running""#);
    no(r#"Status == "dead""#);
    yes(r#"Status != "dead""#);
    yes("Status == `running`");
    yes(r#"Meta.env == "prod""#);
    yes(r#"Meta["env"] == "prod""#);
    yes(r#"JobSummary.Summary.cache.Running == 3"#);
    yes(r#"Priority == "50""#);
    yes("Priority != 49");
}

#[test]
fn booleans_and_numbers_are_coerced_to_the_field_type() {
    yes("Stop == false");
    yes("Stop == F");
    yes("Stop != true");
    no("Stop == 1");
    assert!(matches!(
        eval("Stop == maybe"),
        Err(FilterError::Evaluate(_))
    ));
    assert!(matches!(
        eval(r#"Priority == "high""#),
        Err(FilterError::Evaluate(_))
    ));
}

#[test]
fn membership_in_lists_maps_and_strings() {
    yes(r#""dc1" in Datacenters"#);
    yes(r#""dc3" not in Datacenters"#);
    yes(r#"Datacenters contains "dc2""#);
    yes(r#"Datacenters not contains "dc9""#);
    yes(r#""env" in Meta"#);
    no(r#""owner" in Meta"#);
    yes(r#""unn" in Status"#);
    yes(r#"Name contains "amp""#);
    yes("dc1 in Datacenters");
    yes("TaskGroups.0.Name == cache");
}

#[test]
fn emptiness() {
    yes("ParentID is empty");
    yes("Meta is not empty");
    yes("Periodic is empty");
    no("Datacenters is empty");
}

#[test]
fn regular_expressions() {
    yes(r#"Name matches "^ex.*le$""#);
    yes(r#"Name not matches "^web""#);
    yes("Meta.team matches `w[a-z]+`");
}

#[test]
fn boolean_logic_precedence_and_parentheses() {
    yes(r#"Status == "running" and Meta.env == "prod""#);
    no(r#"Status == "dead" and Meta.env == "prod""#);
    yes(r#"Status == "dead" or Meta.env == "prod""#);
    yes(r#"not Status == "dead""#);
    // `and` binds tighter than `or`.
    yes(r#"Status == "running" or Status == "dead" and Type == "batch""#);
    no(r#"(Status == "running" or Status == "dead") and Type == "batch""#);
    yes(r#"not (Type == "batch" or Type == "system")"#);
}

#[test]
fn missing_map_keys_are_not_present_not_errors() {
    no(r#"Meta.owner == "me""#);
    yes(r#"Meta.owner != "me""#);
    yes("Meta.owner is empty");
    no("Meta.owner is not empty");
    no(r#"Meta.owner matches ".*""#);
}

#[test]
fn unknown_top_level_fields_are_errors() {
    let err = eval(r#"Colour == "red""#).expect_err("unknown field");
    assert!(err.to_string().contains("Colour"), "{err}");
}

#[test]
fn syntax_errors_name_their_position() {
    let cases = [
        (r#"Status = "running""#, 7),
        (r#"Status == "running" and"#, 23),
        (r#"(Status == "running""#, 20),
        (r#"Status == "running"#, 10),
        (r#"Status is full"#, 10),
        (r#"Name matches "(""#, 13),
        ("Status == 'running'", 10),
    ];
    for (expr, at) in cases {
        match Filter::parse(expr) {
            Err(FilterError::Syntax { position, .. }) => {
                assert_eq!(position, at, "{expr}")
            }
            other => panic!("{expr}: expected a syntax error, got {other:?}"),
        }
    }
    let msg = Filter::parse("Status ==")
        .expect_err("incomplete")
        .to_string();
    assert!(msg.starts_with("1:10 (9):"), "{msg}");
}
