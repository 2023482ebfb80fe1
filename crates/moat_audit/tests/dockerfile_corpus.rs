//! Every rule on every Dockerfile of the shared corpus: no panic, and only genuinely invalid
//! files fail to parse.

use std::path::Path;

use moat_audit::config::{Config, Overrides};
use moat_audit::sources::audit_dockerfile;
use moat_diagnostics::SourceFile;

#[test]
fn all_rules_run_on_the_corpus_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dockerfiles");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus not found at {}",
            dir.display()
        );
        println!("skipped: corpus not found at {}", dir.display());
        return;
    };
    let overrides = Overrides {
        select: vec!["ALL".into()],
        ..Overrides::default()
    };
    let config = Config::defaults(&dir, &overrides).unwrap();
    let (mut files, mut findings, mut failures) = (0, 0, Vec::new());
    for entry in entries {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = SourceFile::new(name.clone(), text);
        let outcome = std::panic::catch_unwind(|| audit_dockerfile(&source, &config))
            .unwrap_or_else(|_| panic!("a rule panicked on {name}"));
        files += 1;
        findings += outcome.findings.len();
        if let Some(e) = outcome.errors.first() {
            failures.push(format!("{e}"));
        }
    }
    println!(
        "{files} files, {findings} findings, {} parse failures: {failures:#?}",
        failures.len()
    );
    assert!(files > 2900, "only {files} corpus files read");
    // the known-invalid files: `AINTAINER` (a MAINTAINER typo, an unknown instruction), and one
    // made of comments only (no FROM: no build stage)
    assert!(failures.len() <= 3, "{failures:#?}");
    assert!(findings > files, "suspiciously few findings: {findings}");
}
