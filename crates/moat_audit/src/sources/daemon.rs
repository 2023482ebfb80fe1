//! The daemon.json source.

use moat_diagnostics::SourceFile;

use crate::config::Config;
use crate::context::{DaemonContext, Emitter};
use crate::rule::{Subject, run_rules};
use crate::sources::{FileOutcome, with_severities};

/// Audits a daemon.json.
pub fn audit_daemon(source: &SourceFile, config: &Config) -> FileOutcome {
    let facts = match moat_deploy::parse_daemon_config(&source.text, &source.path) {
        Ok(f) => f,
        Err(e) => {
            return FileOutcome {
                errors: vec![e],
                ..FileOutcome::default()
            };
        }
    };
    let ctx = DaemonContext {
        facts: &facts,
        settings: config.settings(),
    };
    let mut emitter = Emitter::new(source);
    run_rules(Subject::Daemon(&ctx), config, &mut emitter);
    let findings = with_severities(emitter.into_findings(), config);
    FileOutcome {
        findings,
        errors: Vec::new(),
        sources: vec![source.clone()],
    }
}
