//! Debian version order, as `deb-version(7)` defines it and `dpkg --compare-versions` applies it.
//!
//! Written here rather than taken from a crate: the crates that do this either pull in a
//! Debian-packaging toolkit far larger than one function, or reject versions dpkg itself
//! compares (an epoch-less upstream with a colon, empty parts); this order is a page long.
//!
//! `[epoch:]upstream[-revision]`: the epoch is compared as a number (0 when absent), then the
//! upstream version, then the revision (split at the *last* `-`; empty when there is none),
//! each with the same algorithm: alternate runs of non-digits (compared character by character,
//! `~` before the end of the string, the end before a letter, a letter before any other
//! character) and runs of digits (compared as numbers).
//!
//! Anything is accepted: a prefix before `:` that is not a number is not an epoch, it is part of
//! the upstream version.

use std::cmp::Ordering;

use super::cmp_digits;

/// Compares two Debian versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let a = Parts::of(a);
    let b = Parts::of(b);
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| cmp_part(a.upstream, b.upstream))
        .then_with(|| cmp_part(a.revision, b.revision))
}

/// A version split into its three parts.
struct Parts<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

impl<'a> Parts<'a> {
    fn of(v: &'a str) -> Parts<'a> {
        let v = v.trim();
        let (epoch, rest) = match v.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, rest),
            _ => ("0", v),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Parts {
            epoch,
            upstream,
            revision,
        }
    }
}

/// The weight of one character in a non-digit run; `None` is the end of the run.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Compares one part (upstream or revision).
fn cmp_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        // the non-digit run, character by character
        loop {
            let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
            let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let order = weight(ca).cmp(&weight(cb));
            if order != Ordering::Equal {
                return order;
            }
            // equal weights with one side at a digit or the end cannot happen: those weigh 0,
            // and a non-digit character never does
            a = &a[1..];
            b = &b[1..];
        }
        // the digit run, as a number
        let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let (na, nb) = (
            std::str::from_utf8(&a[..da]).unwrap_or_default(),
            std::str::from_utf8(&b[..db]).unwrap_or_default(),
        );
        let order = cmp_digits(na, nb);
        if order != Ordering::Equal {
            return order;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
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
                ("1.0", "<", "1.1"),
                ("1.0", "=", "1.0"),
                ("1.0", "=", "0:1.0"),
                ("1.0", "=", "1.00"),
                ("1.0-1", "=", "1.0-01"),
                ("1:0.1", ">", "9.9"),
                ("2:1.0", ">", "1:9.9"),
                ("1.0~rc1", "<", "1.0"),
                ("1.0~~", "<", "1.0~"),
                ("1.0~", "<", "1.0"),
                ("1.0~~a", "<", "1.0~"),
                ("1.0", "<", "1.0a"),
                ("1.0a", "<", "1.0+"),
                ("1.0+", "<", "1.0.1"),
                ("1.0a", "<", "1.0.1"),
                ("1.0.1", ">", "1.0+dfsg"),
                ("1.0", "<", "1.0-1"),
                ("1.0-1", "<", "1.0-1.1"),
                ("1.0-1", "<", "1.0-2"),
                ("1.0-9", "<", "1.0-10"),
                ("3.0.11-1~deb12u2", "<", "3.0.11-1"),
                ("3.0.11-1~deb12u1", "<", "3.0.11-1~deb12u2"),
                ("3.0.13-1~deb12u1", ">", "3.0.11-1~deb12u2"),
                ("2.36-9+deb12u4", ">", "2.36-9"),
                ("2.36-9+deb12u3", "<", "2.36-9+deb12u10"),
                ("1:1.2.13.dfsg-1", ">", "1.3-1"),
                ("252.22-1~deb12u1", "<", "252.22-1"),
                ("1.2~bpo12+1", "<", "1.2"),
                ("1.2-1~bpo12+1", "<", "1.2-1"),
                ("1.2-1~bpo12+1", ">", "1.2-0"),
                ("1.2-3+b1", ">", "1.2-3"),
                ("1.2-3+b1", "<", "1.2-3.1"),
                ("1.2.3-a-b", ">", "1.2.3-a"),
                ("1.2-3-4", "=", "1.2-3-04"),
                ("10", ">", "9"),
                (
                    "1.0000000000000000000000000001",
                    ">",
                    "1.0000000000000000000000000000",
                ),
                ("99999999999999999999999", "<", "100000000000000000000000"),
                ("a", "<", "b"),
                ("A", "<", "a"),
                ("1.0-", "=", "1.0"),
                ("x:1.0", ">", "1.0"),
            ],
        );
    }

    fn dpkg_version() -> impl Strategy<Value = String> {
        "([0-2]:)?[0-9]{1,2}([.+~][0-9a-z]{1,3}){0,3}(-[0-9a-z]{1,2}([.+~][0-9a-z]{1,4}){0,2})?"
    }

    proptest! {
        #[test]
        fn total_order(a in dpkg_version(), b in dpkg_version(), c in dpkg_version()) {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn tilde_sorts_first(v in "[0-9]{1,3}(\\.[0-9a-z]{1,3}){0,2}") {
            let pre = format!("{v}~");
            prop_assert_eq!(compare(&pre, &v), std::cmp::Ordering::Less);
        }

        #[test]
        fn any_string_is_ordered(a in ".{0,12}", b in ".{0,12}", c in ".{0,12}") {
            check_order_laws(compare, &a, &b, &c);
        }
    }
}
