//! Shared helper for COPY and ADD: their sources, destination and flags.

use moat_dockerfile::{Instruction, Word};

/// The arguments of a COPY or ADD.
#[derive(Debug)]
pub struct CopyArgs {
    /// Sources, heredoc markers (`<<EOF`) left out.
    pub sources: Vec<Word>,
    /// The destination (the last argument).
    pub dest: Option<Word>,
    /// Some source is a heredoc.
    pub has_heredoc: bool,
}

/// Splits a COPY or ADD into sources and destination.
pub fn copy_args(instr: &Instruction) -> CopyArgs {
    let mut words = instr.words();
    let dest = if words.len() >= 2 { words.pop() } else { None };
    let has_heredoc = words.iter().any(|w| is_heredoc_marker(&w.value));
    words.retain(|w| !is_heredoc_marker(&w.value));
    CopyArgs {
        sources: words,
        dest,
        has_heredoc,
    }
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`.
fn is_heredoc_marker(word: &str) -> bool {
    word.starts_with("<<") && word.len() > 2
}

/// The value of the flag `--name` (case-insensitive), if given with a value.
pub fn flag_value<'a>(instr: &'a Instruction, name: &str) -> Option<&'a Word> {
    instr
        .flags
        .iter()
        .rev()
        .find(|f| f.name.value.eq_ignore_ascii_case(name))
        .and_then(|f| f.value.as_ref())
}

/// Whether the flag `--name` is present (with or without a value).
pub fn has_flag(instr: &Instruction, name: &str) -> bool {
    instr
        .flags
        .iter()
        .any(|f| f.name.value.eq_ignore_ascii_case(name))
}

/// Whether a source is remote: an `http(s)://` URL or a Git repository.
pub fn is_url(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || is_git(source)
}

/// Whether a source is a Git repository (`git@host:repo`, `git://…`, `ssh://…`, or an
/// `http(s)` URL whose path ends in `.git`, with an optional `#ref`).
pub fn is_git(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("git@") || lower.starts_with("git://") || lower.starts_with("ssh://") {
        return true;
    }
    let without_ref = lower.split('#').next().unwrap_or_default();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && std::path::Path::new(without_ref.trim_end_matches('/'))
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("git"))
}
