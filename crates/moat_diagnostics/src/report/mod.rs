//! Reporters: render a [`Report`] as human text, as moat's versioned JSON, or as SARIF 2.1.0.
//!
//! Every reporter is a pure function from a report to a `String`: no I/O, no clock, no
//! environment (except [`color_wanted`], which only reads the environment to help a caller
//! decide [`TextOptions::color`]). The same report always renders to the same bytes.

mod json;
mod sarif;
mod text;

pub use json::{JSON_SCHEMA_V1, JSON_VERSION, json, json_with_files, json_with_tool};
pub use sarif::sarif;
pub use text::{ColorEnv, TextOptions, color_wanted, text, text_with_files};

use crate::{Report, Severity};

/// The tool that produced a report, as named in JSON and SARIF output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolInfo {
    /// Tool name, e.g. `moat`.
    pub name: &'static str,
    /// Tool version, e.g. `0.1.0`.
    pub version: &'static str,
    /// Absolute URI of the tool's home page; empty when there is none (then it is left out).
    pub information_uri: &'static str,
}

impl ToolInfo {
    /// moat itself, with the workspace's version and repository.
    pub const MOAT: ToolInfo = ToolInfo {
        name: "moat",
        version: env!("CARGO_PKG_VERSION"),
        information_uri: env!("CARGO_PKG_REPOSITORY"),
    };
}

/// How many files of each kind an audit read (a file with a read or parse error counts too: it
/// is also among the report's errors). Shown in the summaries of the text and JSON reporters
/// ([`text_with_files`], [`json_with_files`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileCounts {
    /// Dockerfiles and Containerfiles.
    pub dockerfile: usize,
    /// Compose files, an `.override` file read with its base file included.
    pub compose: usize,
    /// Docker daemon configurations (`daemon.json`).
    pub daemon: usize,
    /// Shell scripts and Makefiles, read for `docker run` command lines.
    pub script: usize,
    /// Live engines read (`moat audit --engine`, `--host`); left out of JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub engines: usize,
    /// Containers of those engines audited.
    #[serde(skip_serializing_if = "is_zero")]
    pub containers: usize,
    /// Images of those engines audited (the ones the containers run).
    #[serde(skip_serializing_if = "is_zero")]
    pub images: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl FileCounts {
    /// Number of files of every kind.
    pub fn total(&self) -> usize {
        self.dockerfile + self.compose + self.daemon + self.script
    }
}

/// How many findings a report has at each severity, and how many input errors; with the files
/// audited when the caller knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
    /// Informational findings.
    pub info: usize,
    /// Input errors.
    pub errors: usize,
    /// Files audited, by kind (`None`: not known, e.g. `moat gateway check`; left out of JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<FileCounts>,
}

impl Summary {
    /// Counts the findings and errors of `report` (files unknown).
    pub fn of(report: &Report) -> Self {
        let mut s = Summary {
            errors: report.errors.len(),
            ..Summary::default()
        };
        for f in &report.findings {
            *s.count_mut(f.severity) += 1;
        }
        s
    }

    /// Number of findings at `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// Total number of findings (errors not included).
    pub fn findings(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }

    fn count_mut(&mut self, severity: Severity) -> &mut usize {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Confidence, Finding, InputError, Location};

    fn finding(severity: Severity) -> Finding {
        Finding {
            code: "MOAT-T001".into(),
            name: "test".into(),
            severity,
            confidence: Confidence::High,
            message: "m".into(),
            location: Location::file("f"),
            references: vec![],
            evidence: None,
            fix: None,
            related: Vec::new(),
            secret: None,
        }
    }

    #[test]
    fn summary_counts_each_severity_and_errors() {
        let report = Report {
            findings: vec![
                finding(Severity::High),
                finding(Severity::High),
                finding(Severity::Info),
                finding(Severity::Critical),
            ],
            errors: vec![InputError {
                path: "x".into(),
                line: None,
                column: None,
                message: "m".into(),
            }],
            ..Report::default()
        };
        let s = Summary::of(&report);
        assert_eq!(
            s,
            Summary {
                critical: 1,
                high: 2,
                medium: 0,
                low: 0,
                info: 1,
                errors: 1,
                files: None,
            }
        );
        assert_eq!(s.findings(), 4);
        assert_eq!(s.count(Severity::High), 2);
    }

    #[test]
    fn moat_tool_info_comes_from_the_manifest() {
        assert_eq!(ToolInfo::MOAT.version, env!("CARGO_PKG_VERSION"));
        assert!(ToolInfo::MOAT.information_uri.starts_with("https://"));
    }
}
