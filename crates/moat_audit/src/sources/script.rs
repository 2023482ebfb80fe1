//! The script source: the `docker run` / `docker create` lines of shell scripts and Makefiles.

use moat_diagnostics::SourceFile;

use crate::config::Config;
use crate::context::Emitter;
use crate::sources::{FileOutcome, apply_text_pragmas, run_container, with_severities};

/// Audits the `docker run` / `docker create` command lines of a script or Makefile.
pub fn audit_script(source: &SourceFile, config: &Config) -> FileOutcome {
    let mut outcome = FileOutcome {
        sources: vec![source.clone()],
        ..FileOutcome::default()
    };
    let mut emitter = Emitter::new(source);
    let built: Vec<String> = moat_deploy::find_built_images(&source.text, &source.path)
        .into_iter()
        .map(|i| i.value)
        .collect();
    for run in moat_deploy::find_docker_runs(&source.text, &source.path) {
        match run {
            Ok(facts) => run_container(&facts, None, &built, config, &mut emitter),
            Err(e) => outcome.errors.push(e),
        }
    }
    let findings = with_severities(emitter.into_findings(), config);
    outcome.findings = apply_text_pragmas(&outcome.sources, findings, config);
    outcome
}
