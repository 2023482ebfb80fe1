//! Auditing deploy-time inputs: compose projects, daemon.json and scripts with `docker run`
//! lines. Parsing lives in `moat_deploy`; this runs the container, project and daemon rules on
//! its facts and applies inline ignores written as `#` comments.

use std::path::{Path, PathBuf};

use moat_deploy::{Assume, ComposeProject, ContainerFacts, Env};
use moat_diagnostics::{Finding, SourceFile};
use moat_dockerfile::Span;

use crate::config::Config;
use crate::context::{ContainerContext, DaemonContext, Emitter, ProjectContext};
use crate::engine::{FileOutcome, apply_pragmas, display_path, with_severities};
use crate::pragma::{self, Pragma};
use crate::rule::Check;
use crate::rules;
use crate::rules::meta::input_not_available::{self, InputNotAvailable};

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
    let mut project = match moat_deploy::load_compose(&paths, &Env::from_process()) {
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
    FileOutcome {
        findings: apply_text_pragmas(&sources, findings, config),
        errors: Vec::new(),
        sources,
    }
}

/// Runs the project rules and the container rules of every service.
pub fn run_project(project: &ComposeProject, config: &Config, emitter: &mut Emitter<'_>) {
    let settings = config.settings();
    let ctx = ProjectContext { project, settings };
    for rule in rules::all().filter(|r| config.is_enabled(r.info.code)) {
        if let Check::Project(check) = rule.check {
            check(&ctx, emitter);
        }
    }
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
    let scratch = SourceFile::new(String::new(), String::new());
    let mut runs = [Assume::Worst, Assume::Best].map(|assume| {
        let mut out = Emitter::new(&scratch);
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
        settings: config.settings(),
    };
    for rule in rules::all().filter(|r| config.is_enabled(r.info.code)) {
        if let Check::Container(check) = rule.check {
            check(&ctx, emitter);
        }
    }
}

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
    for rule in rules::all().filter(|r| config.is_enabled(r.info.code)) {
        if let Check::Daemon(check) = rule.check {
            check(&ctx, &mut emitter);
        }
    }
    let findings = with_severities(emitter.into_findings(), config);
    FileOutcome {
        findings,
        errors: Vec::new(),
        sources: vec![source.clone()],
    }
}

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

/// Pragmas written as `#` comments in YAML, shell scripts and Makefiles. A pragma on a line of
/// its own covers the next line that is not blank or a comment; one after code covers its own
/// line. For a YAML key that opens a block, "its line" is the key's line, where findings about
/// that key point.
pub fn text_pragmas(source: &SourceFile) -> Vec<Pragma> {
    let text = &source.text;
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        lines.push((offset, line));
        offset += line.len();
    }
    let mut out = Vec::new();
    for (i, (start, line)) in lines.iter().enumerate() {
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let code_before = !line[..hash].trim().is_empty();
        let comment = Span::new(start + hash, start + line.trim_end().len());
        let target = if code_before {
            Some(Span::new(*start, start + line.trim_end().len()))
        } else {
            lines[i + 1..]
                .iter()
                .position(|(_, l)| {
                    let t = l.trim();
                    !t.is_empty() && !t.starts_with('#')
                })
                .map(|k| block_span(&lines, i + 1 + k))
        };
        let raw = &line[hash + 1..];
        if let Some(p) = pragma::parse_comment(raw.trim_end(), start + hash + 1, comment, target) {
            out.push(p);
        }
    }
    out
}

/// The span of line `j`, extended over the indented block below it when it is a YAML key that
/// opens one (`api:`), so that an ignore above a service covers the whole service.
fn block_span(lines: &[(usize, &str)], j: usize) -> Span {
    let (start, line) = lines[j];
    let mut end = start + line.trim_end().len();
    if line.trim_end().ends_with(':') {
        let indent = line.len() - line.trim_start().len();
        for (s, l) in &lines[j + 1..] {
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if l.len() - l.trim_start().len() <= indent {
                break;
            }
            end = s + l.trim_end().len();
        }
    }
    Span::new(start, end)
}

/// Byte offset of a `#` that starts a comment: at the start of the line or after white space,
/// outside of quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pragma::Scope;

    #[test]
    fn yaml_pragmas_cover_the_next_line_or_their_own() {
        let src = SourceFile::new(
            "compose.yaml",
            "services:\n  # moat: ignore[C001] needs it\n  api:\n    privileged: true # moat: ignore[C002]\n    image: 'a#b'\n",
        );
        let p = text_pragmas(&src);
        assert_eq!(p.len(), 2);
        let Scope::Range(r) = p[0].scope else {
            panic!()
        };
        assert!(src.text[r.range()].starts_with("  api:\n    privileged"));
        assert!(src.text[r.range()].ends_with("image: 'a#b'"));
        let Scope::Range(r) = p[1].scope else {
            panic!()
        };
        assert_eq!(
            &src.text[r.range()],
            "    privileged: true # moat: ignore[C002]"
        );
        assert_eq!(comment_start("    image: 'a#b'"), None);
    }
}
