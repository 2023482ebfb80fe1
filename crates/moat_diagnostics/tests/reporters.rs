//! The reporters on one small but representative report: two files, every severity, a
//! multi-line span, fixes (safe and unsafe), a non-ASCII line, a tab, an engine object and input
//! errors. Snapshots of each format, and schema validation of the JSON and SARIF output.

use std::ops::Range;
use std::path::PathBuf;

use moat_diagnostics::report::{
    self, JSON_SCHEMA_V1, TextOptions, ToolInfo, json, json_with_tool, sarif, text,
};
use moat_diagnostics::{
    Applicability, Confidence, Edit, Finding, Fix, InputError, Location, Report, RuleInfo,
    Severity, SourceFile,
};
use serde_json::Value;

const TOOL: ToolInfo = ToolInfo {
    name: "moat",
    version: "0.0.0-test",
    information_uri: "https://example.invalid/moat",
};

const DOCKERFILE: &str = "examples/insecure api/Dockerfile";
const DOCKERFILE_TEXT: &str = "FROM node:latest
WORKDIR /app
COPY\t. .
RUN apt-get update && \\
    apt-get install -y curl
ENV GRÜSSE=\"grüß dich\" API_KEY=sk_live_0123456789
USER root
";

const COMPOSE: &str = "compose.yaml";
const COMPOSE_TEXT: &str = "services:
  api:
    image: example/api:1.4.2
    privileged: true
    ports:
      - \"8080:8080\"
    restart: alwayz
";

/// The byte range of the `nth` (0-based) occurrence of `needle` in `text`.
fn find(text: &str, needle: &str, nth: usize) -> Range<usize> {
    let start = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
        .0;
    start..start + needle.len()
}

fn finding(
    code: &str,
    name: &str,
    severity: Severity,
    confidence: Confidence,
    message: &str,
    location: Location,
    references: &[&str],
) -> Finding {
    Finding {
        code: code.into(),
        name: name.into(),
        severity,
        confidence,
        message: message.into(),
        location,
        references: references.iter().map(|r| (*r).to_string()).collect(),
        evidence: None,
        fix: None,
        related: Vec::new(),
        secret: None,
    }
}

fn sample() -> Report {
    let dockerfile = SourceFile::new(DOCKERFILE, DOCKERFILE_TEXT);
    let compose = SourceFile::new(COMPOSE, COMPOSE_TEXT);
    let d = |needle: &str| dockerfile.location(find(DOCKERFILE_TEXT, needle, 0));

    let mut latest = finding(
        "MOAT-D001",
        "latest-tag",
        Severity::High,
        Confidence::High,
        "base image `node:latest` uses the `latest` tag",
        d("node:latest"),
        &["DL3007", "CIS-DOCKER-4.2"],
    );
    latest.fix = Some(Fix {
        message: "pin a version, e.g. `node:20.11-alpine`".into(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit {
            range: find(DOCKERFILE_TEXT, "node:latest", 0),
            replacement: "node:20.11-alpine".into(),
        }],
    });

    let copy_all = finding(
        "MOAT-D003",
        "copy-whole-context",
        Severity::Low,
        Confidence::Medium,
        "`COPY . .` copies the whole build context, secrets included",
        d(". ."),
        &["CIS-DOCKER-4.9"],
    );

    let run_span = find(DOCKERFILE_TEXT, "RUN", 0).start..find(DOCKERFILE_TEXT, "curl", 0).end;
    let mut recommends = finding(
        "MOAT-D005",
        "apt-install-recommends",
        Severity::Medium,
        Confidence::High,
        "`apt-get install` without `--no-install-recommends` adds packages nobody asked for",
        dockerfile.location(run_span),
        &["DL3015"],
    );
    let at = find(DOCKERFILE_TEXT, "-y", 0).start;
    recommends.fix = Some(Fix {
        message: "add `--no-install-recommends`".into(),
        applicability: Applicability::Safe,
        edits: vec![Edit {
            range: at..at,
            replacement: "--no-install-recommends ".into(),
        }],
    });

    let mut secret = finding(
        "MOAT-D010",
        "secret-in-env",
        Severity::Critical,
        Confidence::High,
        "`ENV` bakes the secret `API_KEY` into the image",
        d("API_KEY=sk_live_0123456789"),
        &["CWE-798", "CIS-DOCKER-4.10"],
    );
    secret.evidence = Some("API_KEY=sk_l…(redacted)".into());

    let mut root = finding(
        "MOAT-D012",
        "user-root",
        Severity::High,
        Confidence::High,
        "the container runs as `root`",
        d("root"),
        &["DL3002", "CIS-DOCKER-4.1", "CWE-250"],
    );
    root.fix = Some(Fix {
        message: "run as the image's `node` user".into(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit {
            range: find(DOCKERFILE_TEXT, "root", 0),
            replacement: "node".into(),
        }],
    });

    let healthcheck = finding(
        "MOAT-D020",
        "missing-healthcheck",
        Severity::Info,
        Confidence::Low,
        "no `HEALTHCHECK`: the engine cannot tell a hung API from a healthy one",
        Location::file(DOCKERFILE),
        &["CIS-DOCKER-4.6"],
    );

    let privileged = finding(
        "MOAT-C003",
        "privileged",
        Severity::Critical,
        Confidence::High,
        "service `api` runs privileged: it can take over the host",
        compose.location(find(COMPOSE_TEXT, "privileged: true", 0)),
        &["CIS-DOCKER-5.4", "CWE-250"],
    );

    let mut memory = finding(
        "MOAT-E002",
        "no-memory-limit",
        Severity::Low,
        Confidence::High,
        "container `api-1` has no memory limit",
        Location {
            object: Some("container/3f2a9c1d".into()),
            ..Location::file("<engine>")
        },
        &["CIS-DOCKER-5.10"],
    );
    memory.evidence = Some("HostConfig.Memory=0".into());

    let restart = find(COMPOSE_TEXT, "alwayz", 0);
    let (line, column) = compose.index.line_col(COMPOSE_TEXT, restart.start);
    Report {
        findings: vec![
            latest,
            copy_all,
            recommends,
            secret,
            root,
            healthcheck,
            privileged,
            memory,
        ],
        errors: vec![
            InputError {
                path: COMPOSE.into(),
                line: Some(line),
                column: Some(column),
                message: "unknown restart policy `alwayz` (expected one of: no, always, \
                          on-failure, unless-stopped)"
                    .into(),
            },
            InputError {
                path: "deploy/run.sh".into(),
                line: None,
                column: None,
                message: "cannot read: permission denied".into(),
            },
        ],
        sources: [
            (DOCKERFILE.to_string(), dockerfile),
            (COMPOSE.to_string(), compose),
        ]
        .into(),
    }
}

fn rule(
    code: &'static str,
    name: &'static str,
    summary: &'static str,
    severity: Severity,
    references: &'static [&'static str],
    docs: &'static str,
) -> RuleInfo {
    RuleInfo {
        code,
        name,
        summary,
        severity,
        confidence: Confidence::High,
        default_enabled: true,
        references,
        fix: None,
        docs,
    }
}

/// The rules the sample's findings come from, except `MOAT-E002` (which SARIF must still
/// describe), plus one rule without findings.
fn rules() -> Vec<RuleInfo> {
    vec![
        rule(
            "MOAT-D001",
            "latest-tag",
            "Base image uses the `latest` tag",
            Severity::High,
            &["DL3007"],
            "## What it does\nChecks that `FROM` pins a tag other than `latest`.\n\n\
             ## Why is this bad?\nThe image changes under you.\n",
        ),
        rule(
            "MOAT-D003",
            "copy-whole-context",
            "`COPY . .` copies the whole build context",
            Severity::Low,
            &[],
            "",
        ),
        rule(
            "MOAT-D005",
            "apt-install-recommends",
            "`apt-get install` without `--no-install-recommends`",
            Severity::Medium,
            &["DL3015"],
            "## What it does\nFinds `apt-get install` without `--no-install-recommends`.\n",
        ),
        rule(
            "MOAT-D010",
            "secret-in-env",
            "Secret baked into the image by `ENV`",
            Severity::Critical,
            &["CWE-798"],
            "## What it does\nFinds secrets in `ENV` and `ARG`.\n",
        ),
        rule(
            "MOAT-D012",
            "user-root",
            "Container runs as root",
            Severity::High,
            &["DL3002", "CWE-250"],
            "## What it does\nChecks the last `USER`.\n",
        ),
        rule(
            "MOAT-D020",
            "missing-healthcheck",
            "No `HEALTHCHECK`",
            Severity::Info,
            &[],
            "## What it does\nChecks for a `HEALTHCHECK`.\n",
        ),
        rule(
            "MOAT-C003",
            "privileged",
            "Service runs privileged",
            Severity::Critical,
            &["CWE-250"],
            "## What it does\nFinds `privileged: true`.\n",
        ),
        rule(
            "MOAT-D099",
            "unused",
            "A rule that found nothing",
            Severity::Low,
            &[],
            "",
        ),
    ]
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).expect("output is JSON")
}

/// Validates `instance` against `schema`, with formats checked; panics listing every error.
fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema:\n{}",
        errors.join("\n")
    );
}

/// The official SARIF 2.1.0 schema, from the shared CI inputs.
fn sarif_schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/schemas/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the SARIF 2.1.0 schema is part of CI's inputs and must be at {}: {e}",
            path.display()
        )
    });
    parse(&text)
}

/// moat's JSON schema made strict: no property beyond those it documents, so that a field added
/// to the output without being added to the schema fails this test.
fn strict_report_schema() -> Value {
    fn close(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    let mut schema = parse(JSON_SCHEMA_V1);
    close(&mut schema);
    schema
}

#[test]
fn text_without_colour() {
    insta::assert_snapshot!("text", text(&sample(), &TextOptions::default()));
}

#[test]
fn text_with_colour() {
    let out = text(
        &sample(),
        &TextOptions {
            color: true,
            show_fixes: true,
        },
    );
    // make the escape character visible in the snapshot
    insta::assert_snapshot!("text_color", out.replace('\u{1b}', "␛"));
    // the same text under the colour
    let plain = text(&sample(), &TextOptions::default());
    let mut stripped = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..at]);
        rest = &rest[at..];
        rest = &rest[rest.find('m').expect("escape sequences end with m") + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, plain);
}

#[test]
fn text_can_leave_fixes_out() {
    let out = text(
        &sample(),
        &TextOptions {
            color: false,
            show_fixes: false,
        },
    );
    assert!(!out.contains("= fix"), "{out}");
    assert!(out.contains("= see: DL3007, CIS-DOCKER-4.2"), "{out}");
}

#[test]
fn json_output() {
    insta::assert_snapshot!("json", json_with_tool(&sample(), &TOOL));
}

#[test]
fn json_names_moat_by_default() {
    let report = sample();
    assert_eq!(json(&report), json_with_tool(&report, &ToolInfo::MOAT));
}

#[test]
fn json_matches_the_moat_report_v1_schema() {
    let schema = strict_report_schema();
    assert_valid(
        &schema,
        &parse(&json_with_tool(&sample(), &TOOL)),
        "JSON of the sample",
    );
    assert_valid(
        &schema,
        &parse(&json(&Report::default())),
        "JSON of an empty report",
    );
}

/// The example in `docs/json-output.md` is valid output.
#[test]
fn the_documented_example_matches_the_schema() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/json-output.md");
    let doc = std::fs::read_to_string(&path).expect("docs/json-output.md exists");
    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/json-output.md has a ```json example");
    assert_valid(
        &strict_report_schema(),
        &parse(example),
        "the documented example",
    );
}

#[test]
fn sarif_output() {
    insta::assert_snapshot!("sarif", sarif(&sample(), &rules(), &TOOL));
}

#[test]
fn sarif_matches_the_official_schema() {
    let schema = sarif_schema();
    assert_valid(
        &schema,
        &parse(&sarif(&sample(), &rules(), &TOOL)),
        "SARIF of the sample",
    );
    assert_valid(
        &schema,
        &parse(&sarif(&sample(), &[], &TOOL)),
        "SARIF without rules",
    );
    let empty = sarif(&Report::default(), &[], &ToolInfo::MOAT);
    assert_valid(&schema, &parse(&empty), "SARIF of an empty report");
    assert_eq!(
        parse(&empty)["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
}

/// The validations above would pass vacuously if the schemas accepted anything.
#[test]
fn the_schemas_reject_broken_output() {
    let validate = |schema: &Value, instance: &Value| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .unwrap()
            .is_valid(instance)
    };
    let sarif_schema = sarif_schema();
    let mut log = parse(&sarif(&sample(), &rules(), &TOOL));
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validate(&sarif_schema, &log));
    let mut log = parse(&sarif(&sample(), &rules(), &TOOL));
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(!validate(&sarif_schema, &log));

    let report_schema = strict_report_schema();
    let mut doc = parse(&json(&sample()));
    doc["findings"][0]["severity"] = "severe".into();
    assert!(!validate(&report_schema, &doc));
    let mut doc = parse(&json(&sample()));
    doc["findings"][0]["location"]["undocumented"] = true.into();
    assert!(!validate(&report_schema, &doc));
    let mut doc = parse(&json(&sample()));
    doc["version"] = 2.into();
    assert!(!validate(&report_schema, &doc));
}

#[test]
fn sarif_results_point_at_their_rules_and_have_distinct_fingerprints() {
    let log = parse(&sarif(&sample(), &rules(), &TOOL));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), sample().findings.len());
    let mut fingerprints = Vec::new();
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64());
        fingerprints.push(result["partialFingerprints"]["moatLineHash/v1"].clone());
    }
    fingerprints.sort_by_key(ToString::to_string);
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), results.len());
    // the rule missing from `rules` got a descriptor, after the given ones
    assert_eq!(rules.last().unwrap()["id"], "MOAT-E002");
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
}

/// Applying a SARIF fix (character offsets) gives the same text as applying the moat fix
/// (byte ranges).
#[test]
fn sarif_fixes_apply_like_moat_fixes() {
    let report = sample();
    let log = parse(&sarif(&report, &rules(), &TOOL));
    let results = log["runs"][0]["results"].as_array().unwrap();
    let mut checked = 0;
    for (finding, result) in report.findings.iter().zip(results) {
        let Some(fix) = &finding.fix else {
            assert!(result.get("fixes").is_none());
            continue;
        };
        let source = &report.sources[&finding.location.path].text;
        let mut chars: Vec<char> = source.chars().collect();
        let replacements = result["fixes"][0]["artifactChanges"][0]["replacements"]
            .as_array()
            .unwrap();
        for r in replacements.iter().rev() {
            let region = &r["deletedRegion"];
            let offset = usize::try_from(region["charOffset"].as_u64().unwrap()).unwrap();
            let length = usize::try_from(region["charLength"].as_u64().unwrap()).unwrap();
            let inserted = r["insertedContent"]["text"].as_str().unwrap();
            chars.splice(offset..offset + length, inserted.chars());
        }
        assert_eq!(chars.into_iter().collect::<String>(), fix.apply(source));
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn output_is_deterministic() {
    let (a, b) = (sample(), sample());
    assert_eq!(
        text(&a, &TextOptions::default()),
        text(&b, &TextOptions::default())
    );
    assert_eq!(json(&a), json(&b));
    assert_eq!(sarif(&a, &rules(), &TOOL), sarif(&b, &rules(), &TOOL));
}

#[test]
fn summary_matches_the_sample() {
    let s = report::Summary::of(&sample());
    assert_eq!(
        (s.critical, s.high, s.medium, s.low, s.info, s.errors),
        (2, 2, 1, 2, 1, 2)
    );
}
