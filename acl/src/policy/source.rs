//! Byte offsets to 1-based line:column, and positions of HCL structures.

use hcl_edit::Span;
use hcl_edit::structure::{Attribute, Block};

use super::PolicyError;

/// The policy text, indexed by line.
pub(super) struct Source<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }

    /// An error at a byte offset.
    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> PolicyError {
        let (line, col) = self.position(offset);
        PolicyError {
            line,
            col,
            message: message.into(),
        }
    }
}

/// An HCL syntax error, positioned where the parser stopped.
pub(super) fn syntax_error(err: &hcl_edit::parser::Error) -> PolicyError {
    let location = err.location();
    PolicyError {
        line: location.line(),
        col: location.column(),
        message: format!("syntax error: {}", err.message()),
    }
}

/// Where an attribute starts.
pub(super) fn attr_offset(attr: &Attribute) -> usize {
    attr.span()
        .or_else(|| attr.key.span())
        .map_or(0, |span| span.start)
}

/// Where a block starts (its identifier).
pub(super) fn block_offset(block: &Block) -> usize {
    block
        .ident
        .span()
        .or_else(|| block.span())
        .map_or(0, |span| span.start)
}
