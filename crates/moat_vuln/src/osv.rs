//! OSV records (<https://ossf.github.io/osv-schema/>): the fields moat needs, read leniently
//! (unknown fields ignored, `null` where a list or object is expected read as empty), and their
//! conversion to [`Advisory`].

use serde::Deserialize;
use serde::de::Deserializer;

use crate::advisory::{
    Advisory, Affected, Event, Range, RangeKind, normalise_ecosystem, normalise_name,
};
use crate::severity::{Severity, SeveritySource};

/// An OSV record as published.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvRecord {
    /// `id`.
    pub id: String,
    /// `aliases`.
    #[serde(default, deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    /// `summary`.
    #[serde(default)]
    pub summary: Option<String>,
    /// `details`.
    #[serde(default)]
    pub details: Option<String>,
    /// `modified`.
    #[serde(default)]
    pub modified: Option<String>,
    /// `published`.
    #[serde(default)]
    pub published: Option<String>,
    /// `withdrawn`: set when the record no longer stands.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// `severity[]`.
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<OsvSeverity>,
    /// `affected[]`.
    #[serde(default, deserialize_with = "null_default")]
    pub affected: Vec<OsvAffected>,
    /// `database_specific`.
    #[serde(default, deserialize_with = "null_default")]
    pub database_specific: Specific,
}

/// `severity[]` entries.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvSeverity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector or the word.
    pub score: String,
}

/// `affected[]` entries.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvAffected {
    /// `package`.
    pub package: Option<OsvPackage>,
    /// `severity[]` for this package.
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<OsvSeverity>,
    /// `ranges[]`.
    #[serde(default, deserialize_with = "null_default")]
    pub ranges: Vec<OsvRange>,
    /// `versions[]`.
    #[serde(default, deserialize_with = "null_default")]
    pub versions: Vec<String>,
    /// `ecosystem_specific`.
    #[serde(default, deserialize_with = "null_default")]
    pub ecosystem_specific: Specific,
    /// `database_specific`.
    #[serde(default, deserialize_with = "null_default")]
    pub database_specific: Specific,
}

/// `affected[].package`.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvPackage {
    /// `ecosystem` (`crates.io`, `Debian:12`, …).
    pub ecosystem: String,
    /// `name`.
    pub name: String,
    /// `purl`.
    #[serde(default)]
    pub purl: Option<String>,
}

/// `affected[].ranges[]`.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvRange {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `events[]`.
    #[serde(default, deserialize_with = "null_default")]
    pub events: Vec<OsvEvent>,
}

/// `events[]`: one of the four is set.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OsvEvent {
    /// `introduced`.
    pub introduced: Option<String>,
    /// `fixed`.
    pub fixed: Option<String>,
    /// `last_affected`.
    pub last_affected: Option<String>,
    /// `limit`.
    pub limit: Option<String>,
}

/// The parts of `database_specific` / `ecosystem_specific` objects moat reads; the rest is
/// skipped without being built.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Specific {
    /// A severity word (GitHub: `MODERATE`), or an object some databases use.
    #[serde(default)]
    pub severity: Option<serde_json::Value>,
    /// RustSec: the CVSS vector.
    #[serde(default)]
    pub cvss: Option<serde_json::Value>,
    /// RustSec: `unmaintained`, `unsound`, `notice` for informational advisories.
    #[serde(default)]
    pub informational: Option<serde_json::Value>,
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl OsvRecord {
    /// Reads one record from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<OsvRecord, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Converts to an [`Advisory`]; `None` for a withdrawn record. `GIT` ranges and entries
    /// without a package are dropped.
    pub fn into_advisory(self) -> Option<Advisory> {
        if self
            .withdrawn
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
        {
            return None;
        }
        let severity = severity_of(
            &self.severity,
            &self.database_specific,
            &Specific::default(),
        )
        .unwrap_or_else(Severity::unknown);
        let summary = one_line(self.summary.as_deref(), self.details.as_deref());
        let affected = self
            .affected
            .into_iter()
            .filter_map(|a| {
                let package = a.package.as_ref()?;
                let ecosystem = normalise_ecosystem(&package.ecosystem);
                let name = normalise_name(&ecosystem, &package.name);
                let ranges = a
                    .ranges
                    .iter()
                    .filter_map(|r| {
                        let kind = match r.kind.as_str() {
                            "SEMVER" => RangeKind::Semver,
                            "ECOSYSTEM" => RangeKind::Ecosystem,
                            _ => return None,
                        };
                        let events = r.events.iter().filter_map(event_of).collect();
                        Some(Range { kind, events })
                    })
                    .collect();
                let informational = a
                    .database_specific
                    .informational
                    .as_ref()
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                Some(Affected {
                    ecosystem,
                    name,
                    ranges,
                    versions: a.versions.clone(),
                    severity: severity_of(&a.severity, &a.database_specific, &a.ecosystem_specific),
                    informational,
                })
            })
            .collect();
        Some(Advisory {
            id: self.id,
            aliases: self.aliases,
            summary,
            modified: self.modified,
            published: self.published,
            severity,
            affected,
        })
    }
}

fn event_of(e: &OsvEvent) -> Option<Event> {
    if let Some(v) = &e.introduced {
        Some(Event::Introduced(v.clone()))
    } else if let Some(v) = &e.fixed {
        Some(Event::Fixed(v.clone()))
    } else if let Some(v) = &e.last_affected {
        Some(Event::LastAffected(v.clone()))
    } else {
        e.limit.as_ref().map(|v| Event::Limit(v.clone()))
    }
}

/// The best severity a record (or one affected entry) gives: a CVSS v3 vector, else a CVSS v4
/// vector, else the database's word, else the ecosystem's word, else an Ubuntu priority.
fn severity_of(
    list: &[OsvSeverity],
    database: &Specific,
    ecosystem: &Specific,
) -> Option<Severity> {
    let vector = |prefix: &str| {
        list.iter()
            .filter(|s| s.kind == prefix)
            .find_map(|s| Severity::from_cvss(&s.score))
    };
    let rustsec_cvss = || {
        database
            .cvss
            .as_ref()
            .and_then(|v| v.as_str())
            .and_then(Severity::from_cvss)
    };
    let word = |s: &Specific, source| {
        s.severity.as_ref().and_then(|v| match v {
            serde_json::Value::String(w) => Severity::from_word(w, source),
            // some databases nest it: {"severity": {"level": "HIGH"}} or a list of such
            other => find_word(other).and_then(|w| Severity::from_word(w, source)),
        })
    };
    vector("CVSS_V3")
        .or_else(|| vector("CVSS_V4"))
        .or_else(rustsec_cvss)
        .or_else(|| word(database, SeveritySource::DatabaseSpecific))
        .or_else(|| word(ecosystem, SeveritySource::EcosystemSpecific))
        .or_else(|| {
            list.iter()
                .filter(|s| s.kind == "Ubuntu")
                .find_map(|s| Severity::from_word(&s.score, SeveritySource::Ubuntu))
        })
}

fn find_word(v: &serde_json::Value) -> Option<&str> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Array(items) => items.iter().find_map(find_word),
        serde_json::Value::Object(map) => map.values().find_map(find_word),
        _ => None,
    }
}

fn one_line(summary: Option<&str>, details: Option<&str>) -> String {
    let text = summary
        .filter(|s| !s.trim().is_empty())
        .or(details)
        .unwrap_or_default();
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if line.chars().count() > 200 {
        let mut cut: String = line.chars().take(199).collect();
        cut.push('…');
        cut
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Band;

    #[test]
    fn reads_a_rustsec_record_with_nulls() {
        let json = br#"{
          "id": "RUSTSEC-2099-0001", "modified": "2025-01-01T00:00:00Z", "aliases": null,
          "summary": "", "details": "\nFirst line.\nSecond.",
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
          "affected": [{
            "package": {"ecosystem": "crates.io", "name": "x", "purl": "pkg:cargo/x"},
            "ecosystem_specific": {"affects": {"functions": []}, "affected_functions": null},
            "database_specific": {"categories": [], "cvss": null, "informational": "unsound"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}, {"fixed": "1.2.0"}]},
                       {"type": "GIT", "repo": "r", "events": [{"introduced": "abc"}]}],
            "versions": null
          }],
          "database_specific": {"license": "CC0-1.0"}
        }"#;
        let a = OsvRecord::from_json(json).unwrap().into_advisory().unwrap();
        assert_eq!(a.summary, "First line.");
        assert!(a.aliases.is_empty());
        assert_eq!(a.severity.band, Band::High);
        assert_eq!(a.severity.score, Some(7.5));
        assert_eq!(a.affected[0].ranges.len(), 1, "GIT range dropped");
        assert_eq!(a.affected[0].informational.as_deref(), Some("unsound"));
        assert!(a.affected[0].evaluate("1.1.9").is_some());
        assert!(a.affected[0].evaluate("1.2.0").is_none());
    }

    #[test]
    fn github_word_and_withdrawn() {
        let json = br#"{"id": "GHSA-x", "database_specific": {"severity": "MODERATE"},
            "severity": [{"type": "CVSS_V4", "score": "not a vector"}], "affected": []}"#;
        let a = OsvRecord::from_json(json).unwrap().into_advisory().unwrap();
        assert_eq!(a.severity.band, Band::Medium);
        assert_eq!(a.severity.source, SeveritySource::DatabaseSpecific);

        let json = br#"{"id": "GO-x", "withdrawn": "2024-01-01T00:00:00Z", "affected": []}"#;
        assert!(
            OsvRecord::from_json(json)
                .unwrap()
                .into_advisory()
                .is_none()
        );

        let json = br#"{"id": "USN-x", "severity": [{"type": "Ubuntu", "score": "medium"}]}"#;
        let a = OsvRecord::from_json(json).unwrap().into_advisory().unwrap();
        assert_eq!(
            (a.severity.band, a.severity.source),
            (Band::Medium, SeveritySource::Ubuntu)
        );

        let json = br#"{"id": "X"}"#;
        let a = OsvRecord::from_json(json).unwrap().into_advisory().unwrap();
        assert_eq!(a.severity.band, Band::Unknown);
    }
}
