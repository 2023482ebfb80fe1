//! The advisory records every source is converted to, and how a version is evaluated against
//! them (the OSV schema's "Evaluation" algorithm).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::severity::Severity;
use crate::version::Scheme;

/// One advisory, as stored: OSV's fields that matching and reporting need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The record's id (`RUSTSEC-2023-0044`, `GO-2022-0969`, `DSA-5417-1`, `CVE-2019-14904`).
    pub id: String,
    /// Other ids of the same vulnerability (`CVE-…`, `GHSA-…`).
    pub aliases: Vec<String>,
    /// One line: the record's summary, or the first line of its details.
    pub summary: String,
    /// When the record last changed (RFC 3339), when known.
    pub modified: Option<String>,
    /// When the record was published (RFC 3339), when known.
    pub published: Option<String>,
    /// The record's severity (a package's own severity, when it has one, is in [`Affected`]).
    pub severity: Severity,
    /// The packages it affects (in the database: only the one package looked up).
    pub affected: Vec<Affected>,
}

/// One affected package of an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The OSV ecosystem, normalised by [`normalise_ecosystem`] (`Debian:12`, `Alpine:v3.11`).
    pub ecosystem: String,
    /// The package name (the source package for distributions), normalised by
    /// [`normalise_name`].
    pub name: String,
    /// Version ranges (`SEMVER` and `ECOSYSTEM`; `GIT` ranges are dropped on import).
    pub ranges: Vec<Range>,
    /// Affected versions listed one by one.
    pub versions: Vec<String>,
    /// This package's own severity, when the record gives one.
    pub severity: Option<Severity>,
    /// RustSec's kind of informational advisory (`unmaintained`, `unsound`, `notice`), when
    /// the advisory is one rather than a vulnerability.
    pub informational: Option<String>,
}

/// A range of versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// How its versions are ordered.
    pub kind: RangeKind,
    /// The events, as the record lists them.
    pub events: Vec<Event>,
}

/// The ordering a range's versions follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    /// SemVer 2.0 precedence whatever the ecosystem.
    Semver,
    /// The ecosystem's own order.
    Ecosystem,
}

/// A change of status at a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from this version on (`"0"`: from the very first version).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Not affected after this version.
    LastAffected(String),
    /// Nothing at or above this version is in the range (`"*"`: no limit).
    Limit(String),
}

impl Event {
    /// The event's version.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// Whether a fix exists for an affected version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixStatus {
    /// A fixed version is known.
    Fixed,
    /// No fixed version is known.
    Unfixed,
}

/// The outcome of evaluating an affected version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The versions that fix it, for the branch the version is on (smallest first).
    pub fixed_versions: Vec<String>,
}

impl Verdict {
    /// Fixed when a fixed version is known.
    pub fn status(&self) -> FixStatus {
        if self.fixed_versions.is_empty() {
            FixStatus::Unfixed
        } else {
            FixStatus::Fixed
        }
    }
}

impl Affected {
    /// Evaluates `version` as the OSV schema defines it: affected when it is listed in
    /// `versions` or lies in a range; `None` when it is not affected. A range whose ordering
    /// is unknown for this ecosystem is skipped (only `versions` can match then).
    pub fn evaluate(&self, version: &str) -> Option<Verdict> {
        let ecosystem_scheme = Scheme::for_ecosystem(&self.ecosystem);
        let listed = self.versions.iter().any(|v| match ecosystem_scheme {
            Some(s) => s.compare(v, version) == Ordering::Equal,
            None => v == version,
        });
        let mut affected = listed;
        let mut fixes: Vec<(Scheme, String)> = Vec::new();
        for range in &self.ranges {
            let scheme = match range.kind {
                RangeKind::Semver => Scheme::Semver,
                RangeKind::Ecosystem => match ecosystem_scheme {
                    Some(s) => s,
                    None => continue,
                },
            };
            let (in_range, fix) = evaluate_range(scheme, &range.events, version);
            if let Some(fix) = fix.filter(|_| in_range || listed) {
                fixes.push((scheme, fix));
            }
            affected |= in_range;
        }
        if !affected {
            return None;
        }
        fixes.sort_by(|(s, a), (_, b)| s.compare(a, b));
        let mut fixed_versions: Vec<String> = Vec::new();
        for (_, f) in fixes {
            if !fixed_versions.contains(&f) {
                fixed_versions.push(f);
            }
        }
        Some(Verdict { fixed_versions })
    }
}

/// Is `v` in the range, and which `fixed` event closes the interval it is in.
fn evaluate_range(scheme: Scheme, events: &[Event], v: &str) -> (bool, Option<String>) {
    let cmp = |a: &str, b: &str| scheme.compare(a, b);
    // BeforeLimits: with no limit, an implicit "*"
    let limits: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(l) => Some(l.as_str()),
            _ => None,
        })
        .collect();
    let before_limits = limits.is_empty()
        || limits
            .iter()
            .any(|l| l.contains('*') || cmp(v, l) == Ordering::Less);

    let mut sorted: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .collect();
    sorted.sort_by(|a, b| match (is_zero(a), is_zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => cmp(a.version(), b.version()),
    });
    let mut vulnerable = false;
    let mut next = None;
    for (i, e) in sorted.iter().enumerate() {
        let applies = match e {
            Event::Introduced(_) if is_zero(e) => true,
            Event::Introduced(x) | Event::Fixed(x) => cmp(v, x) != Ordering::Less,
            Event::LastAffected(x) => cmp(v, x) == Ordering::Greater,
            Event::Limit(_) => false,
        };
        if !applies {
            // events are sorted: none after this one applies either
            next = Some(i);
            break;
        }
        vulnerable = match e {
            Event::Introduced(_) => true,
            Event::Fixed(_) | Event::LastAffected(_) => false,
            Event::Limit(_) => vulnerable,
        };
    }
    let in_range = before_limits && vulnerable;
    // the fix for v's interval: the first closing event after it, when it is a `fixed`
    let fix = next.and_then(|i| {
        sorted[i..].iter().find_map(|e| match e {
            Event::Fixed(f) => Some(Some(f.clone())),
            Event::LastAffected(_) => Some(None),
            _ => None,
        })
    });
    (in_range, fix.flatten())
}

fn is_zero(e: &Event) -> bool {
    matches!(e, Event::Introduced(v) if v == "0")
}

/// Normalises an OSV ecosystem name so that the database and the inventory agree:
/// `Alpine:3.19.1` and `Alpine:v3.19` → `Alpine:v3.19`, `Debian:12.5` → `Debian:12`,
/// `Ubuntu:22.04:LTS` → `Ubuntu:22.04`; other names unchanged.
pub fn normalise_ecosystem(ecosystem: &str) -> String {
    let ecosystem = ecosystem.trim();
    let Some((base, release)) = ecosystem.split_once(':') else {
        return ecosystem.to_owned();
    };
    match base {
        "Alpine" => {
            let r = release.trim_start_matches('v');
            let mut parts = r.split('.');
            match (parts.next(), parts.next()) {
                (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
                    format!("Alpine:v{major}.{minor}")
                }
                _ => ecosystem.to_owned(),
            }
        }
        "Debian" => {
            let major = release.split('.').next().unwrap_or(release);
            format!("Debian:{major}")
        }
        "Ubuntu" => match release.strip_suffix(":LTS") {
            Some(r) if !r.contains(':') => format!("Ubuntu:{r}"),
            _ => ecosystem.to_owned(),
        },
        _ => ecosystem.to_owned(),
    }
}

/// Normalises a package name the way its ecosystem compares names: PyPI names per PEP 503
/// (lower case, runs of `-`, `_`, `.` as one `-`); others unchanged.
pub fn normalise_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut sep = false;
        for c in name.trim().chars() {
            if matches!(c, '-' | '_' | '.') {
                sep = true;
            } else {
                if sep && !out.is_empty() {
                    out.push('-');
                }
                sep = false;
                out.push(c.to_ascii_lowercase());
            }
        }
        out
    } else {
        name.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affected(eco: &str, kind: RangeKind, events: Vec<Event>) -> Affected {
        Affected {
            ecosystem: eco.into(),
            name: "p".into(),
            ranges: vec![Range { kind, events }],
            versions: vec![],
            severity: None,
            informational: None,
        }
    }

    fn intro(v: &str) -> Event {
        Event::Introduced(v.into())
    }
    fn fixed(v: &str) -> Event {
        Event::Fixed(v.into())
    }

    #[test]
    fn two_branches() {
        let a = affected(
            "Go",
            RangeKind::Semver,
            vec![
                intro("0"),
                fixed("1.18.6"),
                intro("1.19.0-0"),
                fixed("1.19.1"),
            ],
        );
        let fix = |v: &str| a.evaluate(v).map(|x| x.fixed_versions);
        assert_eq!(fix("v1.18.5"), Some(vec!["1.18.6".to_owned()]));
        assert_eq!(fix("1.18.6"), None);
        assert_eq!(fix("1.18.10"), None);
        assert_eq!(fix("1.19.0"), Some(vec!["1.19.1".to_owned()]));
        assert_eq!(fix("1.19.0-rc1"), Some(vec!["1.19.1".to_owned()]));
        assert_eq!(fix("1.19.1"), None);
        assert_eq!(fix("1.20.0"), None);
    }

    #[test]
    fn events_out_of_order_are_sorted() {
        let a = affected(
            "crates.io",
            RangeKind::Semver,
            vec![
                fixed("2.3.0"),
                intro("2.0.0"),
                fixed("1.5.0"),
                intro("1.0.0"),
            ],
        );
        assert!(a.evaluate("0.9.0").is_none());
        assert_eq!(a.evaluate("1.2.0").unwrap().fixed_versions, ["1.5.0"]);
        assert!(a.evaluate("1.7.0").is_none());
        assert_eq!(a.evaluate("2.2.9").unwrap().fixed_versions, ["2.3.0"]);
    }

    #[test]
    fn last_affected_and_limit() {
        let a = affected(
            "PyPI",
            RangeKind::Ecosystem,
            vec![intro("0"), Event::LastAffected("2.1.214".into())],
        );
        let v = a.evaluate("2.1.214").unwrap();
        assert_eq!(v.status(), FixStatus::Unfixed);
        assert!(a.evaluate("2.1.215").is_none());

        let a = affected(
            "npm",
            RangeKind::Semver,
            vec![intro("1.0.0"), Event::Limit("1.5.0".into())],
        );
        assert!(a.evaluate("1.4.0").is_some());
        assert!(a.evaluate("1.5.0").is_none());
        let a = affected(
            "npm",
            RangeKind::Semver,
            vec![intro("1.0.0"), Event::Limit("*".into())],
        );
        assert!(a.evaluate("9.0.0").is_some());
    }

    #[test]
    fn unfixed_everything() {
        let a = affected("Debian:12", RangeKind::Ecosystem, vec![intro("0")]);
        assert_eq!(a.evaluate("1:2.3-4").unwrap().status(), FixStatus::Unfixed);
    }

    #[test]
    fn versions_list_and_unknown_ecosystem() {
        let mut a = affected(
            "Maven",
            RangeKind::Ecosystem,
            vec![intro("0"), fixed("2.0")],
        );
        // no ordering for Maven: only the list can match
        assert!(a.evaluate("1.0").is_none());
        a.versions = vec!["1.0".into()];
        assert!(a.evaluate("1.0").is_some());
        let mut b = affected("Go", RangeKind::Semver, vec![]);
        b.versions = vec!["1.2.3".into()];
        assert!(b.evaluate("v1.2.3").is_some());
    }

    #[test]
    fn ecosystems_normalise() {
        assert_eq!(normalise_ecosystem("Alpine:3.19.1"), "Alpine:v3.19");
        assert_eq!(normalise_ecosystem("Alpine:v3.11"), "Alpine:v3.11");
        assert_eq!(normalise_ecosystem("Debian:12.5"), "Debian:12");
        assert_eq!(normalise_ecosystem("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
        assert_eq!(
            normalise_ecosystem("Ubuntu:Pro:18.04:LTS"),
            "Ubuntu:Pro:18.04:LTS"
        );
        assert_eq!(normalise_ecosystem("crates.io"), "crates.io");
        assert_eq!(
            normalise_name("PyPI", "Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalise_name("npm", "@Scope/Pkg"), "@Scope/Pkg");
    }
}
