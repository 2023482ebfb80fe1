//! How bad an advisory is: a band, a score when there is one, and where the answer came from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A qualitative severity, as CVSS bands scores (critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0,
/// low > 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Nothing said how bad it is.
    Unknown,
    /// Score 0.0.
    None,
    /// Score above 0 and below 4.0.
    Low,
    /// Score from 4.0 to below 7.0.
    Medium,
    /// Score from 7.0 to below 9.0.
    High,
    /// Score 9.0 and above.
    Critical,
}

impl Band {
    /// The band of a CVSS score.
    pub fn of_score(score: f64) -> Band {
        if score >= 9.0 {
            Band::Critical
        } else if score >= 7.0 {
            Band::High
        } else if score >= 4.0 {
            Band::Medium
        } else if score > 0.0 {
            Band::Low
        } else {
            Band::None
        }
    }

    /// The band of a database's word for it (`CRITICAL`, `HIGH`, `IMPORTANT`, `MODERATE`,
    /// `MEDIUM`, `LOW`, `NEGLIGIBLE`, `NONE`; any case); `None` for anything else.
    pub fn of_word(word: &str) -> Option<Band> {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Band::Critical),
            "high" | "important" => Some(Band::High),
            "moderate" | "medium" => Some(Band::Medium),
            "low" | "negligible" | "unimportant" => Some(Band::Low),
            "none" => Some(Band::None),
            _ => None,
        }
    }

    /// Lower-case name (`critical`, …, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Unknown => "unknown",
            Band::None => "none",
            Band::Low => "low",
            Band::Medium => "medium",
            Band::High => "high",
            Band::Critical => "critical",
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a severity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeveritySource {
    /// A CVSS v3.x vector (`severity[].type = CVSS_V3`), scored.
    CvssV3,
    /// A CVSS v4.0 vector (`severity[].type = CVSS_V4`), scored.
    CvssV4,
    /// An Ubuntu priority (`severity[].type = Ubuntu`).
    Ubuntu,
    /// The database's own word (`database_specific.severity`, e.g. GitHub's `MODERATE`).
    DatabaseSpecific,
    /// The ecosystem's own word (`affected[].ecosystem_specific.severity`).
    EcosystemSpecific,
    /// Nothing in the record.
    None,
}

/// The severity of an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// The band.
    pub band: Band,
    /// The base score, when a CVSS vector gave one.
    pub score: Option<f64>,
    /// The CVSS vector, when there was one.
    pub vector: Option<String>,
    /// Where it came from.
    pub source: SeveritySource,
}

impl Severity {
    /// No severity known.
    pub fn unknown() -> Severity {
        Severity {
            band: Band::Unknown,
            score: None,
            vector: None,
            source: SeveritySource::None,
        }
    }

    /// Scores a CVSS v3.x or v4.0 vector (`CVSS:3.1/AV:N/…`); `None` when it does not parse.
    pub fn from_cvss(vector: &str) -> Option<Severity> {
        let vector = vector.trim();
        let cvss = cvss::Cvss::from_str(vector).ok()?;
        let source = if vector.starts_with("CVSS:4") {
            SeveritySource::CvssV4
        } else {
            SeveritySource::CvssV3
        };
        let score = cvss.score();
        Some(Severity {
            band: Band::of_score(score),
            score: Some(score),
            vector: Some(vector.to_owned()),
            source,
        })
    }

    /// A severity from a database's or an ecosystem's word; `None` when the word is not one.
    pub fn from_word(word: &str, source: SeveritySource) -> Option<Severity> {
        Some(Severity {
            band: Band::of_word(word)?,
            score: None,
            vector: None,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_v3_vectors() {
        // scores as the FIRST calculator gives them
        for (vector, score, band) in [
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                9.8,
                Band::Critical,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                6.1,
                Band::Medium,
            ),
            (
                "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
                5.9,
                Band::Medium,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                7.5,
                Band::High,
            ),
            (
                "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
                1.8,
                Band::Low,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                10.0,
                Band::Critical,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
                0.0,
                Band::None,
            ),
        ] {
            let s = Severity::from_cvss(vector).expect(vector);
            assert_eq!(s.score, Some(score), "{vector}");
            assert_eq!(s.band, band, "{vector}");
            assert_eq!(s.source, SeveritySource::CvssV3);
        }
    }

    #[test]
    fn v4_vector_is_scored() {
        let s =
            Severity::from_cvss("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
                .unwrap();
        assert_eq!(s.source, SeveritySource::CvssV4);
        assert_eq!(s.score, Some(9.3));
        assert_eq!(s.band, Band::Critical);
    }

    #[test]
    fn bands() {
        assert_eq!(Band::of_score(9.0), Band::Critical);
        assert_eq!(Band::of_score(8.9), Band::High);
        assert_eq!(Band::of_score(7.0), Band::High);
        assert_eq!(Band::of_score(6.9), Band::Medium);
        assert_eq!(Band::of_score(4.0), Band::Medium);
        assert_eq!(Band::of_score(3.9), Band::Low);
        assert_eq!(Band::of_score(0.1), Band::Low);
        assert_eq!(Band::of_score(0.0), Band::None);
        assert_eq!(Band::of_word("MODERATE"), Some(Band::Medium));
        assert_eq!(Band::of_word("whatever"), None);
        assert!(Severity::from_cvss("CVSS:3.1/AV:X").is_none());
    }
}
