//! RPM version order, as rpm's `rpmverCmp` compares `[epoch:]version[-release]` (rpm ≥ 4.16,
//! `rpm --eval '%{lua: print(rpm.vercmp(a, b))}'`) and `rpmvercmp` compares each part.
//!
//! Written here like moat's other orders: a page of code, no dependency, and the same contract
//! (any string is ordered, nothing fails). Every row of the table test below was checked
//! against rpm 4.18's `rpm.vercmp`.
//!
//! The epoch is the run of digits before a `:` at the start (`0` when there is none or it is
//! empty); the release is what follows the *last* `-` after the epoch. Epochs compare first,
//! then versions, then releases; a version without a release sorts before the same version
//! with any release, even an empty one (`1.0 < 1.0- < 1.0-1`), as `rpmverCmp` has it.
//!
//! Each part is compared as a sequence of tokens, at the first difference:
//! - the characters other than ASCII letters, digits, `~` and `^` only separate tokens
//!   (`1.0 = 1_0 = 1.0.`);
//! - a run of digits is a number (leading zeros ignored, unbounded) and a run of letters a word
//!   (compared as bytes, `A < a`); a number is greater than a word (`1.0a < 1.0.1`);
//! - `~` sorts before everything, the end of the part included (`1.0~rc1 < 1.0`);
//! - `^` sorts after the end of the part but before a number or word (`1.0 < 1.0^git1 <
//!   1.0.1`);
//! - otherwise the part that goes on is the greater one (`1.0 < 1.0a`: unlike Debian, a letter
//!   suffix without `~` is a later version, `1.0rc1 > 1.0`).
//!
//! Any string has a place: rpm rejects an empty version, which here is the smallest of all.

use std::cmp::Ordering;

use super::cmp_digits;

/// Compares two RPM versions (`[epoch:]version[-release]`).
pub fn compare(a: &str, b: &str) -> Ordering {
    let a = Evr::of(a);
    let b = Evr::of(b);
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| cmp_part(a.version, b.version))
        .then_with(|| match (a.release, b.release) {
            (Some(x), Some(y)) => cmp_part(x, y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        })
}

/// A version split into epoch, version and release.
struct Evr<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    fn of(v: &'a str) -> Evr<'a> {
        let digits = v.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match v[digits..].strip_prefix(':') {
            Some(rest) => (&v[..digits], rest),
            None => ("", v),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }
}

/// One token of a version part, in increasing order where kinds differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// `~`: before everything.
    Tilde,
    /// The end of the part.
    End,
    /// `^`: after the end, before words and numbers.
    Caret,
    /// A run of ASCII letters.
    Word(&'a [u8]),
    /// A run of ASCII digits.
    Number(&'a str),
}

impl Token<'_> {
    fn rank(self) -> u8 {
        match self {
            Token::Tilde => 0,
            Token::End => 1,
            Token::Caret => 2,
            Token::Word(_) => 3,
            Token::Number(_) => 4,
        }
    }

    fn cmp_token(self, other: Token<'_>) -> Ordering {
        match (self, other) {
            (Token::Word(a), Token::Word(b)) => a.cmp(b),
            (Token::Number(a), Token::Number(b)) => cmp_digits(a, b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// The next token of `s`, and what is left after it.
fn next_token(s: &str) -> (Token<'_>, &str) {
    let s = s.trim_start_matches(|c: char| !c.is_ascii_alphanumeric() && c != '~' && c != '^');
    let bytes = s.as_bytes();
    match bytes.first() {
        None => (Token::End, s),
        Some(b'~') => (Token::Tilde, &s[1..]),
        Some(b'^') => (Token::Caret, &s[1..]),
        Some(c) if c.is_ascii_digit() => {
            let n = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
            (Token::Number(&s[..n]), &s[n..])
        }
        Some(_) => {
            let n = bytes.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            (Token::Word(&bytes[..n]), &s[n..])
        }
    }
}

/// Compares one part (version or release), token by token.
fn cmp_part(mut a: &str, mut b: &str) -> Ordering {
    loop {
        let (ta, rest_a) = next_token(a);
        let (tb, rest_b) = next_token(b);
        let order = ta.cmp_token(tb);
        if order != Ordering::Equal || ta == Token::End {
            return order;
        }
        a = rest_a;
        b = rest_b;
    }
}

#[cfg(test)]
mod tests {
    use super::compare;
    use crate::version::testutil::{check_order_laws, check_table};
    use proptest::prelude::*;

    /// Every row agrees with rpm 4.18's `rpm.vercmp` (which parses the epoch and release).
    #[test]
    fn tricky_orderings() {
        check_table(
            compare,
            &[
                ("1.0", "<", "1.1"),
                ("1.0", "=", "1.0"),
                ("1.0", "=", "0:1.0"),
                ("1.0", "=", "1.00"),
                ("1.0", "=", "1_0"),
                ("1.0", "=", "1..0"),
                ("1.0", "=", "1.0."),
                ("1.0é", "=", "1.0"),
                ("1:0.1", ">", "9.9"),
                ("2:1.0", ">", "1:9.9"),
                ("01:1.0", "=", "1:1.0"),
                (":1.0", "=", "1.0"),
                ("x:1.0", "<", "1.0"),
                ("1:", "<", "1:0"),
                ("1:", ">", "0:"),
                ("1.0~rc1", "<", "1.0"),
                ("1.0~rc1", "<", "1.0~rc2"),
                ("1.0~~", "<", "1.0~"),
                ("1.0~", "<", "1.0"),
                ("1.0^", ">", "1.0"),
                ("1.0^", ">", "1.0~"),
                ("1.0^", "<", "1.0^git"),
                ("1.0^git1", ">", "1.0"),
                ("1.0^git1", "<", "1.0.1"),
                ("1.0^git1", "<", "1.0a"),
                ("1.0^git1", "<", "1.0^git2"),
                ("1.0^git1~pre", "<", "1.0^git1"),
                ("1.0~rc1^git1", ">", "1.0~rc1"),
                ("1.0~rc1^git1", "<", "1.0"),
                ("1.0a", ">", "1.0"),
                ("1.0a", "<", "1.0.1"),
                ("1.a", "<", "1.1"),
                ("1.0rc1", ">", "1.0"),
                ("a", "<", "b"),
                ("A", "<", "a"),
                ("1.0alpha", "<", "1.0beta"),
                ("10", ">", "9"),
                ("1.010", "=", "1.10"),
                ("1.01", "=", "1.1"),
                ("99999999999999999999999", "<", "100000000000000000000000"),
                (
                    "1.0000000000000000000000000001",
                    ">",
                    "1.0000000000000000000000000000",
                ),
                ("1.0-1", "<", "1.0-2"),
                ("1.0-9", "<", "1.0-10"),
                ("1.0-1.el9", "<", "1.0-1.el9_3"),
                ("3.0.7-24.el9", "<", "3.0.7-25.el9_3"),
                ("1:3.0.7-25.el9_3", ">", "3.0.7-27.el9"),
                ("3.0.7-25.el9_3", "<", "3.0.7-25.el9_4"),
                ("3.0.7-25.el9_3.1", ">", "3.0.7-25.el9_3"),
                ("1.0-1.el9", "<", "1.0-1.el10"),
                ("1.0-1.fc39", ">", "1.0-1.el9"),
                ("1.2.3-a-b", ">", "1.2.3-a"),
                ("1.0~rc1-1", "<", "1.0-1"),
                ("1.0-1~rc", "<", "1.0-1"),
                ("2.36-9+deb12u4", ">", "2.36-9"),
                // no release sorts before any release, even an empty one or `~`
                ("1.0", "<", "1.0-1"),
                ("1.0", "<", "1.0-"),
                ("1.0", "<", "1.0-~"),
                ("1.0-~", "<", "1.0-"),
                ("1.0-", "<", "1.0-0"),
            ],
        );
    }

    #[test]
    fn osv_rpm_ecosystems_use_this_order() {
        use crate::version::Scheme;
        for eco in [
            "Red Hat:enterprise_linux:9::baseos",
            "AlmaLinux:9",
            "Rocky Linux:9",
            "openSUSE:Leap 15.5",
            "SUSE:Linux Enterprise Server 15 SP5",
            "Mageia:9",
            "openEuler:22.03-LTS-SP3",
            "Photon OS:5.0",
            "Azure Linux:3.0",
        ] {
            assert_eq!(Scheme::for_ecosystem(eco), Some(Scheme::Rpm), "{eco}");
        }
        assert_eq!(
            Scheme::Rpm.compare("1:1.0-1.el9", "1.0-1.el9"),
            std::cmp::Ordering::Greater
        );
    }

    #[test]
    fn empty_is_the_smallest_version() {
        // rpm rejects the empty version; here it is below everything but `~` runs
        assert_eq!(compare("", ""), std::cmp::Ordering::Equal);
        assert_eq!(compare("", "0"), std::cmp::Ordering::Less);
        assert_eq!(compare("", "~"), std::cmp::Ordering::Greater);
    }

    fn rpm_version() -> impl Strategy<Value = String> {
        "([0-2]:)?[0-9]{1,2}([._~^][0-9a-z]{1,3}){0,3}(-[0-9a-z]{1,2}([._~^][0-9a-z]{1,4}){0,2})?"
    }

    proptest! {
        #[test]
        fn total_order(a in rpm_version(), b in rpm_version(), c in rpm_version()) {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn tilde_sorts_first_and_caret_after_the_end(v in "[0-9]{1,3}(\\.[0-9a-z]{1,3}){0,2}") {
            prop_assert_eq!(compare(&format!("{v}~"), &v), std::cmp::Ordering::Less);
            prop_assert_eq!(compare(&format!("{v}^"), &v), std::cmp::Ordering::Greater);
            prop_assert_eq!(compare(&format!("{v}^1"), &format!("{v}.0")), std::cmp::Ordering::Less);
        }

        #[test]
        fn epoch_wins(e in 1u32..100, a in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}", b in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}") {
            prop_assert_eq!(compare(&format!("{e}:{a}"), &b), std::cmp::Ordering::Greater);
        }

        #[test]
        fn any_string_is_ordered(a in ".{0,12}", b in ".{0,12}", c in ".{0,12}") {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn separators_only_separate(a in "[0-9a-z~^]{0,3}([._+][0-9a-z~^]{1,3}){0,3}") {
            let b: String = a.chars().map(|c| if matches!(c, '.' | '+') { '_' } else { c }).collect();
            prop_assert_eq!(compare(&a, &b), std::cmp::Ordering::Equal);
        }
    }
}
