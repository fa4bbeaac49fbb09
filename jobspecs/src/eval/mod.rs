//! Jobspec-time evaluation of HCL expressions into JSON values.
//!
//! ```text
//!   variable/locals blocks + -var/-var-file/NOMAD_VAR_* ──vars.rs──> Context { var, local }
//!   attribute expression ──expr.rs──> Value        (traversals, splats, for, conditionals)
//!                         template.rs              (interpolations, %{ if } / %{ for })
//!                         funcs/                   (Nomad's HCL2 function library)
//! ```
//!
//! Runtime interpolation stays verbatim for the client: an interpolation or template
//! directive that names anything other than `var.*`, `local.*`, a function or a `for`
//! variable (`${NOMAD_ALLOC_ID}`, `${attr.kernel.name}`, `${meta.rack}`) is copied from the
//! source as written. Errors carry the byte offset of the sub-expression at fault when known.

mod expr;
pub(crate) mod funcs;
mod locals;
mod refs;
mod template;
pub(crate) mod types;
mod var_files;
pub(crate) mod vars;

#[cfg(test)]
mod expr_tests;

use std::path::PathBuf;

use hcl_edit::expr::Expression;
use serde_json::{Map, Value};

/// An evaluation problem: what is wrong and, when known, the byte offset it points at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalError {
    pub offset: Option<usize>,
    pub message: String,
}

impl EvalError {
    pub(crate) fn at(offset: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

impl From<String> for EvalError {
    fn from(message: String) -> Self {
        Self {
            offset: None,
            message,
        }
    }
}

/// What expressions can refer to: the variables' final values, the locals computed so far
/// and the directory `file()` paths are relative to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Context {
    pub vars: Map<String, Value>,
    pub locals: Map<String, Value>,
    pub base_dir: PathBuf,
}

impl Context {
    /// Evaluates `expr` (from the source `text`) in this context.
    pub(crate) fn evaluate(&self, expr: &Expression, text: &str) -> Result<Value, EvalError> {
        Evaluator::new(self, text).eval(expr)
    }
}

/// One evaluation: the context, the source text and the `for` variables in scope.
pub(crate) struct Evaluator<'a> {
    ctx: &'a Context,
    text: &'a str,
    bound: Vec<(String, Value)>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(ctx: &'a Context, text: &'a str) -> Self {
        Self {
            ctx,
            text,
            bound: Vec::new(),
        }
    }

    fn lookup_bound(&self, name: &str) -> Option<&Value> {
        self.bound
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Runs `f` with `names` bound to `values` (a `for` iteration).
    fn with_bound<T>(
        &mut self,
        bindings: Vec<(String, Value)>,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let depth = self.bound.len();
        self.bound.extend(bindings);
        let out = f(self);
        self.bound.truncate(depth);
        out
    }
}

/// Evaluates `src` as one attribute's value with a few variables and locals set (tests).
#[cfg(test)]
pub(crate) fn eval_for_test(src: &str) -> Result<Value, String> {
    let text = format!("a = {src}\n");
    let body = hcl_edit::parser::parse_body(&text).map_err(|e| e.to_string())?;
    let attr = body.get_attribute("a").ok_or("no attribute")?;
    let mut ctx = Context {
        base_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good"),
        ..Context::default()
    };
    let vars = serde_json::json!({
        "name": "web", "count": 3, "tags": ["a", "b"],
        "servers": [{"name": "s1", "port": 80}, {"name": "s2", "port": 81}],
        "env": {"A": "1", "B": "2"}
    });
    if let Value::Object(map) = vars {
        ctx.vars = map;
    }
    ctx.locals
        .insert("prefix".into(), Value::String("pre".into()));
    ctx.evaluate(&attr.value, &text).map_err(|e| e.message)
}
