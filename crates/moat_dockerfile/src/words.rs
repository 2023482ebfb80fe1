//! Dockerfile-level words: whitespace-separated, with quotes and the escape character, as Docker
//! splits the arguments of COPY, ENV, LABEL and the like. (Shell commands are split by
//! [`crate::shell`].)

use crate::ast::{Text, Word};
use crate::text::{is_space, skip_space};

/// A word of a [`Text`]: its raw range in the text and its decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawWord {
    /// Raw start (text offset).
    pub start: usize,
    /// Raw end (text offset).
    pub end: usize,
}

impl RawWord {
    /// The raw text.
    pub(crate) fn raw<'a>(&self, text: &'a Text) -> &'a str {
        text.value.get(self.start..self.end).unwrap_or("")
    }

    /// As a [`Word`]: decoded value, raw span.
    pub(crate) fn word(&self, text: &Text, escape: char) -> Word {
        Word {
            value: decode(self.raw(text), escape),
            span: text.span(self.start, self.end),
        }
    }
}

/// Quoting state while scanning a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// The end of the word starting at `start` (which must not be whitespace): the first whitespace
/// outside quotes, or `end`.
pub(crate) fn word_end(s: &str, start: usize, end: usize, escape: char) -> usize {
    let mut quote = Quote::None;
    let mut chars = s.get(start..end).unwrap_or("").char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            Quote::None if c.is_ascii() && is_space(c as u8) => return start + i,
            Quote::None | Quote::Double if c == escape => {
                chars.next();
            }
            Quote::None if c == '\'' => quote = Quote::Single,
            Quote::None if c == '"' => quote = Quote::Double,
            Quote::Single if c == '\'' => quote = Quote::None,
            Quote::Double if c == '"' => quote = Quote::None,
            _ => {}
        }
    }
    end
}

/// The words of `text.value[start..end]`.
pub(crate) fn split(text: &Text, start: usize, end: usize, escape: char) -> Vec<RawWord> {
    let bytes = text.value.as_bytes();
    let end = end.min(bytes.len());
    let mut words = Vec::new();
    let mut i = skip_space(bytes, start, end);
    while i < end {
        let e = word_end(&text.value, i, end, escape);
        words.push(RawWord { start: i, end: e });
        i = skip_space(bytes, e, end);
    }
    words
}

/// Removes quotes and escapes: outside quotes the escape character takes the next character
/// literally; inside double quotes it does so only before `"`, `$` and itself; inside single
/// quotes nothing is special.
pub(crate) fn decode(raw: &str, escape: char) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut quote = Quote::None;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Quote::None if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            Quote::None if c == '\'' => quote = Quote::Single,
            Quote::None if c == '"' => quote = Quote::Double,
            Quote::Single if c == '\'' => quote = Quote::None,
            Quote::Double if c == '"' => quote = Quote::None,
            Quote::Double if c == escape => match chars.peek() {
                Some(&n) if n == '"' || n == '$' || n == escape => {
                    out.push(n);
                    chars.next();
                }
                None => {}
                Some(_) => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out
}

/// Byte offset in `raw` of the first `=` outside quotes and escapes.
pub(crate) fn find_eq(raw: &str, escape: char) -> Option<usize> {
    let mut quote = Quote::None;
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            Quote::None if c == '=' => return Some(i),
            Quote::None | Quote::Double if c == escape => {
                chars.next();
            }
            Quote::None if c == '\'' => quote = Quote::Single,
            Quote::None if c == '"' => quote = Quote::Double,
            Quote::Single if c == '\'' => quote = Quote::None,
            Quote::Double if c == '"' => quote = Quote::None,
            _ => {}
        }
    }
    None
}

/// `name=value` split of the word at `w` (`value` is `None` without `=`).
pub(crate) fn key_value(text: &Text, w: &RawWord, escape: char) -> (Word, Option<Word>) {
    let raw = w.raw(text);
    match find_eq(raw, escape) {
        Some(eq) => {
            let key = RawWord {
                start: w.start,
                end: w.start + eq,
            };
            let value = RawWord {
                start: w.start + eq + 1,
                end: w.end,
            };
            (key.word(text, escape), Some(value.word(text, escape)))
        }
        None => (w.word(text, escape), None),
    }
}

/// Whether `s` begins with `--` at `i`.
pub(crate) fn starts_flag(s: &str, i: usize) -> bool {
    s.get(i..).is_some_and(|r| r.starts_with("--"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text;

    fn words(s: &str, escape: char) -> Vec<(String, &str)> {
        let t = text::at(s, 0);
        split(&t, 0, s.len(), escape)
            .into_iter()
            .map(|w| {
                let word = w.word(&t, escape);
                (word.value, &s[word.span.range()])
            })
            .collect()
    }

    #[test]
    fn splits_on_whitespace_outside_quotes() {
        assert_eq!(
            words(r#"a "b c"  d'e f'g \"h"#, '\\'),
            vec![
                ("a".into(), "a"),
                ("b c".into(), r#""b c""#),
                ("de fg".into(), "d'e f'g"),
                ("\"h".into(), r#"\"h"#),
            ]
        );
    }

    #[test]
    fn double_quotes_escape_only_some_chars() {
        assert_eq!(words(r#""a\"b\$c\d\\""#, '\\')[0].0, r#"a"b$c\d\"#);
        assert_eq!(words("'a\\b'", '\\')[0].0, "a\\b");
    }

    #[test]
    fn backtick_escape_keeps_backslashes() {
        assert_eq!(
            words(r"C:\app\bin `$x", '`'),
            vec![("C:\\app\\bin".into(), r"C:\app\bin"), ("$x".into(), "`$x")]
        );
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        assert_eq!(words("a \"b c", '\\')[1].0, "b c");
        assert_eq!(words("a \\", '\\')[1].0, "");
    }

    #[test]
    fn finds_eq_outside_quotes() {
        assert_eq!(find_eq(r#""a=b"=c"#, '\\'), Some(5));
        assert_eq!(find_eq(r"a\=b=c", '\\'), Some(4));
        assert_eq!(find_eq("abc", '\\'), None);
    }
}
