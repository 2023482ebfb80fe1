//! Variable expansion as Dockerfiles do it for ARG and ENV values.
//!
//! Supported: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`
//! (the default or alternative is itself expanded). `$$` and `\$` are left as written, and so is
//! any other form (`${VAR:?msg}`, `${#VAR}`, `$1`, an unclosed `${`).

use std::collections::HashMap;

/// Nesting depth of `${…}` words beyond which they are left as written.
const MAX_DEPTH: usize = 32;

/// Expands the variables of `s`; `lookup` gives the value of a set variable and `None` for an
/// unset one (which expands to nothing).
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_at(s, lookup, 0)
}

fn expand_at(s: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    let cx = Context {
        lookup,
        depth,
        closes: closing_braces(s),
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(found) = s.get(i..).and_then(|r| r.find(['$', '\\'])) {
        out.push_str(&s[i..i + found]);
        i += found;
        let (replacement, used) = cx.expansion(s, i);
        out.push_str(&replacement);
        i += used;
    }
    out.push_str(s.get(i..).unwrap_or(""));
    out
}

/// What an expansion needs besides the text.
struct Context<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    depth: usize,
    /// Offset of each `${` mapped to its closing `}`.
    closes: HashMap<usize, usize>,
}

impl Context<'_> {
    /// The expansion of the `$…` (or `\…`) at `s[i..]`, and how many bytes it used.
    fn expansion(&self, s: &str, i: usize) -> (String, usize) {
        let bytes = s.as_bytes();
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'\\' | b'$'), Some(b'$')) => (s[i..i + 2].to_owned(), 2),
            (Some(b'$'), Some(b'{')) => match self.closes.get(&i) {
                Some(&close) => (self.braced(&s[i..=close]), close + 1 - i),
                None => ("$".to_owned(), 1),
            },
            (Some(b'$'), Some(&c)) if c.is_ascii_alphabetic() || c == b'_' => {
                let len = name_len(&s[i + 1..]);
                (
                    (self.lookup)(&s[i + 1..=i + len]).unwrap_or_default(),
                    1 + len,
                )
            }
            _ => (s[i..=i].to_owned(), 1),
        }
    }

    /// The expansion of the whole `${…}` in `s`, or `s` itself when it is not a form we expand.
    fn braced(&self, s: &str) -> String {
        let inner = &s[2..s.len() - 1];
        let len = name_len(inner);
        let name = &inner[..len];
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return s.to_owned();
        }
        let value = (self.lookup)(name);
        let op = &inner[len..];
        let word = |w: &str| {
            if self.depth < MAX_DEPTH {
                expand_at(w, self.lookup, self.depth + 1)
            } else {
                w.to_owned()
            }
        };
        if op.is_empty() {
            value.unwrap_or_default()
        } else if let Some(w) = op.strip_prefix(":-") {
            value.filter(|v| !v.is_empty()).unwrap_or_else(|| word(w))
        } else if let Some(w) = op.strip_prefix(":+") {
            value
                .filter(|v| !v.is_empty())
                .map(|_| word(w))
                .unwrap_or_default()
        } else if let Some(w) = op.strip_prefix('-') {
            value.unwrap_or_else(|| word(w))
        } else if let Some(w) = op.strip_prefix('+') {
            value.map(|_| word(w)).unwrap_or_default()
        } else {
            s.to_owned()
        }
    }
}

/// Length of the variable name at the start of `s`.
fn name_len(s: &str) -> usize {
    s.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count()
}

/// Each `${` of `s` mapped to the `}` that closes it (nested `${` counted), in one pass.
fn closing_braces(s: &str) -> HashMap<usize, usize> {
    let mut closes = HashMap::new();
    if !s.contains("${") {
        return closes;
    }
    let bytes = s.as_bytes();
    let mut open = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'$' && bytes.get(i + 1) == Some(&b'{') {
            open.push(i);
            i += 1;
        } else if b == b'}'
            && let Some(o) = open.pop()
        {
            closes.insert(o, i);
        }
        i += 1;
    }
    closes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(s: &str) -> String {
        expand(s, &|name| match name {
            "TAG" => Some("1.2".into()),
            "EMPTY" => Some(String::new()),
            "NESTED" => Some("${TAG}".into()),
            _ => None,
        })
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(env("img:$TAG"), "img:1.2");
        assert_eq!(env("img:${TAG}-x"), "img:1.2-x");
        assert_eq!(env("a$UNSET.b"), "a.b");
        assert_eq!(env("$TAG_X"), "");
        assert_eq!(env("${NESTED}"), "${TAG}");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(env("${UNSET:-d}"), "d");
        assert_eq!(env("${EMPTY:-d}"), "d");
        assert_eq!(env("${EMPTY-d}"), "");
        assert_eq!(env("${UNSET-d}"), "d");
        assert_eq!(env("${TAG:-d}"), "1.2");
        assert_eq!(env("${TAG:+alt}"), "alt");
        assert_eq!(env("${EMPTY:+alt}"), "");
        assert_eq!(env("${EMPTY+alt}"), "alt");
        assert_eq!(env("${UNSET+alt}"), "");
        assert_eq!(env("${UNSET:-${TAG}}"), "1.2");
        assert_eq!(env("${UNSET:-a${UNSET2:-b}c}"), "abc");
    }

    #[test]
    fn leaves_other_forms_alone() {
        for s in [
            "$$TAG",
            "\\$TAG",
            "${TAG:?err}",
            "${#TAG}",
            "${TAG/a/b}",
            "${1}",
            "$1",
            "${",
            "${TAG",
            "$",
            "\\",
            "100%",
            "é$",
        ] {
            assert_eq!(env(s), s, "{s}");
        }
    }

    #[test]
    fn unicode_around_variables() {
        assert_eq!(env("é${TAG}ü$TAG"), "é1.2ü1.2");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let s = "${A:-".repeat(10_000) + &"}".repeat(10_000);
        let _ = env(&s);
    }

    #[test]
    fn many_unclosed_braces_stay_linear() {
        let s = "${".repeat(100_000);
        assert_eq!(env(&s), s);
    }
}
