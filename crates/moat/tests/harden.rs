//! `moat harden` end to end: a diff by default (files untouched, exit 1), `--write` (exit 0,
//! files changed, a second run finds nothing), `--unsafe`, `--backup`, errors (exit 2), and
//! the insecure example: after `--write --unsafe`, no finding that carries a fix is left.

use std::path::Path;
use std::process::{Command, Output};

fn moat(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DOCKERFILE: &str = "# the app\nFROM debian:12.5\nMAINTAINER me@example.com\nRUN apt-get update && apt-get install curl\nADD app.py /srv/\nCMD python3 /srv/app.py\n";

#[test]
fn diff_by_default_write_on_request_and_converge() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let o = moat(dir.path(), &["harden"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let d = out(&o);
    assert!(d.starts_with("--- a/Dockerfile\n+++ b/Dockerfile\n"), "{d}");
    for line in [
        "-ADD app.py /srv/",
        "+COPY app.py /srv/",
        "+RUN apt-get update && apt-get install -y --no-install-recommends curl",
    ] {
        assert!(d.lines().any(|l| l == line), "{line} in\n{d}");
    }
    // safe fixes only: the CMD rewrite and the LABEL are unsafe, and said so
    assert!(!d.contains("+CMD ["), "{d}");
    assert!(err(&o).contains("more with --unsafe"), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        DOCKERFILE
    );

    let o = moat(dir.path(), &["harden", "--write", "--unsafe", "--backup"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let fixed = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert!(
        fixed.starts_with("# the app\nFROM debian:12.5\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("CMD [\"python3\", \"/srv/app.py\"]"),
        "{fixed}"
    );
    assert!(fixed.contains("LABEL org.opencontainers.image.authors=\"me@example.com\""));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Dockerfile.orig")).unwrap(),
        DOCKERFILE
    );
    assert!(
        out(&o).contains("Dockerfile: D040 replace ADD with COPY"),
        "{}",
        out(&o)
    );
    let o = moat(dir.path(), &["harden", "--unsafe"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a second run changed something: {}",
        out(&o)
    );
    assert!(out(&o).is_empty());
}

#[test]
fn input_errors_exit_2_and_leave_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("daemon.json"), "{\"icc\": true,").unwrap();
    let o = moat(dir.path(), &["harden", "--write", "--unsafe"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("daemon.json"), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("daemon.json")).unwrap(),
        "{\"icc\": true,"
    );
    let o = moat(dir.path(), &["harden", "--backup"]);
    assert_eq!(o.status.code(), Some(2), "--backup needs --write");
}

#[test]
fn the_insecure_example_keeps_no_fixable_finding() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/insecure-api");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("insecure-api");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let fixable = |dir: &Path| -> Vec<String> {
        let o = moat(dir, &["audit", "insecure-api", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["fix"].is_null())
            .map(|f| f["code"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let before = fixable(dir.path());
    assert!(before.len() >= 5, "{before:?}");
    let o = moat(
        dir.path(),
        &["harden", "--write", "--unsafe", "insecure-api"],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let after = fixable(dir.path());
    assert!(
        after.is_empty(),
        "fixable findings left: {after:?} (before: {before:?})"
    );
    // the Dockerfile and daemon.json still parse: audit reports no input error
    let o = moat(dir.path(), &["audit", "insecure-api", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["errors"], serde_json::json!([]), "{v:#}");
}
