//! The data-free template helpers (consul-template's names and argument order, so the value
//! being piped in comes last): `toJSON`, `toJSONPretty`, `toYAML`, `split`, `join`,
//! `parseInt`, `parseBool`, `parseFloat`, `toLower`, `toUpper`, `trimSpace`, `replaceAll`,
//! `contains`; and conversions between gtmpl values and JSON.

use gtmpl::{Func, FuncError, Value};

/// Every helper by name.
pub const HELPERS: [(&str, Func); 13] = [
    ("toJSON", to_json),
    ("toJSONPretty", to_json_pretty),
    ("toYAML", to_yaml),
    ("split", split),
    ("join", join),
    ("parseInt", parse_int),
    ("parseBool", parse_bool),
    ("parseFloat", parse_float),
    ("toLower", to_lower),
    ("toUpper", to_upper),
    ("trimSpace", trim_space),
    ("replaceAll", replace_all),
    ("contains", contains),
];

fn fail(msg: impl Into<String>) -> FuncError {
    FuncError::Generic(msg.into())
}

fn args<'a, const N: usize>(name: &str, args: &'a [Value]) -> Result<&'a [Value; N], FuncError> {
    args.try_into()
        .map_err(|_| FuncError::ExactlyXArgs(name.to_string(), N))
}

fn string(name: &str, v: &Value) -> Result<String, FuncError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(fail(format!("{name}: expected a string, got {other}"))),
    }
}

/// A gtmpl value as JSON (maps with sorted keys).
pub fn to_serde(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::String(s) => J::String(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        Value::Array(items) => J::Array(items.iter().map(to_serde).collect()),
        Value::Map(m) | Value::Object(m) => {
            J::Object(m.iter().map(|(k, v)| (k.clone(), to_serde(v))).collect())
        }
    }
}

/// JSON as a gtmpl value (objects become maps).
pub fn from_serde(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => Value::String(s.clone()),
        J::Array(items) => Value::Array(items.iter().map(from_serde).collect()),
        J::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect()),
    }
}

fn to_json(a: &[Value]) -> Result<Value, FuncError> {
    let [v] = args::<1>("toJSON", a)?;
    serde_json::to_string(&to_serde(v))
        .map(Value::String)
        .map_err(|e| fail(e.to_string()))
}

fn to_json_pretty(a: &[Value]) -> Result<Value, FuncError> {
    let [v] = args::<1>("toJSONPretty", a)?;
    serde_json::to_string_pretty(&to_serde(v))
        .map(Value::String)
        .map_err(|e| fail(e.to_string()))
}

fn to_yaml(a: &[Value]) -> Result<Value, FuncError> {
    let [v] = args::<1>("toYAML", a)?;
    let mut out = String::new();
    yaml(&to_serde(v), 0, &mut out);
    Ok(Value::String(out.trim_end_matches('\n').to_string()))
}

/// A block-style YAML rendering of JSON (strings quoted when YAML would misread them).
fn yaml(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value as J;
    let pad = " ".repeat(indent);
    match v {
        J::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push_str(&format!("{pad}{}:", yaml_scalar(&J::String(k.clone()))));
                yaml_child(v, indent, out);
            }
        }
        J::Array(items) if !items.is_empty() => {
            for v in items {
                out.push_str(&format!("{pad}-"));
                yaml_child(v, indent, out);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

fn yaml_child(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        J::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

fn yaml_scalar(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "null".to_string(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
                )
                && s.parse::<f64>().is_err()
                && !s.starts_with('-');
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        J::Array(_) => "[]".to_string(),
        J::Object(_) => "{}".to_string(),
    }
}

fn split(a: &[Value]) -> Result<Value, FuncError> {
    let [sep, s] = args::<2>("split", a)?;
    let (sep, s) = (string("split", sep)?, string("split", s)?);
    if s.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(
        s.split(sep.as_str()).map(Value::from).collect(),
    ))
}

fn join(a: &[Value]) -> Result<Value, FuncError> {
    let [sep, list] = args::<2>("join", a)?;
    let sep = string("join", sep)?;
    let Value::Array(items) = list else {
        return Err(fail(format!("join: expected a list, got {list}")));
    };
    let parts: Result<Vec<String>, _> = items.iter().map(|v| string("join", v)).collect();
    Ok(Value::String(parts?.join(&sep)))
}

fn parse_int(a: &[Value]) -> Result<Value, FuncError> {
    let [s] = args::<1>("parseInt", a)?;
    let s = string("parseInt", s)?;
    s.trim()
        .parse::<i64>()
        .map(Value::from)
        .map_err(|e| fail(format!("parseInt: {s:?}: {e}")))
}

fn parse_float(a: &[Value]) -> Result<Value, FuncError> {
    let [s] = args::<1>("parseFloat", a)?;
    let s = string("parseFloat", s)?;
    s.trim()
        .parse::<f64>()
        .map(Value::from)
        .map_err(|e| fail(format!("parseFloat: {s:?}: {e}")))
}

fn parse_bool(a: &[Value]) -> Result<Value, FuncError> {
    let [s] = args::<1>("parseBool", a)?;
    let s = string("parseBool", s)?;
    // Go's strconv.ParseBool.
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
        other => Err(fail(format!("parseBool: invalid syntax {other:?}"))),
    }
}

fn to_lower(a: &[Value]) -> Result<Value, FuncError> {
    let [s] = args::<1>("toLower", a)?;
    Ok(Value::String(string("toLower", s)?.to_lowercase()))
}

fn to_upper(a: &[Value]) -> Result<Value, FuncError> {
    let [s] = args::<1>("toUpper", a)?;
    Ok(Value::String(string("toUpper", s)?.to_uppercase()))
}

fn trim_space(a: &[Value]) -> Result<Value, FuncError> {
    let [s] = args::<1>("trimSpace", a)?;
    Ok(Value::String(string("trimSpace", s)?.trim().to_string()))
}

fn replace_all(a: &[Value]) -> Result<Value, FuncError> {
    let [from, to, s] = args::<3>("replaceAll", a)?;
    let (from, to, s) = (
        string("replaceAll", from)?,
        string("replaceAll", to)?,
        string("replaceAll", s)?,
    );
    Ok(Value::String(s.replace(&from, &to)))
}

/// `contains NEEDLE HAYSTACK`: list membership, or substring when the haystack is a string.
fn contains(a: &[Value]) -> Result<Value, FuncError> {
    let [needle, haystack] = args::<2>("contains", a)?;
    match haystack {
        Value::Array(items) => Ok(Value::Bool(items.contains(needle))),
        Value::Map(m) | Value::Object(m) => {
            Ok(Value::Bool(m.contains_key(&string("contains", needle)?)))
        }
        other => {
            let hay = string("contains", other)?;
            Ok(Value::Bool(hay.contains(&string("contains", needle)?)))
        }
    }
}
