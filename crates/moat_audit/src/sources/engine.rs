//! The live engine source: what a Docker engine reports about itself, its containers, their
//! images and its networks (read by the `moat_engine` crate into the same facts as the file
//! sources). Every container, daemon and image rule applies unchanged; findings point at
//! engine objects (`container:NAME`, `image:REF`, `daemon:HOST`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use moat_deploy::{ComposeOrigin, ComposeProject, ContainerFacts, DaemonFacts, Env, ImageFacts};
use moat_diagnostics::{Finding, Related, SourceFile};

use crate::config::Config;
use crate::context::{ContainerContext, DaemonContext, Emitter};
use crate::rule::{Subject, run_rules};
use crate::sources::image::audit_image;
use crate::sources::{FileOutcome, run_container, with_severities};

/// One engine's facts, as read.
#[derive(Debug, Clone, Copy)]
pub struct EngineView<'a> {
    /// The daemon (from `/info`, merged with what daemon.json says where readable).
    pub daemon: Option<&'a DaemonFacts>,
    /// The containers to audit (after filters).
    pub containers: &'a [ContainerFacts],
    /// The engine's images (the ones the containers run are audited).
    pub images: &'a [ImageFacts],
}

impl<'a> EngineView<'a> {
    /// The images that a container of the view runs: the ones the audit judges.
    pub fn images_in_use(&self) -> impl Iterator<Item = &'a ImageFacts> + '_ {
        self.images.iter().filter(|i| {
            self.containers
                .iter()
                .any(|c| c.live.as_ref().is_some_and(|l| l.image_id == i.id))
        })
    }
}

/// Audits one engine. `now` is the time of the audit in seconds since the Unix epoch (image
/// age). Images are judged when a container of the audit runs them: an image nothing runs is
/// no exposure of the perimeter (`moat scan` judges images as such).
pub fn audit_engine(view: &EngineView<'_>, config: &Config, now: Option<i64>) -> FileOutcome {
    let mut emitter = Emitter::detached();
    if let Some(daemon) = view.daemon {
        let ctx = DaemonContext {
            facts: daemon,
            settings: config.settings(),
        };
        run_rules(Subject::Daemon(&ctx), config, &mut emitter);
    }
    let mut findings = emitter.into_findings();
    let info = view.daemon.and_then(|d| d.info.as_ref());
    let mut projects: HashMap<Vec<PathBuf>, Option<ComposeProject>> = HashMap::new();
    let mut sources: Vec<SourceFile> = Vec::new();
    for facts in view.containers {
        let ctx = ContainerContext {
            facts,
            project: None,
            built_images: &[],
            images: view.images,
            settings: config.settings(),
        };
        let mut one = Emitter::detached();
        run_rules(Subject::Container(&ctx), config, &mut one);
        let labels: Vec<(&str, Option<&str>)> = facts
            .labels
            .iter()
            .map(|kv| {
                (
                    kv.key.value.as_str(),
                    kv.value.as_ref().map(|v| v.value.as_str()),
                )
            })
            .collect();
        let image = facts.image.as_ref().map_or("", |i| i.value.as_str());
        let mut mine = one.into_findings();
        if let Some(origin) = facts.live.as_ref().and_then(|l| l.compose.as_ref()) {
            back_to_source(origin, &mut mine, &mut projects, &mut sources, config);
        }
        findings.extend(mine.into_iter().filter(|f| {
            // an AppArmor or SELinux option means nothing where the host has no such module
            let unsupported = match f.code.as_str() {
                "C014" => info.is_some_and(|i| !i.apparmor),
                "C015" => info.is_some_and(|i| !i.selinux),
                _ => false,
            };
            !unsupported && !config.is_container_ignored(&facts.name, image, &labels, &f.code)
        }));
    }
    let mut outcome = FileOutcome {
        findings: with_severities(findings, config),
        sources,
        ..FileOutcome::default()
    };
    for image in view.images_in_use() {
        let one = audit_image(image, config, now);
        outcome.findings.extend(one.findings);
        outcome.errors.extend(one.errors);
        outcome.sources.extend(one.sources);
    }
    outcome
}

/// Points the findings of a container that `docker compose` created back to its compose file:
/// the container rules run on the service as the file describes it, and each finding of the
/// container gets the line where the file sets what it reports, or, when the file does not
/// say so, a note that the running container differs from the file (drift: edited since, or
/// started another way). Files that cannot be read (another host's paths, removed since) are
/// left alone: the findings stand without a source.
fn back_to_source(
    origin: &ComposeOrigin,
    findings: &mut [Finding],
    projects: &mut HashMap<Vec<PathBuf>, Option<ComposeProject>>,
    sources: &mut Vec<SourceFile>,
    config: &Config,
) {
    let Some(service_name) = origin.service.as_deref() else {
        return;
    };
    let paths: Vec<PathBuf> = origin
        .config_files
        .iter()
        .map(|f| match &origin.working_dir {
            Some(dir) if Path::new(f).is_relative() => Path::new(dir).join(f),
            _ => PathBuf::from(f),
        })
        .collect();
    if paths.is_empty() {
        return;
    }
    let project = projects.entry(paths.clone()).or_insert_with(|| {
        let project = moat_deploy::load_compose(&paths, &Env::from_process()).ok()?;
        for p in &project.paths {
            if !sources.iter().any(|s| &s.path == p)
                && let Ok(text) = std::fs::read_to_string(p)
            {
                sources.push(SourceFile::new(p.clone(), text));
            }
        }
        Some(project)
    });
    let Some(project) = project.as_ref() else {
        return;
    };
    let Some(service) = project.services.iter().find(|s| s.name == service_name) else {
        return;
    };
    let mut file = Emitter::detached();
    run_container(
        service,
        Some(project),
        &project.built_images(),
        config,
        &mut file,
    );
    let in_file = file.into_findings();
    for f in findings.iter_mut() {
        match in_file.iter().find(|g| g.code == f.code) {
            Some(g) if g.location == service.location => f.related.push(Related {
                message: format!("missing from service `{service_name}` of the compose file"),
                location: g.location.clone(),
            }),
            Some(g) => f.related.push(Related {
                message: format!("set by service `{service_name}` of the compose file"),
                location: g.location.clone(),
            }),
            None => f.related.push(Related {
                message: format!(
                    "not in the compose file: the running container differs from service `{service_name}` there (drift)"
                ),
                location: service.location.clone(),
            }),
        }
    }
}
