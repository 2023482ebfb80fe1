//! Compose projects that are not whole where they are audited.
//!
//! - Inputs that are not all there (a git-ignored `.env`, unset variables): the project is
//!   audited, not refused — one `M002` finding per missing input where it is referred to, no
//!   input error (so no exit 2), every other setting judged, and no judgement made on a value
//!   that is unknown.
//! - Overlays (`compose.prod.yaml`, `docker-compose.override.yml`, fragments whose services
//!   have no `image` or `build`): merged onto the main compose file beside them, as `docker
//!   compose -f BASE -f OVERLAY` does, and judged on what they set; without a base, their
//!   partial services are not judged on the keys they do not set.

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

/// Audits the directory `dir` as `moat audit DIR` does.
fn audit_dir(dir: &Scratch) -> Report {
    let inputs = moat_audit::discover::discover(&[dir.path().to_path_buf()]);
    Auditor::new(AuditOptions::default()).audit(inputs)
}

fn rule(name: &str) -> &'static str {
    moat_audit::rules::all()
        .find(|r| r.info.name == name)
        .map_or_else(|| panic!("no rule {name}"), |r| r.info.code)
}

const BASE: &str = "\
services:
  api:
    image: registry.example.com/shop/api:1.4.2
    ports:
      - \"127.0.0.1:8080:8080\"
";

/// Rules that judge a whole service: they report a missing key at the service itself.
const WHOLE_SERVICE_RULES: [&str; 4] = [
    "no-memory-limit",
    "writable-root-filesystem",
    "no-pids-limit",
    "no-healthcheck",
];

#[test]
fn an_overlay_is_merged_onto_its_base_and_reports_only_what_it_sets() {
    let prod = "\
services:
  api:
    labels:
      traefik.enable: \"true\"
    cap_add: [SYS_ADMIN]
";
    let dir = Scratch::new(&[("compose.yaml", BASE), ("compose.prod.yaml", prod)]);
    let report = audit_dir(&dir);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let base = codes_at(&report, &dir.path().join("compose.yaml"));
    let overlay = codes_at(&report, &dir.path().join("compose.prod.yaml"));
    // what the overlay sets is judged where it is written
    assert_eq!(overlay, [(rule("dangerous-capability-added").into(), 5)]);
    // the whole-service judgements are the base's, reported once, in the base
    for name in WHOLE_SERVICE_RULES.into_iter().take(2) {
        let n = base.iter().filter(|(c, _)| c == rule(name)).count();
        assert_eq!(n, 1, "{name}: {base:?}");
    }
}

#[test]
fn an_override_named_alone_is_merged_onto_its_base() {
    let over = "services:\n  api:\n    read_only: true\n    privileged: true\n";
    let dir = Scratch::new(&[
        ("docker-compose.yml", BASE),
        ("docker-compose.override.yml", over),
    ]);
    let inputs = Inputs {
        files: vec![(
            dir.path().join("docker-compose.override.yml"),
            InputKind::Compose,
        )],
        ..Inputs::default()
    };
    let report = Auditor::new(AuditOptions::default()).audit(inputs);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found = codes_at(&report, &dir.path().join("docker-compose.override.yml"));
    assert_eq!(found, [(rule("privileged-container").into(), 4)]);
    assert!(
        codes_at(&report, &dir.path().join("docker-compose.yml")).is_empty(),
        "the base is not an input here"
    );
}

#[test]
fn a_fragment_without_its_base_is_judged_on_what_it_sets() {
    let fragment = "\
services:
  api:
    labels:
      prometheus.io/scrape: \"true\"
    ports:
      - \"9100:9100\"
  exporter:
    image: prom/node-exporter:v1.8.1
";
    let dir = Scratch::new(&[("docker-compose.monitoring.yml", fragment)]);
    let report = audit_dir(&dir);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found = codes_at(&report, &dir.path().join("docker-compose.monitoring.yml"));
    let api: Vec<&str> = found
        .iter()
        .filter(|(_, line)| *line == 2)
        .map(|(c, _)| c.as_str())
        .collect();
    assert!(
        api.is_empty(),
        "findings about keys api does not set: {found:?}"
    );
    assert!(
        found.contains(&(rule("port-on-all-interfaces").into(), 6)),
        "{found:?}"
    );
    // a whole service of the same file is judged as one
    for name in WHOLE_SERVICE_RULES {
        assert!(found.contains(&(rule(name).into(), 7)), "{name}: {found:?}");
    }
}

#[test]
fn an_override_file_kept_away_from_its_base_is_judged_on_what_it_sets() {
    // override files kept in a folder of their own, to be copied beside the main file when
    // wanted: their services add `build:` or one setting to services defined elsewhere
    let overlay = "\
services:
  api:
    build: ./images/api
  worker:
    build: ./images/worker
    privileged: true
";
    let dir = Scratch::new(&[("extras/BUILD/docker-compose.override.yml", overlay)]);
    let report = audit_dir(&dir);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found = codes_at(
        &report,
        &dir.path().join("extras/BUILD/docker-compose.override.yml"),
    );
    assert!(
        found.iter().all(|(_, line)| *line == 6),
        "only what the file sets is judged: {found:?}"
    );
    assert!(
        found.contains(&(rule("privileged-container").into(), 6)),
        "{found:?}"
    );
}
