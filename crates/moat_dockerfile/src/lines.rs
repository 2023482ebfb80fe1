//! Physical lines of the source.

/// One physical line: `start..end` is its content without the line ending (`\n` or `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    /// First byte of the line.
    pub start: usize,
    /// End of the content (before `\r\n` or `\n`).
    pub end: usize,
    /// Offset of the terminating `\n`, if there is one.
    pub newline: Option<usize>,
}

/// A cursor over the physical lines of a source text.
#[derive(Debug, Clone)]
pub(crate) struct Lines<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    /// Lines of `src` starting at byte `pos`.
    pub(crate) fn new(src: &'a str, pos: usize) -> Self {
        Self { src, pos }
    }

    /// The offset of the next line.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves back (or forward) to a line start previously returned by [`Lines::pos`].
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The content of `line`, without its line ending.
    pub(crate) fn content(&self, line: Line) -> &'a str {
        self.src.get(line.start..line.end).unwrap_or("")
    }
}

impl Iterator for Lines<'_> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let rest = self.src.get(self.pos..).filter(|r| !r.is_empty())?;
        let start = self.pos;
        let (len, newline) = match rest.find('\n') {
            Some(i) => (i, Some(start + i)),
            None => (rest.len(), None),
        };
        self.pos = newline.map_or(self.src.len(), |nl| nl + 1);
        let content = rest.get(..len).unwrap_or("");
        let end = start + content.strip_suffix('\r').unwrap_or(content).len();
        Some(Line {
            start,
            end,
            newline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lf_crlf_and_a_last_line_without_newline() {
        let src = "a\r\nbc\n\nd\r";
        let mut lines = Lines::new(src, 0);
        let got: Vec<_> = lines
            .by_ref()
            .map(|l| (l.start, l.end, l.newline))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 1, Some(2)),
                (3, 5, Some(5)),
                (6, 6, Some(6)),
                (7, 8, None)
            ]
        );
        assert_eq!(lines.pos(), src.len());
    }
}
