//! Shell tokens: words (quotes removed), operators, redirections.

use super::Op;
use crate::ast::Text;
use crate::heredoc::is_delimiter;
use crate::text::{TextBuilder, char_at, push_range};

/// A shell word: its raw range in the text and its decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellWord {
    /// Raw start (text offset).
    pub start: usize,
    /// Raw end (text offset).
    pub end: usize,
    /// Decoded value (quotes and escapes removed, substitutions kept verbatim), mapped to source.
    pub value: Text,
    /// Some part of it was quoted or escaped.
    pub quoted: bool,
}

/// A token of a shell script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// A word.
    Word(ShellWord),
    /// A redirection with its target; `heredoc` is the text offset of a `<<` (or `<<-`) whose
    /// delimiter is a valid word.
    Redirect {
        start: usize,
        end: usize,
        heredoc: Option<usize>,
    },
    /// `&&`, `||`, `;`, `|`, `&`.
    Op(Op),
    /// A newline.
    Newline,
    /// `;;`, `;&` or `;;&` (end of a `case` item).
    CaseEnd,
    /// `(`.
    Open,
    /// `)`.
    Close,
}

/// The tokens of `text`. Comments and the bodies of heredocs started in the text are skipped.
pub(crate) fn tokens(text: &Text) -> Vec<Token> {
    let mut lexer = Lexer {
        text,
        s: &text.value,
        pos: 0,
        pending: Vec::new(),
        out: Vec::new(),
    };
    lexer.run();
    lexer.out
}

/// Redirection operators, longest first.
const REDIRECTS: [&str; 12] = [
    "<<<", "<<-", "&>>", "<<", ">>", "<&", ">&", "<>", ">|", "&>", "<", ">",
];

/// Blank characters between tokens.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// Characters that end an unquoted word.
fn is_operator(b: u8) -> bool {
    matches!(b, b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'\n')
}

/// Lexer state.
struct Lexer<'t> {
    text: &'t Text,
    s: &'t str,
    pos: usize,
    /// Heredocs (delimiter, strip tabs) whose bodies start after the next newline.
    pending: Vec<(String, bool)>,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.s.as_bytes().get(i).copied()
    }

    fn rest(&self) -> &str {
        self.s.get(self.pos..).unwrap_or("")
    }

    /// Byte length of the character at the cursor (1 when not on a boundary).
    fn char_len(&self) -> usize {
        char_at(self.s, self.pos).map_or(1, char::len_utf8)
    }

    fn run(&mut self) {
        loop {
            self.skip_blanks();
            let Some(c) = self.byte(self.pos) else {
                return;
            };
            let start = self.pos;
            let token = match c {
                b'\n' => {
                    self.pos += 1;
                    self.skip_heredoc_bodies();
                    Token::Newline
                }
                b'#' => {
                    self.pos += self.rest().find('\n').unwrap_or(self.rest().len());
                    continue;
                }
                b';' => self.semicolon(),
                b'&' if self.rest().starts_with("&>") => self.redirect(start),
                b'&' => self.op2("&&", Op::And, Op::Background),
                b'|' if self.rest().starts_with("|&") => {
                    self.pos += 2;
                    Token::Op(Op::Pipe)
                }
                b'|' => self.op2("||", Op::Or, Op::Pipe),
                b'(' if self.rest().starts_with("((") => {
                    self.skip_arithmetic();
                    continue;
                }
                b'(' => {
                    self.pos += 1;
                    Token::Open
                }
                b')' => {
                    self.pos += 1;
                    Token::Close
                }
                b'<' | b'>' => self.redirect(start),
                b'0'..=b'9' if self.fd_redirect() => self.redirect(start),
                _ => Token::Word(self.word()),
            };
            self.out.push(token);
        }
    }

    /// Skips blanks and backslash-newline continuations.
    fn skip_blanks(&mut self) {
        loop {
            match self.byte(self.pos) {
                Some(b) if is_blank(b) => self.pos += 1,
                Some(b'\\') if self.byte(self.pos + 1) == Some(b'\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    /// `two` gives `long`, a single character `short`.
    fn op2(&mut self, two: &str, long: Op, short: Op) -> Token {
        if self.rest().starts_with(two) {
            self.pos += 2;
            Token::Op(long)
        } else {
            self.pos += 1;
            Token::Op(short)
        }
    }

    fn semicolon(&mut self) -> Token {
        for end in [";;&", ";;", ";&"] {
            if self.rest().starts_with(end) {
                self.pos += end.len();
                return Token::CaseEnd;
            }
        }
        self.pos += 1;
        Token::Op(Op::Seq)
    }

    /// Digits followed by `<` or `>` (`2>&1`): moves past the digits and returns true.
    fn fd_redirect(&mut self) -> bool {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if matches!(self.byte(self.pos + digits), Some(b'<' | b'>')) {
            self.pos += digits;
            true
        } else {
            false
        }
    }

    /// `((…))`, an arithmetic command: skipped whole.
    fn skip_arithmetic(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.byte(self.pos) {
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// A redirection starting at `start` (the cursor is on its operator), with its target word.
    fn redirect(&mut self, start: usize) -> Token {
        let op_at = self.pos;
        let op = REDIRECTS
            .iter()
            .find(|op| self.rest().starts_with(**op))
            .map_or(">", |op| *op);
        self.pos += op.len();
        self.skip_blanks();
        let target = self
            .byte(self.pos)
            .is_some_and(|b| !is_blank(b) && !is_operator(b))
            .then(|| self.word());
        let mut heredoc = None;
        if let (Some(t), "<<" | "<<-") = (&target, op)
            && is_delimiter(&t.value.value)
        {
            self.pending.push((t.value.value.clone(), op == "<<-"));
            heredoc = Some(op_at);
        }
        Token::Redirect {
            start,
            end: self.pos,
            heredoc,
        }
    }

    /// After a newline: skips the bodies of the heredocs started on the line before.
    fn skip_heredoc_bodies(&mut self) {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.pending) {
            while self.pos < self.s.len() {
                let rest = self.rest();
                let len = rest.find('\n').unwrap_or(rest.len());
                let line = rest.get(..len).unwrap_or("");
                let line = line.strip_suffix('\r').unwrap_or(line);
                let line = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                let done = line == delimiter;
                self.pos += (len + 1).min(rest.len());
                if done {
                    break;
                }
            }
        }
    }

    /// Appends the character at the cursor to `value` and moves past it.
    fn take_char(&mut self, value: &mut TextBuilder) {
        let len = self.char_len();
        push_range(value, self.text, self.pos, self.pos + len);
        self.pos += len;
    }

    /// Appends the run of ordinary characters at the cursor (at least one character) and moves
    /// past it.
    fn take_run(&mut self, value: &mut TextBuilder, in_double: bool) {
        let rest = self.rest().as_bytes();
        let len = rest
            .iter()
            .skip(1)
            .position(|&b| {
                matches!(b, b'"' | b'\\' | b'$' | b'`')
                    || (!in_double && (b == b'\'' || is_blank(b) || is_operator(b)))
            })
            .map_or(rest.len(), |i| i + 1);
        if self.s.is_char_boundary(self.pos + len) {
            push_range(value, self.text, self.pos, self.pos + len);
            self.pos += len;
        } else {
            self.take_char(value);
        }
    }

    /// A word at the cursor (which is on a non-blank, non-operator character).
    fn word(&mut self) -> ShellWord {
        let start = self.pos;
        let mut value = TextBuilder::default();
        let mut quoted = false;
        let mut in_double = false;
        while let Some(c) = self.byte(self.pos) {
            match c {
                b'"' => {
                    quoted = true;
                    in_double = !in_double;
                    self.pos += 1;
                }
                b'\\' => {
                    quoted = true;
                    self.escape(&mut value, in_double);
                }
                b'$' if matches!(self.byte(self.pos + 1), Some(b'(' | b'{')) => {
                    self.substitution(&mut value);
                }
                b'`' => self.substitution(&mut value),
                b'\'' if !in_double => {
                    quoted = true;
                    self.single_quoted(&mut value);
                }
                _ if !in_double && (is_blank(c) || is_operator(c)) => break,
                _ => self.take_run(&mut value, in_double),
            }
        }
        ShellWord {
            start,
            end: self.pos,
            value: value.finish(self.text.source_offset(start)),
            quoted,
        }
    }

    /// A backslash at the cursor: outside double quotes it escapes any character; inside them only
    /// `$`, `` ` ``, `"`, `\` and newline. Backslash-newline is removed.
    fn escape(&mut self, value: &mut TextBuilder, in_double: bool) {
        match self.byte(self.pos + 1) {
            Some(b'\n') => self.pos += 2,
            Some(b'$' | b'`' | b'"' | b'\\') => {
                self.pos += 1;
                self.take_char(value);
            }
            Some(_) if !in_double => {
                self.pos += 1;
                self.take_char(value);
            }
            Some(_) => self.take_char(value),
            None => self.pos += 1,
        }
    }

    /// `'…'` at the cursor: its content, literally.
    fn single_quoted(&mut self, value: &mut TextBuilder) {
        let open = self.pos + 1;
        let close = self
            .s
            .get(open..)
            .and_then(|r| r.find('\''))
            .map_or(self.s.len(), |i| open + i);
        push_range(value, self.text, open, close);
        self.pos = (close + 1).min(self.s.len());
    }

    /// `$(…)`, `${…}` or `` `…` `` at the cursor, copied verbatim through its end (nested
    /// substitutions and quotes inside are followed, best effort).
    fn substitution(&mut self, value: &mut TextBuilder) {
        let start = self.pos;
        let mut closers = Vec::new();
        self.open_substitution(&mut closers);
        while let Some(&top) = closers.last() {
            let Some(c) = self.byte(self.pos) else {
                break;
            };
            match (top, c) {
                _ if c == top => {
                    closers.pop();
                    self.pos += 1;
                }
                (_, b'\\') => self.pos = (self.pos + 2).min(self.s.len()),
                (b'"' | b')' | b'}', b'$') if self.opens_substitution() => {
                    self.open_substitution(&mut closers);
                }
                (b'"' | b')' | b'}', b'`') => self.open_substitution(&mut closers),
                (b')' | b'}', b'"') => {
                    closers.push(b'"');
                    self.pos += 1;
                }
                (b')' | b'}', b'\'') => {
                    let rest = self.s.get(self.pos + 1..).unwrap_or("");
                    self.pos += rest.find('\'').map_or(rest.len(), |i| i + 1) + 1;
                }
                (b')', b'(') => {
                    closers.push(b')');
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.s.len());
        push_range(value, self.text, start, self.pos);
    }

    /// Whether the cursor is on `$(` or `${`.
    fn opens_substitution(&self) -> bool {
        self.byte(self.pos) == Some(b'$') && matches!(self.byte(self.pos + 1), Some(b'(' | b'{'))
    }

    /// Moves past the opener at the cursor (`$(`, `${` or a backtick), pushing its closer.
    fn open_substitution(&mut self, closers: &mut Vec<u8>) {
        match (self.byte(self.pos), self.byte(self.pos + 1)) {
            (Some(b'$'), Some(b'(')) => {
                closers.push(b')');
                self.pos += 2;
            }
            (Some(b'$'), Some(b'{')) => {
                closers.push(b'}');
                self.pos += 2;
            }
            _ => {
                closers.push(b'`');
                self.pos += 1;
            }
        }
    }
}
