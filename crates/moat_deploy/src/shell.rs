//! Shell word splitting with byte spans, enough for command lines in scripts, Makefiles and
//! compose `command:` strings: quotes, backslash escapes, backslash-newline continuations,
//! `$VAR`/`${…}`/`$(…)` kept as text, comments, and control operators as separate words.

use std::ops::Range;

/// One shell word (or operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word with quotes removed and escapes applied; variable references kept as written.
    pub text: String,
    /// Bytes of the input the word covers, quotes included.
    pub span: Range<usize>,
    /// The word contains a `$VAR`, `${…}`, `$(…)` or backtick reference.
    pub has_var: bool,
    /// The word is an unquoted control operator (`;`, `&&`, `||`, `|`, `&`, `(`, `)`, newline).
    pub op: bool,
    /// Byte offset in the input where the text is written verbatim (the word had no quotes or
    /// escapes); lets callers locate a part of the word.
    pub verbatim: bool,
}

/// Splitting options.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mode {
    /// Recognise control operators and newlines as separators (scripts); otherwise only blanks
    /// separate words (compose `command:` strings, like Python's `shlex`).
    pub ops: bool,
    /// Makefile recipe: `$$` is a literal `$`, `$(VAR)` is a make variable kept as text.
    pub make: bool,
}

/// Splits `input`. Errors give a byte offset and a message (unterminated quote).
pub(crate) fn split(input: &str, mode: Mode) -> Result<Vec<Word>, (usize, String)> {
    let b = input.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    let mut cur: Option<(String, usize, bool, bool)> = None; // text, start, has_var, verbatim
    macro_rules! flush {
        ($end:expr) => {
            if let Some((text, start, has_var, verbatim)) = cur.take() {
                words.push(Word {
                    text,
                    span: start..$end,
                    has_var,
                    op: false,
                    verbatim,
                });
            }
        };
    }
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' => {
                flush!(i);
                i += 1;
            }
            b'\n' => {
                flush!(i);
                if mode.ops {
                    words.push(Word {
                        text: "\n".into(),
                        span: i..i + 1,
                        has_var: false,
                        op: true,
                        verbatim: true,
                    });
                }
                i += 1;
            }
            b'\\' => {
                let cont = match (b.get(i + 1), b.get(i + 2)) {
                    (Some(b'\n'), _) => 2,
                    (Some(b'\r'), Some(b'\n')) => 3,
                    _ => 0,
                };
                if cont > 0 {
                    // continuation: ends nothing, adds nothing (but the word is no longer
                    // written verbatim)
                    if let Some(w) = cur.as_mut() {
                        w.3 = false;
                    }
                    i += cont;
                    continue;
                }
                let w = cur.get_or_insert_with(|| (String::new(), i, false, true));
                w.3 = false;
                if let Some(ch) = input[i + 1..].chars().next() {
                    w.0.push(ch);
                    i += 1 + ch.len_utf8();
                } else {
                    w.0.push('\\');
                    i += 1;
                }
            }
            b'#' if cur.is_none() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b';' | b'&' | b'|' | b'(' | b')' if mode.ops => {
                flush!(i);
                let two = matches!(
                    (c, b.get(i + 1)),
                    (b'&', Some(b'&')) | (b'|', Some(b'|')) | (b';', Some(b';'))
                );
                let len = if two { 2 } else { 1 };
                words.push(Word {
                    text: input[i..i + len].to_string(),
                    span: i..i + len,
                    has_var: false,
                    op: true,
                    verbatim: true,
                });
                i += len;
            }
            b'\'' => {
                let start = i;
                let Some(close) = input[i + 1..].find('\'') else {
                    return Err((start, "unterminated single quote".into()));
                };
                let w = cur.get_or_insert_with(|| (String::new(), start, false, true));
                w.3 = false;
                w.0.push_str(&input[i + 1..i + 1 + close]);
                i = i + 2 + close;
            }
            b'"' => {
                let start = i;
                let w = cur.get_or_insert_with(|| (String::new(), start, false, true));
                w.3 = false;
                i += 1;
                let mut closed = false;
                while i < b.len() {
                    match b[i] {
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\' | b'$' | b'`')) => {
                            w.0.push(b[i + 1] as char);
                            i += 2;
                        }
                        b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
                        b'$' => {
                            let end = dollar_end(input, i, mode.make);
                            let (text, var) = dollar_text(&input[i..end], mode.make);
                            w.0.push_str(&text);
                            w.2 |= var;
                            i = end;
                        }
                        b'`' => {
                            let end = input[i + 1..].find('`').map_or(b.len(), |e| i + 2 + e);
                            w.0.push_str(&input[i..end]);
                            w.2 = true;
                            i = end;
                        }
                        _ => {
                            let ch = input[i..].chars().next().unwrap_or(' ');
                            w.0.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    return Err((start, "unterminated double quote".into()));
                }
            }
            b'$' => {
                let start = i;
                let end = dollar_end(input, i, mode.make);
                let (text, var) = dollar_text(&input[i..end], mode.make);
                let w = cur.get_or_insert_with(|| (String::new(), start, false, true));
                if text.len() != end - start {
                    w.3 = false;
                }
                w.0.push_str(&text);
                w.2 |= var;
                i = end;
            }
            b'`' => {
                let start = i;
                let end = input[i + 1..].find('`').map_or(b.len(), |e| i + 2 + e);
                let w = cur.get_or_insert_with(|| (String::new(), start, false, true));
                w.0.push_str(&input[i..end]);
                w.2 = true;
                i = end;
            }
            _ => {
                let start = i;
                let ch = input[i..].chars().next().unwrap_or(' ');
                let w = cur.get_or_insert_with(|| (String::new(), start, false, true));
                w.0.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    flush!(b.len());
    Ok(words)
}

/// End of the `$…` reference starting at `i`: `$$`, `${…}`, `$(…)` (balanced), `$NAME`, `$1`.
fn dollar_end(input: &str, i: usize, make: bool) -> usize {
    let b = input.as_bytes();
    match b.get(i + 1) {
        // make: `$$` is a `$` for the shell, maybe starting a shell variable (`$$HOME`)
        Some(b'$') if make => dollar_end(input, i + 1, false),
        Some(b'{') => close_of(b, i + 1, b'{', b'}'),
        Some(b'(') => close_of(b, i + 1, b'(', b')'),
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            j
        }
        Some(c) if c.is_ascii_digit() || matches!(c, b'@' | b'*' | b'#' | b'?' | b'$' | b'!') => {
            i + 2
        }
        _ => i + 1,
    }
}

fn close_of(b: &[u8], open: usize, o: u8, c: u8) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    while j < b.len() {
        if b[j] == o {
            depth += 1;
        } else if b[j] == c {
            depth -= 1;
            if depth == 0 {
                return j + 1;
            }
        }
        j += 1;
    }
    b.len()
}

/// The text a `$…` reference stands for in the word, and whether it is a variable.
fn dollar_text(s: &str, make: bool) -> (String, bool) {
    if s == "$" {
        return ("$".into(), false);
    }
    if make && s.starts_with("$$") {
        return (s[1..].to_string(), s.len() > 2);
    }
    (s.to_string(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str, mode: Mode) -> Vec<String> {
        split(s, mode)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn quotes_escapes_continuations() {
        let m = Mode {
            ops: true,
            make: false,
        };
        assert_eq!(
            texts("docker run -e 'A=b c' \"x$Y\" a\\ b \\\n  --rm # c", m),
            ["docker", "run", "-e", "A=b c", "x$Y", "a b", "--rm"]
        );
        assert_eq!(
            texts("a && b; c|d", m),
            ["a", "&&", "b", ";", "c", "|", "d"]
        );
        let w = split("x \"$(id -u)\":1", m).unwrap();
        assert_eq!(w[1].text, "$(id -u):1");
        assert!(w[1].has_var);
        assert_eq!(w[1].span, 2..14);
    }

    #[test]
    fn make_dollars() {
        let m = Mode {
            ops: true,
            make: true,
        };
        assert_eq!(
            texts("echo $$HOME $(IMAGE)", m),
            ["echo", "$HOME", "$(IMAGE)"]
        );
    }

    #[test]
    fn unterminated() {
        assert_eq!(split("a 'b", Mode::default()).unwrap_err().0, 2);
    }
}
