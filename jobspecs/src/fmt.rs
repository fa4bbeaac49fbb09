//! Canonical HCL formatting with comments kept (`nomadish fmt`).
//!
//! The text is parsed with hcl-edit, then written back structure by structure:
//! two-space indentation per block level, `=` aligned within a run of attributes on
//! consecutive lines (as `terraform fmt` does), at most one blank line kept between
//! structures, none right after `{` or before `}`, one space before a trailing comment.
//! Values are written as they were; the continuation lines of a multi-line value (an array,
//! an object) move by as many columns as its attribute did, and values holding a heredoc are
//! not touched at all, so formatting never changes what the file means.

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, BlockLabel, Body, Structure};
use hcl_edit::{Decorate, Span};

use crate::source::Source;

/// A UTF-8 byte order mark, which some editors put at the start of files.
const BOM: char = '\u{feff}';

/// Formats HCL text canonically. `filename` only labels a syntax error
/// (`FILE:LINE:COL: what is wrong`).
pub fn format(src: &str, filename: &str) -> Result<String, String> {
    let text = src.strip_prefix(BOM).unwrap_or(src);
    let source = Source::new(filename, text);
    let body =
        hcl_edit::parser::parse_body(text).map_err(|err| source.syntax_error(&err).to_string())?;
    let mut out = String::new();
    write_body(&mut out, &body, text, 0);
    let trimmed = out.trim_end_matches(['\n', ' ']);
    let mut result = trimmed.trim_start_matches('\n').to_string();
    if !result.is_empty() {
        result.push('\n');
    }
    Ok(result)
}

/// One piece of the whitespace/comments before a structure.
enum Trivia {
    /// A comment, its text as written (without the line ending).
    Comment(String),
    /// An empty line.
    Blank,
}

/// Splits the text between structures into comments and blank lines. `text` starts at
/// the beginning of a line.
fn trivia(text: &str) -> Vec<Trivia> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut line_has_content = false;
    while let Some(c) = rest.chars().next() {
        if c == '\n' {
            if !line_has_content {
                items.push(Trivia::Blank);
            }
            line_has_content = false;
            rest = &rest[1..];
        } else if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if rest.starts_with("/*") {
            let end = rest[2..].find("*/").map_or(rest.len(), |i| i + 4);
            items.push(Trivia::Comment(rest[..end].to_string()));
            line_has_content = true;
            rest = &rest[end..];
        } else {
            // `#` or `//` up to the end of the line.
            let end = rest.find('\n').unwrap_or(rest.len());
            items.push(Trivia::Comment(rest[..end].trim_end().to_string()));
            line_has_content = true;
            rest = &rest[end..];
        }
    }
    items
}

/// Writes comments and at most one blank line from `text` at `indent`.
/// `leading` drops blank lines that would come before anything else; `trailing` keeps a
/// blank line after the last comment.
fn write_trivia(out: &mut String, text: &str, indent: usize, leading: bool, trailing: bool) {
    let mut blank_pending = false;
    let mut first = leading;
    for item in trivia(text) {
        match item {
            Trivia::Blank => blank_pending = !first,
            Trivia::Comment(comment) => {
                if blank_pending {
                    out.push('\n');
                    blank_pending = false;
                }
                push_indent(out, indent);
                out.push_str(&comment);
                out.push('\n');
                first = false;
            }
        }
    }
    if blank_pending && trailing {
        out.push('\n');
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n("  ", indent));
}

/// The trailing comment of a structure's line, if any, as written.
fn trailing_comment(structure: &Structure) -> Option<String> {
    let suffix = structure.decor().suffix()?.trim();
    (!suffix.is_empty()).then(|| suffix.to_string())
}

/// An expression as written, without the whitespace around it.
fn expr_text(expr: &Expression) -> String {
    let mut expr = expr.clone();
    expr.decor_mut().clear();
    expr.to_string()
}

/// A block label exactly as written in the source.
fn label_text(label: &BlockLabel, src: &str) -> String {
    match label {
        BlockLabel::Ident(ident) => ident.as_str().to_string(),
        BlockLabel::String(string) => string
            .span()
            .and_then(|span| src.get(span))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:?}", string.as_str())),
    }
}

fn write_body(out: &mut String, body: &Body, src: &str, indent: usize) {
    let structures: Vec<&Structure> = body.iter().collect();
    // Key widths for `=` alignment: a run ends at a blank line, a comment line, a block or
    // an attribute whose value spans several lines (which is not aligned itself).
    let mut widths = vec![0usize; structures.len()];
    let mut run_start = 0;
    for i in 0..=structures.len() {
        let breaks_before = i == structures.len()
            || is_multi_line_or_block(structures[i])
            || structures[i]
                .decor()
                .prefix()
                .map(|p| &**p)
                .is_some_and(|p| !trivia(p).is_empty());
        let ends_after = i < structures.len() && is_multi_line_or_block(structures[i]);
        if breaks_before {
            close_run(&structures, &mut widths, run_start, i);
            run_start = i;
        }
        if ends_after {
            close_run(&structures, &mut widths, run_start, i + 1);
            run_start = i + 1;
        }
    }
    for (i, structure) in structures.iter().enumerate() {
        let prefix = structure.decor().prefix().map(|p| &**p).unwrap_or("");
        write_trivia(out, prefix, indent, i == 0, true);
        push_indent(out, indent);
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                out.push_str(key);
                out.extend(std::iter::repeat_n(
                    ' ',
                    widths[i].saturating_sub(key.len()),
                ));
                out.push_str(" = ");
                let mut text = expr_text(&attr.value);
                // A heredoc is kept as written: re-encoding a dedented `<<-` heredoc with
                // template directives would re-indent the lines inside the directives.
                if text.contains("<<")
                    && let Some(raw) = attr.value.span().and_then(|span| src.get(span))
                {
                    text = raw.trim_end().to_string();
                }
                let old_column = structure.span().map_or(0, |span| column(src, span.start));
                out.push_str(&shift_lines(&text, old_column, indent * 2));
            }
            Structure::Block(block) => write_block(out, block, src, indent),
        }
        if let Some(comment) = trailing_comment(structure) {
            out.push(' ');
            out.push_str(&comment);
        }
        out.push('\n');
    }
    let suffix = body.decor().suffix().map(|s| &**s).unwrap_or("");
    // Comments before the closing brace (or at the end of the file); no blank line
    // directly before `}`.
    write_trivia(out, suffix, indent, structures.is_empty(), false);
}

/// The column (0-based, in bytes) of `offset` in `src`.
fn column(src: &str, offset: usize) -> usize {
    let before = src.get(..offset).unwrap_or("");
    offset - before.rfind('\n').map_or(0, |i| i + 1)
}

/// Moves the continuation lines of a multi-line value along with its attribute, which moved
/// from column `from` to column `to`. Values holding a heredoc are left as written: their
/// lines are content.
fn shift_lines(text: &str, from: usize, to: usize) -> String {
    if !text.contains('\n') || text.contains("<<") || from == to {
        return text.to_string();
    }
    let mut lines = text.split('\n');
    let mut out = lines.next().unwrap_or("").to_string();
    for line in lines {
        out.push('\n');
        if line.trim().is_empty() {
            continue;
        }
        if to > from {
            out.extend(std::iter::repeat_n(' ', to - from));
            out.push_str(line);
        } else {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            out.push_str(&line[spaces.min(from - to)..]);
        }
    }
    out
}

/// Whether a one-line block body holds a comment anywhere between its braces.
fn oneline_has_comment(body: &Body) -> bool {
    let has_text = |raw: Option<&hcl_edit::RawString>| raw.is_some_and(|r| !r.trim().is_empty());
    let decor_text = |decor: &hcl_edit::Decor| has_text(decor.prefix()) || has_text(decor.suffix());
    decor_text(body.decor())
        || body.iter().any(|structure| {
            decor_text(structure.decor())
                || match structure {
                    Structure::Attribute(attr) => {
                        decor_text(attr.key.decor()) || decor_text(attr.value.decor())
                    }
                    Structure::Block(_) => false,
                }
        })
}

/// Whether `structure` stands outside `=` alignment runs.
fn is_multi_line_or_block(structure: &Structure) -> bool {
    match structure {
        Structure::Attribute(attr) => expr_text(&attr.value).contains('\n'),
        Structure::Block(_) => true,
    }
}

/// Sets the alignment width of the attributes in `structures[start..end]`.
fn close_run(structures: &[&Structure], widths: &mut [usize], start: usize, end: usize) {
    let width = structures[start..end]
        .iter()
        .filter_map(|s| match s {
            Structure::Attribute(attr) => Some(attr.key.as_str().len()),
            Structure::Block(_) => None,
        })
        .max()
        .unwrap_or(0);
    for w in &mut widths[start..end] {
        *w = width;
    }
}

fn write_block(out: &mut String, block: &Block, src: &str, indent: usize) {
    // A comment inside a one-line block keeps the block as written.
    if block.body.prefer_oneline()
        && oneline_has_comment(&block.body)
        && let Some(original) = block.span().and_then(|span| src.get(span))
    {
        out.push_str(original);
        return;
    }
    out.push_str(block.ident.as_str());
    for label in &block.labels {
        out.push(' ');
        out.push_str(&label_text(label, src));
    }
    let body = &block.body;
    if body.prefer_oneline() {
        match body.iter().next() {
            Some(Structure::Attribute(attr)) => {
                out.push_str(" { ");
                out.push_str(attr.key.as_str());
                out.push_str(" = ");
                out.push_str(&expr_text(&attr.value));
                out.push_str(" }");
            }
            _ => out.push_str(" {}"),
        }
        return;
    }
    out.push_str(" {");
    // A comment right after `{` stays on that line.
    if let Some(comment) = body
        .decor()
        .prefix()
        .map(|p| &**p)
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        out.push(' ');
        out.push_str(comment);
    }
    out.push('\n');
    write_body(out, body, src, indent + 1);
    push_indent(out, indent);
    out.push('}');
}

#[cfg(test)]
#[path = "fmt_tests.rs"]
mod tests;
