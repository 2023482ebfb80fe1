//! Matching an inventory's packages against the database.

use serde::Serialize;

use crate::Error;
use crate::advisory::FixStatus;
use crate::db::Database;
use crate::severity::Severity;

/// One advisory that applies to one installed package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The advisory's id.
    pub id: String,
    /// Its other ids (`CVE-…`, `GHSA-…`).
    pub aliases: Vec<String>,
    /// One line about it.
    pub summary: String,
    /// How bad: the package's own severity when the advisory gives one, else the advisory's.
    pub severity: Severity,
    /// Versions that fix it for the installed version's branch (smallest first); empty when
    /// none is known.
    pub fixed_versions: Vec<String>,
    /// `fixed` when a fixed version is known, else `unfixed` (for `--ignore-unfixed`).
    pub status: FixStatus,
    /// RustSec's informational kind (`unmaintained`, `unsound`, `notice`) when the advisory is
    /// not a vulnerability.
    pub informational: Option<String>,
    /// The ecosystem looked up (`Debian:12`).
    pub ecosystem: String,
    /// The package name looked up: the source package for distribution packages that have one.
    pub package: String,
    /// The version evaluated: the source version when the package has one.
    pub version: String,
}

/// What is looked up: an OSV ecosystem (`Debian:12`, `crates.io`), a package name as the
/// advisories spell it (the source package, for distributions) and the version to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The OSV ecosystem, with the release for distributions.
    pub ecosystem: String,
    /// The package name advisories speak of.
    pub name: String,
    /// The version to evaluate.
    pub version: String,
}

impl Query {
    /// A query of `name` at `version` in `ecosystem`.
    pub fn new(ecosystem: &str, name: &str, version: &str) -> Query {
        Query {
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
        }
    }
}

/// The advisories that apply to what `query` names, in id order. An advisory whose fixed
/// version equals the queried one does not apply; one with no fixed version does, with status
/// `unfixed`.
pub fn match_package(db: &Database, query: &Query) -> Result<Vec<Match>, Error> {
    let version = &query.version;
    let mut out = Vec::new();
    for advisory in db.lookup(&query.ecosystem, &query.name)? {
        let mut verdicts = advisory
            .affected
            .iter()
            .filter_map(|a| a.evaluate(version).map(|v| (a, v)));
        let Some((affected, verdict)) = verdicts.next() else {
            continue;
        };
        let mut fixed_versions = verdict.fixed_versions;
        for (_, more) in verdicts {
            for f in more.fixed_versions {
                if !fixed_versions.contains(&f) {
                    fixed_versions.push(f);
                }
            }
        }
        let status = if fixed_versions.is_empty() {
            FixStatus::Unfixed
        } else {
            FixStatus::Fixed
        };
        out.push(Match {
            id: advisory.id,
            aliases: advisory.aliases,
            summary: advisory.summary,
            severity: affected.severity.clone().unwrap_or(advisory.severity),
            fixed_versions,
            status,
            informational: affected.informational.clone(),
            ecosystem: affected.ecosystem.clone(),
            package: affected.name.clone(),
            version: version.clone(),
        });
    }
    Ok(out)
}
