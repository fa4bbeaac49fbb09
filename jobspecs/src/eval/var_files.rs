//! `-var-file` files: HCL `name = value` attributes (constant expressions, functions
//! allowed) or, for `.json` files, an object of name to value.

use hcl_edit::Span;
use serde_json::Value;

use super::Context;
use crate::error::Diagnostic;
use crate::source::Source;

fn offset_of(item: &impl Span) -> usize {
    item.span().map_or(0, |s| s.start)
}

/// A position in a var file, to attach a message to.
pub(crate) struct At {
    file: String,
    line: usize,
    column: usize,
}

impl At {
    pub(crate) fn with(&self, message: String) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message,
        }
    }
}

/// The `name = value` entries of an HCL (or, for `.json`, JSON) var file.
pub(crate) fn read_var_file(
    path: &std::path::Path,
    consts: &Context,
) -> Result<Vec<(String, Value, At)>, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let whole = |message: String| Diagnostic {
        file: file.clone(),
        line: 1,
        column: 1,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![whole(format!("cannot read the var-file: {e}"))])?;
    if path.extension().is_some_and(|e| e == "json") {
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| vec![whole(format!("invalid JSON var-file: {e}"))])?;
        let Value::Object(map) = value else {
            return Err(vec![whole(
                "a JSON var-file holds an object of name: value".into(),
            )]);
        };
        let source = Source::new(&file, &text);
        return Ok(map
            .into_iter()
            .map(|(k, v)| {
                // The key's first appearance as a JSON string (good enough to point at it).
                let quoted = serde_json::to_string(&k).unwrap_or_default();
                let (line, column) = source.position(text.find(&quoted).unwrap_or(0));
                let at = At {
                    file: file.clone(),
                    line,
                    column,
                };
                (k, v, at)
            })
            .collect());
    }
    let source = Source::new(&file, &text);
    let body = hcl_edit::parser::parse_body(&text).map_err(|e| vec![source.syntax_error(&e)])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for block in body.blocks() {
        errors.push(source.diagnostic(
            offset_of(&block.ident),
            "a var-file holds only name = value attributes",
        ));
    }
    for attr in body.attributes() {
        let at = offset_of(attr);
        match consts.evaluate(&attr.value, &text) {
            Ok(v) => {
                let (line, column) = source.position(at);
                out.push((
                    attr.key.as_str().to_string(),
                    v,
                    At {
                        file: file.clone(),
                        line,
                        column,
                    },
                ));
            }
            Err(e) => errors.push(source.diagnostic(
                e.offset.unwrap_or(at),
                format!("{}: {}", attr.key.as_str(), e.message),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
