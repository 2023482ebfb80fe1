//! `moat harden` on the 3,000 real Dockerfiles of the shared corpus, unsafe fixes included:
//! every fixed file still parses, no fix is undone by the audit that follows it, and the
//! fixes converge (hardening the result changes nothing).

use std::collections::BTreeMap;
use std::path::PathBuf;

use moat_audit::discover::InputKind;
use moat_audit::harden::harden_file;
use moat_audit::{AuditOptions, Auditor};

#[test]
fn corpus_dockerfiles_harden_parse_and_converge() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dockerfiles");
    let Ok(read) = std::fs::read_dir(&dir) else {
        println!("skipped: corpus directory {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let auditor = Auditor::new(AuditOptions::default());
    let tmp = tempfile::tempdir().unwrap();
    let again_path = tmp.path().join("Dockerfile");
    let (mut parsed, mut changed, mut unparsed) = (0, 0, 0);
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        let h = match harden_file(&auditor, f, InputKind::Dockerfile, true) {
            Ok(h) => h,
            Err(errs) => {
                // the original does not parse (nothing to fix) — but a fix must never be the
                // reason
                if errs.iter().any(|e| e.message.contains("would leave")) {
                    problems.push(format!("{}: {}", f.display(), errs[0].message));
                }
                unparsed += 1;
                continue;
            }
        };
        parsed += 1;
        if !h.did_not_hold.is_empty() {
            problems.push(format!(
                "{}: did not hold: {:?}",
                f.display(),
                h.did_not_hold
            ));
        }
        if !h.changed() {
            continue;
        }
        changed += 1;
        for (code, _) in &h.applied {
            *per_rule.entry(code.clone()).or_default() += 1;
        }
        std::fs::write(&again_path, &h.fixed).unwrap();
        match harden_file(&auditor, &again_path, InputKind::Dockerfile, true) {
            Ok(again) if again.changed() => problems.push(format!(
                "{}: a second run changed it again ({:?})",
                f.display(),
                again.applied
            )),
            Ok(_) => {}
            Err(errs) => problems.push(format!("{}: fixed text: {}", f.display(), errs[0])),
        }
    }
    println!(
        "{} files: {parsed} parsed, {unparsed} not; {changed} changed; fixes by rule: {per_rule:?}",
        files.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(parsed > 2900, "{parsed}");
    assert!(
        changed > 500,
        "{changed} files changed: the fixes did not apply"
    );
}

/// `docker-compose config -q` accepts the file (`None`: the command is not installed).
fn compose_accepts(dir: &std::path::Path, file: &str) -> Option<bool> {
    let o = std::process::Command::new("docker-compose")
        .args(["-f", file, "config", "-q"])
        .current_dir(dir)
        .output()
        .ok()?;
    Some(o.status.success())
}

#[test]
fn corpus_compose_files_harden_parse_and_converge() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/compose");
    let Ok(read) = std::fs::read_dir(&dir) else {
        println!("skipped: corpus directory {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let auditor = Auditor::new(AuditOptions::default());
    let (mut changed, mut checked_by_compose) = (0, 0);
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        // each file alone in a folder of its own, named as compose names its files
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("compose.yaml");
        std::fs::copy(f, &path).unwrap();
        let h = match harden_file(&auditor, &path, InputKind::Compose, true) {
            Ok(h) => h,
            Err(errs) => {
                problems.push(format!("{}: {}", f.display(), errs[0]));
                continue;
            }
        };
        if !h.did_not_hold.is_empty() {
            problems.push(format!(
                "{}: did not hold: {:?}",
                f.display(),
                h.did_not_hold
            ));
        }
        if !h.changed() {
            continue;
        }
        changed += 1;
        for (code, _) in &h.applied {
            *per_rule.entry(code.clone()).or_default() += 1;
        }
        let accepted_before = compose_accepts(tmp.path(), "compose.yaml");
        std::fs::write(&path, &h.fixed).unwrap();
        if accepted_before == Some(true) {
            checked_by_compose += 1;
            if compose_accepts(tmp.path(), "compose.yaml") != Some(true) {
                problems.push(format!(
                    "{}: docker-compose refuses the fixed file",
                    f.display()
                ));
            }
        }
        match harden_file(&auditor, &path, InputKind::Compose, true) {
            Ok(again) if again.changed() => problems.push(format!(
                "{}: a second run changed it again ({:?})",
                f.display(),
                again.applied
            )),
            Ok(_) => {}
            Err(errs) => problems.push(format!("{}: fixed text: {}", f.display(), errs[0])),
        }
    }
    println!(
        "{} compose files: {changed} changed ({checked_by_compose} checked by docker-compose config); fixes by rule: {per_rule:?}",
        files.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        changed > 30,
        "{changed} files changed: the fixes did not apply"
    );
}
