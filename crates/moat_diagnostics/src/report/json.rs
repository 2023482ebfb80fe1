//! moat's own JSON output, schema version 1 (`docs/json-output.md`,
//! `schema/moat-report-v1.schema.json`).
//!
//! The output is built from private structs rather than `serde_json::Value`, so the order of the
//! keys is the documented one whatever features of `serde_json` the build enables.

use serde::Serialize;

use super::{FileCounts, Summary, ToolInfo};
use crate::{Applicability, Confidence, Finding, InputError, Report, Severity};

/// Version of the JSON schema that [`json`] writes (the top-level `version` field).
pub const JSON_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of the output of [`json`], as shipped in
/// `crates/moat_diagnostics/schema/moat-report-v1.schema.json`.
pub const JSON_SCHEMA_V1: &str = include_str!("../../schema/moat-report-v1.schema.json");

/// Renders `report` as pretty-printed JSON (schema v1) naming moat ([`ToolInfo::MOAT`]) as the
/// tool. Ends with a newline.
pub fn json(report: &Report) -> String {
    json_with_tool(report, &ToolInfo::MOAT)
}

/// Like [`json`], naming another tool.
pub fn json_with_tool(report: &Report, tool: &ToolInfo) -> String {
    render(report, tool, None)
}

/// Like [`json_with_tool`], with the files audited in `summary.files`.
pub fn json_with_files(report: &Report, tool: &ToolInfo, files: &FileCounts) -> String {
    render(report, tool, Some(*files))
}

fn render(report: &Report, tool: &ToolInfo, files: Option<FileCounts>) -> String {
    let doc = JsonReport {
        version: JSON_VERSION,
        tool: JsonTool {
            name: tool.name,
            version: tool.version,
        },
        findings: report.findings.iter().map(JsonFinding::new).collect(),
        errors: report.errors.iter().map(JsonError::new).collect(),
        summary: Summary {
            files,
            ..Summary::of(report)
        },
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain structs always serialize");
    out.push('\n');
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: JsonTool<'a>,
    findings: Vec<JsonFinding<'a>>,
    errors: Vec<JsonError<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct JsonTool<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    confidence: Confidence,
    message: &'a str,
    location: JsonLocation<'a>,
    references: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<JsonFix<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    message: &'a str,
    location: JsonLocation<'a>,
}

impl<'a> JsonLocation<'a> {
    fn new(loc: &'a crate::Location) -> Self {
        let pos = loc.has_position();
        let known = |n: usize| (pos && n > 0).then_some(n);
        JsonLocation {
            path: &loc.path,
            line: known(loc.line),
            column: known(loc.column),
            end_line: known(loc.end_line),
            end_column: known(loc.end_column),
            object: loc.object.as_deref(),
        }
    }
}

impl<'a> JsonFinding<'a> {
    fn new(f: &'a Finding) -> Self {
        JsonFinding {
            code: &f.code,
            name: &f.name,
            severity: f.severity,
            confidence: f.confidence,
            message: &f.message,
            location: JsonLocation::new(&f.location),
            references: &f.references,
            evidence: f.evidence.as_deref(),
            fix: f.fix.as_ref().map(|fix| JsonFix {
                message: &fix.message,
                applicability: fix.applicability,
                edits: fix
                    .edits
                    .iter()
                    .map(|e| JsonEdit {
                        start: e.range.start,
                        end: e.range.end,
                        replacement: &e.replacement,
                    })
                    .collect(),
            }),
            related: f
                .related
                .iter()
                .map(|r| JsonRelated {
                    message: &r.message,
                    location: JsonLocation::new(&r.location),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct JsonLocation<'a> {
    path: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    message: &'a str,
    applicability: Applicability,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    start: usize,
    end: usize,
    replacement: &'a str,
}

#[derive(Serialize)]
struct JsonError<'a> {
    path: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
}

impl<'a> JsonError<'a> {
    fn new(e: &'a InputError) -> Self {
        JsonError {
            path: &e.path,
            line: e.line,
            column: e.column,
            message: &e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;

    #[test]
    fn unknown_positions_are_null_and_absent_options_are_left_out() {
        let report = Report {
            findings: vec![Finding {
                code: "C".into(),
                name: "n".into(),
                severity: Severity::Info,
                confidence: Confidence::Low,
                message: "m".into(),
                location: Location::file("<engine>"),
                references: vec![],
                evidence: None,
                fix: None,
                related: Vec::new(),
                secret: None,
            }],
            ..Report::default()
        };
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        let f = &v["findings"][0];
        assert_eq!(f["location"]["line"], serde_json::Value::Null);
        assert_eq!(f["location"]["end_column"], serde_json::Value::Null);
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            !keys.contains(&"fix") && !keys.contains(&"evidence"),
            "{keys:?}"
        );
        assert!(!f["location"].as_object().unwrap().contains_key("object"));
        assert_eq!(v["tool"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["version"], 1);
        assert!(!v["summary"].as_object().unwrap().contains_key("files"));
    }

    #[test]
    fn file_counts_are_in_the_summary_when_given() {
        let files = FileCounts {
            dockerfile: 3,
            compose: 2,
            daemon: 0,
            script: 1,
            ..FileCounts::default()
        };
        let out = json_with_files(&Report::default(), &ToolInfo::MOAT, &files);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["summary"]["files"],
            serde_json::json!({"dockerfile": 3, "compose": 2, "daemon": 0, "script": 1})
        );
        // the documented key order: findings by severity, errors, then files
        assert!(
            out.ends_with(
                "    \"errors\": 0,\n    \"files\": {\n      \"dockerfile\": 3,\n      \"compose\": 2,\n      \"daemon\": 0,\n      \"script\": 1\n    }\n  }\n}\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn the_shipped_schema_is_json_with_the_version() {
        let schema: serde_json::Value = serde_json::from_str(JSON_SCHEMA_V1).unwrap();
        assert_eq!(schema["properties"]["version"]["const"], JSON_VERSION);
    }
}
