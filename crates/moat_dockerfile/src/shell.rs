//! Splitting shell scripts (RUN lines, heredoc bodies) into simple commands.
//!
//! POSIX-ish and forgiving, good enough for what Dockerfiles run: `&&`, `||`, `;`, `|`, `&` and
//! newlines separate commands; quotes and backslashes are decoded; `$(…)`, `${…}` and backticks
//! stay inside their word; redirections (`>file`, `2>&1`, `<<EOF`) are not arguments; the bodies
//! of heredocs started inside a script are skipped; `( … )` and `{ …; }` only separate; the
//! keywords of `if`, `while`, `until` and `case` are dropped so that the commands they run are
//! still found, and the headers of `for`, `select` and `case`, function names and `((…))` are
//! not commands.

mod lexer;

use serde::Serialize;

use crate::ast::{Span, Text, Word};
use crate::text;
use lexer::{ShellWord, Token};

/// A simple command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// The program and its arguments (values decoded, spans of the raw words); redirections are
    /// not included. May be empty for an assignment-only command (`A=1`).
    pub argv: Vec<Word>,
    /// Leading `NAME=value` words.
    pub assignments: Vec<Word>,
    /// Span from the first to the last token of the command (redirections included).
    pub span: Span,
    /// Its standard output goes into a pipe (`|`).
    pub piped: bool,
    /// The operator before it (`None` for the first command of a script).
    pub after: Option<Op>,
}

impl Command {
    /// `argv[0]` as written (decoded).
    pub fn name(&self) -> Option<&str> {
        self.argv.first().map(|w| w.value.as_str())
    }

    /// The program's base name: `/usr/bin/apt-get` gives `apt-get`.
    pub fn program(&self) -> Option<&str> {
        self.name().map(|n| n.rsplit('/').next().unwrap_or(n))
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[Word] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// Whether some argument equals `arg`.
    pub fn has_arg(&self, arg: &str) -> bool {
        self.args().iter().any(|w| w.value == arg)
    }
}

/// An operator between commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Op {
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// `;` or a newline.
    Seq,
    /// `|` (or `|&`).
    Pipe,
    /// `&`.
    Background,
}

/// The simple commands of `text`, with spans in the source `text` maps to.
pub fn split(text: &Text) -> Vec<Command> {
    commands(text)
        .into_iter()
        .filter(RawCommand::is_simple)
        .map(|c| c.into_command(text))
        .collect()
}

/// The simple commands of `s`, a script found at source offset `base`.
pub fn split_str(s: &str, base: usize) -> Vec<Command> {
    split(&text::at(s, base))
}

/// A command while it is being read, and as kept for the heredoc and `sh -c` analysis of
/// [`crate::Instruction::run_commands`].
#[derive(Debug, Clone, Default)]
pub(crate) struct RawCommand {
    /// Program and arguments.
    pub argv: Vec<ShellWord>,
    /// Leading assignments.
    pub assignments: Vec<ShellWord>,
    /// Text offset of the first token.
    pub start: Option<usize>,
    /// Text offset of the end of the last token.
    pub end: usize,
    /// See [`Command::piped`].
    pub piped: bool,
    /// See [`Command::after`].
    pub after: Option<Op>,
    /// Text offsets of the `<<` of its heredoc redirections.
    pub heredocs: Vec<usize>,
}

impl RawCommand {
    /// Has a program or an assignment (not just redirections).
    pub(crate) fn is_simple(&self) -> bool {
        !(self.argv.is_empty() && self.assignments.is_empty())
    }

    /// Decoded values of argv.
    pub(crate) fn values(&self) -> Vec<&str> {
        self.argv.iter().map(|w| w.value.value.as_str()).collect()
    }

    /// The public command; `text` is the text the command was read from.
    pub(crate) fn into_command(self, text: &Text) -> Command {
        let word = |w: ShellWord| Word {
            value: w.value.value,
            span: text.span(w.start, w.end),
        };
        Command {
            argv: self.argv.into_iter().map(word).collect(),
            assignments: self.assignments.into_iter().map(word).collect(),
            span: text.span(self.start.unwrap_or(self.end), self.end),
            piped: self.piped,
            after: self.after,
        }
    }

    /// Adds the token at `start..end` to the command's extent.
    fn extend(&mut self, start: usize, end: usize) {
        self.start.get_or_insert(start);
        self.end = end;
    }
}

/// All commands of `text`, including redirection-only ones.
pub(crate) fn commands(text: &Text) -> Vec<RawCommand> {
    let mut b = Builder::default();
    let mut tokens = lexer::tokens(text).into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(w) => b.word(w, text),
            Token::Redirect {
                start,
                end,
                heredoc,
            } => b.redirect(start, end, heredoc),
            Token::Op(Op::Pipe) | Token::Open if b.in_pattern => {}
            Token::Op(Op::Pipe) => b.pipe(),
            Token::Op(op) => b.separate(Some(op)),
            Token::Newline => b.separate(None),
            Token::CaseEnd => {
                b.separate(Some(Op::Seq));
                b.in_pattern = b.case_depth > 0;
            }
            Token::Open if b.is_function_name() && tokens.peek() == Some(&Token::Close) => {
                tokens.next();
                b.drop_current = true;
                b.group();
            }
            Token::Close if b.in_pattern => b.in_pattern = false,
            Token::Open | Token::Close => b.group(),
        }
    }
    b.group();
    b.done
}

/// Reserved words dropped from the start of a command.
const KEYWORDS: [&str; 12] = [
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
];

/// Assembles commands from tokens.
#[derive(Debug, Default)]
struct Builder {
    done: Vec<RawCommand>,
    current: RawCommand,
    /// The current command is a header (`for x in …`, `case x in`) or a function name.
    drop_current: bool,
    /// The current command started with `case`.
    case_header: bool,
    /// Operator to give the next command.
    pending: Option<Op>,
    /// Inside a `case`, reading a pattern (up to `)`).
    in_pattern: bool,
    /// Number of open `case`s.
    case_depth: usize,
}

impl Builder {
    fn is_empty(&self) -> bool {
        self.current.argv.is_empty() && self.current.assignments.is_empty()
    }

    fn is_function_name(&self) -> bool {
        self.current.argv.len() == 1 && self.current.assignments.is_empty()
    }

    fn word(&mut self, w: ShellWord, text: &Text) {
        let keyword = if w.quoted { "" } else { w.value.value.as_str() };
        if self.in_pattern {
            if keyword == "esac" {
                self.in_pattern = false;
                self.case_depth = self.case_depth.saturating_sub(1);
            }
            return;
        }
        if self.is_empty() {
            match keyword {
                k if KEYWORDS.contains(&k) => return,
                "esac" => {
                    self.case_depth = self.case_depth.saturating_sub(1);
                    return;
                }
                "for" | "select" | "function" => self.drop_current = true,
                "case" => (self.drop_current, self.case_header) = (true, true),
                _ => {}
            }
        }
        if self.case_header && keyword == "in" && self.current.argv.len() == 2 {
            self.current = RawCommand::default();
            (self.drop_current, self.case_header) = (false, false);
            self.in_pattern = true;
            self.case_depth += 1;
            return;
        }
        self.current.extend(w.start, w.end);
        let raw = text.value.get(w.start..w.end).unwrap_or("");
        if self.current.argv.is_empty() && is_assignment(raw) {
            self.current.assignments.push(w);
        } else {
            self.current.argv.push(w);
        }
    }

    fn redirect(&mut self, start: usize, end: usize, heredoc: Option<usize>) {
        if self.in_pattern {
            return;
        }
        self.current.extend(start, end);
        self.current.heredocs.extend(heredoc);
    }

    fn pipe(&mut self) {
        if self.current.start.is_some() {
            self.current.piped = true;
        } else if let Some(last) = self.done.last_mut() {
            last.piped = true;
        }
        self.separate(Some(Op::Pipe));
    }

    /// Ends the current command at an operator (`None`: a newline, which does not replace an
    /// operator already pending, as in `a &&⏎ b`).
    fn separate(&mut self, op: Option<Op>) {
        self.group();
        match op {
            Some(op) => self.pending = Some(op),
            None => {
                self.pending.get_or_insert(Op::Seq);
            }
        }
    }

    /// Ends the current command without an operator (at `(`, `)` and the end).
    fn group(&mut self) {
        let mut cmd = std::mem::take(&mut self.current);
        let dropped = std::mem::take(&mut self.drop_current);
        self.case_header = false;
        if dropped || cmd.start.is_none() {
            return;
        }
        cmd.after = if self.done.is_empty() {
            None
        } else {
            self.pending
        };
        self.pending = None;
        self.done.push(cmd);
    }
}

/// `NAME=…` or `NAME+=…` with an unquoted name.
fn is_assignment(raw: &str) -> bool {
    let name = raw
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    raw.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && raw
            .get(name..)
            .is_some_and(|r| r.starts_with('=') || r.starts_with("+="))
}

#[cfg(test)]
mod tests;
