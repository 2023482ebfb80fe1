//! Inline ignores written in comments:
//!
//! - `# moat: ignore[D002,D020] reason` — the next instruction (or line, in YAML);
//! - `# moat: ignore-file[D002]` — the whole file;
//! - `# hadolint ignore=DL3007,DL3008` and `# hadolint global ignore=DL3007` — honoured for the
//!   rules that name those hadolint codes, so a team can switch without editing files.
//!
//! A `moat:` ignore that suppresses nothing is itself reported (rule `M001`); hadolint pragmas
//! are not, because they may be there for hadolint rules moat does not have.

use moat_diagnostics::{SourceFile, Span};

use crate::config::resolve_rules;

/// Where a pragma applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Findings that start inside this byte range.
    Range(Span),
    /// The whole file.
    File,
}

/// Who wrote the pragma.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `# moat: …`
    Moat,
    /// `# hadolint …`
    Hadolint,
}

/// One name in a pragma and whether it suppressed something.
#[derive(Debug, Clone)]
pub struct Entry {
    /// As written.
    pub token: String,
    /// Rule codes it names (empty: names no known rule).
    pub codes: Vec<&'static str>,
    /// Span of the token in the file.
    pub span: Span,
    /// Set when a finding was suppressed by it.
    pub used: bool,
}

/// A parsed ignore comment.
#[derive(Debug, Clone)]
pub struct Pragma {
    /// Moat or hadolint.
    pub flavor: Flavor,
    /// Where it applies.
    pub scope: Scope,
    /// The rules it names.
    pub entries: Vec<Entry>,
    /// Span of the comment.
    pub span: Span,
}

/// Parses one comment (text after `#`, starting at byte `start` of the file, where `text_start`
/// is the offset of `text` in the file). `next` is the span the pragma covers when it is not
/// file-wide. Returns `None` for ordinary comments.
pub fn parse_comment(
    text: &str,
    text_start: usize,
    comment: Span,
    next: Option<Span>,
) -> Option<Pragma> {
    let trimmed_start = text.len() - text.trim_start().len();
    let body = text.trim_start();
    let base = text_start + trimmed_start;
    if let Some(rest) = body.strip_prefix("moat:") {
        let rest_off = base + 5 + (rest.len() - rest.trim_start().len());
        let rest = rest.trim_start();
        let (file_wide, inner_off) = if rest.starts_with("ignore-file[") {
            (true, "ignore-file[".len())
        } else if rest.starts_with("ignore[") {
            (false, "ignore[".len())
        } else {
            return None;
        };
        let close = rest[inner_off..].find(']')? + inner_off;
        let entries = split_tokens(&rest[inner_off..close], rest_off + inner_off);
        let scope = if file_wide {
            Scope::File
        } else {
            Scope::Range(next?)
        };
        return Some(Pragma {
            flavor: Flavor::Moat,
            scope,
            entries,
            span: comment,
        });
    }
    if let Some(rest) = body.strip_prefix("hadolint") {
        let rest_trim = rest.trim_start();
        let (global, after) = match rest_trim.strip_prefix("global") {
            Some(a) => (true, a.trim_start()),
            None => (false, rest_trim),
        };
        let list = after.strip_prefix("ignore=")?;
        let list_off = base + (body.len() - list.len());
        let list_end = list.find(char::is_whitespace).unwrap_or(list.len());
        let entries = split_tokens(&list[..list_end], list_off);
        let scope = if global {
            Scope::File
        } else {
            Scope::Range(next?)
        };
        return Some(Pragma {
            flavor: Flavor::Hadolint,
            scope,
            entries,
            span: comment,
        });
    }
    None
}

fn split_tokens(list: &str, offset: usize) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut pos = 0;
    for part in list.split(',') {
        let lead = part.len() - part.trim_start().len();
        let token = part.trim();
        if !token.is_empty() {
            let start = offset + pos + lead;
            out.push(Entry {
                token: token.to_string(),
                codes: resolve_rules(token).iter().map(|r| r.info.code).collect(),
                span: Span::new(start, start + token.len()),
                used: false,
            });
        }
        pos += part.len() + 1;
    }
    out
}

impl Pragma {
    /// Whether this pragma suppresses a finding of `code` starting at byte `at`; marks the entry
    /// used when it does.
    pub fn suppress(&mut self, code: &str, at: Option<usize>) -> bool {
        let applies = match self.scope {
            Scope::File => true,
            Scope::Range(r) => at.is_some_and(|a| a >= r.start && a < r.end.max(r.start + 1)),
        };
        if !applies {
            return false;
        }
        for entry in &mut self.entries {
            if entry.codes.contains(&code) {
                entry.used = true;
                return true;
            }
        }
        false
    }
}

/// Ignore pragmas of a Dockerfile; a line pragma covers the next instruction.
pub fn dockerfile_pragmas(
    source: &SourceFile,
    dockerfile: &moat_dockerfile::Dockerfile,
) -> Vec<Pragma> {
    dockerfile
        .comments
        .iter()
        .filter_map(|c| {
            let raw = source.text.get(c.span.start + 1..c.span.end)?;
            let next = dockerfile
                .instructions
                .iter()
                .find(|i| i.span.start >= c.span.end)
                .map(|i| i.span);
            parse_comment(raw, c.span.start + 1, c.span, next)
        })
        .collect()
}

/// Pragmas written as `#` comments in YAML, shell scripts and Makefiles. A pragma on a line of
/// its own covers the next line that is not blank or a comment; one after code covers its own
/// line. For a YAML key that opens a block, "its line" is the key's line, where findings about
/// that key point.
pub fn text_pragmas(source: &SourceFile) -> Vec<Pragma> {
    let text = &source.text;
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        lines.push((offset, line));
        offset += line.len();
    }
    let mut out = Vec::new();
    for (i, (start, line)) in lines.iter().enumerate() {
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let code_before = !line[..hash].trim().is_empty();
        let comment = Span::new(start + hash, start + line.trim_end().len());
        let target = if code_before {
            Some(Span::new(*start, start + line.trim_end().len()))
        } else {
            lines[i + 1..]
                .iter()
                .position(|(_, l)| {
                    let t = l.trim();
                    !t.is_empty() && !t.starts_with('#')
                })
                .map(|k| block_span(&lines, i + 1 + k))
        };
        let raw = &line[hash + 1..];
        if let Some(p) = parse_comment(raw.trim_end(), start + hash + 1, comment, target) {
            out.push(p);
        }
    }
    out
}

/// The span of line `j`, extended over the indented block below it when it is a YAML key that
/// opens one (`api:`), so that an ignore above a service covers the whole service.
fn block_span(lines: &[(usize, &str)], j: usize) -> Span {
    let (start, line) = lines[j];
    let mut end = start + line.trim_end().len();
    if line.trim_end().ends_with(':') {
        let indent = line.len() - line.trim_start().len();
        for (s, l) in &lines[j + 1..] {
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if l.len() - l.trim_start().len() <= indent {
                break;
            }
            end = s + l.trim_end().len();
        }
    }
    Span::new(start, end)
}

/// Byte offset of a `#` that starts a comment: at the start of the line or after white space,
/// outside of quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moat_pragma() {
        let text = " moat: ignore[D002, root-user] legacy image";
        let p = parse_comment(text, 1, Span::new(0, 44), Some(Span::new(45, 60))).unwrap();
        assert_eq!(p.flavor, Flavor::Moat);
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].token, "D002");
        assert_eq!(p.entries[0].span, Span::new(15, 19));
        assert_eq!(
            &text[p.entries[1].span.start - 1..p.entries[1].span.end - 1],
            "root-user"
        );
        assert_eq!(p.scope, Scope::Range(Span::new(45, 60)));
    }

    #[test]
    fn hadolint_pragma() {
        let p = parse_comment(
            " hadolint ignore=DL3007,DL3008",
            1,
            Span::new(0, 31),
            Some(Span::new(32, 40)),
        )
        .unwrap();
        assert_eq!(p.flavor, Flavor::Hadolint);
        assert_eq!(
            p.entries
                .iter()
                .map(|e| e.token.as_str())
                .collect::<Vec<_>>(),
            ["DL3007", "DL3008"]
        );
        let g = parse_comment(" hadolint global ignore=DL3007", 1, Span::new(0, 31), None).unwrap();
        assert_eq!(g.scope, Scope::File);
        assert!(parse_comment(" just a comment", 1, Span::new(0, 5), None).is_none());
    }

    #[test]
    fn yaml_pragmas_cover_the_next_line_or_their_own() {
        let src = SourceFile::new(
            "compose.yaml",
            "services:\n  # moat: ignore[C001] needs it\n  api:\n    privileged: true # moat: ignore[C002]\n    image: 'a#b'\n",
        );
        let p = text_pragmas(&src);
        assert_eq!(p.len(), 2);
        let Scope::Range(r) = p[0].scope else {
            panic!()
        };
        assert!(src.text[r.range()].starts_with("  api:\n    privileged"));
        assert!(src.text[r.range()].ends_with("image: 'a#b'"));
        let Scope::Range(r) = p[1].scope else {
            panic!()
        };
        assert_eq!(
            &src.text[r.range()],
            "    privileged: true # moat: ignore[C002]"
        );
        assert_eq!(comment_start("    image: 'a#b'"), None);
    }
}
