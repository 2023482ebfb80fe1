//! The audit's orchestrator: finds inputs, resolves the configuration for each, hands every
//! input to its source (`crate::sources`), and gathers the outcomes into one [`Report`]
//! (consolidated, secrets masked, sorted). "Engine" in this crate only ever means Docker's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use moat_diagnostics::{InputError, Report, SourceFile};

use crate::config::{self, Config, Overrides};
use crate::discover::{InputKind, Inputs};
use crate::sources::engine::EngineView;
use crate::sources::{self, FileOutcome, display_path};

/// How to run an audit.
#[derive(Debug, Default, Clone)]
pub struct AuditOptions {
    /// Command-line overrides.
    pub overrides: Overrides,
    /// `--config FILE`: use this file instead of discovering `.moat.toml`.
    pub config_file: Option<PathBuf>,
}

/// Configurations by config-file path (`None`: the defaults), with the error when invalid.
type ConfigCache = HashMap<Option<PathBuf>, Result<Arc<Config>, InputError>>;

/// Audits inputs with configurations resolved per file (and cached per config file).
#[derive(Debug)]
pub struct Auditor {
    options: AuditOptions,
    configs: Mutex<ConfigCache>,
    discovered: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
}

impl Auditor {
    /// An auditor with these options.
    pub fn new(options: AuditOptions) -> Self {
        Self {
            options,
            configs: Mutex::new(HashMap::new()),
            discovered: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration that applies to `path`.
    pub fn config_for(&self, path: &Path) -> Result<Arc<Config>, InputError> {
        let file = match &self.options.config_file {
            Some(f) => Some(f.clone()),
            None => self.discover_cached(path),
        };
        let mut cache = self
            .configs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(file.clone())
            .or_insert_with(|| {
                if let Some(f) = &file {
                    Config::load(f, &self.options.overrides).map(Arc::new)
                } else {
                    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                    Config::defaults(&root, &self.options.overrides).map(Arc::new)
                }
            })
            .clone()
    }

    /// [`config::discover`] for `path`, remembered per directory: a tree has far fewer
    /// directories than files.
    fn discover_cached(&self, path: &Path) -> Option<PathBuf> {
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        let mut cache = self
            .discovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| config::discover(path))
            .clone()
    }

    /// Audits every input, in parallel, and returns the report sorted by path and position.
    pub fn audit(&self, inputs: Inputs) -> Report {
        self.audit_with(inputs, &[])
    }

    /// Like [`Auditor::audit`], with `docker run` command lines given on the command line too
    /// (judged with the configuration of the current directory).
    pub fn audit_with(&self, inputs: Inputs, docker_runs: &[String]) -> Report {
        self.audit_everything(inputs, docker_runs, &[])
    }

    /// Like [`Auditor::audit_with`], with the facts of live engines too (judged with the
    /// configuration of the current directory): one report for files and engines.
    pub fn audit_everything(
        &self,
        inputs: Inputs,
        docker_runs: &[String],
        engines: &[EngineView<'_>],
    ) -> Report {
        let mut report = Report {
            errors: inputs.errors,
            ..Report::default()
        };
        if !engines.is_empty() {
            match self.config_for(Path::new(".")) {
                Ok(config) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()
                        .and_then(|d| i64::try_from(d.as_secs()).ok());
                    for view in engines {
                        let outcome = sources::audit_engine(view, &config, now);
                        report.findings.extend(outcome.findings);
                        report.errors.extend(outcome.errors);
                        for src in outcome.sources {
                            report.sources.insert(src.path.clone(), src);
                        }
                    }
                }
                Err(e) => report.errors.push(e),
            }
        }
        if let Some(first) = inputs.compose_project.first() {
            let outcome = self.audit_compose_project(first, &inputs.compose_project);
            report.findings.extend(outcome.findings);
            report.errors.extend(outcome.errors);
            for src in outcome.sources {
                report.sources.insert(src.path.clone(), src);
            }
        }
        if !docker_runs.is_empty() {
            match self.config_for(Path::new(".")) {
                Ok(config) => {
                    for cmdline in docker_runs {
                        let outcome = sources::audit_docker_run(cmdline, &config);
                        report.findings.extend(outcome.findings);
                        report.errors.extend(outcome.errors);
                        for src in outcome.sources {
                            report.sources.insert(src.path.clone(), src);
                        }
                    }
                }
                Err(e) => report.errors.push(e),
            }
        }
        let built = built_images(&inputs.files, &inputs.compose_project);
        let files = inputs.files;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<FileOutcome>> = Mutex::new(Vec::with_capacity(files.len()));
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(files.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    let mut local = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, kind)) = files.get(i) else {
                            break;
                        };
                        local.push(self.audit_file_in(path, *kind, &built));
                    }
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(local);
                });
            }
        });
        let mut config_errors: Vec<InputError> = Vec::new();
        for outcome in results
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            report.findings.extend(outcome.findings);
            for e in outcome.errors {
                if !config_errors.contains(&e) && !report.errors.contains(&e) {
                    config_errors.push(e);
                }
            }
            for src in outcome.sources {
                report.sources.insert(src.path.clone(), src);
            }
        }
        report.errors.extend(config_errors);
        crate::consolidate::consolidate(&mut report.findings);
        mask_secrets(&mut report);
        report.findings.sort_by(|a, b| {
            (
                &a.location.path,
                a.location.line,
                a.location.column,
                &a.code,
            )
                .cmp(&(
                    &b.location.path,
                    b.location.line,
                    b.location.column,
                    &b.code,
                ))
        });
        report
            .errors
            .sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
        report
    }

    /// Audits compose files given explicitly as one project.
    fn audit_compose_project(&self, first: &Path, paths: &[PathBuf]) -> FileOutcome {
        let config = match self.config_for(first) {
            Ok(c) => c,
            Err(e) => {
                return FileOutcome {
                    errors: vec![e],
                    ..FileOutcome::default()
                };
            }
        };
        match std::fs::read_to_string(first) {
            Ok(text) => {
                let source = SourceFile::new(display_path(first), text);
                sources::audit_compose_files(paths, &source, &config)
            }
            Err(e) => FileOutcome {
                errors: vec![InputError {
                    path: display_path(first),
                    line: None,
                    column: None,
                    message: format!("cannot read: {e}"),
                }],
                ..FileOutcome::default()
            },
        }
    }

    /// Audits one file of a known kind.
    pub fn audit_file(&self, path: &Path, kind: InputKind) -> FileOutcome {
        self.audit_file_in(path, kind, &[])
    }

    /// Audits one file of a known kind, among files that build `built_images`.
    fn audit_file_in(&self, path: &Path, kind: InputKind, built_images: &[String]) -> FileOutcome {
        let shown = display_path(path);
        let config = match self.config_for(path) {
            Ok(c) => c,
            Err(e) => {
                return FileOutcome {
                    errors: vec![e],
                    ..FileOutcome::default()
                };
            }
        };
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let (line, column) =
                        utf8_error_position(e.as_bytes(), e.utf8_error().valid_up_to());
                    return FileOutcome {
                        errors: vec![InputError {
                            path: shown,
                            line: Some(line),
                            column: Some(column),
                            message: "file is not valid UTF-8".into(),
                        }],
                        ..FileOutcome::default()
                    };
                }
            },
            Err(e) => {
                return FileOutcome {
                    errors: vec![InputError {
                        path: shown,
                        line: None,
                        column: None,
                        message: format!("cannot read: {e}"),
                    }],
                    ..FileOutcome::default()
                };
            }
        };
        let source = SourceFile::new(shown, text);
        let mut outcome = match kind {
            InputKind::Dockerfile => sources::audit_dockerfile_with(&source, &config, built_images),
            InputKind::Compose => sources::audit_compose(path, &source, &config),
            InputKind::Daemon => sources::audit_daemon(&source, &config),
            InputKind::Script => sources::audit_script(&source, &config),
        };
        if config.has_path_ignores() {
            let mut absolute: HashMap<String, PathBuf> = HashMap::new();
            outcome.findings.retain(|f| {
                let p = Path::new(&f.location.path);
                let abs = absolute.entry(f.location.path.clone()).or_insert_with(|| {
                    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
                });
                !config.is_path_ignored(abs, &f.code) && !config.is_path_ignored(p, &f.code)
            });
        }
        if !outcome.sources.iter().any(|s| s.path == source.path) {
            outcome.sources.push(source);
        }
        outcome
    }
}

/// The images that the audited scripts, Makefiles and compose projects build or tag (see
/// [`moat_deploy::find_built_images`] and [`moat_deploy::ComposeProject::built_images`]), for
/// the Dockerfile rules: a Dockerfile built `FROM` one of them uses what the project built, not
/// an image pulled from a registry. Read only when there is a Dockerfile to audit; files that do
/// not parse add nothing (their own audit reports them).
fn built_images(files: &[(PathBuf, InputKind)], compose_project: &[PathBuf]) -> Vec<String> {
    if !files.iter().any(|(_, k)| *k == InputKind::Dockerfile) {
        return Vec::new();
    }
    let env = moat_deploy::Env::from_process();
    let mut out = Vec::new();
    for (path, kind) in files {
        match kind {
            InputKind::Script => {
                if let Ok(text) = std::fs::read_to_string(path) {
                    out.extend(
                        moat_deploy::find_built_images(&text, &display_path(path))
                            .into_iter()
                            .filter(|i| !i.interpolated)
                            .map(|i| i.value),
                    );
                }
            }
            InputKind::Compose => {
                if let Ok(project) = moat_deploy::load_compose(std::slice::from_ref(path), &env) {
                    out.extend(project.built_images());
                }
            }
            InputKind::Dockerfile | InputKind::Daemon => {}
        }
    }
    if !compose_project.is_empty()
        && let Ok(project) = moat_deploy::load_compose(compose_project, &env)
    {
        out.extend(project.built_images());
    }
    out.sort();
    out.dedup();
    out
}

/// Masks the secret values that findings point at (`Finding::secret`, set by every rule that
/// reports a secret or a placeholder) in the report's source texts, so that no reporter (text
/// snippets, SARIF snippets) repeats them into CI logs or code-scanning uploads. The first
/// three characters stay visible to help find the value; byte lengths are kept, so every span
/// stays valid.
pub fn mask_secrets(report: &mut Report) {
    let mut masks: HashMap<String, Vec<std::ops::Range<usize>>> = HashMap::new();
    for f in &report.findings {
        let Some(secret) = f.secret else {
            continue;
        };
        masks
            .entry(f.location.path.clone())
            .or_default()
            .push(secret.range());
    }
    for (path, ranges) in masks {
        let Some(src) = report.sources.get(&path) else {
            continue;
        };
        let mut text = src.text.clone().into_bytes();
        for r in ranges {
            let mut shown = 0;
            let Some(value) = src.text.get(r.clone()) else {
                continue;
            };
            for (i, c) in value.char_indices() {
                if c.is_whitespace() || matches!(c, '"' | '\'' | '\n') {
                    continue;
                }
                shown += 1;
                if shown > 3 {
                    for b in &mut text[r.start + i..r.start + i + c.len_utf8()] {
                        *b = b'*';
                    }
                }
            }
        }
        let masked = String::from_utf8(text).unwrap_or_else(|_| src.text.clone());
        report
            .sources
            .insert(path.clone(), SourceFile::new(path, masked));
    }
}

fn utf8_error_position(bytes: &[u8], valid_up_to: usize) -> (usize, usize) {
    let prefix = &bytes[..valid_up_to.min(bytes.len())];
    let line = prefix.split(|b| *b == b'\n').count();
    let line_start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}
