//! Compose projects that are not whole where they are audited.
//!
//! - Inputs that are not all there (a git-ignored `.env`, unset variables): the project is
//!   audited, not refused — one `M002` finding per missing input where it is referred to, no
//!   input error (so no exit 2), every other setting judged, and no judgement made on a value
//!   that is unknown.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use moat_audit::discover::{InputKind, Inputs};
use moat_audit::{AuditOptions, Auditor};
use moat_diagnostics::Report;

/// A scratch directory of one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(files: &[(&str, &str)]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("moat-incomplete-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Audits the first of `files` as a compose file.
fn audit(files: &[(&str, &str)]) -> (Scratch, Report) {
    let dir = Scratch::new(files);
    let inputs = Inputs {
        files: vec![(dir.path().join(files[0].0), InputKind::Compose)],
        ..Inputs::default()
    };
    let report = Auditor::new(AuditOptions::default()).audit(inputs);
    (dir, report)
}

/// (code, line) of every finding, sorted.
fn codes_at(report: &Report, file: &Path) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = report
        .findings
        .iter()
        .filter(|f| Path::new(&f.location.path) == file)
        .map(|f| (f.code.clone(), f.location.line))
        .collect();
    out.sort();
    out
}

const COMPOSE: &str = "\
services:
  api:
    image: registry.example.com/shop/api:${MOAT_T_TAG:?set the tag}
    env_file: .env
    privileged: ${MOAT_T_PRIVILEGED:?}
    read_only: ${MOAT_T_READ_ONLY}
    restart: ${MOAT_T_RESTART}
    cap_add: [SYS_ADMIN]
    ports:
      - \"8080:8080\"
    deploy:
      resources:
        limits:
          memory: ${MOAT_T_MEMORY:?}
";

#[test]
fn missing_inputs_are_findings_and_the_rest_is_audited() {
    let (dir, report) = audit(&[("compose.yaml", COMPOSE)]);
    assert!(
        report.errors.is_empty(),
        "missing inputs are not input errors: {:?}",
        report.errors
    );
    let file = dir.path().join("compose.yaml");
    let found = codes_at(&report, &file);
    let m002: Vec<usize> = found
        .iter()
        .filter(|(c, _)| c == "M002")
        .map(|(_, l)| *l)
        .collect();
    // the tag, the env file, privileged, read_only, restart, memory
    assert_eq!(m002, [3, 4, 5, 6, 7, 14], "{found:?}");
    let m = report
        .findings
        .iter()
        .find(|f| f.code == "M002" && f.location.line == 4)
        .unwrap();
    assert_eq!(
        m.message,
        "input not available: env file `.env` cannot be read; values from it are unknown"
    );
    let has = |code: &str| found.iter().any(|(c, _)| c == code);
    // the known settings are judged: a dangerous capability, a port on all interfaces
    let rule = |name: &str| {
        moat_audit::rules::all()
            .find(|r| r.info.name == name)
            .map(|r| r.info.code)
            .unwrap()
    };
    assert!(has(rule("dangerous-capability-added")), "{found:?}");
    assert!(has(rule("port-on-all-interfaces")), "{found:?}");
    // unknown values are neither reported nor taken for safe settings or for absent ones
    for name in [
        "privileged-container",
        "writable-root-filesystem",
        "no-memory-limit",
        "restart-retries-too-high",
        "image-not-pinned",
    ] {
        assert!(
            !has(rule(name)),
            "{name} judged an unknown value: {found:?}"
        );
    }
}

#[test]
fn inputs_that_are_there_leave_no_m002() {
    let compose = "\
services:
  api:
    image: registry.example.com/shop/api:1.4.2
    env_file:
      - .env
      - path: local.env
        required: false
    read_only: true
";
    let (dir, report) = audit(&[("compose.yaml", compose), (".env", "LOG_LEVEL=info\n")]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found = codes_at(&report, &dir.path().join("compose.yaml"));
    assert!(!found.iter().any(|(c, _)| c == "M002"), "{found:?}");
}
