//! Alpine package version order, as apk-tools compares versions.
//!
//! Written here: no maintained crate implements apk's order, and it is short.
//!
//! A version is `number{.number}[letter]{_suffix[number]}[-rN]`. Versions are compared token
//! by token; at the first difference:
//! - two tokens of the same kind compare by value: numbers as numbers (a later component that
//!   starts with `0` is a decimal fraction and compares as a string, so `1.01 < 1.1`), letters
//!   alphabetically, suffixes in the order
//!   `_alpha < _beta < _pre < _rc < _cvs < _svn < _git < _hg < _p`, suffix numbers and `-r`
//!   revisions as numbers;
//! - tokens of different kinds: a pre-release suffix (`_alpha` … `_rc`) is below anything, and
//!   otherwise the version that goes on is the greater one — with ends of string, revisions,
//!   suffix numbers, post-release suffixes, letters and numbers ranked in that increasing
//!   order. So `1.2.3_rc1 < 1.2.3 < 1.2.3-r1 < 1.2.3_p1 < 1.2.3a < 1.2.3.1`.
//!
//! A string apk would call invalid still has a place: from the first character that does not
//! fit, the rest is one opaque token, greater than any well-formed continuation and compared
//! with other opaque tokens as bytes.

use std::cmp::Ordering;

use super::cmp_digits;

/// Compares two Alpine package versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut ta = Tokens::new(a.trim());
    let mut tb = Tokens::new(b.trim());
    loop {
        let (x, y) = (ta.next_token(), tb.next_token());
        let order = x.cmp_token(&y);
        if order != Ordering::Equal || matches!(x, Token::End) {
            return order;
        }
    }
}

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

#[derive(Debug)]
enum Token<'a> {
    /// A number; `fraction` for a component after a `.` that starts with `0`.
    Number {
        digits: &'a str,
        fraction: bool,
    },
    Letter(u8),
    /// `_alpha` … `_p`, as -4 … -1 (pre-release) and 1 … 5 (post-release).
    Suffix(i8),
    SuffixNumber(&'a str),
    Revision(&'a str),
    Invalid(&'a str),
    End,
}

impl Token<'_> {
    /// The rank of a token's kind where kinds differ (higher: the greater version).
    fn rank(&self) -> u8 {
        match self {
            Token::Suffix(v) if *v < 0 => 0,
            Token::End => 1,
            Token::Revision(_) => 2,
            Token::SuffixNumber(_) => 3,
            Token::Suffix(_) => 4,
            Token::Letter(_) => 5,
            Token::Number { .. } => 6,
            Token::Invalid(_) => 7,
        }
    }

    fn cmp_token(&self, other: &Token<'_>) -> Ordering {
        match (self, other) {
            (
                Token::Number {
                    digits: a,
                    fraction: fa,
                },
                Token::Number {
                    digits: b,
                    fraction: fb,
                },
            ) => {
                if *fa || *fb {
                    // a fraction sorts below every whole number: `1.05 < 1.1`
                    fb.cmp(fa).then_with(|| a.cmp(b))
                } else {
                    cmp_digits(a, b)
                }
            }
            (Token::Letter(a), Token::Letter(b)) => a.cmp(b),
            (Token::Suffix(a), Token::Suffix(b)) => a.cmp(b),
            (Token::SuffixNumber(a), Token::SuffixNumber(b))
            | (Token::Revision(a), Token::Revision(b)) => cmp_digits(a, b),
            (Token::Invalid(a), Token::Invalid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// What the tokenizer expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FirstNumber,
    AfterNumber,
    AfterLetter,
    AfterSuffix,
    AfterSuffixNumber,
    Done,
}

struct Tokens<'a> {
    rest: &'a str,
    state: State,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Tokens<'a> {
        Tokens {
            rest: s,
            state: State::FirstNumber,
        }
    }

    fn invalid(&mut self) -> Token<'a> {
        let rest = self.rest;
        self.rest = "";
        self.state = State::Done;
        Token::Invalid(rest)
    }

    fn take_digits(&mut self) -> &'a str {
        let n = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, rest) = self.rest.split_at(n);
        self.rest = rest;
        digits
    }

    fn next_token(&mut self) -> Token<'a> {
        if self.state == State::Done {
            return Token::End;
        }
        if self.rest.is_empty() {
            self.state = State::Done;
            return Token::End;
        }
        let bytes = self.rest.as_bytes();
        match self.state {
            State::FirstNumber => {
                if !bytes[0].is_ascii_digit() {
                    return self.invalid();
                }
                self.state = State::AfterNumber;
                Token::Number {
                    digits: self.take_digits(),
                    fraction: false,
                }
            }
            State::AfterNumber | State::AfterLetter | State::AfterSuffixNumber => match bytes[0] {
                b'.' if self.state == State::AfterNumber
                    && bytes.get(1).is_some_and(u8::is_ascii_digit) =>
                {
                    self.rest = &self.rest[1..];
                    let fraction = self.rest.starts_with('0');
                    Token::Number {
                        digits: self.take_digits(),
                        fraction,
                    }
                }
                c if c.is_ascii_lowercase() && self.state == State::AfterNumber => {
                    self.rest = &self.rest[1..];
                    self.state = State::AfterLetter;
                    Token::Letter(c)
                }
                b'_' => {
                    let name_len = bytes[1..]
                        .iter()
                        .take_while(|c| c.is_ascii_lowercase())
                        .count();
                    let name = &self.rest[1..=name_len];
                    let value = if let Some(i) = PRE_SUFFIXES.iter().position(|s| *s == name) {
                        i as i8 - PRE_SUFFIXES.len() as i8
                    } else if let Some(i) = POST_SUFFIXES.iter().position(|s| *s == name) {
                        i as i8 + 1
                    } else {
                        return self.invalid();
                    };
                    self.rest = &self.rest[1 + name_len..];
                    self.state = State::AfterSuffix;
                    Token::Suffix(value)
                }
                b'-' if bytes.get(1) == Some(&b'r')
                    && bytes.len() > 2
                    && bytes[2..].iter().all(u8::is_ascii_digit) =>
                {
                    self.rest = &self.rest[2..];
                    let digits = self.take_digits();
                    self.state = State::Done;
                    Token::Revision(digits)
                }
                _ => self.invalid(),
            },
            State::AfterSuffix => {
                if bytes[0].is_ascii_digit() {
                    self.state = State::AfterSuffixNumber;
                    Token::SuffixNumber(self.take_digits())
                } else {
                    // `_rc` without a number: go on as after a suffix number
                    self.state = State::AfterSuffixNumber;
                    self.next_token()
                }
            }
            State::Done => Token::End,
        }
    }
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
                ("1.2.3_rc1", "<", "1.2.3"),
                ("1.2.3", "<", "1.2.3_p1"),
                ("1.2.3_rc1", "<", "1.2.3_p1"),
                ("1.2.3_alpha", "<", "1.2.3_beta"),
                ("1.2.3_beta", "<", "1.2.3_pre"),
                ("1.2.3_pre", "<", "1.2.3_rc"),
                ("1.2.3_rc", "<", "1.2.3"),
                ("1.2.3", "<", "1.2.3_cvs"),
                ("1.2.3_cvs", "<", "1.2.3_svn"),
                ("1.2.3_svn", "<", "1.2.3_git"),
                ("1.2.3_git", "<", "1.2.3_hg"),
                ("1.2.3_hg", "<", "1.2.3_p"),
                ("1.2.3_rc", "<", "1.2.3_rc1"),
                ("1.2.3_rc1", "<", "1.2.3_rc2"),
                ("1.2.3_rc9", "<", "1.2.3_rc10"),
                ("1.2.3", "<", "1.2.3-r1"),
                ("1.2.3-r0", ">", "1.2.3"),
                ("1.2.3-r1", "<", "1.2.3-r2"),
                ("1.2.3-r9", "<", "1.2.3-r10"),
                ("1.2.3-r5", "<", "1.2.3_p1"),
                ("1.2.3-r5", "<", "1.2.4-r0"),
                ("1.2.3_rc1-r5", "<", "1.2.3-r0"),
                ("1.0", "<", "1.0a"),
                ("1.0a", "<", "1.0b"),
                ("1.0a", "<", "1.0.1"),
                ("1.0a", ">", "1.0_p1"),
                ("1.0", "<", "1.0.0"),
                ("1.9", "<", "1.10"),
                ("1.01", "<", "1.1"),
                ("1.05", "<", "1.1"),
                ("1.001", "<", "1.01"),
                ("1.2.3-r0", "=", "1.2.3-r0"),
                ("1.2.3-r00", "=", "1.2.3-r0"),
                ("01.2", "=", "1.2"),
                ("2.4.41-r0", ">", "2.4.39-r1"),
                ("1.1.1d-r3", "<", "1.1.1g-r0"),
                ("1.1.1d-r3", ">", "1.1.1d-r2"),
                ("1.1.1d-r3", "<", "1.1.2-r0"),
                ("1.31.1-r9", "<", "1.31.1-r10"),
                ("9999999999999999999999.1", ">", "999999999999999999999.1"),
                ("1.0_foo", ">", "1.0_p1"),
                ("1.0.x", ">", "1.0.9"),
            ],
        );
    }

    fn apk_version() -> impl Strategy<Value = String> {
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}[a-c]?(_(alpha|beta|pre|rc|cvs|git|p)[0-9]?){0,2}(-r[0-9]{1,2})?"
    }

    proptest! {
        #[test]
        fn total_order(a in apk_version(), b in apk_version(), c in apk_version()) {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn any_string_is_ordered(a in "[0-9a-z._\\-]{0,10}", b in "[0-9a-z._\\-]{0,10}", c in "[0-9a-z._\\-]{0,10}") {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn revision_is_greater(v in apk_version().prop_filter("no revision", |v| !v.contains("-r")), r in 0u32..20) {
            let with = format!("{v}-r{r}");
            prop_assert_eq!(compare(&with, &v), std::cmp::Ordering::Greater);
        }
    }
}
