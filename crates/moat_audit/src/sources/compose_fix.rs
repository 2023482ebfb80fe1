//! Fixes for compose findings, as byte-range edits of the compose file's text: keys added at
//! the end of a service's block mapping with the block's own indentation and line endings, a
//! list item appended to an existing block list, one line removed, one value rewritten.
//! Nothing else of the file is touched, so comments, anchors, key order and quoting stay as
//! written.
//!
//! The YAML is not re-serialised, so only the block style is edited: a service written in flow
//! style (`api: {image: x}`) or a key whose value is a flow sequence gets no fix (the finding
//! stays, and `moat harden` says nothing changed there). Every fix but `no-new-privileges`
//! can change how the container behaves (an application that writes to its root filesystem,
//! needs a capability or more memory than the limit), so those are unsafe.

use moat_diagnostics::{Applicability, Edit, Finding, Fix, SourceFile};

/// Memory limit added by the C020 fix.
pub const MEMORY_LIMIT: &str = "512m";
/// CPU limit added by the C021 fix.
pub const CPU_LIMIT: &str = "\"1.0\"";
/// Process limit added by the C022 fix.
pub const PIDS_LIMIT: &str = "200";

/// One line of the text: its byte range (without the line break), indentation and content.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    start: usize,
    end: usize,
    indent: usize,
    text: &'a str,
}

impl Line<'_> {
    /// Blank, or only a comment.
    fn is_filler(&self) -> bool {
        let t = self.text.trim_start();
        t.is_empty() || t.starts_with('#')
    }
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let body = raw.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start_matches(' ').len();
        out.push(Line {
            start,
            end: start + body.len(),
            indent,
            text: body,
        });
        start += raw.len();
    }
    out
}

/// A service's block mapping: the child keys' indentation and the byte after its last line.
#[derive(Debug)]
struct Block {
    indent: usize,
    /// Lines of the block (indices), content lines only.
    children: Vec<usize>,
    /// Where new keys go: the end of the last content line (before its line break).
    insert_at: usize,
}

/// The key at `lines[i]` (`name:` with nothing after it but a comment or an anchor) and its
/// block mapping value.
fn block_of(lines: &[Line<'_>], i: usize) -> Option<Block> {
    let key = lines.get(i)?;
    let (_, after) = key.text.split_once(':')?;
    let after = after.trim();
    let rest_ok = after.is_empty()
        || after.starts_with('#')
        || (after.starts_with('&') && !after.contains(' '))
        || (after.starts_with('&')
            && after
                .split_once(' ')
                .is_some_and(|(_, r)| r.trim_start().starts_with('#')));
    if !rest_ok {
        return None;
    }
    let mut children = Vec::new();
    let mut indent = None;
    for (j, l) in lines.iter().enumerate().skip(i + 1) {
        if l.is_filler() {
            continue;
        }
        if l.indent <= key.indent {
            break;
        }
        indent.get_or_insert(l.indent);
        children.push(j);
    }
    let insert_at = children.last().map_or(key.end, |&j| {
        // a multi-line value ends the block: its last line is the last content line
        lines[j].end
    });
    Some(Block {
        indent: indent.unwrap_or(key.indent + 2),
        children,
        insert_at,
    })
}

/// The child key `name` of a block (its line index), when present at the block's indentation.
fn child_key(lines: &[Line<'_>], block: &Block, name: &str) -> Option<usize> {
    block.children.iter().copied().find(|&j| {
        let l = &lines[j];
        l.indent == block.indent
            && l.text
                .trim_start()
                .strip_prefix(name)
                .is_some_and(|r| r.trim_start().starts_with(':'))
    })
}

fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

fn fix(message: &str, safe: bool, edits: Vec<Edit>) -> Fix {
    Fix {
        message: message.to_string(),
        applicability: if safe {
            Applicability::Safe
        } else {
            Applicability::Unsafe
        },
        edits,
    }
}

/// Keys inserted at the end of the block (each `(key, value)`; a value beginning with a line
/// break is a nested block, indented under the key).
fn insert_keys(text: &str, block: &Block, keys: &[(&str, &str)]) -> Edit {
    let nl = newline_of(text);
    let pad = " ".repeat(block.indent);
    let mut s = String::new();
    for (k, v) in keys {
        s.push_str(nl);
        s.push_str(&pad);
        s.push_str(k);
        s.push(':');
        if let Some(items) = v.strip_prefix('\n') {
            for item in items.lines() {
                s.push_str(nl);
                s.push_str(&pad);
                s.push_str("  ");
                s.push_str(item);
            }
        } else {
            s.push(' ');
            s.push_str(v);
        }
    }
    Edit {
        range: block.insert_at..block.insert_at,
        replacement: s,
    }
}

/// `no-new-privileges:true` in `security_opt`: a new key, or an item after the list's last.
fn no_new_privileges(text: &str, lines: &[Line<'_>], block: &Block) -> Option<Edit> {
    let Some(k) = child_key(lines, block, "security_opt") else {
        return Some(insert_keys(
            text,
            block,
            &[("security_opt", "\n- no-new-privileges:true")],
        ));
    };
    let key = &lines[k];
    let after = key.text.split_once(':')?.1.trim();
    if !(after.is_empty() || after.starts_with('#')) {
        return None; // a flow list
    }
    // the list's items: lines after the key, more indented (or `- ` at the key's indentation)
    let mut last = None;
    let mut item_indent = None;
    for (j, l) in lines.iter().enumerate().skip(k + 1) {
        if l.is_filler() {
            continue;
        }
        let is_item = l.text.trim_start().starts_with('-');
        if l.indent < key.indent || (l.indent == key.indent && !is_item) {
            break;
        }
        if is_item && item_indent.is_none_or(|i| i == l.indent) {
            item_indent = Some(l.indent);
        }
        last = Some(j);
    }
    let (last, indent) = (last?, item_indent?);
    let at = lines[last].end;
    Some(Edit {
        range: at..at,
        replacement: format!(
            "{}{}- no-new-privileges:true",
            newline_of(text),
            " ".repeat(indent)
        ),
    })
}

/// Attaches a fix to each compose finding of `source` that has a mechanical one.
pub fn attach(source: &SourceFile, findings: &mut [Finding]) {
    let text = source.text.as_str();
    let lines = lines(text);
    for f in findings.iter_mut() {
        if f.fix.is_some() || f.location.path != source.path || f.location.line == 0 {
            continue;
        }
        let i = f.location.line - 1;
        let Some(line) = lines.get(i) else { continue };
        let service = block_of(&lines, i);
        f.fix = match (f.code.as_str(), service) {
            ("C017", Some(b)) => no_new_privileges(text, &lines, &b).map(|e| {
                fix(
                    "add `no-new-privileges:true` to `security_opt`",
                    true,
                    vec![e],
                )
            }),
            ("C017", None) => {
                // an explicit `no-new-privileges:false` (or `=false`) entry
                let t = line.text;
                ["no-new-privileges:false", "no-new-privileges=false"]
                    .iter()
                    .find_map(|bad| t.find(bad).map(|p| (p, bad.len())))
                    .map(|(p, n)| {
                        let start = line.start + p;
                        fix(
                            "set `no-new-privileges:true`",
                            true,
                            vec![Edit {
                                range: start..start + n,
                                replacement: "no-new-privileges:true".into(),
                            }],
                        )
                    })
            }
            ("C002", Some(b)) if child_key(&lines, &b, "cap_drop").is_none() => Some(fix(
                "add `cap_drop: [ALL]` (add back what the service needs with `cap_add`)",
                false,
                vec![insert_keys(text, &b, &[("cap_drop", "[ALL]")])],
            )),
            ("C023", Some(b)) if child_key(&lines, &b, "read_only").is_none() => {
                let mut keys = vec![("read_only", "true")];
                if child_key(&lines, &b, "tmpfs").is_none() {
                    keys.push(("tmpfs", "\n- /tmp"));
                }
                Some(fix(
                    "add `read_only: true` (with a tmpfs on /tmp)",
                    false,
                    vec![insert_keys(text, &b, &keys)],
                ))
            }
            ("C022", Some(b)) if child_key(&lines, &b, "pids_limit").is_none() => Some(fix(
                "add `pids_limit: 200`",
                false,
                vec![insert_keys(text, &b, &[("pids_limit", PIDS_LIMIT)])],
            )),
            ("C020", Some(b))
                if child_key(&lines, &b, "mem_limit").is_none()
                    && child_key(&lines, &b, "deploy").is_none() =>
            {
                Some(fix(
                    "add `mem_limit: 512m`",
                    false,
                    vec![insert_keys(text, &b, &[("mem_limit", MEMORY_LIMIT)])],
                ))
            }
            ("C021", Some(b))
                if child_key(&lines, &b, "cpus").is_none()
                    && child_key(&lines, &b, "deploy").is_none() =>
            {
                Some(fix(
                    "add `cpus: \"1.0\"`",
                    false,
                    vec![insert_keys(text, &b, &[("cpus", CPU_LIMIT)])],
                ))
            }
            ("C001", _) if line.text.trim_start().starts_with("privileged:") => {
                // the whole line, with its line break
                let end = text[line.end..]
                    .find('\n')
                    .map_or(text.len(), |p| line.end + p + 1);
                Some(fix(
                    "remove `privileged: true`",
                    false,
                    vec![Edit {
                        range: line.start..end,
                        replacement: String::new(),
                    }],
                ))
            }
            ("C025", _) => publish_on_loopback(line),
            ("N002", Some(b))
                if f.message.starts_with("network `")
                    && top_level_key(&lines, i) == Some("networks")
                    && child_key(&lines, &b, "internal").is_none() =>
            {
                Some(fix(
                    "set `internal: true` (the network loses its route out)",
                    false,
                    vec![insert_keys(text, &b, &[("internal", "true")])],
                ))
            }
            _ => None,
        };
    }
}

/// The top-level key (`services`, `networks`, ...) whose block holds line `i`.
fn top_level_key<'a>(lines: &[Line<'a>], i: usize) -> Option<&'a str> {
    let line = lines.get(i)?;
    if line.indent == 0 {
        return None;
    }
    lines[..i]
        .iter()
        .rev()
        .find(|l| l.indent == 0 && !l.is_filler())
        .and_then(|l| l.text.split_once(':'))
        .map(|(k, _)| k.trim())
}

/// A short-syntax port entry (`- "8080:80"`, `- 0.0.0.0:8080:80`) published on every interface,
/// bound to 127.0.0.1 instead.
fn publish_on_loopback(line: &Line<'_>) -> Option<Fix> {
    let t = line.text;
    let dash = t.find("- ")?;
    if t[..dash].trim() != "" {
        return None;
    }
    let mut at = dash + 2 + (t[dash + 2..].len() - t[dash + 2..].trim_start().len());
    if matches!(t.as_bytes().get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    let value = &t[at..];
    if !value.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let start = line.start + at;
    // `IP:HOST:CONTAINER`; a container port alone (a random host port) is `IP::CONTAINER`
    let port_part = value.split(['"', '\'', ' ', '#']).next().unwrap_or(value);
    let (range, replacement) = if value.starts_with("0.0.0.0:") {
        (start..start + "0.0.0.0:".len(), "127.0.0.1:".to_string())
    } else {
        match port_part.matches(':').count() {
            0 => (start..start, "127.0.0.1::".to_string()),
            1 => (start..start, "127.0.0.1:".to_string()),
            _ => return None,
        }
    };
    Some(fix(
        "publish on 127.0.0.1 only",
        false,
        vec![Edit { range, replacement }],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_text(yaml: &str, line: usize) -> (usize, String) {
        let ls = lines(yaml);
        let b = block_of(&ls, line - 1).unwrap();
        (b.indent, yaml[..b.insert_at].to_string())
    }

    #[test]
    fn a_service_block_ends_at_its_last_content_line() {
        let yaml = "services:\n  api: &base # the api\n    image: x:1\n    environment:\n      A: b\n\n  # next\n  db:\n    image: y\n";
        let (indent, head) = block_text(yaml, 2);
        assert_eq!(indent, 4);
        assert!(head.ends_with("      A: b"), "{head:?}");
        // a flow-style service has no block
        assert!(block_of(&lines("services:\n  api: {image: x}\n"), 1).is_none());
    }

    #[test]
    fn keys_and_list_items_are_inserted_in_the_block_s_style() {
        let yaml = "services:\n  api:\n    image: x:1\n    security_opt:\n    - label:disable\n  db:\n    image: y\n";
        let ls = lines(yaml);
        let b = block_of(&ls, 1).unwrap();
        let e = no_new_privileges(yaml, &ls, &b).unwrap();
        let out = moat_diagnostics::apply_edits(yaml, std::iter::once(&e));
        assert_eq!(
            out,
            "services:\n  api:\n    image: x:1\n    security_opt:\n    - label:disable\n    - no-new-privileges:true\n  db:\n    image: y\n"
        );
        let e = insert_keys(yaml, &b, &[("read_only", "true"), ("tmpfs", "\n- /tmp")]);
        let out = moat_diagnostics::apply_edits(yaml, std::iter::once(&e));
        assert!(
            out.contains(
                "    - label:disable\n    read_only: true\n    tmpfs:\n      - /tmp\n  db:"
            ),
            "{out}"
        );
        let crlf = "services:\r\n  api:\r\n    image: x\r\n";
        let ls = lines(crlf);
        let b = block_of(&ls, 1).unwrap();
        let out = moat_diagnostics::apply_edits(
            crlf,
            std::iter::once(&insert_keys(crlf, &b, &[("pids_limit", "200")])),
        );
        assert_eq!(
            out,
            "services:\r\n  api:\r\n    image: x\r\n    pids_limit: 200\r\n"
        );
    }

    #[test]
    fn top_level_section_of_a_line() {
        let yaml = "services:\n  backend:\n    image: x\nnetworks:\n  # the back\n  backend:\n  front: {}\n";
        let ls = lines(yaml);
        assert_eq!(top_level_key(&ls, 1), Some("services"));
        assert_eq!(top_level_key(&ls, 5), Some("networks"));
        assert_eq!(top_level_key(&ls, 3), None);
        // an empty network definition gets the key indented under it
        let b = block_of(&ls, 5).unwrap();
        let out = moat_diagnostics::apply_edits(
            yaml,
            std::iter::once(&insert_keys(yaml, &b, &[("internal", "true")])),
        );
        assert!(
            out.ends_with("  backend:\n    internal: true\n  front: {}\n"),
            "{out}"
        );
    }

    #[test]
    fn ports_are_bound_to_loopback() {
        for (entry, want) in [
            ("      - \"8080:80\"", Some("      - \"127.0.0.1:8080:80\"")),
            ("      - 8080:80", Some("      - 127.0.0.1:8080:80")),
            (
                "      - '0.0.0.0:8443:443'",
                Some("      - '127.0.0.1:8443:443'"),
            ),
            ("      - 80", Some("      - 127.0.0.1::80")),
            (
                "      - \"3000-3005:3000-3005\"",
                Some("      - \"127.0.0.1:3000-3005:3000-3005\""),
            ),
            ("      - target: 80", None),
        ] {
            let ls = lines(entry);
            let got = publish_on_loopback(&ls[0])
                .map(|f| moat_diagnostics::apply_edits(entry, f.edits.iter()));
            assert_eq!(got.as_deref(), want, "{entry}");
        }
    }
}
