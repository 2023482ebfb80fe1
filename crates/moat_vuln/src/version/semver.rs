//! SemVer 2.0 precedence (section 11), for crates.io, npm, Go modules and OSV `SEMVER` ranges.
//!
//! Written here rather than with the `semver` crate: that crate rejects versions found in real
//! inventories and advisories (a `v` prefix, `1.2` without a patch number, leading zeros), and
//! its `Ord` also orders build metadata, which precedence ignores — Go's `v2.0.0+incompatible`
//! must equal `v2.0.0`.
//!
//! Accepted beyond SemVer: a leading `v` (Go) or `go` (Go toolchains: `go1.21.5`), fewer or more
//! than three release numbers (missing ones are 0), leading zeros. Go pseudo-versions
//! (`v0.0.0-20210101000000-abcdef123456`, `v1.2.4-0.20210101000000-abcdef123456`) are ordinary
//! pre-releases and order by their timestamp. A string whose release part is not numbers sorts
//! below every version and, among such strings, by its bytes.

use std::cmp::Ordering;

use super::cmp_digits;

/// Compares two versions by SemVer precedence.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => {
            cmp_release(&x.release, &y.release).then_with(|| cmp_pre(x.pre, y.pre))
        }
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.trim().cmp(b.trim()),
    }
}

struct Parsed<'a> {
    release: Vec<&'a str>,
    pre: Option<&'a str>,
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let v = v.trim();
    let v = v
        .strip_prefix('v')
        .or_else(|| v.strip_prefix("go"))
        .unwrap_or(v);
    // build metadata never counts
    let v = v.split_once('+').map_or(v, |(v, _build)| v);
    let (release, pre) = match v.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (v, None),
    };
    let release: Vec<&str> = release.split('.').collect();
    if release
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    Some(Parsed { release, pre })
}

fn cmp_release(a: &[&str], b: &[&str]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or("0");
        let y = b.get(i).copied().unwrap_or("0");
        let order = cmp_digits(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

fn cmp_pre(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        // a pre-release is below its release
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(a), Some(b)) => {
            let mut xs = a.split('.');
            let mut ys = b.split('.');
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let order = cmp_identifier(x, y);
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                }
            }
        }
    }
}

/// Numeric identifiers compare as numbers and below alphanumeric ones, which compare as ASCII.
fn cmp_identifier(x: &str, y: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(x), numeric(y)) {
        (true, true) => cmp_digits(x, y).then_with(|| x.len().cmp(&y.len())),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
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
                // the SemVer 2.0 example chain
                ("1.0.0-alpha", "<", "1.0.0-alpha.1"),
                ("1.0.0-alpha.1", "<", "1.0.0-alpha.beta"),
                ("1.0.0-alpha.beta", "<", "1.0.0-beta"),
                ("1.0.0-beta", "<", "1.0.0-beta.2"),
                ("1.0.0-beta.2", "<", "1.0.0-beta.11"),
                ("1.0.0-beta.11", "<", "1.0.0-rc.1"),
                ("1.0.0-rc.1", "<", "1.0.0"),
                ("1.9.0", "<", "1.10.0"),
                ("1.10.0", "<", "1.11.0"),
                ("0.0.0-0", "<", "0.0.0"),
                ("0.0.0-0", "<", "0.0.1-alpha"),
                ("1.0.0+build.1", "=", "1.0.0+build.2"),
                ("1.0.0+build", "=", "1.0.0"),
                // Go
                ("v1.2.3", "=", "1.2.3"),
                ("v2.0.0+incompatible", "=", "v2.0.0"),
                ("v2.0.0+incompatible", ">", "v1.9.9"),
                (
                    "v0.0.0-20210101000000-abcdef123456",
                    "<",
                    "v0.0.0-20220101000000-000000000000",
                ),
                ("v0.0.0-20210101000000-abcdef123456", "<", "v0.0.1"),
                (
                    "v0.0.0-20220906165146-f3363e06e74c",
                    ">",
                    "v0.0.0-20220722155237-a158d28d115b",
                ),
                ("v1.2.4-0.20210101000000-abcdef123456", ">", "v1.2.3"),
                ("v1.2.4-0.20210101000000-abcdef123456", "<", "v1.2.4"),
                ("v1.2.4-0.20210101000000-abcdef123456", "<", "v1.2.4-pre"),
                ("go1.21.5", "=", "1.21.5"),
                ("go1.21", "<", "1.21.1"),
                ("1.19.0-0", "<", "1.19.0"),
                ("1.18.6", "<", "1.19.0-0"),
                // leniency
                ("1.2", "=", "1.2.0"),
                ("01.002.3", "=", "1.2.3"),
                ("1.2.3.4", ">", "1.2.3"),
                ("1.0.0-1", "<", "1.0.0-01a"),
                ("1.0.0-01", ">", "1.0.0-1"),
                ("not-a-version", "<", "0.0.0-0"),
                ("abc", "<", "abd"),
            ],
        );
    }

    fn semver() -> impl Strategy<Value = String> {
        "v?[0-9]{1,2}\\.[0-9]{1,2}(\\.[0-9]{1,2})?(-([0-9]{1,2}|[a-z]{1,3})(\\.([0-9]{1,2}|[a-z]{1,3})){0,2})?(\\+[a-z0-9]{1,4})?"
    }

    proptest! {
        #[test]
        fn total_order(a in semver(), b in semver(), c in semver()) {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn any_string_is_ordered(a in "[0-9a-z.+\\-]{0,10}", b in "[0-9a-z.+\\-]{0,10}", c in "[0-9a-z.+\\-]{0,10}") {
            check_order_laws(compare, &a, &b, &c);
        }

        #[test]
        fn pre_release_below_release(v in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", p in "[0-9a-z]{1,6}") {
            prop_assert_eq!(compare(&format!("{v}-{p}"), &v), std::cmp::Ordering::Less);
        }
    }
}
