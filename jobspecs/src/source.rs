//! The jobspec text and its file name: byte offsets to 1-based line:column, and HCL syntax
//! errors turned into [`Diagnostic`]s.

use crate::error::Diagnostic;

/// How many lines after a syntax error we look for the quote that was never closed.
const UNTERMINATED_SCAN_LINES: usize = 20;

/// A jobspec being parsed.
pub(crate) struct Source<'a> {
    file: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file,
            text,
            line_starts,
        }
    }

    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }

    /// A diagnostic at a byte offset.
    pub(crate) fn diagnostic(&self, offset: usize, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.position(offset);
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A diagnostic for an HCL syntax error. A string that is never closed is reported at its
    /// opening quote (the parser itself only points at the start of the attribute).
    pub(crate) fn syntax_error(&self, err: &hcl_edit::parser::Error) -> Diagnostic {
        let location = err.location();
        if let Some(quote) = self.unterminated_string_after(location.offset()) {
            return self.diagnostic(
                quote,
                "syntax error: unterminated string (missing closing `\"`)",
            );
        }
        Diagnostic {
            file: self.file.to_string(),
            line: location.line(),
            column: location.column(),
            message: format!("syntax error: {}", err.message()),
        }
    }

    /// The offset of a `"` that opens a string not closed on its own line, on the error's line
    /// or a few lines after it (quoted strings can't span lines in HCL).
    fn unterminated_string_after(&self, offset: usize) -> Option<usize> {
        let offset = offset.min(self.text.len());
        let line_start = self.text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
        let mut start = line_start;
        for _ in 0..UNTERMINATED_SCAN_LINES {
            let rest = self.text.get(start..)?;
            let line = rest.split('\n').next().unwrap_or_default();
            match scan_line(line) {
                LineScan::Unterminated(at) => return Some(start + at),
                LineScan::Heredoc => return None,
                LineScan::Clean => {}
            }
            if line.len() == rest.len() {
                return None;
            }
            start += line.len() + 1;
        }
        None
    }
}

enum LineScan {
    Clean,
    Heredoc,
    Unterminated(usize),
}

/// Scans one line for a string left open at its end, skipping comments, escapes and `${...}`
/// interpolations (with their own nested strings) inside strings.
fn scan_line(line: &str) -> LineScan {
    let bytes = line.as_bytes();
    // Each entry is an open string (its quote's offset) or an interpolation (`None`).
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let in_string = matches!(stack.last(), Some(Some(_)));
        match (bytes[i], in_string) {
            (b'\\', true) => i += 1,
            (b'"', true) => {
                stack.pop();
            }
            (b'$' | b'%', true) if bytes.get(i + 1) == Some(&b'{') => {
                stack.push(None);
                i += 1;
            }
            (b'"', false) => stack.push(Some(i)),
            (b'}', false) if !stack.is_empty() => {
                stack.pop();
            }
            (b'#', false) if stack.is_empty() => break,
            (b'/', false) if stack.is_empty() && bytes.get(i + 1) == Some(&b'/') => break,
            (b'<', false) if stack.is_empty() && bytes.get(i + 1) == Some(&b'<') => {
                return LineScan::Heredoc;
            }
            _ => {}
        }
        i += 1;
    }
    match stack.into_iter().flatten().next() {
        Some(quote) => LineScan::Unterminated(quote),
        None => LineScan::Clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = Source::new("f.hcl", "ab\nçd = 1\n");
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(2), (1, 3));
        assert_eq!(src.position(3), (2, 1));
        // 'ç' is two bytes but one column.
        assert_eq!(src.position(5), (2, 2));
        assert_eq!(src.position(1000), (3, 1));
    }

    #[test]
    fn scan_finds_unterminated_strings() {
        assert!(matches!(
            scan_line(r#"a = "abc"#),
            LineScan::Unterminated(4)
        ));
        assert!(matches!(scan_line(r#"a = "a\"b" # "x"#), LineScan::Clean));
        assert!(matches!(scan_line(r#"a = "${f("x")}""#), LineScan::Clean));
        assert!(matches!(
            scan_line(r#"a = "${f("x")}"#),
            LineScan::Unterminated(4)
        ));
        assert!(matches!(scan_line("a = <<EOF"), LineScan::Heredoc));
    }
}
