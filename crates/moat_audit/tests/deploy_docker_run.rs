//! A `docker run` line in a deploy script is audited like a compose service: the container
//! rules fire at the flag or value that is wrong, located in the script.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use moat_audit::config::{Config, Overrides};
use moat_audit::sources::audit_script;
use moat_diagnostics::{Finding, SourceFile};

const INSECURE: &str = "docker run -d --privileged --cap-add SYS_ADMIN -v /var/run/docker.sock:/var/run/docker.sock --network host nginx:latest";
const HARDENED: &str = "docker run -d --cap-drop ALL --security-opt no-new-privileges --read-only -u 1000:1000 --name api nginx:1.27-alpine";

/// The codes this test is about: the other container rules (limits, ports…) are not judged.
const CODES: &[&str] = &[
    "C001", "C002", "C003", "C005", "C006", "C017", "C018", "C019",
];

/// A scratch directory of one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    /// A new directory: tests run in parallel in one process, so each call gets its own.
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("moat-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn audit(script: &str) -> (Vec<Finding>, TempDir) {
    let dir = TempDir::new("deploy-docker-run");
    let path = dir.0.join("deploy.sh");
    std::fs::write(&path, script).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let source = SourceFile::new(path.display().to_string(), text);
    let config = Config::defaults(&dir.0, &Overrides::default()).unwrap();
    let outcome = audit_script(&source, &config);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let findings = outcome
        .findings
        .into_iter()
        .filter(|f| CODES.contains(&f.code.as_str()))
        .collect();
    (findings, dir)
}

/// 1-based column of `needle` in `line`.
fn column(line: &str, needle: &str) -> usize {
    line.find(needle).unwrap() + 1
}

fn at<'f>(findings: &'f [Finding], code: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.code == code).collect()
}

#[test]
fn insecure_docker_run_line_fires_at_its_flags() {
    let script = format!("#!/bin/sh\nset -eu\n\n{INSECURE}\n{HARDENED}\n");
    let (findings, _dir) = audit(&script);
    let expect = [
        ("C001", column(INSECURE, "--privileged")),
        ("C003", column(INSECURE, "SYS_ADMIN")),
        ("C005", column(INSECURE, "/var/run/docker.sock:")),
        ("C006", column(INSECURE, "host nginx")),
        ("C019", column(INSECURE, "nginx:latest")),
        // missing settings point at the command itself
        ("C017", 1),
        ("C018", 1),
    ];
    for (code, col) in expect {
        let hits = at(&findings, code);
        assert_eq!(hits.len(), 1, "{code}: {findings:#?}");
        let loc = &hits[0].location;
        assert_eq!((loc.line, loc.column), (4, col), "{code}: {loc:?}");
    }
    // a privileged container gets every capability whatever it drops: left to C001
    assert!(at(&findings, "C002").is_empty(), "{findings:#?}");
    // nothing on the hardened line
    let on_hardened: Vec<_> = findings.iter().filter(|f| f.location.line == 5).collect();
    assert!(on_hardened.is_empty(), "{on_hardened:#?}");
}

#[test]
fn hardened_docker_run_line_is_clean() {
    let script = format!("#!/usr/bin/env bash\n{HARDENED}\n");
    let (findings, _dir) = audit(&script);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn capabilities_not_dropped_points_at_the_command() {
    let script = "set -e\n  sudo docker run --rm -u app nginx:1.27\n";
    let (findings, _dir) = audit(script);
    let c002 = at(&findings, "C002");
    assert_eq!(c002.len(), 1, "{findings:#?}");
    assert_eq!((c002[0].location.line, c002[0].location.column), (2, 8));
}

#[test]
fn continued_lines_locate_each_flag_on_its_own_line() {
    let script = "docker run \\\n  --privileged \\\n  --use-api-socket \\\n  nginx\n";
    let (findings, _dir) = audit(script);
    let c001 = at(&findings, "C001");
    assert_eq!(c001.len(), 1);
    assert_eq!((c001[0].location.line, c001[0].location.column), (2, 3));
    let c005 = at(&findings, "C005");
    assert_eq!(c005.len(), 1);
    assert_eq!((c005[0].location.line, c005[0].location.column), (3, 3));
    let c019 = at(&findings, "C019");
    assert_eq!(c019.len(), 1);
    assert_eq!(c019[0].location.line, 4);
}
