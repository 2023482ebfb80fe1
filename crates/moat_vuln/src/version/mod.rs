//! Version ordering, one total order per ecosystem.
//!
//! Every comparator takes any string: what its ecosystem would reject still gets a place in the
//! order (documented in each module), so sorting advisory events never fails and never panics.

use std::cmp::Ordering;

pub mod apk;
pub mod dpkg;
pub mod pep440;
pub mod rpm;
pub mod semver;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu packages (`deb-version(7)`).
    Dpkg,
    /// Alpine packages (apk-tools).
    Apk,
    /// SemVer 2.0 precedence: crates.io, npm, Go modules (with `v`), OSV `SEMVER` ranges.
    Semver,
    /// Python distributions (PEP 440).
    Pep440,
    /// RPM packages (`rpmverCmp`): Red Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE, Mageia,
    /// openEuler, Photon OS, Azure Linux.
    Rpm,
}

impl Scheme {
    /// The ordering of an OSV ecosystem name (`Debian:12`, `Alpine:v3.19`, `crates.io`, `Go`,
    /// `npm`, `PyPI`, `Rocky Linux:9`, …); `None` when moat does not know how that ecosystem
    /// orders versions (then only explicit `versions` lists can match). The RPM ecosystems are
    /// those the OSV schema's ecosystem list describes as RPM-based
    /// (<https://ossf.github.io/osv-schema/#affectedpackage-field>).
    pub fn for_ecosystem(osv_ecosystem: &str) -> Option<Scheme> {
        let base = osv_ecosystem.split(':').next().unwrap_or_default();
        match base {
            "Debian" | "Ubuntu" => Some(Scheme::Dpkg),
            "Alpine" => Some(Scheme::Apk),
            "crates.io" | "npm" | "Go" | "Hex" | "Pub" => Some(Scheme::Semver),
            "PyPI" => Some(Scheme::Pep440),
            "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" | "Mageia"
            | "openEuler" | "Photon OS" | "Azure Linux" => Some(Scheme::Rpm),
            _ => None,
        }
    }

    /// Compares two versions in this scheme's order.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::Semver => semver::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Rpm => rpm::compare(a, b),
        }
    }
}

/// Compares two runs of ASCII digits as unbounded non-negative integers (leading zeros
/// ignored), so no version number is too long to compare.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::cmp::Ordering;

    /// Checks a table of `(a, op, b)` rows, where op is `<`, `=` or `>`, both ways round.
    pub(crate) fn check_table(cmp: fn(&str, &str) -> Ordering, rows: &[(&str, &str, &str)]) {
        for &(a, op, b) in rows {
            let want = match op {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                ">" => Ordering::Greater,
                other => panic!("bad operator {other}"),
            };
            assert_eq!(cmp(a, b), want, "{a} {op} {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a} (reversed)");
        }
    }

    /// Antisymmetry, reflexivity and transitivity on three versions.
    pub(crate) fn check_order_laws(cmp: fn(&str, &str) -> Ordering, a: &str, b: &str, c: &str) {
        assert_eq!(cmp(a, a), Ordering::Equal, "reflexive: {a}");
        assert_eq!(cmp(a, b), cmp(b, a).reverse(), "antisymmetric: {a} {b}");
        let (ab, bc, ac) = (cmp(a, b), cmp(b, c), cmp(a, c));
        if ab != Ordering::Greater && bc != Ordering::Greater {
            assert_ne!(ac, Ordering::Greater, "transitive: {a} <= {b} <= {c}");
        }
        if ab == Ordering::Less && bc != Ordering::Greater {
            assert_eq!(ac, Ordering::Less, "transitive: {a} < {b} <= {c}");
        }
        if ab == Ordering::Equal && bc == Ordering::Equal {
            assert_eq!(ac, Ordering::Equal, "transitive equality: {a} {b} {c}");
        }
    }
}
