//! The syntax tree. Every value keeps the byte span of the source it came from.

use serde::Serialize;

pub use moat_diagnostics::Span;

/// A string value (a word, a flag value, a JSON array element) and where it came from. For values
/// that were unquoted or unescaped, `value` is the decoded text and `span` covers the raw source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    /// Decoded text.
    pub value: String,
    /// Source span of the raw text.
    pub span: Span,
}

/// Text joined from several source pieces (line continuations removed), with the mapping back to
/// source offsets so that any sub-range still has an exact span.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Text {
    /// The joined text.
    pub value: String,
    /// Pieces `(text_offset, source_offset, len)`: `value[t..t+len]` is `source[s..s+len]`;
    /// sorted by `text_offset`, contiguous and covering `value`.
    pub pieces: Vec<(usize, usize, usize)>,
}

impl Text {
    /// Source offset of text offset `t` (offsets at a piece boundary map to the start of the
    /// next piece; `t == value.len()` maps to the end of the last piece).
    pub fn source_offset(&self, t: usize) -> usize {
        let idx = self.pieces.partition_point(|&(to, _, _)| to <= t);
        if idx == 0 {
            return self.pieces.first().map_or(0, |p| p.1);
        }
        let (to, so, len) = self.pieces[idx - 1];
        if t - to <= len {
            // inside the piece (or at its end when it is the last one)
            if t - to == len && idx < self.pieces.len() {
                return self.pieces[idx].1;
            }
            return so + (t - to);
        }
        so + len
    }

    /// Source span of the text range `start..end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let s = self.source_offset(start);
        let e = if end > start {
            self.source_offset(end - 1) + 1
        } else {
            s
        };
        Span::new(s, e.max(s))
    }

    /// Span of the whole text.
    pub fn full_span(&self) -> Span {
        self.span(0, self.value.len())
    }
}

/// The instructions moat knows (all of the Dockerfile reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum Kind {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

impl Kind {
    /// Upper-case keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Add => "ADD",
            Kind::Arg => "ARG",
            Kind::Cmd => "CMD",
            Kind::Copy => "COPY",
            Kind::Entrypoint => "ENTRYPOINT",
            Kind::Env => "ENV",
            Kind::Expose => "EXPOSE",
            Kind::From => "FROM",
            Kind::Healthcheck => "HEALTHCHECK",
            Kind::Label => "LABEL",
            Kind::Maintainer => "MAINTAINER",
            Kind::Onbuild => "ONBUILD",
            Kind::Run => "RUN",
            Kind::Shell => "SHELL",
            Kind::Stopsignal => "STOPSIGNAL",
            Kind::User => "USER",
            Kind::Volume => "VOLUME",
            Kind::Workdir => "WORKDIR",
        }
    }

    /// Parses a keyword, case-insensitively.
    pub fn from_keyword(s: &str) -> Option<Kind> {
        const ALL: [Kind; 18] = [
            Kind::Add,
            Kind::Arg,
            Kind::Cmd,
            Kind::Copy,
            Kind::Entrypoint,
            Kind::Env,
            Kind::Expose,
            Kind::From,
            Kind::Healthcheck,
            Kind::Label,
            Kind::Maintainer,
            Kind::Onbuild,
            Kind::Run,
            Kind::Shell,
            Kind::Stopsignal,
            Kind::User,
            Kind::Volume,
            Kind::Workdir,
        ];
        ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// A `--name[=value]` flag of an instruction (any name is accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// Name without the leading `--`.
    pub name: Word,
    /// Value after `=`, if any.
    pub value: Option<Word>,
    /// Span of the whole flag.
    pub span: Span,
}

/// The arguments after the flags.
///
/// JSON form is recognised where Docker recognises it: RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD,
/// VOLUME, and HEALTHCHECK after its `CMD` word (`HEALTHCHECK CMD ["curl", "-f", "x"]` gives the
/// array elements; the shell form keeps the whole text, `CMD curl -f x` or `NONE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Arguments {
    /// JSON array form (`["a", "b"]`), strings decoded; each span covers the quoted element.
    Exec(Vec<Word>),
    /// Shell form: the text after the flags, continuations removed, comments inside
    /// continuations dropped, heredoc bodies not included.
    Shell(Text),
}

/// A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// Delimiter word without quotes.
    pub delimiter: String,
    /// The delimiter was quoted: no expansion inside the body.
    pub quoted: bool,
    /// `<<-`: leading tabs stripped from body lines.
    pub strip_tabs: bool,
    /// Body lines (after tab stripping), each ending with `\n`, without the terminator line.
    pub body: Text,
    /// Span from `<<` through the end of the terminator line.
    pub span: Span,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Which instruction.
    pub kind: Kind,
    /// Span of the keyword.
    pub keyword: Span,
    /// Span of the whole instruction: keyword through the last continuation line or heredoc
    /// terminator (without the final newline).
    pub span: Span,
    /// Flags in order.
    pub flags: Vec<Flag>,
    /// Arguments.
    pub args: Arguments,
    /// Heredocs in order of their `<<` markers.
    pub heredocs: Vec<Heredoc>,
    /// For ONBUILD: the wrapped instruction.
    pub onbuild: Option<Box<Instruction>>,
    /// Index into [`Dockerfile::stages`] of the stage this belongs to; `None` before the first FROM.
    pub stage: Option<usize>,
    /// The escape character in force for this instruction (see [`Dockerfile::escape`]); used by
    /// [`Instruction::words`] and [`Instruction::key_values`] to decode shell-form arguments.
    pub escape: char,
}

/// A comment line (`# …`) outside of heredoc bodies, including those inside continuations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Text after `#`, trimmed.
    pub text: String,
    /// Span of the whole comment (from `#`).
    pub span: Span,
}

/// A parser directive at the top of the file (`# syntax=…`, `# escape=…`, `# check=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// Lower-case name.
    pub name: String,
    /// Value.
    pub value: Word,
}

/// A build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// Position among stages.
    pub index: usize,
    /// Index of the FROM instruction in [`Dockerfile::instructions`].
    pub from: usize,
    /// `AS name`, lower-cased value with the original span.
    pub name: Option<Word>,
    /// The image as written (before ARG expansion).
    pub image: Word,
    /// The image after expanding global ARGs with their defaults.
    pub image_resolved: String,
    /// `--platform` value, if any.
    pub platform: Option<Word>,
    /// Range of instruction indexes, FROM included.
    pub instructions: std::ops::Range<usize>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    /// Parser directives.
    pub directives: Vec<Directive>,
    /// Escape character (`\` or `` ` ``).
    pub escape: char,
    /// Instructions in order.
    pub instructions: Vec<Instruction>,
    /// Comments in order.
    pub comments: Vec<Comment>,
    /// Build stages in order.
    pub stages: Vec<Stage>,
}

/// A parse error at a source span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where (byte span).
    pub span: Span,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}
