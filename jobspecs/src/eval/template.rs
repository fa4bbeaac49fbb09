//! String templates: interpolations and `%{ if }` / `%{ for }` directives that refer only to
//! jobspec-time values are evaluated; those naming runtime values are copied verbatim.

use hcl_edit::Span;
use hcl_edit::template::{Directive, Element, Template};
use serde_json::Value;

use super::expr::iterate;
use super::refs::is_runtime;
use super::{EvalError, Evaluator};
use crate::value::describe;

impl Evaluator<'_> {
    /// A template's value: a lone jobspec-time interpolation (`"${var.list}"`) keeps its type,
    /// as in HCL; anything else is a string.
    pub(crate) fn template_value(&mut self, template: &Template) -> Result<Value, EvalError> {
        if let Some(Element::Interpolation(interp)) = template.as_single_element()
            && !is_runtime(&interp.expr, &self.bound_names())
        {
            return self.eval(&interp.expr);
        }
        let mut out = String::new();
        self.render(template, &mut out)?;
        Ok(Value::String(out))
    }

    fn bound_names(&self) -> Vec<String> {
        self.bound.iter().map(|(n, _)| n.clone()).collect()
    }

    fn raw(&self, element: &Element) -> String {
        match element.span().and_then(|span| self.text.get(span)) {
            Some(raw) => raw.to_string(),
            // Elements built by the parser always carry spans; re-encode otherwise.
            None => Template::from_iter([element.clone()]).to_string(),
        }
    }

    fn render(&mut self, template: &Template, out: &mut String) -> Result<(), EvalError> {
        let mut strip_next = false;
        for element in template.iter() {
            match element {
                Element::Literal(literal) => {
                    let text = literal.value().as_str();
                    out.push_str(if strip_next { text.trim_start() } else { text });
                    strip_next = false;
                }
                Element::Interpolation(interp) => {
                    if interp.strip.strip_start() {
                        trim_end(out);
                    }
                    if is_runtime(&interp.expr, &self.bound_names()) {
                        out.push_str(&self.raw(element));
                    } else {
                        let value = self.eval(&interp.expr)?;
                        let at = interp.expr.span().map(|s| s.start);
                        out.push_str(&stringify(&value).map_err(|e| EvalError::at(at, e))?);
                    }
                    strip_next = interp.strip.strip_end();
                }
                Element::Directive(directive) => {
                    strip_next = self.directive(directive, element, out)?;
                }
            }
        }
        Ok(())
    }

    /// Renders a directive; returns whether the following literal loses its leading spaces.
    fn directive(
        &mut self,
        directive: &Directive,
        element: &Element,
        out: &mut String,
    ) -> Result<bool, EvalError> {
        let bound = self.bound_names();
        match directive {
            Directive::If(d) => {
                if is_runtime(&d.if_expr.cond_expr, &bound) {
                    out.push_str(&self.raw(element));
                    return Ok(false);
                }
                if d.if_expr.strip.strip_start() {
                    trim_end(out);
                }
                let chosen = match self.eval(&d.if_expr.cond_expr)? {
                    Value::Bool(true) => Some((&d.if_expr.template, d.if_expr.strip)),
                    Value::Bool(false) => d.else_expr.as_ref().map(|e| (&e.template, e.strip)),
                    other => {
                        return Err(EvalError::at(
                            d.if_expr.cond_expr.span().map(|s| s.start),
                            format!(
                                "an %{{ if }} condition must be a bool, got {}",
                                describe(&other)
                            ),
                        ));
                    }
                };
                if let Some((body, strip)) = chosen {
                    let mut part = String::new();
                    self.render(body, &mut part)?;
                    let part = if strip.strip_end() {
                        part.trim_start()
                    } else {
                        &part
                    };
                    out.push_str(part);
                    if d.endif_expr.strip.strip_start()
                        || d.else_expr.as_ref().is_some_and(|e| e.strip.strip_start())
                    {
                        trim_end(out);
                    }
                }
                Ok(d.endif_expr.strip.strip_end())
            }
            Directive::For(d) => {
                let f = &d.for_expr;
                if is_runtime(&f.collection_expr, &bound) {
                    out.push_str(&self.raw(element));
                    return Ok(false);
                }
                if f.strip.strip_start() {
                    trim_end(out);
                }
                let collection = self.eval(&f.collection_expr)?;
                let pairs = iterate(collection)
                    .map_err(|e| EvalError::at(f.collection_expr.span().map(|s| s.start), e))?;
                for (key, value) in pairs {
                    let mut bindings = vec![(f.value_var.as_str().to_string(), value)];
                    if let Some(k) = &f.key_var {
                        bindings.push((k.as_str().to_string(), key));
                    }
                    let mut part = String::new();
                    self.with_bound(bindings, |this| this.render(&f.template, &mut part))?;
                    let mut part = if f.strip.strip_end() {
                        part.trim_start().to_string()
                    } else {
                        part
                    };
                    if d.endfor_expr.strip.strip_start() {
                        trim_end(&mut part);
                    }
                    out.push_str(&part);
                }
                Ok(d.endfor_expr.strip.strip_end())
            }
        }
    }
}

/// Removes up to `indent` leading spaces from the lines inside directives of a `<<-`
/// heredoc (the parser dedents only the lines outside directives).
pub(crate) fn dedent_directives(template: &mut Template, indent: usize) {
    for element in template.iter_mut() {
        let Element::Directive(directive) = element else {
            continue;
        };
        let bodies: Vec<&mut Template> = match directive.as_mut() {
            Directive::If(d) => {
                let mut v = vec![&mut d.if_expr.template];
                if let Some(e) = d.else_expr.as_mut() {
                    v.push(&mut e.template);
                }
                v
            }
            Directive::For(d) => vec![&mut d.for_expr.template],
        };
        for body in bodies {
            for inner in body.iter_mut() {
                if let Element::Literal(literal) = inner {
                    let text = literal.value().clone();
                    let mut lines = text.split('\n');
                    let mut out = lines.next().unwrap_or_default().to_string();
                    for line in lines {
                        out.push('\n');
                        let spaces = line.len() - line.trim_start_matches(' ').len();
                        out.push_str(&line[spaces.min(indent)..]);
                    }
                    *literal.as_mut() = out;
                }
            }
            dedent_directives(body, indent);
        }
    }
}

fn trim_end(out: &mut String) {
    let keep = out.trim_end().len();
    out.truncate(keep);
}

/// A value as interpolated into a string.
pub(crate) fn stringify(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("cannot interpolate null into a string".to_string()),
        other => Err(format!(
            "cannot interpolate a {} into a string (use jsonencode() or join())",
            describe(other)
        )),
    }
}
