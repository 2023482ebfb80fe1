//! Python version order (PEP 440), with PEP 440's normalisation.
//!
//! Written here: the Rust crates for PEP 440 either come with a resolver's worth of
//! dependencies or stop at parsing; the order itself fits in one page.
//!
//! `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, case-insensitive, with the spellings PEP 440
//! normalises (`alpha`, `beta`, `c`, `pre`, `preview`, `rev`, `r`, `-N` for a post-release,
//! separators `.`, `-`, `_` or none, implicit numbers 0, a leading `v`, surrounding spaces).
//! Order: epoch, release (trailing zeros ignored), then `1.0.dev0 < 1.0a1.dev0 < 1.0a1 <
//! 1.0a1.post1 < 1.0rc1 < 1.0 < 1.0.post1.dev0 < 1.0.post1 < 1.0+local`; local segments compare
//! numbers as numbers and above words.
//!
//! A string that is not a PEP 440 version sorts below every version and, among such strings,
//! by its bytes.

use std::cmp::Ordering;

use super::cmp_digits;

/// Compares two Python versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ka, kb) = (normalise(a), normalise(b));
    match (parse(&ka), parse(&kb)) {
        (Some(x), Some(y)) => x.cmp_key(&y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => ka.cmp(&kb),
    }
}

fn normalise(v: &str) -> String {
    let v = v.trim().to_ascii_lowercase();
    v.strip_prefix('v').map(str::to_owned).unwrap_or(v)
}

#[derive(Debug)]
struct Version<'a> {
    epoch: &'a str,
    release: Vec<&'a str>,
    /// (0 = a, 1 = b, 2 = rc, number)
    pre: Option<(u8, &'a str)>,
    post: Option<&'a str>,
    dev: Option<&'a str>,
    local: Vec<&'a str>,
}

/// Where a release sits among its pre-, post- and dev-releases.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    /// `1.0.dev0`: below every pre-release of 1.0.
    DevOfFinal,
    Pre(u8, Digits<'a>),
    None,
}

#[derive(Debug, PartialEq, Eq)]
struct Digits<'a>(&'a str);

impl PartialOrd for Digits<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Digits<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.0, other.0)
    }
}

impl Version<'_> {
    fn cmp_key(&self, other: &Version<'_>) -> Ordering {
        cmp_digits(self.epoch, other.epoch)
            .then_with(|| cmp_release(&self.release, &other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            // no post-release is below any post-release
            .then_with(|| self.post.map(Digits).cmp(&other.post.map(Digits)))
            // no dev-release is above any dev-release
            .then_with(|| match (self.dev, other.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => cmp_digits(a, b),
            })
            .then_with(|| cmp_local(&self.local, &other.local))
    }

    fn pre_key(&self) -> PreKey<'_> {
        match (self.pre, self.post, self.dev) {
            (Some((kind, n)), _, _) => PreKey::Pre(kind, Digits(n)),
            (None, None, Some(_)) => PreKey::DevOfFinal,
            (None, _, _) => PreKey::None,
        }
    }
}

fn cmp_release(a: &[&str], b: &[&str]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = cmp_digits(
            a.get(i).copied().unwrap_or("0"),
            b.get(i).copied().unwrap_or("0"),
        );
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// No local part is below any; segments: numbers above words, numbers as numbers.
fn cmp_local(a: &[&str], b: &[&str]) -> Ordering {
    let numeric = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => match (numeric(x), numeric(y)) {
                (true, true) => cmp_digits(x, y),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => x.cmp(y),
            },
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// A small cursor over the normalised (lower-case) version.
struct Cursor<'a> {
    s: &'a str,
}

impl<'a> Cursor<'a> {
    fn digits(&mut self) -> Option<&'a str> {
        let n = self.s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let (d, rest) = self.s.split_at(n);
        self.s = rest;
        Some(d)
    }

    /// An optional separator then one of `words` (listed longest first, so `preview` is not
    /// read as `pre`); on no match nothing is consumed.
    fn word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let body = self.s.strip_prefix(['.', '-', '_']).unwrap_or(self.s);
        for w in words {
            if let Some(rest) = body.strip_prefix(*w) {
                self.s = rest;
                return Some(w);
            }
        }
        None
    }

    /// An optional separator then digits; "0" when there are none (nothing consumed).
    fn number_or_zero(&mut self) -> &'a str {
        let save = self.s;
        let body = self.s.strip_prefix(['.', '-', '_']).unwrap_or(self.s);
        self.s = body;
        if let Some(d) = self.digits() {
            d
        } else {
            self.s = save;
            "0"
        }
    }
}

fn parse(v: &str) -> Option<Version<'_>> {
    let (public, local) = match v.split_once('+') {
        Some((p, l)) => (p, Some(l)),
        None => (v, None),
    };
    let mut c = Cursor { s: public };
    let mut epoch = "0";
    if let Some((e, rest)) = public.split_once('!') {
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        epoch = e;
        c.s = rest;
    }
    let mut release = vec![c.digits()?];
    while let Some(rest) = c.s.strip_prefix('.') {
        let mut probe = Cursor { s: rest };
        match probe.digits() {
            Some(d) => {
                release.push(d);
                c.s = probe.s;
            }
            None => break,
        }
    }
    let pre = c
        .word(&["preview", "alpha", "beta", "pre", "rc", "a", "b", "c"])
        .map(|w| {
            let kind = match w {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            (kind, c.number_or_zero())
        });
    let post = if let Some(rest) =
        c.s.strip_prefix('-')
            .filter(|r| r.starts_with(|ch: char| ch.is_ascii_digit()))
    {
        c.s = rest;
        c.digits()
    } else {
        c.word(&["post", "rev", "r"]).map(|_| c.number_or_zero())
    };
    let dev = c.word(&["dev"]).map(|_| c.number_or_zero());
    if !c.s.is_empty() {
        return None;
    }
    let local = match local {
        Some(l) => {
            let segments: Vec<&str> = l.split(['.', '-', '_']).collect();
            if segments
                .iter()
                .any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return None;
            }
            segments
        }
        None => Vec::new(),
    };
    Some(Version {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

#[cfg(test)]
mod tests {
    use super::compare;
    use crate::version::testutil::{check_order_laws, check_table};
    use proptest::prelude::*;

    #[test]
    fn tricky_orderings() {
        check_table(
            compare,
            &[
                ("1.0.dev0", "<", "1.0a0"),
                ("1.0.dev456", "<", "1.0a1"),
                ("1.0a1.dev0", "<", "1.0a1"),
                ("1.0a1", "<", "1.0a2.dev456"),
                ("1.0a12.dev456", "<", "1.0a12"),
                ("1.0a12", "<", "1.0b1.dev456"),
                ("1.0a1", "<", "1.0a1.post1"),
                ("1.0b2", "<", "1.0b2.post345.dev456"),
                ("1.0b2.post345.dev456", "<", "1.0b2.post345"),
                ("1.0b2.post345", "<", "1.0rc1.dev456"),
                ("1.0rc1", "<", "1.0"),
                ("1.0", "<", "1.0+abc.5"),
                ("1.0+abc.5", "<", "1.0+abc.7"),
                ("1.0+abc.7", "<", "1.0+5"),
                ("1.0+5", "<", "1.0.post456.dev34"),
                ("1.0.post456.dev34", "<", "1.0.post456"),
                ("1.0.post456", "<", "1.1.dev1"),
                ("1.0", "=", "1.0.0"),
                ("1.0", "=", "1.0.0.0"),
                ("1!1.0", ">", "2.0"),
                ("0!2.0", "=", "2.0"),
                ("1.0-post1", "=", "1.0.post1"),
                ("1.0post1", "=", "1.0.post1"),
                ("1.0-1", "=", "1.0.post1"),
                ("1.0.RC1", "=", "1.0rc1"),
                ("1.0c1", "=", "1.0rc1"),
                ("1.0-preview-2", "=", "1.0rc2"),
                ("1.0alpha", "=", "1.0a0"),
                ("1.0.beta.3", "=", "1.0b3"),
                ("1.0.rev2", "=", "1.0.post2"),
                ("1.0-r", "=", "1.0.post0"),
                ("1.0_dev", "=", "1.0.dev0"),
                ("v1.0", "=", "1.0"),
                (" 1.0 ", "=", "1.0"),
                ("1.0+ubuntu-1", "=", "1.0+ubuntu.1"),
                ("1.0+1", "<", "1.0+1.0"),
                ("1.10", ">", "1.9"),
                ("2.31.0", ">", "2.4.0"),
                ("not a version", "<", "0"),
            ],
        );
    }

    fn pep440() -> impl Strategy<Value = String> {
        "([0-2]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,2}((a|b|rc)[0-9]?)?(\\.post[0-9])?(\\.dev[0-9])?(\\+[a-z0-9]{1,3}(\\.[a-z0-9]{1,3})?)?"
    }

    proptest! {
        #[test]
        fn total_order(a in pep440(), b in pep440(), c in pep440()) {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn any_string_is_ordered(a in "[0-9a-z.!+\\-]{0,10}", b in "[0-9a-z.!+\\-]{0,10}", c in "[0-9a-z.!+\\-]{0,10}") {
            check_order_laws(compare, &a, &b, &c);
        }
    }
}
