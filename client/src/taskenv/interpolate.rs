//! `${...}` interpolation as Nomad does it at runtime: known references are replaced, unknown
//! ones stay exactly as written.

/// Replaces every `${key}` in `s` whose key `lookup` knows; leaves the rest untouched
/// (including an unterminated `${`).
pub fn interpolate(s: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        match lookup(after[..end].trim()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Interpolates every string inside a JSON value (a driver's `config` block).
pub fn interpolate_json(
    value: &serde_json::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(interpolate(s, lookup)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| interpolate_json(v, lookup)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), interpolate_json(v, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(key: &str) -> Option<String> {
        match key {
            "NOMAD_ALLOC_ID" => Some("a1".into()),
            "attr.cpu.arch" => Some("amd64".into()),
            _ => None,
        }
    }

    #[test]
    fn known_references_are_replaced_unknown_kept() {
        assert_eq!(interpolate("id=${NOMAD_ALLOC_ID}", lookup), "id=a1");
        assert_eq!(
            interpolate("${attr.cpu.arch}-${NOPE}-${ NOMAD_ALLOC_ID }", lookup),
            "amd64-${NOPE}-a1"
        );
        assert_eq!(
            interpolate("no refs $HOME {x}", lookup),
            "no refs $HOME {x}"
        );
        assert_eq!(
            interpolate("open ${NOMAD_ALLOC_ID", lookup),
            "open ${NOMAD_ALLOC_ID"
        );
        assert_eq!(interpolate("${}", lookup), "${}");
    }

    #[test]
    fn json_strings_are_interpolated_recursively() {
        let v = serde_json::json!({"command": "/bin/${NOMAD_ALLOC_ID}", "args": ["${attr.cpu.arch}", 3]});
        assert_eq!(
            interpolate_json(&v, &lookup),
            serde_json::json!({"command": "/bin/a1", "args": ["amd64", 3]})
        );
    }
}
