//! A scan's report: text (grouped by package), moat's versioned JSON, SARIF 2.1.0 and a
//! CycloneDX 1.6 SBOM with the vulnerabilities. Pure functions of a [`Report`]: no I/O, no
//! clock (the caller gives the SBOM's timestamp).
//!
//! Secret values never appear: every secret carries its value redacted from the moment it is
//! found ([`crate::secrets`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use moat_vuln::{Band, FixStatus, Metadata};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cyclonedx;
use crate::model::Package;
use crate::policy::{Applied, Policy, Suppression, format_date};
use crate::scan::{Scanned, Secret, SecretPlace, Vulnerability};

/// Version of the JSON document ([`json`]); bumped on any incompatible change.
pub const JSON_VERSION: u32 = 1;

/// Secret codes: in a file, in the config's `Env`, in the build history.
pub const SECRET_FILE: &str = "S001";
/// See [`SECRET_FILE`].
pub const SECRET_ENV: &str = "S002";
/// See [`SECRET_FILE`].
pub const SECRET_HISTORY: &str = "S003";
/// The distribution is past its end of life.
pub const END_OF_LIFE: &str = "S010";

/// Secrets are reported at this band (for `--fail-on`).
pub const SECRET_BAND: Band = Band::High;

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was scanned: `archive` (a tarball: `docker save` or `oci-archive`, told apart by its
    /// contents), `docker-archive` or `oci-archive` (named so), `oci-layout`, `engine`, `rootfs`.
    pub kind: String,
    /// The name shown for the target (what the user typed).
    pub name: String,
    /// The scan.
    pub scanned: Scanned,
    /// The advisory database's path and metadata.
    pub database: (String, Metadata),
    /// The vulnerabilities, sorted by the policy.
    pub applied: Applied,
    /// The policy applied.
    pub policy: Policy,
}

impl Report {
    /// Whether the exit code is 1: a shown vulnerability at or above the threshold, a secret
    /// (high) at or above it, or an end-of-life distribution (medium) at or above it.
    /// Informational advisories (a crate unmaintained, unsound or with a notice) are shown but
    /// never fail a scan, as `cargo audit` only warns of them.
    pub fn fails(&self) -> bool {
        let t = self.policy.fail_on;
        self.applied
            .shown
            .iter()
            .any(|v| v.advisory.informational.is_none() && v.advisory.severity.band >= t)
            || (!self.scanned.secrets.is_empty() && SECRET_BAND >= t)
            || (self.end_of_life() && Band::Medium >= t)
    }

    fn end_of_life(&self) -> bool {
        self.scanned
            .inventory
            .os
            .as_ref()
            .is_some_and(|o| o.end_of_life == Some(true))
    }

    fn packages(&self) -> &[Package] {
        &self.scanned.inventory.packages
    }

    /// Counts of the shown vulnerabilities by band.
    pub fn counts(&self) -> BTreeMap<Band, usize> {
        let mut c = BTreeMap::new();
        for v in &self.applied.shown {
            *c.entry(v.advisory.severity.band).or_insert(0) += 1;
        }
        c
    }
}

fn band_words(counts: &BTreeMap<Band, usize>) -> String {
    let order = [
        Band::Critical,
        Band::High,
        Band::Medium,
        Band::Low,
        Band::None,
        Band::Unknown,
    ];
    order
        .iter()
        .filter_map(|b| counts.get(b).map(|n| format!("{b} {n}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn os_words(report: &Report) -> String {
    match &report.scanned.inventory.os {
        Some(os) => os.pretty_name.clone().unwrap_or_else(|| {
            format!("{} {}", os.id, os.version_id.as_deref().unwrap_or(""))
                .trim()
                .to_string()
        }),
        None => "no distribution found".into(),
    }
}

fn fix_words(v: &Vulnerability) -> String {
    match v.advisory.status {
        FixStatus::Fixed => format!("fixed in {}", v.advisory.fixed_versions.join(", ")),
        FixStatus::Unfixed => "no fix yet".into(),
    }
}

fn layer_words(layer: Option<usize>) -> String {
    layer.map_or_else(String::new, |l| format!(", layer {l}"))
}

/// The text report: the target, then each affected package with its advisories (severity, fix
/// and summary), the secrets, the warnings, and the counts.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let inv = &report.scanned.inventory;
    let _ = writeln!(
        out,
        "{} ({}): {}, {} layers, {} packages",
        report.name,
        report.kind,
        os_words(report),
        inv.layers.len(),
        inv.packages.len()
    );
    if report.end_of_life() {
        let _ = writeln!(
            out,
            "  warning [{END_OF_LIFE}]: {} is past its end of life: its packages get no more security fixes",
            os_words(report)
        );
    }
    // grouped by looked-up package (the source package for distributions)
    let mut groups: BTreeMap<(String, String, String), Vec<&Vulnerability>> = BTreeMap::new();
    for v in &report.applied.shown {
        let a = &v.advisory;
        groups
            .entry((a.package.clone(), a.version.clone(), a.ecosystem.clone()))
            .or_default()
            .push(v);
    }
    // columns as wide as their widest entry
    let id_width = report
        .applied
        .shown
        .iter()
        .map(|v| v.advisory.id.len())
        .max()
        .unwrap_or(0);
    let fix_width = report
        .applied
        .shown
        .iter()
        .map(|v| fix_words(v).len())
        .max()
        .unwrap_or(0);
    for ((package, version, ecosystem), vulns) in &groups {
        let first = vulns[0];
        let installed: Vec<&Package> = first
            .packages
            .iter()
            .map(|&i| &report.packages()[i])
            .collect();
        let binaries: Vec<String> = installed
            .iter()
            .filter(|p| p.name != *package)
            .map(|p| p.name.clone())
            .collect();
        let mut about = ecosystem.clone();
        if !binaries.is_empty() {
            let _ = write!(about, ", installed as {}", binaries.join(" "));
        }
        if let Some(p) = installed.first() {
            let _ = write!(about, ", /{}{}", p.path, layer_words(p.layer));
        }
        let _ = writeln!(out, "\n{package} {version} ({about})");
        for v in vulns {
            let a = &v.advisory;
            let mut sev = a.severity.band.to_string();
            if let Some(score) = a.severity.score {
                let _ = write!(sev, " {score:.1}");
            }
            let note = a
                .informational
                .as_ref()
                .map_or_else(String::new, |i| format!(" [{i}]"));
            let _ = writeln!(
                out,
                "  {:<id_width$}  {:<12}  {:<fix_width$}  {}{note}",
                a.id,
                sev,
                fix_words(v),
                a.summary
            );
        }
    }
    if !report.scanned.secrets.is_empty() {
        let _ = writeln!(out, "\nsecrets");
        for s in &report.scanned.secrets {
            let mut extra = String::new();
            if let SecretPlace::File {
                layer, removed_in, ..
            } = &s.place
            {
                let _ = write!(extra, " (layer {layer}");
                if let Some(r) = removed_in {
                    let _ = write!(extra, ", deleted in layer {r} but still in the image");
                }
                extra.push(')');
            }
            let _ = writeln!(
                out,
                "  [{}] {}: {} {}{extra}",
                secret_code(s),
                s.where_(),
                s.description,
                s.evidence
            );
        }
    }
    if !report.applied.expired.is_empty() {
        out.push('\n');
        for &i in &report.applied.expired {
            let ig = &report.policy.ignores[i];
            let _ = writeln!(
                out,
                "warning: the ignore of {} expired on {}: it is reported again ({})",
                ig.id,
                ig.expires.map(format_date).unwrap_or_default(),
                ig.reason
            );
        }
    }
    if !report.scanned.warnings.is_empty() {
        out.push('\n');
        for w in &report.scanned.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
    }
    let counts = report.counts();
    let mut summary = format!(
        "\n{} vulnerabilit{} in {} package{}",
        report.applied.shown.len(),
        if report.applied.shown.len() == 1 {
            "y"
        } else {
            "ies"
        },
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    );
    if !counts.is_empty() {
        let _ = write!(summary, " ({})", band_words(&counts));
    }
    let _ = write!(summary, ", {} secret(s)", report.scanned.secrets.len());
    if !report.applied.ignored.is_empty() {
        let _ = write!(summary, ", {} ignored", report.applied.ignored.len());
    }
    if report.applied.filtered > 0 {
        let _ = write!(summary, ", {} filtered out", report.applied.filtered);
    }
    let (path, meta) = &report.database;
    let _ = writeln!(
        out,
        "{summary}\nadvisory database: {path} (built {})",
        meta.built_at_rfc3339()
    );
    out
}

fn secret_code(s: &Secret) -> &'static str {
    match s.place {
        SecretPlace::File { .. } => SECRET_FILE,
        SecretPlace::Env { .. } => SECRET_ENV,
        SecretPlace::History { .. } => SECRET_HISTORY,
    }
}

fn package_json(p: &Package) -> Value {
    json!({
        "ecosystem": p.ecosystem.osv_name(),
        "name": p.name,
        "version": p.version,
        "source_name": p.source_name,
        "source_version": p.source_version,
        "path": p.path,
        "layer": p.layer,
        "purl": cyclonedx::purl(p),
    })
}

fn vulnerability_json(report: &Report, v: &Vulnerability) -> Value {
    let a = &v.advisory;
    json!({
        "id": a.id,
        "aliases": a.aliases,
        "summary": a.summary,
        "severity": a.severity,
        "status": a.status,
        "fixed_versions": a.fixed_versions,
        "informational": a.informational,
        "ecosystem": a.ecosystem,
        "package": a.package,
        "version": a.version,
        "installed": v.packages.iter().map(|&i| {
            let p = &report.packages()[i];
            json!({"name": p.name, "version": p.version, "path": p.path, "layer": p.layer, "purl": cyclonedx::purl(p)})
        }).collect::<Vec<_>>(),
    })
}

/// The JSON report (version [`JSON_VERSION`]).
pub fn json(report: &Report) -> String {
    let inv = &report.scanned.inventory;
    let counts = report.counts();
    let (path, meta) = &report.database;
    let doc = json!({
        "version": JSON_VERSION,
        "tool": {"name": "moat", "version": env!("CARGO_PKG_VERSION")},
        "target": {
            "name": report.name,
            "kind": report.kind,
            "source": report.scanned.target,
            "reference": report.scanned.reference,
            "layers": inv.layers,
        },
        "os": inv.os,
        "database": {
            "path": path,
            "schema_version": meta.schema_version,
            "built_at": meta.built_at_rfc3339(),
            "entries": meta.entries,
            "sources": meta.sources.iter().map(|s| json!({"path": s.path, "kind": s.kind.as_str(), "records": s.records})).collect::<Vec<_>>(),
        },
        "packages": inv.packages.iter().map(package_json).collect::<Vec<_>>(),
        "vulnerabilities": report.applied.shown.iter().map(|v| vulnerability_json(report, v)).collect::<Vec<_>>(),
        "secrets": report.scanned.secrets.iter().map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
            v["code"] = json!(secret_code(s));
            v
        }).collect::<Vec<_>>(),
        "ignored": report.applied.ignored.iter().map(|(v, why)| match why {
            Suppression::Ignore(i) => json!({
                "vulnerability": vulnerability_json(report, v),
                "ignore": report.policy.ignores[*i],
            }),
            Suppression::Vex(i) => json!({
                "vulnerability": vulnerability_json(report, v),
                "vex": report.policy.vex[*i],
            }),
        }).collect::<Vec<_>>(),
        "expired_ignores": report.applied.expired.iter().map(|&i| &report.policy.ignores[i]).collect::<Vec<_>>(),
        "warnings": report.scanned.warnings,
        "summary": {
            "packages": inv.packages.len(),
            "vulnerabilities": report.applied.shown.len(),
            "critical": counts.get(&Band::Critical).copied().unwrap_or(0),
            "high": counts.get(&Band::High).copied().unwrap_or(0),
            "medium": counts.get(&Band::Medium).copied().unwrap_or(0),
            "low": counts.get(&Band::Low).copied().unwrap_or(0),
            "none": counts.get(&Band::None).copied().unwrap_or(0),
            "unknown": counts.get(&Band::Unknown).copied().unwrap_or(0),
            "fixed": report.applied.shown.iter().filter(|v| v.advisory.status == FixStatus::Fixed).count(),
            "secrets": report.scanned.secrets.len(),
            "ignored": report.applied.ignored.len(),
            "filtered": report.applied.filtered,
            "end_of_life": report.end_of_life(),
            "fails": report.fails(),
        },
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// SARIF's level and GitHub's `security-severity` for a band.
fn sarif_level(band: Band) -> (&'static str, &'static str) {
    match band {
        Band::Critical => ("error", "9.5"),
        Band::High => ("error", "8.0"),
        Band::Medium => ("warning", "5.5"),
        Band::Low => ("note", "2.0"),
        Band::None | Band::Unknown => ("note", "0.0"),
    }
}

/// The SARIF 2.1.0 report: one rule per advisory (and per secret place), one result per
/// vulnerable package and per secret, located in the file that recorded the package.
pub fn sarif(report: &Report) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rule = |id: &str, name: &str, text: &str, band: Band, tags: &[&str]| -> usize {
        if let Some(&i) = index.get(id) {
            return i;
        }
        let (level, score) = sarif_level(band);
        rules.push(json!({
            "id": id,
            "name": name,
            "shortDescription": {"text": if text.is_empty() { id } else { text }},
            "defaultConfiguration": {"level": level},
            "properties": {"security-severity": score, "tags": tags},
        }));
        index.insert(id.to_string(), rules.len() - 1);
        rules.len() - 1
    };
    let mut results = Vec::new();
    let location = |path: &str, line: Option<usize>| {
        let mut phys = json!({"artifactLocation": {"uri": path.trim_start_matches('/')}});
        if let Some(l) = line {
            phys["region"] = json!({"startLine": l});
        }
        json!([{"physicalLocation": phys}])
    };
    for v in &report.applied.shown {
        let a = &v.advisory;
        let i = rule(
            &a.id,
            "known-vulnerability",
            &a.summary,
            a.severity.band,
            &["security", "vulnerability"],
        );
        let (level, _) = sarif_level(a.severity.band);
        for &k in &v.packages {
            let p = &report.packages()[k];
            results.push(json!({
                "ruleId": a.id,
                "ruleIndex": i,
                "level": level,
                "message": {"text": format!("{} {} ({}) is affected by {} ({}, {}): {}", p.name, p.version, a.ecosystem, a.id, a.severity.band, fix_words(v), a.summary)},
                "locations": location(&p.path, None),
                "partialFingerprints": {"moat/v1": format!("{}:{}:{}:{}", a.id, p.name, p.version, p.path)},
            }));
        }
    }
    for s in &report.scanned.secrets {
        let code = secret_code(s);
        let i = rule(
            code,
            "leaked-secret",
            "A secret is stored in the image",
            SECRET_BAND,
            &["security", "secret"],
        );
        let loc = match &s.place {
            SecretPlace::File { path, .. } => location(path, Some(s.line)),
            SecretPlace::Env { .. } | SecretPlace::History { .. } => {
                location(&format!("{}#config", report.name), None)
            }
        };
        results.push(json!({
            "ruleId": code,
            "ruleIndex": i,
            "level": "error",
            "message": {"text": format!("{}: {} {}", s.where_(), s.description, s.evidence)},
            "locations": loc,
        }));
    }
    if report.end_of_life() {
        let i = rule(
            END_OF_LIFE,
            "end-of-life-distribution",
            "The distribution is past its end of life",
            Band::Medium,
            &["security"],
        );
        results.push(json!({
            "ruleId": END_OF_LIFE,
            "ruleIndex": i,
            "level": "warning",
            "message": {"text": format!("{} is past its end of life: its packages get no more security fixes", os_words(report))},
            "locations": location("etc/os-release", None),
        }));
    }
    let mut driver = json!({
        "name": "moat",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    let uri = env!("CARGO_PKG_REPOSITORY");
    if !uri.is_empty() {
        driver["informationUri"] = json!(uri);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The CycloneDX 1.6 SBOM with the shown vulnerabilities; `timestamp` is RFC 3339. The serial
/// number is derived from the image's layers and the timestamp (same scan, same serial).
pub fn cyclonedx(report: &Report, timestamp: &str) -> String {
    let vulns: Vec<cyclonedx::Vulnerability> = report
        .applied
        .shown
        .iter()
        .map(|v| {
            let a = &v.advisory;
            cyclonedx::Vulnerability {
                id: a.id.clone(),
                aliases: a.aliases.clone(),
                source: "OSV".into(),
                summary: Some(a.summary.clone()).filter(|s| !s.is_empty()),
                severity: match a.severity.band {
                    Band::None => "info".into(),
                    b => b.to_string(),
                },
                score: a.severity.score,
                vector: a.severity.vector.clone(),
                fixed_versions: a.fixed_versions.clone(),
                affects: v.packages.clone(),
            }
        })
        .collect();
    let mut h = Sha256::new();
    h.update(report.name.as_bytes());
    for l in &report.scanned.inventory.layers {
        h.update(l.as_bytes());
    }
    h.update(timestamp.as_bytes());
    let d = h.finalize();
    // a UUID of version 8 (custom) from the digest
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    });
    let serial = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let bom = cyclonedx::bom(
        &report.name,
        &report.scanned.inventory,
        &vulns,
        &serial,
        timestamp,
    );
    let mut s = serde_json::to_string_pretty(&bom).unwrap_or_default();
    s.push('\n');
    s
}
