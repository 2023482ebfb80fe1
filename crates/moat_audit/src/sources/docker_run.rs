//! The `docker run` source: one command line given with `--docker-run`.

use moat_diagnostics::SourceFile;

use crate::config::Config;
use crate::context::Emitter;
use crate::sources::{FileOutcome, run_container, with_severities};

/// Pseudo-path under which a `--docker-run` command line is reported.
pub const DOCKER_RUN_PATH: &str = "<docker-run>";

/// Audits one `docker run` / `docker create` command line given on the command line.
pub fn audit_docker_run(cmdline: &str, config: &Config) -> FileOutcome {
    let source = SourceFile::new(DOCKER_RUN_PATH, cmdline);
    let mut outcome = FileOutcome {
        sources: vec![source.clone()],
        ..FileOutcome::default()
    };
    match moat_deploy::parse_docker_run(cmdline, DOCKER_RUN_PATH, 0) {
        Ok(facts) => {
            let mut emitter = Emitter::new(&source);
            run_container(&facts, None, &[], config, &mut emitter);
            outcome.findings = with_severities(emitter.into_findings(), config);
        }
        Err(e) => outcome.errors.push(e),
    }
    outcome
}
