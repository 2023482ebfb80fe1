//! Building [`Text`] values piece by piece, and taking sub-ranges of them.

use crate::ast::Text;

/// Accumulates a [`Text`] from source pieces, merging pieces that continue each other both in the
/// text and in the source.
#[derive(Debug, Default)]
pub(crate) struct TextBuilder {
    text: Text,
}

impl TextBuilder {
    /// Appends `s`, which is `source[at..at + s.len()]`.
    pub(crate) fn push(&mut self, s: &str, at: usize) {
        if s.is_empty() {
            return;
        }
        let t = self.text.value.len();
        match self.text.pieces.last_mut() {
            Some((pt, ps, len)) if *pt + *len == t && *ps + *len == at => *len += s.len(),
            _ => self.text.pieces.push((t, at, s.len())),
        }
        self.text.value.push_str(s);
    }

    /// The text built so far; an empty text gets a zero-length piece at `anchor` so that its span
    /// still points somewhere sensible.
    pub(crate) fn finish(mut self, anchor: usize) -> Text {
        if self.text.pieces.is_empty() {
            self.text.pieces.push((0, anchor, 0));
        }
        self.text
    }
}

/// Appends `text.value[start..end]` to `b`, keeping its mapping to the source.
pub(crate) fn push_range(b: &mut TextBuilder, text: &Text, start: usize, end: usize) {
    if text.value.get(start..end).is_none() {
        return;
    }
    let first = text.pieces.partition_point(|&(t, _, len)| t + len <= start);
    for &(t, s, len) in text.pieces.iter().skip(first) {
        if t >= end {
            break;
        }
        let (a, z) = (t.max(start), (t + len).min(end));
        if let Some(part) = text.value.get(a..z) {
            b.push(part, s + (a - t));
        }
    }
}

/// The sub-text `start..end` of `text` (text offsets), with pieces re-based. Out-of-range or
/// non-boundary offsets give an empty text anchored at `start`.
pub(crate) fn slice(text: &Text, start: usize, end: usize) -> Text {
    let mut b = TextBuilder::default();
    push_range(&mut b, text, start, end);
    b.finish(text.source_offset(start))
}

/// A text that is `s` itself, found at source offset `base`.
pub(crate) fn at(s: &str, base: usize) -> Text {
    let mut b = TextBuilder::default();
    b.push(s, base);
    b.finish(base)
}

/// The character starting at byte `i` of `s`, if `i` is a boundary inside `s`.
pub(crate) fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..)?.chars().next()
}

/// Whitespace between words: ASCII whitespace (space, tab, CR, LF, FF), as everywhere in the
/// parser.
pub(crate) fn is_space(b: u8) -> bool {
    b.is_ascii_whitespace()
}

/// First index `>= i` (and `<= end`) whose byte is not whitespace.
pub(crate) fn skip_space(s: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && s.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    i
}

/// `end` moved back over trailing whitespace, but not before `start`.
pub(crate) fn trim_end(s: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && s.get(end - 1).is_some_and(|&b| is_space(b)) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_merges_contiguous_pieces() {
        let mut b = TextBuilder::default();
        b.push("ab", 10);
        b.push("cd", 12);
        b.push("ef", 20);
        let t = b.finish(0);
        assert_eq!(t.value, "abcdef");
        assert_eq!(t.pieces, vec![(0, 10, 4), (4, 20, 2)]);
    }

    #[test]
    fn slice_rebases_pieces() {
        let mut b = TextBuilder::default();
        b.push("abcd", 10);
        b.push("efgh", 20);
        let t = slice(&b.finish(0), 2, 6);
        assert_eq!(t.value, "cdef");
        assert_eq!(t.pieces, vec![(0, 12, 2), (2, 20, 2)]);
        assert_eq!(t.span(1, 3), crate::Span::new(13, 21));
    }

    #[test]
    fn empty_slice_is_anchored() {
        let t = slice(&at("RUN", 5), 3, 3);
        assert_eq!(t.value, "");
        assert_eq!(t.full_span(), crate::Span::new(8, 8));
    }

    #[test]
    fn slice_inside_a_char_is_empty() {
        let t = slice(&at("é", 0), 1, 2);
        assert_eq!(t.value, "");
    }
}
