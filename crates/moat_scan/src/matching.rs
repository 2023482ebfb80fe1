//! Matching an inventory's packages against the advisory database ([`moat_vuln`]).

use moat_vuln::{Database, Error, Match, Query};

use crate::model::{Ecosystem, Package};

/// What advisories are looked up for `package`: distributions' advisories name source packages
/// (Debian, Ubuntu) and origins (Alpine), and speak of the source version (a binNMU `1.2-3+b1`
/// is the source `1.2-3`), so those are used when the package records them.
pub fn query(package: &Package) -> Query {
    let os = matches!(
        package.ecosystem,
        Ecosystem::Debian(_) | Ecosystem::Ubuntu(_) | Ecosystem::Alpine(_) | Ecosystem::Rpm(_)
    );
    let pick = |own: &String, source: &Option<String>| match source {
        Some(s) if os && !s.is_empty() => s.clone(),
        _ => own.clone(),
    };
    Query {
        ecosystem: package.ecosystem.osv_name(),
        name: pick(&package.name, &package.source_name),
        version: pick(&package.version, &package.source_version),
    }
}

/// The advisories that apply to `package` (see [`moat_vuln::match_package`]).
pub fn match_package(db: &Database, package: &Package) -> Result<Vec<Match>, Error> {
    moat_vuln::match_package(db, &query(package))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(
        ecosystem: Ecosystem,
        source: Option<&str>,
        source_version: Option<&str>,
    ) -> Package {
        Package {
            ecosystem,
            name: "libssl3".into(),
            version: "3.0.11-1~deb12u2+b1".into(),
            source_name: source.map(Into::into),
            source_version: source_version.map(Into::into),
            path: "var/lib/dpkg/status".into(),
            layer: Some(0),
        }
    }

    #[test]
    fn distribution_packages_are_looked_up_by_source() {
        let deb = || Ecosystem::Debian("12".into());
        let q = query(&package(deb(), Some("openssl"), Some("3.0.11-1~deb12u2")));
        assert_eq!(q, Query::new("Debian:12", "openssl", "3.0.11-1~deb12u2"));
        let q = query(&package(deb(), Some("openssl"), None));
        assert_eq!(q, Query::new("Debian:12", "openssl", "3.0.11-1~deb12u2+b1"));
        let q = query(&package(deb(), None, None));
        assert_eq!(q, Query::new("Debian:12", "libssl3", "3.0.11-1~deb12u2+b1"));
        let q = query(&package(deb(), Some(""), Some("")));
        assert_eq!(q.name, "libssl3");
    }

    #[test]
    fn language_packages_are_looked_up_by_their_own_name() {
        // a source name recorded for a crate (never by the analyzers) is not used
        let q = query(&package(Ecosystem::CratesIo, Some("other"), Some("9")));
        assert_eq!(q, Query::new("crates.io", "libssl3", "3.0.11-1~deb12u2+b1"));
    }
}
