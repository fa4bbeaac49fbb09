//! Encoding functions: base64, JSON, YAML (serde_norway), CSV (csv) and URL encoding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::{Args, Func};

pub(super) const FUNCS: &[(&str, Func)] = &[
    ("base64encode", |a| {
        a.exactly(1)?;
        Ok(Value::String(STANDARD.encode(a.str(0)?)))
    }),
    ("base64decode", |a| {
        a.exactly(1)?;
        let bytes = STANDARD
            .decode(a.str(0)?.trim())
            .map_err(|e| format!("invalid base64: {e}"))?;
        String::from_utf8(bytes)
            .map(Value::String)
            .map_err(|_| "the decoded bytes are not UTF-8".to_string())
    }),
    ("jsonencode", |a| {
        a.exactly(1)?;
        serde_json::to_string(a.get(0)?)
            .map(Value::String)
            .map_err(|e| e.to_string())
    }),
    ("jsondecode", |a| {
        a.exactly(1)?;
        serde_json::from_str(&a.str(0)?).map_err(|e| format!("invalid JSON: {e}"))
    }),
    ("yamlencode", |a| {
        a.exactly(1)?;
        serde_norway::to_string(a.get(0)?)
            .map(Value::String)
            .map_err(|e| e.to_string())
    }),
    ("yamldecode", |a| {
        a.exactly(1)?;
        serde_norway::from_str::<Value>(&a.str(0)?).map_err(|e| format!("invalid YAML: {e}"))
    }),
    ("csvdecode", csvdecode),
    ("urlencode", |a| {
        a.exactly(1)?;
        Ok(Value::String(urlencode(&a.str(0)?)))
    }),
];

/// Query escaping as Go's `url.QueryEscape`: unreserved characters stay, spaces become `+`.
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn csvdecode(args: Args<'_>) -> Result<Value, String> {
    args.exactly(1)?;
    let text = args.str(0)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("invalid CSV: {e}"))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("invalid CSV: {e}"))?;
        let row: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}
