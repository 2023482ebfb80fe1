//! SARIF 2.1.0 output, shaped for GitHub code scanning.
//!
//! One run. The driver lists the given rules (plus a minimal descriptor for any finding whose
//! code is not among them), each with the `security-severity` and `precision` properties that
//! code scanning reads. Each result points at its rule by `ruleId` and `ruleIndex`, always has
//! a region with a `startLine` (line 1 for a finding about a whole file or an engine object),
//! carries a `partialFingerprints` entry that survives line moves, and turns a fix into SARIF
//! `fixes` (character offsets, computed from the byte ranges and the source text). Input errors
//! become tool execution notifications, and make the invocation unsuccessful.
//!
//! Columns count Unicode code points (`columnKind: unicodeCodePoints`), as everywhere in moat.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::ToolInfo;
use crate::{
    Applicability, Confidence, Finding, Fix, InputError, Location, Report, RuleInfo, Severity,
    SourceFile,
};

const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Key of moat's entry in `partialFingerprints`.
const FINGERPRINT_KEY: &str = "moatLineHash/v1";

/// Renders `report` as a SARIF 2.1.0 log with one run of `tool`, describing `rules` (give the
/// rules that ran; a finding whose code is missing from them still gets a minimal descriptor).
/// Pretty-printed; ends with a newline.
pub fn sarif(report: &Report, rules: &[RuleInfo], tool: &ToolInfo) -> String {
    let mut descriptors: Vec<Rule<'_>> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for info in rules {
        if !index.contains_key(info.code) {
            index.insert(info.code, descriptors.len());
            descriptors.push(Rule::from_info(info));
        }
    }
    for f in &report.findings {
        if !index.contains_key(f.code.as_str()) {
            index.insert(&f.code, descriptors.len());
            descriptors.push(Rule::from_finding(f));
        }
    }

    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    let results = report
        .findings
        .iter()
        .map(|f| {
            let hash = fingerprint(report, f);
            let n = seen.entry(hash).or_insert(0);
            *n += 1;
            SarifResult::new(
                report,
                f,
                index[f.code.as_str()],
                format!("{hash:016x}:{n}"),
            )
        })
        .collect();

    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: tool.name,
                    version: tool.version,
                    information_uri: (!tool.information_uri.is_empty())
                        .then_some(tool.information_uri),
                    rules: descriptors,
                },
            },
            invocations: [Invocation {
                execution_successful: report.errors.is_empty(),
                tool_execution_notifications: report.errors.iter().map(notification).collect(),
            }],
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    let mut out = serde_json::to_string_pretty(&log).expect("plain structs always serialize");
    out.push('\n');
    out
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'a str>,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    name: String,
    short_description: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Help<'a>>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

impl<'a> Rule<'a> {
    fn from_info(info: &'a RuleInfo) -> Self {
        let docs = info.docs.trim();
        Rule {
            id: info.code,
            name: pascal_case(info.name, info.code),
            short_description: Text { text: info.summary },
            full_description: Some(Text {
                text: full_description(docs).unwrap_or(info.summary),
            }),
            help: Some(if docs.is_empty() {
                Help {
                    text: info.summary,
                    markdown: info.summary,
                }
            } else {
                Help {
                    text: docs,
                    markdown: docs,
                }
            }),
            default_configuration: Configuration {
                level: level(info.severity),
            },
            properties: RuleProperties::new(info.severity, info.confidence, info.references),
        }
    }

    /// A descriptor for a finding whose rule was not given.
    fn from_finding(f: &'a Finding) -> Self {
        Rule {
            id: &f.code,
            name: pascal_case(&f.name, &f.code),
            short_description: Text {
                text: if f.name.is_empty() { &f.code } else { &f.name },
            },
            full_description: None,
            help: None,
            default_configuration: Configuration {
                level: level(f.severity),
            },
            properties: RuleProperties::new(f.severity, f.confidence, &f.references),
        }
    }
}

#[derive(Serialize)]
struct Help<'a> {
    text: &'a str,
    markdown: &'a str,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
}

impl RuleProperties {
    fn new<S: AsRef<str>>(severity: Severity, confidence: Confidence, references: &[S]) -> Self {
        let mut tags = vec!["security".to_string()];
        for r in references {
            if let Some(tag) = cwe_tag(r.as_ref())
                && !tags.contains(&tag)
            {
                tags.push(tag);
            }
        }
        RuleProperties {
            tags,
            precision: precision(confidence),
            security_severity: security_severity(severity),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
struct Notification<'a> {
    level: &'static str,
    message: Text<'a>,
    locations: [SarifLocation<'a>; 1],
}

fn notification(e: &InputError) -> Notification<'_> {
    let region = e.line.filter(|l| *l > 0).map(|line| Region {
        start_line: line,
        start_column: e.column.filter(|c| *c > 0),
        end_line: None,
        end_column: None,
        snippet: None,
    });
    Notification {
        level: "error",
        message: Text { text: &e.message },
        locations: [SarifLocation {
            physical_location: Some(PhysicalLocation {
                artifact_location: artifact(&e.path),
                region,
            }),
            logical_locations: Vec::new(),
        }],
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text<'a>,
    locations: [SarifLocation<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<RelatedLocation<'a>>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<SarifFix<'a>>,
    properties: ResultProperties<'a>,
}

impl<'a> SarifResult<'a> {
    fn new(report: &'a Report, f: &'a Finding, rule_index: usize, fingerprint: String) -> Self {
        let loc = &f.location;
        let source = report.sources.get(&loc.path);
        let fixes = match (&f.fix, source) {
            (Some(fix), Some(src)) => sarif_fix(fix, &loc.path, src).into_iter().collect(),
            _ => Vec::new(),
        };
        SarifResult {
            rule_id: &f.code,
            rule_index,
            level: level(f.severity),
            message: Text { text: &f.message },
            locations: [SarifLocation {
                physical_location: (loc.object.as_deref() != Some(loc.path.as_str())).then(|| {
                    PhysicalLocation {
                        artifact_location: artifact(&loc.path),
                        region: Some(region(loc, source)),
                    }
                }),
                logical_locations: loc
                    .object
                    .as_deref()
                    .map(|name| LogicalLocation {
                        fully_qualified_name: name,
                        // SARIF's predefined kind for things that are not code
                        kind: Some("resource"),
                    })
                    .into_iter()
                    .collect(),
            }],
            related_locations: f
                .related
                .iter()
                .enumerate()
                .map(|(id, r)| RelatedLocation {
                    id,
                    message: Text { text: &r.message },
                    physical_location: PhysicalLocation {
                        artifact_location: artifact(&r.location.path),
                        region: Some(region(&r.location, report.sources.get(&r.location.path))),
                    },
                })
                .collect(),
            partial_fingerprints: [(FINGERPRINT_KEY, fingerprint)].into(),
            fixes,
            properties: ResultProperties {
                severity: f.severity,
                confidence: f.confidence,
                references: &f.references,
                evidence: f.evidence.as_deref(),
            },
        }
    }
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    severity: Severity,
    confidence: Confidence,
    references: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation<'a> {
    /// `None` for an engine object (a container, an image): no file to point at.
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RelatedLocation<'a> {
    id: usize,
    message: Text<'a>,
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    fully_qualified_name: &'a str,
    /// `resource` for engine objects (`container:web`, `image:api:1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region<'a> {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text<'a>>,
}

/// The region of a finding: its lines and columns, with the covered text as a snippet when the
/// source is known; just line 1 when the location has no position (code scanning needs a line).
fn region<'a>(loc: &Location, source: Option<&'a SourceFile>) -> Region<'a> {
    if !loc.has_position() {
        return Region {
            start_line: 1,
            start_column: None,
            end_line: None,
            end_column: None,
            snippet: None,
        };
    }
    let start_column = loc.column.max(1);
    let end_line = loc.end_line.max(loc.line);
    let end_column = if end_line == loc.line {
        loc.end_column.max(start_column)
    } else {
        loc.end_column.max(1)
    };
    let snippet = source
        .and_then(|src| {
            let start = byte_offset(src, loc.line, start_column)?;
            let end = byte_offset(src, end_line, end_column)?;
            src.text.get(start..end)
        })
        .filter(|s| !s.is_empty())
        .map(|text| Text { text });
    Region {
        start_line: loc.line,
        start_column: Some(start_column),
        end_line: Some(end_line),
        end_column: Some(end_column),
        snippet,
    }
}

/// Byte offset of 1-based `line` and `column` (in characters) in `src`; a column past the end of
/// the line stops at the start of the next line.
fn byte_offset(src: &SourceFile, line: usize, column: usize) -> Option<usize> {
    let start = src.index.line_start(line)?;
    let end = src.index.line_start(line + 1).unwrap_or(src.text.len());
    let text = &src.text[start..end];
    let within = text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    Some(start + within)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix<'a> {
    description: Text<'a>,
    artifact_changes: [ArtifactChange<'a>; 1],
    properties: FixProperties,
}

#[derive(Serialize)]
struct FixProperties {
    applicability: Applicability,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange<'a> {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement<'a> {
    deleted_region: CharRegion,
    inserted_content: Text<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CharRegion {
    char_offset: usize,
    char_length: usize,
}

/// The fix as a SARIF fix on `path`, with byte ranges turned into character offsets of `src`;
/// `None` when the fix has no edit or an edit does not fit the text.
fn sarif_fix<'a>(fix: &'a Fix, path: &str, src: &SourceFile) -> Option<SarifFix<'a>> {
    let text = src.text.as_str();
    let mut edits: Vec<_> = fix.edits.iter().collect();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut replacements = Vec::with_capacity(edits.len());
    let mut done = 0;
    for e in edits {
        if e.range.start < done {
            return None; // overlapping edits
        }
        let before = text.get(..e.range.start)?;
        let deleted = text.get(e.range.clone())?;
        replacements.push(Replacement {
            deleted_region: CharRegion {
                char_offset: before.chars().count(),
                char_length: deleted.chars().count(),
            },
            inserted_content: Text {
                text: &e.replacement,
            },
        });
        done = e.range.end;
    }
    if replacements.is_empty() {
        return None;
    }
    Some(SarifFix {
        description: Text { text: &fix.message },
        artifact_changes: [ArtifactChange {
            artifact_location: artifact(path),
            replacements,
        }],
        properties: FixProperties {
            applicability: fix.applicability,
        },
    })
}

/// A stable identity of a finding for code scanning: its code, its path and the text of its
/// first line with surrounding whitespace trimmed (so it survives lines moving); without a
/// source line, the engine object or else the message stands in for the line.
fn fingerprint(report: &Report, f: &Finding) -> u64 {
    let loc = &f.location;
    let line = report
        .sources
        .get(&loc.path)
        .filter(|src| loc.has_position() && loc.line <= src.index.line_count())
        .map(|src| src.line_text(loc.line).trim());
    let anchor = line.or(loc.object.as_deref()).unwrap_or(&f.message);
    let mut h = Fnv1a::new();
    for part in [f.code.as_str(), &loc.path.replace('\\', "/"), anchor] {
        h.write(part.as_bytes());
        h.write(&[0]);
    }
    h.finish()
}

/// 64-bit FNV-1a: small, stable across platforms and releases (unlike `std`'s hashers).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The artifact location of a path: a relative URI against `%SRCROOT%` for a relative path, a
/// `file:` URI for an absolute one. Backslashes are separators only on Windows.
fn artifact(path: &str) -> ArtifactLocation {
    let path = if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    let b = path.as_bytes();
    if b.first() == Some(&b'/') {
        return ArtifactLocation {
            uri: format!("file://{}", percent_encode(&path)),
            uri_base_id: None,
        };
    }
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
        return ArtifactLocation {
            uri: format!("file:///{}:{}", &path[..1], percent_encode(&path[2..])),
            uri_base_id: None,
        };
    }
    let mut rel = path.as_str();
    while let Some(rest) = rel.strip_prefix("./") {
        rel = rest.trim_start_matches('/');
    }
    ArtifactLocation {
        uri: percent_encode(rel),
        uri_base_id: Some("%SRCROOT%"),
    }
}

/// Percent-encodes every byte of `s` except unreserved characters (RFC 3986) and `/`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `latest-tag` → `LatestTag`; the code when the name is empty.
fn pascal_case(name: &str, code: &str) -> String {
    let out: String = name
        .split(['-', '_', ' '])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars))
                .into_iter()
                .flatten()
        })
        .collect();
    if out.is_empty() {
        code.to_string()
    } else {
        out
    }
}

/// The first paragraph of the `## What it does` section of rule docs, or else the first
/// paragraph that is not a heading.
fn full_description(docs: &str) -> Option<&str> {
    let section = docs
        .split("## What it does")
        .nth(1)
        .map_or(docs, |rest| rest.split("\n#").next().unwrap_or(rest));
    section
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#'))
}

/// `CWE-250` → `external/cwe/cwe-250`, the tag code scanning shows as a CWE.
fn cwe_tag(reference: &str) -> Option<String> {
    let number = reference
        .strip_prefix("CWE-")
        .or_else(|| reference.strip_prefix("cwe-"))?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("external/cwe/cwe-{number}"))
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The CVSS-like score code scanning maps to critical (≥ 9), high (≥ 7), medium (≥ 4) and low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_published_vectors() {
        let hash = |s: &str| {
            let mut h = Fnv1a::new();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn uris_are_relative_to_srcroot_or_file_uris() {
        let a = artifact("examples/my api/Dockerfile");
        assert_eq!(a.uri, "examples/my%20api/Dockerfile");
        assert_eq!(a.uri_base_id, Some("%SRCROOT%"));
        assert_eq!(artifact("./x/ä#1.yml").uri, "x/%C3%A4%231.yml");
        assert_eq!(artifact("<docker-run>").uri, "%3Cdocker-run%3E");
        let abs = artifact("/srv/app/Dockerfile");
        assert_eq!(
            (abs.uri.as_str(), abs.uri_base_id),
            ("file:///srv/app/Dockerfile", None)
        );
        assert_eq!(
            artifact("C:/src/Dockerfile").uri,
            "file:///C:/src/Dockerfile"
        );
    }

    #[test]
    fn names_become_pascal_case() {
        assert_eq!(pascal_case("latest-tag", "X"), "LatestTag");
        assert_eq!(pascal_case("run_as root", "X"), "RunAsRoot");
        assert_eq!(pascal_case("", "MOAT-X1"), "MOAT-X1");
    }

    #[test]
    fn full_description_is_the_first_paragraph_of_what_it_does() {
        let docs =
            "## What it does\nChecks the tag\nof images.\n\nMore.\n\n## Why is this bad?\nBad.";
        assert_eq!(full_description(docs), Some("Checks the tag\nof images."));
        assert_eq!(full_description("# Title\n\nFirst."), Some("First."));
        assert_eq!(full_description(""), None);
    }

    #[test]
    fn cwe_references_become_tags() {
        assert_eq!(cwe_tag("CWE-250").as_deref(), Some("external/cwe/cwe-250"));
        assert_eq!(cwe_tag("CWE-"), None);
        assert_eq!(cwe_tag("DL3007"), None);
    }

    #[test]
    fn fixes_use_character_offsets() {
        let src = SourceFile::new("f", "é\tFROM x\n");
        let fix = Fix {
            message: "m".into(),
            applicability: Applicability::Safe,
            edits: vec![crate::Edit {
                range: 3..7,
                replacement: "from".into(),
            }],
        };
        let sarif = sarif_fix(&fix, "f", &src).unwrap();
        let r = &sarif.artifact_changes[0].replacements[0];
        assert_eq!(
            (r.deleted_region.char_offset, r.deleted_region.char_length),
            (2, 4)
        );
        // an edit inside a character cannot be expressed
        let bad = Fix {
            edits: vec![crate::Edit {
                range: 1..2,
                replacement: String::new(),
            }],
            ..fix
        };
        assert!(sarif_fix(&bad, "f", &src).is_none());
    }

    #[test]
    fn byte_offsets_of_columns_count_characters() {
        let src = SourceFile::new("f", "aé\nb");
        assert_eq!(byte_offset(&src, 1, 1), Some(0));
        assert_eq!(byte_offset(&src, 1, 3), Some(3));
        assert_eq!(byte_offset(&src, 1, 9), Some(4));
        assert_eq!(byte_offset(&src, 2, 2), Some(5));
        assert_eq!(byte_offset(&src, 3, 1), None);
    }
}
