//! Typed reads of attribute values, with HCL's (cty's) safe conversions: a number or bool is
//! accepted where a string is expected, and a string holding a number or bool where one is
//! expected. Errors read `expected a number, got string "lots"`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::duration::parse_go_duration;
use crate::value::describe;

fn expected(what: &str, value: &Value) -> String {
    format!("expected {what}, got {}", describe(value))
}

/// A string (numbers and bools are converted, as HCL does).
pub(crate) fn string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(expected("a string", other)),
    }
}

/// A whole number.
pub(crate) fn int(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.is_u64() {
                Err(format!("{n} is too large"))
            } else {
                Err(expected("a whole number", value))
            }
        }
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| expected("a number", value)),
        other => Err(expected("a number", other)),
    }
}

/// A whole number within `min..=max` (for fields narrower than i64, such as ports).
pub(crate) fn int_in(value: &Value, min: i64, max: i64) -> Result<i64, String> {
    let n = int(value)?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between {min} and {max}, got {n}"))
    }
}

/// A bool (`"true"`/`"false"` strings are converted).
pub(crate) fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(expected("a bool", other)),
    }
}

/// A Go duration string (`"30s"`, `"1h30m"`) in nanoseconds.
pub(crate) fn duration(value: &Value) -> Result<i64, String> {
    match value {
        Value::String(s) => {
            parse_go_duration(s.trim()).map_err(|why| format!("invalid duration {s:?}: {why}"))
        }
        other => Err(expected("a duration string such as \"30s\"", other)),
    }
}

/// A list of strings.
pub(crate) fn string_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(item).map_err(|e| format!("element {}: {e}", i + 1)))
            .collect(),
        other => Err(expected("a list of strings", other)),
    }
}

/// A map of strings (`{ KEY = "value" }`).
pub(crate) fn string_map(value: &Value) -> Result<BTreeMap<String, String>, String> {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), string(v).map_err(|e| format!("{k}: {e}"))?)))
            .collect(),
        other => Err(expected("a map of strings", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversions_follow_hcl() {
        assert_eq!(string(&json!(5)), Ok("5".to_string()));
        assert_eq!(int(&json!("256")), Ok(256));
        assert_eq!(
            int(&json!("lots")),
            Err("expected a number, got string \"lots\"".to_string())
        );
        assert!(int(&json!(1.5)).unwrap_err().contains("whole number"));
        assert!(int(&json!(u64::MAX)).unwrap_err().contains("too large"));
        assert_eq!(boolean(&json!("true")), Ok(true));
        assert!(boolean(&json!(1)).is_err());
        assert_eq!(duration(&json!("1m")), Ok(60_000_000_000));
        assert!(
            duration(&json!(30))
                .unwrap_err()
                .contains("duration string")
        );
        assert!(duration(&json!("1d")).unwrap_err().contains("unknown unit"));
        assert_eq!(
            string_list(&json!(["a", 1])),
            Ok(vec!["a".into(), "1".into()])
        );
        assert!(
            string_list(&json!([["a"]]))
                .unwrap_err()
                .starts_with("element 1")
        );
        assert!(
            string_map(&json!({"A": {"b": 1}}))
                .unwrap_err()
                .starts_with("A:")
        );
        assert!(int_in(&json!(70000), 0, 65535).is_err());
    }
}
