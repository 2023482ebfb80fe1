//! RFC 822-like stanzas, as dpkg's status and Python's core metadata write them: `Key: value`
//! lines, continuation lines starting with a space or a tab, stanzas separated by blank lines.

/// One stanza: its fields in order.
#[derive(Debug, Default)]
pub(crate) struct Stanza {
    fields: Vec<(String, String)>,
    /// Lines that were neither a field nor a continuation.
    pub(crate) bad_lines: usize,
}

impl Stanza {
    /// The first value of `key` (compared without case), trimmed.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }

    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.bad_lines == 0
    }
}

/// Every stanza of `text`. Lines that are neither fields nor continuations are counted in the
/// stanza's `bad_lines`, not fatal.
pub(crate) fn stanzas(text: &str) -> Vec<Stanza> {
    let mut out = Vec::new();
    let mut cur = Stanza::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match cur.fields.last_mut() {
                Some((_, v)) => {
                    v.push('\n');
                    v.push_str(line.trim());
                }
                None => cur.bad_lines += 1,
            }
            continue;
        }
        match line.split_once(':') {
            Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                cur.fields.push((k.to_owned(), v.trim().to_owned()));
            }
            _ => cur.bad_lines += 1,
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The header block of a message: the first stanza, when the text starts with one.
pub(crate) fn headers(text: &str) -> Stanza {
    let end = text
        .find("\n\n")
        .or_else(|| text.find("\r\n\r\n"))
        .unwrap_or(text.len());
    stanzas(&text[..end]).into_iter().next().unwrap_or_default()
}
