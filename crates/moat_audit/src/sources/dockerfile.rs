//! The Dockerfile source: parses one Dockerfile and runs the Dockerfile rules on it.

use moat_diagnostics::{InputError, SourceFile};

use crate::config::Config;
use crate::context::{DockerfileContext, Emitter};
use crate::pragma::dockerfile_pragmas;
use crate::rule::{Subject, run_rules};
use crate::sources::{FileOutcome, apply_pragmas, with_severities};

/// Audits Dockerfile `source` with `config`.
pub fn audit_dockerfile(source: &SourceFile, config: &Config) -> FileOutcome {
    audit_dockerfile_with(source, config, &[])
}

/// Audits Dockerfile `source` with `config`, knowing the images that the files audited with it
/// build (`built_images`, see [`DockerfileContext::built_images`]).
pub fn audit_dockerfile_with(
    source: &SourceFile,
    config: &Config,
    built_images: &[String],
) -> FileOutcome {
    let dockerfile = match moat_dockerfile::parse(&source.text) {
        Ok(d) => d,
        Err(e) => {
            let (line, column) = source.index.line_col(&source.text, e.span.start);
            return FileOutcome {
                errors: vec![InputError {
                    path: source.path.clone(),
                    line: Some(line),
                    column: Some(column),
                    message: e.message,
                }],
                ..FileOutcome::default()
            };
        }
    };
    let ctx = DockerfileContext::new(source, &dockerfile, config.settings())
        .with_built_images(built_images);
    let mut emitter = Emitter::new(source);
    run_rules(Subject::Dockerfile(&ctx), config, &mut emitter);
    let findings = with_severities(emitter.into_findings(), config);
    let pragmas = dockerfile_pragmas(source, &dockerfile);
    let findings = apply_pragmas(source, pragmas, findings, config);
    FileOutcome {
        findings,
        errors: Vec::new(),
        sources: Vec::new(),
    }
}
