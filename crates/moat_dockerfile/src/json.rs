//! The JSON (exec) form of arguments: a JSON array of strings.

use crate::ast::{Text, Word};

/// Parses `text.value[start..end]` as a JSON array of strings (whitespace around it allowed).
/// Returns `None` when it is anything else, in which case the arguments are in shell form.
pub(crate) fn string_array(text: &Text, start: usize, end: usize) -> Option<Vec<Word>> {
    let s = text.value.get(..end)?;
    let mut p = Cursor { s, pos: start };
    p.skip_ws();
    p.eat(b'[')?;
    let mut words = Vec::new();
    p.skip_ws();
    if p.eat(b']').is_none() {
        loop {
            p.skip_ws();
            let open = p.pos;
            let value = p.string()?;
            words.push(Word {
                value,
                span: text.span(open, p.pos),
            });
            p.skip_ws();
            if p.eat(b',').is_none() {
                p.eat(b']')?;
                break;
            }
        }
    }
    p.skip_ws();
    (p.pos == s.len()).then_some(words)
}

/// A position in the text being decoded.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.pos += 1)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// A JSON string starting at the cursor, decoded.
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let rest = self.s.get(self.pos..)?;
            // copy the run of plain characters up to the next quote, backslash or control char
            let run = rest
                .find(|c: char| c == '"' || c == '\\' || c < ' ')
                .unwrap_or(rest.len());
            out.push_str(rest.get(..run)?);
            self.pos += run;
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => return None, // raw control character
            }
        }
    }

    /// The escape after a backslash.
    fn escape(&mut self) -> Option<char> {
        let b = self.peek()?;
        self.pos += 1;
        Some(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return None,
        })
    }

    /// The character of a `\uXXXX` escape (the `\u` already read), joining surrogate pairs; a lone
    /// surrogate becomes U+FFFD as in Go's decoder.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if !(0xD800..0xDC00).contains(&hi) {
            return Some(char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        let save = self.pos;
        if self.s.get(self.pos..)?.starts_with("\\u") {
            self.pos += 2;
            if let Some(lo) = self.hex4().filter(|lo| (0xDC00..0xE000).contains(lo)) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Some(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
        self.pos = save;
        Some(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.as_bytes().get(self.pos..self.pos + 4)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        self.pos += 4;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text;

    fn parse(s: &str) -> Option<Vec<(String, usize, usize)>> {
        let t = text::at(s, 100);
        string_array(&t, 0, s.len()).map(|ws| {
            ws.into_iter()
                .map(|w| (w.value, w.span.start, w.span.end))
                .collect()
        })
    }

    #[test]
    fn decodes_strings_with_spans() {
        assert_eq!(
            parse(r#"[ "a", "b c" ]"#),
            Some(vec![("a".into(), 102, 105), ("b c".into(), 107, 112)])
        );
    }

    #[test]
    fn decodes_escapes() {
        let got = parse(r#"["\"q\"\\\/\n\u00e9\ud83d\ude00\ud800"]"#).unwrap();
        assert_eq!(got[0].0, "\"q\"\\/\né😀\u{fffd}");
    }

    #[test]
    fn empty_array() {
        assert_eq!(parse("[]"), Some(vec![]));
        assert_eq!(parse(" [ ] "), Some(vec![]));
    }

    #[test]
    fn rejects_non_string_arrays() {
        for s in [
            "[1]",
            r#"["a",]"#,
            r#"["a" "b"]"#,
            r#"["a"] x"#,
            r"['a']",
            r#"["a"#,
            "[",
            r#"["\x"]"#,
            r#"["\u12"]"#,
            r#"["\u+123"]"#,
            "[\"a\tb\"]",
            "",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
