//! Finding what to audit: files given on the command line are audited whatever their name;
//! directories are walked (respecting `.gitignore`, `.ignore` and hidden-file conventions) and
//! files are recognised by name.

use std::path::{Path, PathBuf};

use moat_diagnostics::InputError;

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputKind {
    /// A Dockerfile or Containerfile.
    Dockerfile,
    /// A compose file (loaded with its `.override` file when it has one).
    Compose,
    /// A Docker daemon configuration (`daemon.json`).
    Daemon,
    /// A shell script or Makefile, read for `docker run` command lines.
    Script,
}

/// Files to audit and the paths that could not be walked.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files with their kind, in a stable order.
    pub files: Vec<(PathBuf, InputKind)>,
    /// Compose files given as one project (`--compose a.yaml --compose b.yaml`), merged in
    /// order.
    pub compose_project: Vec<PathBuf>,
    /// Paths that do not exist or could not be read.
    pub errors: Vec<InputError>,
}

const NOT_DOCKERFILES: &[&str] = &[
    ".md",
    ".txt",
    ".rst",
    ".html",
    ".json",
    ".yml",
    ".yaml",
    ".sh",
    ".orig",
    ".rej",
    ".bak",
    ".swp",
    ".dockerignore",
    ".lock",
    ".j2",
    ".tpl",
    ".template",
    ".erb",
    ".in",
];

/// The kind of a file judged by its name alone: compose files, `daemon.json`, scripts and
/// Makefiles (see `moat_deploy`), and Dockerfiles: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
/// `*.dockerfile`, `Dockerfile.*`, `Containerfile.*` (documentation and ignore files excluded).
pub fn kind_by_name(path: &Path) -> Option<InputKind> {
    let name = path.file_name()?.to_str()?;
    if moat_deploy::is_compose_file(name) {
        return Some(InputKind::Compose);
    }
    if moat_deploy::is_daemon_config(name) {
        return Some(InputKind::Daemon);
    }
    if moat_deploy::is_script(name) {
        return Some(InputKind::Script);
    }
    let lower = name.to_ascii_lowercase();
    if NOT_DOCKERFILES.iter().any(|ext| lower.ends_with(ext)) && lower != "dockerfile" {
        return None;
    }
    let is_dockerfile = lower == "dockerfile"
        || lower == "containerfile"
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
        || lower.starts_with("dockerfile.")
        || lower.starts_with("containerfile.");
    is_dockerfile.then_some(InputKind::Dockerfile)
}

/// Collects the inputs under `paths`.
pub fn discover(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                inputs.errors.push(InputError {
                    path: path.display().to_string(),
                    line: None,
                    column: None,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        if meta.is_file() {
            inputs.files.push((
                path.clone(),
                kind_by_name(path).unwrap_or(InputKind::Dockerfile),
            ));
            continue;
        }
        let mut found = Vec::new();
        let walker = ignore::WalkBuilder::new(path)
            .hidden(true)
            .git_ignore(true)
            .require_git(false)
            .build();
        for entry in walker {
            match entry {
                Ok(e) => {
                    if e.file_type().is_some_and(|t| t.is_file())
                        && let Some(kind) = kind_by_name(e.path())
                    {
                        found.push((e.into_path(), kind));
                    }
                }
                Err(e) => inputs.errors.push(InputError {
                    path: path.display().to_string(),
                    line: None,
                    column: None,
                    message: format!("cannot walk: {e}"),
                }),
            }
        }
        found.sort();
        let bases: Vec<PathBuf> = found
            .iter()
            .filter(|(_, k)| *k == InputKind::Compose)
            .map(|(p, _)| p.clone())
            .collect();
        found.retain(|(p, k)| *k != InputKind::Compose || !is_merged_override(p, &bases));
        inputs.files.extend(found);
    }
    inputs
}

/// Whether `path` is a `*.override.y(a)ml` compose file whose base file is also an input: it
/// is then loaded together with the base, the way `docker compose` does.
pub fn is_merged_override(path: &Path, compose_files: &[PathBuf]) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    let defaults = moat_deploy::default_compose_files(dir);
    defaults.len() > 1
        && defaults
            .last()
            .is_some_and(|o| o.file_name() == path.file_name())
        && compose_files.iter().any(|b| {
            b.parent() == Some(dir)
                && defaults
                    .first()
                    .is_some_and(|f| f.file_name() == b.file_name())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_dockerfile_names() {
        for yes in [
            "Dockerfile",
            "Containerfile",
            "api.Dockerfile",
            "Dockerfile.prod",
            "x/dockerfile",
        ] {
            assert_eq!(
                kind_by_name(Path::new(yes)),
                Some(InputKind::Dockerfile),
                "{yes}"
            );
        }
        for no in [
            "Dockerfile.md",
            "README",
            ".dockerignore",
            "Dockerfile.dockerignore",
        ] {
            assert_eq!(kind_by_name(Path::new(no)), None, "{no}");
        }
        assert_eq!(
            kind_by_name(Path::new("compose.yaml")),
            Some(InputKind::Compose)
        );
        assert_eq!(
            kind_by_name(Path::new("etc/docker/daemon.json")),
            Some(InputKind::Daemon)
        );
        assert_eq!(
            kind_by_name(Path::new("deploy.sh")),
            Some(InputKind::Script)
        );
        assert_eq!(kind_by_name(Path::new("Makefile")), Some(InputKind::Script));
    }
}
