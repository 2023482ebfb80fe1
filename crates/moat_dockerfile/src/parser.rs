//! From source text to [`Dockerfile`]: directives, logical lines, instructions, heredocs.

use crate::ast::{
    Arguments, Comment, Directive, Dockerfile, Flag, Instruction, Kind, ParseError, Span, Text,
    Word,
};
use crate::lines::{Line, Lines};
use crate::text::{self, TextBuilder, is_space, skip_space, trim_end};
use crate::{heredoc, json, stages, words};

/// Parses a whole Dockerfile: its syntax, then the requirement that every instruction but the
/// leading ARGs belongs to a build stage.
pub(crate) fn parse(src: &str) -> Result<Dockerfile, ParseError> {
    let df = parse_syntax(src)?;
    stages::require_stage(&df.instructions)?;
    Ok(df)
}

/// Parses the syntax of a Dockerfile (a fragment without FROM included).
pub(crate) fn parse_syntax(src: &str) -> Result<Dockerfile, ParseError> {
    let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let mut p = Parser {
        lines: Lines::new(src, bom),
        escape: '\\',
        directives: Vec::new(),
        comments: Vec::new(),
        instructions: Vec::new(),
    };
    p.directives()?;
    p.instructions()?;
    let stages = stages::build(&mut p.instructions)?;
    Ok(Dockerfile {
        directives: p.directives,
        escape: p.escape,
        instructions: p.instructions,
        comments: p.comments,
        stages,
    })
}

/// The directives Docker knows; any other `# name=value` line ends the directive block.
const DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// Parser state: the line cursor and what has been collected so far.
struct Parser<'a> {
    lines: Lines<'a>,
    escape: char,
    directives: Vec<Directive>,
    comments: Vec<Comment>,
    instructions: Vec<Instruction>,
}

/// An instruction's lines joined into one text.
struct Logical {
    text: Text,
    /// Source end of the last line (trailing whitespace excluded).
    end: usize,
}

impl Parser<'_> {
    /// Reads the parser directives at the top of the file, stopping at the first other line.
    fn directives(&mut self) -> Result<(), ParseError> {
        loop {
            let before = self.lines.pos();
            let Some(line) = self.lines.next() else {
                return Ok(());
            };
            let Some(d) = directive(self.lines.content(line), line.start) else {
                self.lines.seek(before);
                return Ok(());
            };
            if self.directives.iter().any(|seen| seen.name == d.name) {
                return Err(ParseError {
                    message: format!("only one `{}` parser directive can be used", d.name),
                    span: d.value.span,
                });
            }
            if d.name == "escape" {
                self.escape = match d.value.value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    v => {
                        return Err(ParseError {
                            message: format!("invalid escape token `{v}`: must be ` or \\"),
                            span: d.value.span,
                        });
                    }
                };
            }
            self.directives.push(d);
        }
    }

    /// Reads instructions and comments up to the end.
    fn instructions(&mut self) -> Result<(), ParseError> {
        while let Some(line) = self.lines.next() {
            if self.skip_blank_or_comment(line) {
                continue;
            }
            let logical = self.logical_line(line);
            if logical.text.value.trim_ascii().is_empty() {
                continue; // only escape characters: nothing to run
            }
            let mut ins = self.instruction(&logical.text, 0, false)?;
            set_end(&mut ins, logical.end);
            self.heredocs(&mut ins)?;
            self.instructions.push(ins);
        }
        Ok(())
    }

    /// Records `line` if it is a comment; true for comments and blank lines.
    fn skip_blank_or_comment(&mut self, line: Line) -> bool {
        let content = self.lines.content(line);
        let trimmed = content.trim_ascii_start();
        if trimmed.is_empty() {
            return true;
        }
        if let Some(after) = trimmed.strip_prefix('#') {
            let start = line.end - trimmed.len();
            let text = after.trim_ascii();
            let end = start + trimmed.trim_ascii_end().len();
            self.comments.push(Comment {
                text: text.to_owned(),
                span: Span::new(start, end),
            });
            return true;
        }
        false
    }

    /// Joins `first` and its continuation lines (comment and blank lines inside are skipped).
    fn logical_line(&mut self, first: Line) -> Logical {
        let content = self.lines.content(first);
        let lead = content.len() - content.trim_ascii_start().len();
        let mut b = TextBuilder::default();
        let (mut line, mut skip) = (first, lead);
        loop {
            let content = self.lines.content(line).get(skip..).unwrap_or("");
            let base = line.start + skip;
            let kept = content.trim_end_matches([' ', '\t']);
            let continued = kept.ends_with(self.escape);
            let piece = if continued {
                kept.get(..kept.len() - self.escape.len_utf8())
                    .unwrap_or("")
            } else {
                content
            };
            b.push(piece, base);
            let end = base + content.trim_ascii_end().len();
            if !continued {
                return Logical {
                    text: b.finish(base),
                    end,
                };
            }
            match self.next_content_line() {
                Some(next) => (line, skip) = (next, 0),
                None => {
                    return Logical {
                        text: b.finish(base),
                        end,
                    };
                }
            }
        }
    }

    /// The next line that is neither blank nor a comment (comments are recorded).
    fn next_content_line(&mut self) -> Option<Line> {
        while let Some(line) = self.lines.next() {
            if !self.skip_blank_or_comment(line) {
                return Some(line);
            }
        }
        None
    }

    /// Parses the instruction starting at text offset `start` (`nested` for ONBUILD's trigger).
    fn instruction(
        &self,
        text: &Text,
        start: usize,
        nested: bool,
    ) -> Result<Instruction, ParseError> {
        let v = text.value.as_bytes();
        let kw_start = skip_space(v, start, v.len());
        let kw_end = (kw_start..v.len())
            .find(|&i| v.get(i).is_some_and(|&b| is_space(b)))
            .unwrap_or(v.len());
        let keyword = text.value.get(kw_start..kw_end).unwrap_or("");
        let keyword_span = text.span(kw_start, kw_end);
        let kind = Kind::from_keyword(keyword).ok_or_else(|| ParseError {
            message: format!("unknown instruction `{keyword}`"),
            span: keyword_span,
        })?;
        if nested {
            check_trigger(kind, keyword_span)?;
        }
        let mut pos = kw_end;
        let flags = flags(text, &mut pos);
        let args_start = skip_space(v, pos, v.len());
        let args_end = trim_end(v, args_start, v.len());
        let mut ins = Instruction {
            kind,
            keyword: keyword_span,
            span: keyword_span.to(text.span(args_start, args_end)),
            flags,
            args: arguments(kind, text, args_start, args_end),
            heredocs: Vec::new(),
            onbuild: None,
            stage: None,
            escape: self.escape,
        };
        if kind == Kind::Onbuild {
            if args_start == args_end {
                return Err(ParseError {
                    message: "ONBUILD requires an instruction to run".into(),
                    span: keyword_span,
                });
            }
            ins.onbuild = Some(Box::new(self.instruction(text, args_start, true)?));
        }
        Ok(ins)
    }

    /// Reads the heredoc bodies of `ins` (or of its ONBUILD trigger) that follow its line.
    fn heredocs(&mut self, ins: &mut Instruction) -> Result<(), ParseError> {
        let target = match ins.onbuild.as_deref_mut() {
            Some(trigger) => trigger,
            None => &mut *ins,
        };
        if !takes_heredocs(target.kind) {
            return Ok(());
        }
        let Arguments::Shell(args) = &target.args else {
            return Ok(());
        };
        let mut docs = Vec::new();
        for m in heredoc::markers(args) {
            docs.push(heredoc::read(&mut self.lines, &m, args)?);
        }
        let Some(end) = docs.last().map(|d| d.span.end) else {
            return Ok(());
        };
        target.heredocs = docs;
        set_end(ins, end);
        Ok(())
    }
}

/// The instructions whose shell form may carry heredocs, as in Docker (BuildKit): on any other
/// instruction `<<EOF` is plain text and the next line is an instruction.
fn takes_heredocs(kind: Kind) -> bool {
    matches!(kind, Kind::Run | Kind::Copy | Kind::Add)
}

/// Sets the end of the span of `ins` and of its ONBUILD trigger.
fn set_end(ins: &mut Instruction, end: usize) {
    ins.span.end = end.max(ins.span.start);
    if let Some(trigger) = ins.onbuild.as_deref_mut() {
        set_end(trigger, end);
    }
}

/// Rejects the instructions Docker does not allow after ONBUILD.
fn check_trigger(kind: Kind, span: Span) -> Result<(), ParseError> {
    let message = match kind {
        Kind::Onbuild => "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        Kind::From => "FROM isn't allowed as an ONBUILD trigger",
        Kind::Maintainer => "MAINTAINER isn't allowed as an ONBUILD trigger",
        _ => return Ok(()),
    };
    Err(ParseError {
        message: message.into(),
        span,
    })
}

/// A parser directive line (`# name=value` with a known name), if `content` is one.
fn directive(content: &str, start: usize) -> Option<Directive> {
    let bytes = content.as_bytes();
    let blank = |i: usize| bytes.get(i).is_some_and(|b| matches!(b, b' ' | b'\t'));
    if bytes.first() != Some(&b'#') {
        return None;
    }
    let mut i = 1;
    while blank(i) {
        i += 1;
    }
    let name_start = i;
    if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    let name = content.get(name_start..i)?.to_ascii_lowercase();
    if !DIRECTIVES.contains(&name.as_str()) {
        return None;
    }
    while blank(i) {
        i += 1;
    }
    if bytes.get(i) != Some(&b'=') {
        return None;
    }
    let value_start = skip_space(bytes, i + 1, bytes.len());
    let value_end = trim_end(bytes, value_start, bytes.len());
    if value_start == value_end {
        return None;
    }
    Some(Directive {
        name,
        value: Word {
            value: content.get(value_start..value_end)?.to_owned(),
            span: Span::new(start + value_start, start + value_end),
        },
    })
}

/// Parses the `--name[=value]` flags at `*pos`, leaving `*pos` after them. A lone `--` ends them.
fn flags(text: &Text, pos: &mut usize) -> Vec<Flag> {
    let v = &text.value;
    let mut flags = Vec::new();
    loop {
        let start = skip_space(v.as_bytes(), *pos, v.len());
        if !words::starts_flag(v, start) {
            return flags;
        }
        let end = words::word_end(v, start, v.len(), '\\');
        *pos = end;
        if end == start + 2 {
            return flags;
        }
        let w = words::RawWord {
            start: start + 2,
            end,
        };
        let (name, value) = words::key_value(text, &w, '\\');
        flags.push(Flag {
            name,
            value,
            span: text.span(start, end),
        });
    }
}

/// The arguments of a `kind` instruction at `start..end` of `text`.
fn arguments(kind: Kind, text: &Text, start: usize, end: usize) -> Arguments {
    let json_at = match kind {
        Kind::Run
        | Kind::Cmd
        | Kind::Entrypoint
        | Kind::Shell
        | Kind::Copy
        | Kind::Add
        | Kind::Volume => Some(start),
        Kind::Healthcheck => healthcheck_json_start(text, start, end),
        _ => None,
    };
    json_at
        .filter(|&at| text.value.as_bytes().get(at) == Some(&b'['))
        .and_then(|at| json::string_array(text, at, end))
        .map_or_else(
            || Arguments::Shell(text::slice(text, start, end)),
            Arguments::Exec,
        )
}

/// For `HEALTHCHECK CMD [...]`: where the JSON array would start.
fn healthcheck_json_start(text: &Text, start: usize, end: usize) -> Option<usize> {
    let word_end = words::word_end(&text.value, start, end, '\\');
    let word = text.value.get(start..word_end)?;
    word.eq_ignore_ascii_case("cmd")
        .then(|| skip_space(text.value.as_bytes(), word_end, end))
}
