//! What an expression refers to: whether it names runtime values (and so must be left for
//! the client), and which locals it needs (to order locals and find cycles).

use hcl_edit::expr::{Expression, ForExpr, TraversalOperator};
use hcl_edit::template::ForTemplateExpr;
use hcl_edit::visit::{self, Visit};

/// Collects root variable names that are neither `var`, `local` nor bound by a `for`.
#[derive(Default)]
struct Roots {
    bound: Vec<String>,
    free: Vec<String>,
    locals: Vec<(String, usize)>,
}

impl Visit for Roots {
    fn visit_expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Variable(v) => self.root(v.as_str()),
            Expression::Traversal(t) => {
                if let Expression::Variable(v) = &t.expr
                    && v.as_str() == "local"
                    && !self.bound.iter().any(|b| b == "local")
                    && let Some(TraversalOperator::GetAttr(name)) =
                        t.operators.first().map(|op| op.value())
                {
                    let at = hcl_edit::Span::span(t).map_or(0, |s| s.start);
                    self.locals.push((name.as_str().to_string(), at));
                }
                visit::visit_traversal(self, t);
            }
            _ => visit::visit_expr(self, expr),
        }
    }

    fn visit_for_expr(&mut self, node: &ForExpr) {
        self.visit_expr(&node.intro.collection_expr);
        let depth = self.bound.len();
        self.bound.push(node.intro.value_var.as_str().to_string());
        if let Some(k) = &node.intro.key_var {
            self.bound.push(k.as_str().to_string());
        }
        if let Some(k) = &node.key_expr {
            self.visit_expr(k);
        }
        self.visit_expr(&node.value_expr);
        if let Some(c) = &node.cond {
            self.visit_expr(&c.expr);
        }
        self.bound.truncate(depth);
    }

    fn visit_for_template_expr(&mut self, node: &ForTemplateExpr) {
        self.visit_expr(&node.collection_expr);
        let depth = self.bound.len();
        self.bound.push(node.value_var.as_str().to_string());
        if let Some(k) = &node.key_var {
            self.bound.push(k.as_str().to_string());
        }
        self.visit_template(&node.template);
        self.bound.truncate(depth);
    }
}

impl Roots {
    fn root(&mut self, name: &str) {
        if name != "var" && name != "local" && !self.bound.iter().any(|b| b == name) {
            self.free.push(name.to_string());
        }
    }
}

/// Whether `expr` names something only the client knows (any root other than `var`,
/// `local` or a variable in `bound`), so its interpolation must stay verbatim.
pub(crate) fn is_runtime(expr: &Expression, bound: &[String]) -> bool {
    let mut roots = Roots {
        bound: bound.to_vec(),
        ..Roots::default()
    };
    roots.visit_expr(expr);
    !roots.free.is_empty()
}

/// The locals `expr` refers to, with the offset of each reference.
pub(crate) fn locals_used(expr: &Expression) -> Vec<(String, usize)> {
    let mut roots = Roots::default();
    roots.visit_expr(expr);
    roots.locals
}
