//! Source text and the mapping from byte offsets to 1-based line and column numbers.

use std::ops::Range;

/// Maps byte offsets of one text to 1-based lines and columns (columns count Unicode scalar values).
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset at which each line starts; the first entry is always 0.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Builds the index of `text`. A line ends after `\n`; a `\r` before it belongs to the line.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// 1-based line number containing byte `offset` (offsets past the end map to the last line).
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Byte offset where 1-based `line` starts, if the line exists.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based (line, column) of byte `offset` in `text`; `text` must be the indexed text.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, col)
    }
}

/// A named source text with its line index, as read from disk (or given on the command line).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the working directory where possible).
    pub path: String,
    /// Full text.
    pub text: String,
    /// Line index of `text`.
    pub index: LineIndex,
}

impl SourceFile {
    /// Wraps `text` read from `path`.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let index = LineIndex::new(&text);
        Self {
            path: path.into(),
            text,
            index,
        }
    }

    /// Text of 1-based `line` without its line terminator.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(start) = self.index.line_start(line) else {
            return "";
        };
        let end = self.index.line_start(line + 1).unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// A [`crate::Location`] covering the byte range `span` of this file.
    pub fn location(&self, span: Range<usize>) -> crate::Location {
        let (line, column) = self.index.line_col(&self.text, span.start);
        let (end_line, end_column) = self.index.line_col(&self.text, span.end.max(span.start));
        crate::Location {
            path: self.path.clone(),
            line,
            column,
            end_line,
            end_column,
            span: Some(span),
            object: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let f = SourceFile::new("f", "ab\ncdé\n\nx");
        assert_eq!(f.index.line_col(&f.text, 0), (1, 1));
        assert_eq!(f.index.line_col(&f.text, 3), (2, 1));
        // é is two bytes: the newline after it is column 4 in characters
        assert_eq!(f.index.line_col(&f.text, 5), (2, 3));
        assert_eq!(f.index.line_col(&f.text, 7), (2, 4));
        assert_eq!(f.index.line_col(&f.text, 8), (3, 1));
        assert_eq!(f.index.line_col(&f.text, 9), (4, 1));
        // the end of the text is just past the last character
        assert_eq!(f.index.line_col(&f.text, 10), (4, 2));
        assert_eq!(f.line_text(2), "cdé");
        assert_eq!(f.line_text(3), "");
        assert_eq!(f.line_text(9), "");
        let loc = f.location(3..5);
        assert_eq!(
            (loc.line, loc.column, loc.end_line, loc.end_column),
            (2, 1, 2, 3)
        );
    }
}
