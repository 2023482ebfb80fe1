//! Sources: each reads one kind of input (a Dockerfile, a compose project, the `docker run`
//! lines of a script or the command line, a daemon.json) into facts, runs the rules on them
//! with [`crate::rule::run_rules`], and applies severity overrides and inline ignores. What
//! they share is here.

use std::path::Path;

use moat_deploy::{ComposeProject, ContainerFacts};
use moat_diagnostics::{Finding, InputError, SourceFile, Span};

use crate::config::Config;
use crate::context::{ContainerContext, Emitter};
use crate::pragma::{Flavor, Pragma, Scope, text_pragmas};
use crate::rule::{Subject, run_rules};
use crate::rules::meta::unused_ignore::UnusedIgnore;

pub mod compose;
pub mod compose_fix;
pub mod daemon;
pub mod docker_run;
pub mod dockerfile;
pub mod engine;
pub mod image;
pub mod script;

pub use compose::{audit_compose, audit_compose_files, run_project};
pub use daemon::audit_daemon;
pub use docker_run::{DOCKER_RUN_PATH, audit_docker_run};
pub use dockerfile::{audit_dockerfile, audit_dockerfile_with};
pub use engine::audit_engine;
pub use script::audit_script;

/// The outcome of auditing one file.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// Findings after ignores.
    pub findings: Vec<Finding>,
    /// Read or parse errors.
    pub errors: Vec<InputError>,
    /// The sources read (for snippets).
    pub sources: Vec<SourceFile>,
}

/// Runs the container rules on one container; `built_images` are the images its compose
/// project or script builds.
pub fn run_container(
    facts: &ContainerFacts,
    project: Option<&ComposeProject>,
    built_images: &[String],
    config: &Config,
    emitter: &mut Emitter<'_>,
) {
    let ctx = ContainerContext {
        facts,
        project,
        built_images,
        images: &[],
        settings: config.settings(),
    };
    run_rules(Subject::Container(&ctx), config, emitter);
}

/// Applies the configured severity overrides. A finding keeps the severity its rule gave it
/// (which may differ from the rule's default, e.g. a read-only mount judged lower) unless the
/// configuration sets one for that rule.
pub fn with_severities(mut findings: Vec<Finding>, config: &Config) -> Vec<Finding> {
    for f in &mut findings {
        if let Some(severity) = config.severity_override(&f.code) {
            f.severity = severity;
        }
    }
    findings
}

/// Drops the findings that pragmas suppress and reports unused `moat:` pragmas.
pub fn apply_pragmas(
    source: &SourceFile,
    mut pragmas: Vec<Pragma>,
    findings: Vec<Finding>,
    config: &Config,
) -> Vec<Finding> {
    let mut kept: Vec<Finding> = findings
        .into_iter()
        .filter(|f| {
            let at = f.location.span.as_ref().map(|s| s.start);
            // every pragma that covers the finding is marked used, not only the first
            let mut suppressed = false;
            for p in &mut pragmas {
                suppressed |= p.suppress(&f.code, at);
            }
            !suppressed
        })
        .collect();
    let unused = &UnusedIgnore::INFO;
    if !config.is_enabled(unused.code) {
        return kept;
    }
    let mut emitter = Emitter::new(source);
    for p in pragmas.iter().filter(|p| p.flavor == Flavor::Moat) {
        for e in p.entries.iter().filter(|e| !e.used) {
            let what = if e.codes.is_empty() {
                "names no rule"
            } else {
                "suppressed no finding"
            };
            let scope = if p.scope == Scope::File {
                "file-wide ignore"
            } else {
                "ignore"
            };
            let span = if e.span.end > e.span.start {
                e.span
            } else {
                Span::new(p.span.start, p.span.end)
            };
            let f = emitter.emit(unused, span, format!("{scope} entry `{}` {what}", e.token));
            if let Some(severity) = config.severity_override(unused.code) {
                f.severity = severity;
            }
        }
    }
    kept.extend(emitter.into_findings());
    kept
}

/// Applies `#`-comment pragmas of each source to the findings located in it.
fn apply_text_pragmas(
    sources: &[SourceFile],
    findings: Vec<Finding>,
    config: &Config,
) -> Vec<Finding> {
    let mut rest = findings;
    let mut out = Vec::new();
    for src in sources {
        let (mine, others): (Vec<Finding>, Vec<Finding>) =
            rest.into_iter().partition(|f| f.location.path == src.path);
        rest = others;
        out.extend(apply_pragmas(src, text_pragmas(src), mine, config));
    }
    out.extend(rest);
    out
}

/// How a path is shown: as given, with `./` removed.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}
