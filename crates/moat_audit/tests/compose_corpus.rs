//! The compose corpus: every compose file of the shared corpus
//! (`../shared/corpus/compose`, next to the repository) is audited with the default rules,
//! without a single input error, and the findings per rule are printed as a table.
//!
//! When the corpus is not there the test is skipped with a message, except under CI (`CI` set),
//! where a missing corpus is a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use moat_audit::discover::{InputKind, discover};
use moat_audit::{AuditOptions, Auditor};
use moat_diagnostics::{Finding, Report};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/compose")
}

/// The findings of `code` in the corpus file whose name is `file`.
fn findings_in<'a>(report: &'a Report, file: &str, code: &str) -> Vec<&'a Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.code == code && Path::new(&f.location.path).ends_with(file))
        .collect()
}

#[test]
fn corpus_audits_without_errors() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus not found at {}",
            dir.display()
        );
        eprintln!("skipped: corpus not found at {}", dir.display());
        return;
    }
    let inputs = discover(std::slice::from_ref(&dir));
    let compose_files = inputs
        .files
        .iter()
        .filter(|(_, k)| *k == InputKind::Compose)
        .count();
    assert!(compose_files > 0, "no compose file found in the corpus");
    assert_eq!(
        compose_files,
        inputs.files.len(),
        "the corpus holds files that are not recognised as compose files: {:?}",
        inputs.files
    );
    let report = Auditor::new(AuditOptions::default()).audit(inputs);
    assert!(
        report.errors.is_empty(),
        "input errors on the corpus: {:#?}",
        report.errors
    );
    assert!(!report.findings.is_empty(), "no finding on the corpus");

    // summary: findings and files per rule
    let mut per_code: BTreeMap<&str, (usize, std::collections::BTreeSet<&str>)> = BTreeMap::new();
    for f in &report.findings {
        let e = per_code.entry(f.code.as_str()).or_default();
        e.0 += 1;
        e.1.insert(f.location.path.as_str());
    }
    println!(
        "{compose_files} compose files, {} findings",
        report.findings.len()
    );
    println!(
        "{:<6} {:<32} {:>8} {:>6}",
        "code", "name", "findings", "files"
    );
    for (code, (count, files)) in &per_code {
        let name = moat_audit::rules::by_code(code).map_or("?", |r| r.info.name);
        println!("{code:<6} {name:<32} {count:>8} {:>6}", files.len());
    }

    // MOAT_CORPUS_FINDINGS=C029,N001 lists those findings (`all` for every one)
    if let Ok(codes) = std::env::var("MOAT_CORPUS_FINDINGS") {
        for f in report
            .findings
            .iter()
            .filter(|f| codes == "all" || codes.split(',').any(|c| c.eq_ignore_ascii_case(&f.code)))
        {
            println!(
                "{}:{}: {} {}",
                f.location.path, f.location.line, f.code, f.message
            );
        }
    }

    // a service with deploy.resources.limits.memory is not reported for a missing memory
    // limit; one without it is
    assert!(
        findings_in(&report, "minecraft_compose.yaml", "C020").is_empty(),
        "C020 reported a service that has deploy.resources.limits.memory"
    );
    let redis = findings_in(&report, "flask-redis_compose.yaml", "C020");
    assert!(
        redis.iter().any(|f| f.message.contains("`redis`")),
        "C020 missed `redis` in flask-redis_compose.yaml, which has no memory limit"
    );
}
