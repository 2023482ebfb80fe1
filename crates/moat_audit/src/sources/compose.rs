//! The compose source: a compose project (files merged like `docker compose -f a -f b`, an
//! overlay merged onto its base) read into facts by `moat_deploy`; the project rules run on
//! the whole project and the container rules on each service.

use std::path::{Path, PathBuf};

use moat_deploy::{Assume, ComposeProject, ContainerFacts, Env};
use moat_diagnostics::{Finding, SourceFile};

use crate::config::Config;
use crate::context::{Emitter, ProjectContext};
use crate::rule::{Subject, run_rules};
use crate::rules;
use crate::rules::meta::input_not_available::{self, InputNotAvailable};
use crate::sources::{
    FileOutcome, apply_text_pragmas, display_path, run_container, with_severities,
};

/// Audits the compose project of `path`: with its `.override` file when `path` is the
/// project's main compose file; merged onto the main file beside it when `path` is an overlay
/// (a file that only adds to services defined there, see [`moat_deploy::overlay_base`]), and
/// then only the findings in `path` are its own (the main file is audited as itself).
pub fn audit_compose(path: &Path, source: &SourceFile, config: &Config) -> FileOutcome {
    let dir = path.parent().unwrap_or(Path::new("."));
    let defaults = moat_deploy::default_compose_files(dir);
    if defaults
        .first()
        .is_some_and(|f| f.file_name() == path.file_name())
    {
        return audit_compose_files(&defaults, source, config);
    }
    let Some(base) = moat_deploy::overlay_base(path, &source.text) else {
        // an override file whose base is elsewhere (`…/docker-compose.override.yml` kept in a
        // folder of its own) adds to services defined there: only what it sets is judged
        let alone = is_override_name(path);
        return audit_project(&[path.to_path_buf()], source, config, alone);
    };
    let Ok(text) = std::fs::read_to_string(&base) else {
        return audit_compose_files(&[path.to_path_buf()], source, config);
    };
    let base_source = SourceFile::new(display_path(&base), text);
    let mut outcome = audit_compose_files(&[base, path.to_path_buf()], &base_source, config);
    outcome.findings.retain(|f| f.location.path == source.path);
    outcome
}

/// Whether the file's name says it overrides another (`docker-compose.override.yml`,
/// `compose.override.yaml`, `prod.override.yml`).
fn is_override_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().contains(".override."))
}

/// Audits the compose project made of `paths` merged in order (like `docker compose -f a -f b`);
/// `source` is the text of the first file.
pub fn audit_compose_files(paths: &[PathBuf], source: &SourceFile, config: &Config) -> FileOutcome {
    audit_project(paths, source, config, false)
}

/// [`audit_compose_files`]; `overlay_alone`: the files only add to services defined elsewhere,
/// so every service is partial.
fn audit_project(
    paths: &[PathBuf],
    source: &SourceFile,
    config: &Config,
    overlay_alone: bool,
) -> FileOutcome {
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| PathBuf::from(display_path(p)))
        .collect();
    // the first file's text is `source` (as read, or as `moat harden` is about to write it)
    let mut project = match moat_deploy::load_compose_with(&paths, &Env::from_process(), source) {
        Ok(p) => p,
        Err(e) => {
            return FileOutcome {
                errors: vec![e],
                ..FileOutcome::default()
            };
        }
    };
    if overlay_alone {
        for s in &mut project.services {
            s.partial = true;
        }
    }
    let mut emitter = Emitter::new(source);
    run_project(&project, config, &mut emitter);
    // what is missing is reported, and the rest audited
    if config.is_enabled(InputNotAvailable::INFO.code) {
        for input in &project.unavailable {
            input_not_available::report(input, &mut emitter);
        }
    }
    let mut sources = vec![source.clone()];
    for p in project.paths.iter().filter(|p| **p != source.path) {
        if let Ok(text) = std::fs::read_to_string(p) {
            sources.push(SourceFile::new(p.clone(), text));
        }
    }
    let findings = with_severities(emitter.into_findings(), config);
    // findings may point into env files and extended files: show their lines too
    for f in &findings {
        let path = &f.location.path;
        if !sources.iter().any(|s| &s.path == path)
            && let Ok(text) = std::fs::read_to_string(path)
        {
            sources.push(SourceFile::new(path.clone(), text));
        }
    }
    let mut findings = apply_text_pragmas(&sources, findings, config);
    crate::sources::compose_fix::attach(source, &mut findings);
    FileOutcome {
        findings,
        errors: Vec::new(),
        sources,
    }
}

/// Runs the project rules and the container rules of every service.
pub fn run_project(project: &ComposeProject, config: &Config, emitter: &mut Emitter<'_>) {
    let settings = config.settings();
    let ctx = ProjectContext { project, settings };
    run_rules(Subject::Project(&ctx), config, emitter);
    let built = project.built_images();
    for facts in &project.services {
        if facts.unknown.is_empty() && !facts.partial {
            run_container(facts, Some(project), &built, config, emitter);
        } else {
            run_incomplete_service(facts, project, &built, config, emitter);
        }
    }
}

/// Runs the container rules on a compose service that is not wholly known, keeping only the
/// findings that do not depend on what is missing:
///
/// - settings whose values are unknown (they need an input that is not available) are judged
///   twice, once at their least safe value and once at a safe one; a finding made only one of
///   the two times is about the unknown value, or about its absence, and is dropped;
/// - a partial service (an overlay's fragment read without its base) says nothing about the
///   keys it does not set: findings about missing keys, which point at the service itself,
///   are dropped.
fn run_incomplete_service(
    facts: &ContainerFacts,
    project: &ComposeProject,
    built_images: &[String],
    config: &Config,
    emitter: &mut Emitter<'_>,
) {
    // container rules report at the facts' own locations, never through the emitter's file
    let mut runs = [Assume::Worst, Assume::Best].map(|assume| {
        let mut out = Emitter::detached();
        let variant = facts.assuming(assume);
        run_container(&variant, Some(project), built_images, config, &mut out);
        out.into_findings()
    });
    let [worst, best] = &mut runs;
    let key = |f: &Finding| {
        (
            f.code.clone(),
            f.location.path.clone(),
            f.location.line,
            f.location.column,
        )
    };
    for f in worst.drain(..) {
        if !best.iter().any(|b| key(b) == key(&f)) {
            continue;
        }
        if facts.partial && f.location == facts.location {
            continue;
        }
        let Some(rule) = rules::by_code(&f.code) else {
            continue;
        };
        let location = f.location.clone();
        *emitter.emit_at(rule.info, location, String::new()) = f;
    }
}
