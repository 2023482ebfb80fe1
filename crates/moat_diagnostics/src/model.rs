//! The data every moat job reports: findings, input errors and rule metadata.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// How bad a finding is. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never a problem on its own.
    Info,
    /// A weakness that matters in some deployments.
    Low,
    /// A weakness that should be fixed.
    Medium,
    /// A serious weakness, often directly exploitable.
    High,
    /// Immediate compromise is likely.
    Critical,
}

impl Severity {
    /// All severities from least to most severe.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Lower-case name, as written in config files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown severity `{s}` (expected one of: critical, high, medium, low, info)"
                )
            })
    }
}

/// How sure the rule is that the finding is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A heuristic that is often wrong.
    Low,
    /// Usually right.
    Medium,
    /// Decided from the input without guessing.
    High,
}

impl Confidence {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding or an error is. Lines and columns are 1-based; columns count characters;
/// the end is exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// File path as given or discovered (or a pseudo-path such as `<docker-run>`).
    pub path: String,
    /// First line.
    pub line: usize,
    /// First column.
    pub column: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just past the end.
    pub end_column: usize,
    /// Byte range in the file, when the location comes from a text.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
    /// An engine object (e.g. `container/3f2a…`) when the finding is not about a file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object: Option<String>,
}

impl Location {
    /// A location for a whole file, or an object without a position.
    pub fn file(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            span: None,
            object: None,
        }
    }

    /// The location of an engine object (`container:web`, `image:nginx:1.27`,
    /// `network:backend`, `daemon:unix:///var/run/docker.sock`): no file, no position (`path`
    /// is the name, lines and columns are 0), the `object` field set to the name.
    pub fn object(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            path: name.clone(),
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
            span: None,
            object: Some(name),
        }
    }

    /// Whether the location points at a place in a text, as opposed to a whole file or an
    /// engine object. It does not when `line` is 0 (unknown), nor when it is exactly what
    /// [`Location::file`] makes (`1:1` to `1:1` without a byte span).
    ///
    /// Reporters use this to decide whether to show line and column (JSON: `null` otherwise)
    /// and a source snippet.
    pub fn has_position(&self) -> bool {
        let whole_file = self.span.is_none()
            && (self.line, self.column, self.end_line, self.end_column) == (1, 1, 1, 1);
        self.line > 0 && !whole_file
    }
}

/// Whether applying a fix can change behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps what the file does; may be applied without review.
    Safe,
    /// Changes behaviour (e.g. a different user); needs review.
    Unsafe,
}

/// One replacement of a byte range of the finding's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// Byte range replaced (empty for an insertion).
    pub range: Range<usize>,
    /// New text.
    pub replacement: String,
}

/// A fix: edits on the finding's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What the fix does, in a few words.
    pub message: String,
    /// Safe or unsafe.
    pub applicability: Applicability,
    /// Non-overlapping edits.
    pub edits: Vec<Edit>,
}

impl Fix {
    /// Applies the fix to `text` (which must be the text the edits were made for).
    /// Overlapping or out-of-range edits are skipped.
    pub fn apply(&self, text: &str) -> String {
        apply_edits(text, self.edits.iter())
    }
}

/// Applies non-overlapping edits to `text`, in order of their start; an edit that overlaps an
/// earlier one or falls outside the text (or inside a character) is skipped.
pub fn apply_edits<'a>(text: &str, edits: impl Iterator<Item = &'a Edit>) -> String {
    let mut edits: Vec<&Edit> = edits.collect();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for e in edits {
        let ok = e.range.start >= pos
            && e.range.end <= text.len()
            && e.range.start <= e.range.end
            && text.is_char_boundary(e.range.start)
            && text.is_char_boundary(e.range.end);
        if !ok {
            continue;
        }
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.replacement);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// One problem found by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable code, e.g. `D002`; never reused.
    pub code: String,
    /// Kebab-case rule name.
    pub name: String,
    /// Effective severity (after config overrides).
    pub severity: Severity,
    /// Confidence of the rule.
    pub confidence: Confidence,
    /// What is wrong, for this occurrence.
    pub message: String,
    /// Where.
    pub location: Location,
    /// References: hadolint codes (`DL3007`), CIS ids (`CIS-DOCKER-4.1`), others.
    pub references: Vec<String>,
    /// The offending text or value, when it helps (secrets are redacted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evidence: Option<String>,
    /// How to fix it, when a mechanical fix exists.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fix: Option<Fix>,
    /// Other places that explain the finding: for a live container started by compose, the
    /// compose file line that set what is reported.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub related: Vec<Related>,
    /// Where a secret value is, as a byte range of the finding's file: every reporter masks it
    /// in the snippets it shows (see `moat_audit`'s `mask_secrets`). Never serialised.
    #[serde(skip)]
    pub secret: Option<Span>,
}

impl Finding {
    /// Marks the finding's own span (its location's byte range) as a secret value.
    pub fn mark_secret(&mut self) {
        self.secret = self
            .location
            .span
            .clone()
            .map(|r| Span::new(r.start, r.end));
    }
}

/// A place related to a finding, with what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// What this place has to do with the finding (`set here`).
    pub message: String,
    /// Where.
    pub location: Location,
}

/// An input that could not be read or parsed. Reported beside findings; makes the exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// File (or pseudo-path).
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Static description of a rule, used by `--list-rules`, `--explain` and the SARIF `rules` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// Stable code.
    pub code: &'static str,
    /// Kebab-case name.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// Enabled without being selected.
    pub default_enabled: bool,
    /// References (DL codes, CIS ids, others).
    pub references: &'static [&'static str],
    /// Some of its findings carry a fix (byte-range edits): `Safe` when every fix it offers
    /// keeps what the file does, `Unsafe` when some need review (`moat harden --unsafe`).
    pub fix: Option<Applicability>,
    /// Full documentation in Markdown (`## What it does`, `## Why is this bad?`, …).
    pub docs: &'static str,
}

impl RuleInfo {
    /// Some of its findings carry a fix.
    pub const fn fixable(&self) -> bool {
        self.fix.is_some()
    }

    /// `safe`, `unsafe`, or empty: how its fixes are applied, for listings and docs.
    pub const fn fix_label(&self) -> &'static str {
        match self.fix {
            Some(Applicability::Safe) => "safe",
            Some(Applicability::Unsafe) => "unsafe",
            None => "",
        }
    }

    /// The documentation as Markdown: the one leading space that each doc-comment line carries
    /// removed, and trimmed.
    pub fn docs_text(&self) -> String {
        self.docs
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }
}

/// Everything one run found: findings, input errors and the source texts they point into.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings, in the order they should be shown.
    pub findings: Vec<Finding>,
    /// Inputs that could not be read or parsed.
    pub errors: Vec<InputError>,
    /// Source texts by path, for snippets in the text reporter and SARIF.
    pub sources: std::collections::BTreeMap<String, crate::SourceFile>,
}

impl Report {
    /// Number of findings at or above `threshold`.
    pub fn count_at_least(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .count()
    }
}

#[cfg(test)]
mod location_tests {
    use super::Location;

    #[test]
    fn an_object_location_has_no_position() {
        let loc = Location::object("container:web");
        assert_eq!(loc.path, "container:web");
        assert_eq!(loc.object.as_deref(), Some("container:web"));
        assert_eq!(
            (loc.line, loc.column, loc.end_line, loc.end_column),
            (0, 0, 0, 0)
        );
        assert!(loc.span.is_none());
        assert!(!loc.has_position());
    }
}

/// A byte range `start..end` of a source text: what parsers (Dockerfile, YAML, JSON) keep for
/// every value, and what findings, ignores and fixes point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
    /// As a `Range`.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }
    /// The smallest span covering both.
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}
