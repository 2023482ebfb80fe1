//! The indentation leniency of the YAML readers Docker Compose uses.
//!
//! `docker compose` reads YAML with go-yaml, `docker-compose` v1 with PyYAML; both are ports
//! of libyaml, which never checks indentation inside a flow collection or a quoted scalar.
//! Compose files rely on that:
//!
//! ```yaml
//! healthcheck:
//!   test: [
//!     "CMD", "curl", "-f", "http://localhost"
//!   ]
//! ```
//!
//! saphyr-parser follows YAML 1.2, where every line of a flow collection or of a multi-line
//! quoted scalar must be indented more than the block around it, and refuses the `]` above. This
//! pass finds the continuation lines of flow collections and quoted scalars and moves them
//! right (spaces inserted at the start of the line; tabs in their indentation, which go-yaml
//! accepts there, made spaces). That changes no value: the leading white space of such a line
//! belongs to no value. A line at column 0 that starts with `---` or `...` is left alone (a
//! document marker there is an error for every reader). [`Relayout::original`] maps offsets in
//! the new text back to the file, so spans and errors stay exact.
//!
//! The scan is lexical: it tells flow collections, quoted, plain and block scalars and comments
//! apart the way the YAML scanner does, without building anything.

/// A re-indented copy of a text and the way back to the original offsets.
#[derive(Debug)]
pub(crate) struct Relayout {
    /// The text to parse.
    pub text: String,
    /// For each run of the original text copied unchanged: (offset in `text`, offset in the
    /// original), sorted. Inserted spaces sit just before a run's start.
    runs: Vec<(usize, usize)>,
}

impl Relayout {
    /// The original offset of byte `new` of [`Relayout::text`]; an inserted space maps to the
    /// first original byte after it.
    pub fn original(&self, new: usize) -> usize {
        let i = self.runs.partition_point(|(n, _)| *n <= new);
        if i == 0 {
            return new;
        }
        let (n, o) = self.runs[i - 1];
        let mapped = o + (new - n);
        match self.runs.get(i) {
            Some(&(_, next_o)) => mapped.min(next_o),
            None => mapped,
        }
    }
}

/// Re-indents the continuation lines of `text`'s flow collections and quoted scalars; `None`
/// when no line needs it.
pub(crate) fn relayout(text: &str) -> Option<Relayout> {
    let mut scan = Scan::new(text);
    let mut start = 0;
    while start < text.len() {
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        scan.line(start, end);
        start = end + 1;
    }
    if scan.pads.is_empty() && scan.tabs.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + scan.pads.iter().map(|p| p.1).sum::<usize>());
    let mut runs = vec![(0, 0)];
    let mut copied = 0;
    for &(at, n) in &scan.pads {
        out.push_str(&text[copied..at]);
        out.extend(std::iter::repeat_n(' ', n));
        runs.push((out.len(), at));
        copied = at;
    }
    out.push_str(&text[copied..]);
    if !scan.tabs.is_empty() {
        let mut bytes = out.into_bytes();
        for t in scan.tabs {
            let i = runs_new_offset(&runs, t);
            bytes[i] = b' ';
        }
        // only ASCII tabs were replaced by ASCII spaces
        out = String::from_utf8(bytes).unwrap_or_default();
    }
    Some(Relayout { text: out, runs })
}

/// The offset in the new text of original byte `orig`.
fn runs_new_offset(runs: &[(usize, usize)], orig: usize) -> usize {
    let i = runs.partition_point(|(_, o)| *o <= orig);
    let (n, o) = runs[i.saturating_sub(1)];
    n + (orig - o)
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

/// Where a block scalar's content is.
#[derive(Clone, Copy)]
enum BlockScalar {
    /// After the header: its first line indented at least this much sets the content's
    /// indentation.
    Header(usize),
    /// Lines indented at least this much (and blank lines) are content.
    Content(usize),
}

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    /// Open flow collections.
    depth: usize,
    /// Column the continuation lines of the current flow collection or quoted scalar must
    /// reach (one more than the column of its opening bracket or quote).
    target: usize,
    /// Inside a quoted scalar that goes on past the line: its quote.
    quote: Option<u8>,
    /// Inside a plain scalar of a flow collection, which may go on past the line.
    flow_plain: bool,
    /// A plain scalar in block context went to the end of the line; lines indented at least
    /// this much go on with it.
    block_plain: Option<usize>,
    /// Inside a block scalar (`|`, `>`).
    block_scalar: Option<BlockScalar>,
    /// Indentation of the enclosing lines that start block nodes, innermost last.
    indents: Vec<usize>,
    /// Spaces to insert: (original offset of a line start, how many).
    pads: Vec<(usize, usize)>,
    /// Original offsets of tabs to make spaces.
    tabs: Vec<usize>,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            b: text.as_bytes(),
            depth: 0,
            target: 0,
            quote: None,
            flow_plain: false,
            block_plain: None,
            block_scalar: None,
            indents: Vec::new(),
            pads: Vec::new(),
            tabs: Vec::new(),
        }
    }

    /// Column (in characters) of byte `i` of the line starting at `start`.
    fn col(&self, start: usize, i: usize) -> usize {
        self.text
            .get(start..i)
            .map_or(i - start, |s| s.chars().count())
    }

    fn is_document_marker(&self, start: usize, end: usize) -> bool {
        let line = &self.b[start..end];
        (line.starts_with(b"---") || line.starts_with(b"..."))
            && line.get(3).is_none_or(|c| is_blank(*c))
    }

    fn line(&mut self, start: usize, end: usize) {
        let b = self.b;
        let mut ws = start;
        while ws < end && matches!(b[ws], b' ' | b'\t') {
            ws += 1;
        }
        let blank = b[ws..end].iter().all(|c| is_blank(*c));
        let indent = ws - start;
        match self.block_scalar {
            Some(_) if blank => return,
            Some(BlockScalar::Header(min)) if indent >= min => {
                self.block_scalar = Some(BlockScalar::Content(indent));
                return;
            }
            Some(BlockScalar::Content(m)) if indent >= m => return,
            _ => self.block_scalar = None,
        }
        if self.depth > 0 || self.quote.is_some() {
            if !blank && !self.is_document_marker(start, end) {
                self.tabs.extend((start..ws).filter(|&i| b[i] == b'\t'));
                if indent < self.target {
                    self.pads.push((start, self.target - indent));
                }
            }
            self.scan(start, ws, end, 0);
            return;
        }
        if blank || b[ws] == b'#' {
            return;
        }
        if let Some(n) = self.block_plain.take() {
            if b[ws] == b'#' {
                return;
            }
            if indent >= n {
                // the plain scalar goes on; a comment ends it
                if self.comment_at(start, ws, end).is_none() {
                    self.block_plain = Some(n);
                }
                return;
            }
        }
        // the lines that start block nodes, by indentation: the last one less indented than
        // this line holds what starts it
        while self.indents.last().is_some_and(|&i| i >= indent) {
            self.indents.pop();
        }
        let parent_min = self.indents.last().map_or(0, |&i| i + 1);
        self.indents.push(indent);
        self.scan(start, ws, end, parent_min);
    }

    /// The first `#` of `from..end` that starts a comment (at the line start or after white
    /// space), in plain text.
    fn comment_at(&self, start: usize, from: usize, end: usize) -> Option<usize> {
        (from..end).find(|&i| self.b[i] == b'#' && (i == start || is_blank(self.b[i - 1])))
    }

    /// Scans the tokens of the line `start..end` from `i`.
    /// `parent_min` is the least indentation of the lines that go on with a value that starts
    /// the line (more than the block holding it).
    fn scan(&mut self, start: usize, mut i: usize, end: usize, parent_min: usize) {
        let b = self.b;
        if let Some(q) = self.quote {
            match self.quoted(i, end, q) {
                Some(after) => {
                    self.quote = None;
                    i = after;
                }
                None => return,
            }
        }
        if self.flow_plain {
            i = self.flow_plain_from(start, i, end);
            if self.flow_plain {
                return;
            }
        }
        // the column of the key or `-` that owns a value starting on this line, once seen; a
        // value that starts the line belongs to something less indented
        let mut owner: Option<usize> = None;
        // the least indentation of the lines that go on with a value starting at `col`
        let bound = |owner: Option<usize>| owner.map_or(parent_min, |o| o + 1);
        // column of the last node read (its anchor or tag included), the key when a `:`
        // follows it
        let mut last_scalar = 0;
        // column of the anchor or tag before the node being read
        let mut props: Option<usize> = None;
        while i < end {
            let c = b[i];
            if is_blank(c) {
                i += 1;
                continue;
            }
            if c == b'#' && (i == start || is_blank(b[i - 1])) {
                return;
            }
            let next_blank = b.get(i + 1).is_none_or(|n| is_blank(*n) || *n == b'\n');
            if self.depth == 0 {
                match c {
                    b'-' | b'?' if next_blank => {
                        owner = Some(self.col(start, i));
                        props = None;
                        i += 1;
                    }
                    b':' if next_blank => {
                        owner = Some(last_scalar);
                        props = None;
                        i += 1;
                    }
                    b'[' | b'{' => {
                        self.depth = 1;
                        self.target = self.col(start, i) + 1;
                        i += 1;
                    }
                    b'"' | b'\'' => {
                        self.target = self.col(start, i) + 1;
                        last_scalar = props.take().unwrap_or(self.target - 1);
                        let Some(after) = self.quoted(i + 1, end, c) else {
                            self.quote = Some(c);
                            return;
                        };
                        i = after;
                    }
                    b'|' | b'>' => {
                        let n = bound(owner);
                        self.block_scalar = Some(BlockScalar::Header(n));
                        return;
                    }
                    b'&' | b'!' | b'*' => {
                        let col = *props.get_or_insert(self.col(start, i));
                        if c == b'*' {
                            props = None;
                        }
                        last_scalar = col;
                        while i < end && !is_blank(b[i]) {
                            i += 1;
                        }
                    }
                    b'%' if i == start => return,
                    _ if i == start && self.is_document_marker(start, end) => {
                        i += 3;
                    }
                    _ => {
                        // a plain scalar: up to `: `, ` #` or the end of the line
                        last_scalar = props.take().unwrap_or_else(|| self.col(start, i));
                        while i < end {
                            let c = b[i];
                            if c == b':' && b.get(i + 1).is_none_or(|n| is_blank(*n) || *n == b'\n')
                            {
                                break;
                            }
                            if c == b'#' && is_blank(b[i - 1]) {
                                return;
                            }
                            i += 1;
                        }
                        if i >= end {
                            self.block_plain = Some(bound(owner));
                        }
                    }
                }
                continue;
            }
            // flow context
            match c {
                b'[' | b'{' => {
                    self.depth += 1;
                    i += 1;
                }
                b']' | b'}' => {
                    self.depth -= 1;
                    i += 1;
                }
                b',' => i += 1,
                b':' | b'?'
                    if next_blank || b.get(i + 1).is_some_and(|n| is_flow_indicator(*n)) =>
                {
                    i += 1;
                }
                b'"' | b'\'' => {
                    let Some(after) = self.quoted(i + 1, end, c) else {
                        self.quote = Some(c);
                        return;
                    };
                    i = after;
                }
                b'&' | b'!' | b'*' => {
                    while i < end && !is_blank(b[i]) && !is_flow_indicator(b[i]) {
                        i += 1;
                    }
                }
                _ => {
                    self.flow_plain = true;
                    i = self.flow_plain_from(start, i, end);
                    if self.flow_plain {
                        return;
                    }
                }
            }
        }
    }

    /// Reads a plain scalar of a flow collection from `i`; clears `flow_plain` where it ends
    /// (before an indicator, or at a comment, which ends the line too).
    fn flow_plain_from(&mut self, start: usize, mut i: usize, end: usize) -> usize {
        let b = self.b;
        while i < end {
            let c = b[i];
            if is_flow_indicator(c) {
                self.flow_plain = false;
                return i;
            }
            if c == b':'
                && b.get(i + 1)
                    .is_none_or(|n| is_blank(*n) || *n == b'\n' || is_flow_indicator(*n))
            {
                self.flow_plain = false;
                return i;
            }
            if c == b'#' && (i == start || is_blank(b[i - 1])) {
                self.flow_plain = false;
                return end;
            }
            i += 1;
        }
        i
    }

    /// Reads a quoted scalar's text from `i` (after the opening quote): the offset after the
    /// closing quote, or `None` when the scalar goes on past `end`.
    fn quoted(&self, mut i: usize, end: usize, q: u8) -> Option<usize> {
        let b = self.b;
        while i < end {
            let c = b[i];
            if q == b'"' && c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> String {
        relayout(text).map_or_else(|| text.to_string(), |r| r.text)
    }

    #[test]
    fn flow_lines_move_right_of_their_bracket() {
        let text = "a:\n  test: [\n    \"x\", \"y\"\n  ]\n";
        assert_eq!(
            fixed(text),
            "a:\n  test: [\n         \"x\", \"y\"\n         ]\n"
        );
    }

    #[test]
    fn offsets_map_back() {
        let text = "k: [\n1,\n2]\n";
        let r = relayout(text).unwrap();
        let two = r.text.find('2').unwrap();
        assert_eq!(r.original(two), text.find('2').unwrap());
        // an inserted space maps to the first byte after it
        let line2 = r.text.find('\n').unwrap() + 1;
        assert_eq!(r.original(line2), 5);
    }

    #[test]
    fn tabs_in_flow_indentation_become_spaces() {
        let text = "k: [\n\t\t1\n    ]\n";
        let r = relayout(text).unwrap();
        assert!(!r.text.contains('\t'));
        assert_eq!(r.original(r.text.find('1').unwrap()), 7);
    }

    #[test]
    fn quoted_scalars_over_lines() {
        assert_eq!(fixed("k: \"a\n b\"\n"), "k: \"a\n    b\"\n");
        assert_eq!(fixed("k: 'it''s\nx'\n"), "k: 'it''s\n    x'\n");
    }

    #[test]
    fn nothing_else_moves() {
        for text in [
            "k: [a, b]\nl: {c: d}\n",
            "k: |\n  [\n  x\nl: v\n",
            "k: a [b\n  c]\nl: v\n",
            "k: it's [\nl: 'x'\n",
            "# [\nk: v # [\n",
            "k: >-\n  \"\n  y\nl: z\n",
            "- [a,\n  b]\n",
            "k: [\n---\n]\n",
        ] {
            let r = relayout(text);
            let fine = r.as_ref().is_none_or(|r| {
                r.text.lines().filter(|l| !l.trim().is_empty()).count()
                    == text.lines().filter(|l| !l.trim().is_empty()).count()
            });
            assert!(fine, "{text:?}");
            if text.starts_with("k: [a") || text.starts_with("k: |") || text.starts_with('#') {
                assert!(r.is_none(), "{text:?}");
            }
        }
        assert!(relayout("k: a [b\n  c]\nl: v\n").is_none());
        assert!(relayout("k: >-\n  \"\n  y\nl: z\n").is_none());
        // a document marker stays where it is (and stays an error)
        assert!(relayout("k: [\n---\n]\n").unwrap().text.contains("\n---\n"));
    }
}
