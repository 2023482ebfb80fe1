//! Reading an instruction's arguments: flags, words, `key=value` pairs.

use crate::ast::{Arguments, Flag, Instruction, Kind, Word};
use crate::text::skip_space;
use crate::words::{self, RawWord};

impl Instruction {
    /// The flag `--name`, compared case-insensitively (the first one if repeated).
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags
            .iter()
            .find(|f| f.name.value.eq_ignore_ascii_case(name))
    }

    /// The arguments as words. Shell form is split on whitespace outside quotes, quotes and the
    /// escape character are removed from values, spans cover the raw words; nothing is expanded.
    /// Exec form gives its elements.
    pub fn words(&self) -> Vec<Word> {
        match &self.args {
            Arguments::Exec(words) => words.clone(),
            Arguments::Shell(text) => words::split(text, 0, text.value.len(), self.escape)
                .iter()
                .map(|w| w.word(text, self.escape))
                .collect(),
        }
    }

    /// The `name[=value]` pairs of ENV, ARG and LABEL (empty for other instructions): `ENV a=1
    /// b="x y"` gives two pairs, the legacy `ENV key some value` one pair whose value is the rest
    /// of the line, `ARG name` a pair without value. Values have their quotes removed; spans
    /// cover the raw key and the raw value.
    pub fn key_values(&self) -> Vec<(Word, Option<Word>)> {
        let Arguments::Shell(text) = &self.args else {
            return Vec::new();
        };
        if !matches!(self.kind, Kind::Env | Kind::Arg | Kind::Label) {
            return Vec::new();
        }
        let esc = self.escape;
        let len = text.value.len();
        let raw = words::split(text, 0, len, esc);
        let Some(first) = raw.first() else {
            return Vec::new();
        };
        if self.kind != Kind::Arg && words::find_eq(first.raw(text), esc).is_none() {
            let start = skip_space(text.value.as_bytes(), first.end, len);
            let value = (start < len).then(|| RawWord { start, end: len }.word(text, esc));
            return vec![(first.word(text, esc), value)];
        }
        raw.iter().map(|w| words::key_value(text, w, esc)).collect()
    }
}
