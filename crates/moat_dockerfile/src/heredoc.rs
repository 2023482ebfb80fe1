//! Heredocs: finding the `<<EOF` markers of an instruction and reading their bodies.
//!
//! Markers are found as Docker finds them: the arguments are split into words (quotes kept, so a
//! quoted `"<<EOF"` is no marker), and a word is a marker when it reads `[digits]<<[-]DELIM`.
//! Docker accepts almost any `DELIM`; moat also requires it to look like a word (a letter or `_`,
//! then letters, digits, `_`, `-`, `.`, possibly quoted), so that `<<<`, `2<<1` and the like are
//! not taken for heredocs.

use crate::ast::{Heredoc, ParseError, Span, Text};
use crate::lines::Lines;
use crate::text::TextBuilder;
use crate::words;

/// A heredoc marker found in an instruction's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// Text offset of `<<`.
    pub at: usize,
    /// Text offset of the end of the marker word.
    pub end: usize,
    /// Delimiter without quotes.
    pub delimiter: String,
    /// The delimiter was quoted or escaped.
    pub quoted: bool,
    /// `<<-`.
    pub strip_tabs: bool,
}

/// The heredoc markers of an argument text, in order.
pub(crate) fn markers(text: &Text) -> Vec<Marker> {
    if !text.value.contains("<<") {
        return Vec::new();
    }
    words::split(text, 0, text.value.len(), '\\')
        .iter()
        .filter_map(|w| marker(w.raw(text), w.start, w.end))
        .collect()
}

/// The marker in the raw word `raw` found at `start..end`, if it is one.
fn marker(raw: &str, start: usize, end: usize) -> Option<Marker> {
    let digits = raw.bytes().take_while(u8::is_ascii_digit).count();
    let rest = raw.get(digits..)?.strip_prefix("<<")?;
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.contains('<') {
        return None;
    }
    let delimiter = words::decode(rest, '\\');
    is_delimiter(&delimiter).then(|| Marker {
        at: start + digits,
        end,
        delimiter,
        quoted: rest.contains(['\'', '"', '\\']),
        strip_tabs,
    })
}

/// Whether `d` looks like a heredoc delimiter word.
pub(crate) fn is_delimiter(d: &str) -> bool {
    let mut chars = d.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Reads the body of the heredoc `m` (of the argument text `args`) from `lines`, through its
/// terminator line.
pub(crate) fn read(lines: &mut Lines<'_>, m: &Marker, args: &Text) -> Result<Heredoc, ParseError> {
    let mut body = TextBuilder::default();
    let body_start = lines.pos();
    while let Some(line) = lines.next() {
        let content = lines.content(line);
        let stripped = if m.strip_tabs {
            content.trim_start_matches('\t')
        } else {
            content
        };
        if stripped == m.delimiter {
            return Ok(Heredoc {
                delimiter: m.delimiter.clone(),
                quoted: m.quoted,
                strip_tabs: m.strip_tabs,
                body: body.finish(body_start),
                span: Span::new(args.source_offset(m.at), line.end),
            });
        }
        body.push(stripped, line.end - stripped.len());
        if let Some(nl) = line.newline {
            body.push("\n", nl);
        }
    }
    Err(ParseError {
        message: format!("unterminated heredoc `{}`", m.delimiter),
        span: args.span(m.at, m.end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text;

    fn delimiters(s: &str) -> Vec<(String, bool, bool)> {
        markers(&text::at(s, 0))
            .into_iter()
            .map(|m| (m.delimiter, m.quoted, m.strip_tabs))
            .collect()
    }

    #[test]
    fn finds_markers_as_words() {
        assert_eq!(
            delimiters(r#"<<A cat <<-"B" 3<<'C' x"#),
            vec![
                ("A".into(), false, false),
                ("B".into(), true, true),
                ("C".into(), true, false)
            ]
        );
    }

    #[test]
    fn ignores_non_markers() {
        for s in [
            r#"cat <<< "x""#,
            "echo $((2<<1))",
            "echo 2<<1",
            r#"echo "<<EOF""#,
            "echo '<<EOF'",
            "cat<<EOF",
            "cat <<",
            "cat <<EOF>file",
        ] {
            assert_eq!(delimiters(s), vec![], "{s}");
        }
    }

    #[test]
    fn marker_offsets_skip_fd_digits() {
        let m = &markers(&text::at("x 12<<EOF", 0))[0];
        assert_eq!((m.at, m.end), (4, 9));
    }
}
