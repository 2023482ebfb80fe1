//! Finding what to audit: files given on the command line are audited whatever their name;
//! directories are walked and files are recognised by name ([`kind_by_name`]).
//!
//! The walk goes into hidden directories (`.github/`, `.devcontainer/`, `.docker/`…) but never
//! into version-control directories ([`VCS_DIRS`]). It skips what `.gitignore` (with
//! `.git/info/exclude` and the global excludes file) and `.ignore` files exclude, with one
//! exception: in a git work tree, a file git tracks is audited even when a `.gitignore` pattern
//! matches it, because it is committed and shipped all the same; only `.ignore` files, which
//! say what tools should skip, still exclude it. Which files are tracked is asked of
//! `git ls-files`; without git, or outside a work tree, the ignore files alone decide.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use moat_diagnostics::InputError;
use moat_diagnostics::report::FileCounts;

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

impl Inputs {
    /// How many files of each kind auditing these inputs reads: every file of
    /// [`Inputs::files`], the `.override` file loaded with a main compose file, and the files
    /// of [`Inputs::compose_project`] (a compose file read twice counts once).
    pub fn file_counts(&self) -> FileCounts {
        let mut counts = FileCounts::default();
        let mut compose: BTreeSet<PathBuf> = self.compose_project.iter().cloned().collect();
        for (path, kind) in &self.files {
            match kind {
                InputKind::Dockerfile => counts.dockerfile += 1,
                InputKind::Daemon => counts.daemon += 1,
                InputKind::Script => counts.script += 1,
                InputKind::Compose => compose.extend(compose_files_read(path)),
            }
        }
        counts.compose = compose.len();
        counts
    }
}

/// The files read when the compose file `path` is audited: its directory's main compose file
/// comes with its `.override` file, like `docker compose` loads them; any other compose file
/// comes alone.
fn compose_files_read(path: &Path) -> Vec<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let defaults = moat_deploy::default_compose_files(dir);
    if defaults
        .first()
        .is_some_and(|f| f.file_name() == path.file_name())
    {
        defaults
    } else {
        vec![path.to_path_buf()]
    }
}

/// Directories of version-control systems: never walked (a file given on the command line is
/// still audited).
pub const VCS_DIRS: &[&str] = &[
    ".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", ".pijul", ".sl",
];

/// Last extensions that make a `Dockerfile.*` / `Dockerfile-*` name something else, by family:
/// documentation and data, code, patches and backups, and ignore files
/// (`Dockerfile.dockerignore` is BuildKit's per-Dockerfile ignore file).
const NOT_DOCKERFILE_EXTENSIONS: [&[&str]; 4] = [
    &[
        "md", "markdown", "txt", "rst", "adoc", "html", "htm", "pdf", "json", "jsonc", "dict",
        "yml", "yaml", "toml", "xml", "csv", "ini", "cfg", "conf", "lock", "log", "png", "jpg",
        "jpeg", "gif", "svg",
    ],
    &[
        "sh", "bash", "zsh", "fish", "ps1", "bat", "cmd", "py", "go", "rs", "js", "mjs", "cjs",
        "ts", "jsx", "tsx", "java", "kt", "scala", "groovy", "rb", "php", "pl", "c", "h", "cc",
        "cpp", "hpp", "cs", "swift", "lua", "vim", "el", "sql", "nix", "tf", "hcl", "mk", "gradle",
    ],
    &[
        "diff", "patch", "orig", "rej", "bak", "swp", "swo", "tmp", "snap",
    ],
    &["dockerignore", "gitignore"],
];

/// Name parts of templates, rendered into the real file before use: what gets built or run is
/// what they render to, and they may not parse before that. A file name with one of them after
/// its first `.` (`Dockerfile.j2`, `Dockerfile.in`, `docker-compose.tmpl.yml`,
/// `compose.template.yaml`, `deploy.sh.erb`) is skipped when walking a directory; given on the
/// command line, it is audited as what its name says without the template's extension.
pub const TEMPLATE_EXTENSIONS: &[&str] = &[
    "j2", "jinja", "jinja2", "tpl", "tmpl", "template", "gotmpl", "erb", "in", "mustache", "hbs",
];

/// The kind of a file judged by its name alone: compose files, `daemon.json`, scripts and
/// Makefiles (see `moat_deploy`), and Dockerfiles ([`is_dockerfile_name`]).
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
    is_dockerfile_name(name).then_some(InputKind::Dockerfile)
}

/// Whether `name` has a template's extension after its first `.`.
fn is_template(name: &str) -> bool {
    name.to_ascii_lowercase()
        .split('.')
        .skip(1)
        .any(|part| TEMPLATE_EXTENSIONS.contains(&part))
}

/// Whether `name` is a Dockerfile's, in any case: `Dockerfile` and `Containerfile`; a variant
/// that starts with one of them and a `.`, `-` or `_` (`Dockerfile.prod`, `Dockerfile-dev`,
/// `Dockerfile_alpine`); a variant that ends with one of them after a `.`, `-` or `_`
/// (`api.Dockerfile`, `dev-Dockerfile`, `build_Dockerfile`). A variant whose last extension is
/// another kind of file's ([`NOT_DOCKERFILE_EXTENSIONS`]: `Dockerfile.md`, `Dockerfile-lint.json`,
/// `dockerfile_test.go`, `Dockerfile.dockerignore`) is not one, nor is an editor backup
/// (`Dockerfile~`).
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with('~') {
        return false;
    }
    let separator = |c: Option<char>| matches!(c, Some('.' | '-' | '_'));
    ["dockerfile", "containerfile"].into_iter().any(|main| {
        if lower == main {
            return true;
        }
        if let Some(rest) = lower.strip_prefix(main)
            && separator(rest.chars().next())
            && rest.len() > 1
        {
            let last_ext = rest.rsplit_once('.').map(|(_, ext)| ext);
            return !last_ext.is_some_and(|ext| {
                NOT_DOCKERFILE_EXTENSIONS
                    .iter()
                    .any(|family| family.contains(&ext))
            });
        }
        lower
            .strip_suffix(main)
            .is_some_and(|head| head.len() > 1 && separator(head.chars().last()))
    })
}

/// The kind of a file given on the command line: [`kind_by_name`], of the name without a
/// template's extension (`docker-compose.yml.j2` is a compose file), and a Dockerfile when the
/// name says nothing.
fn kind_of_given_file(path: &Path) -> InputKind {
    let rendered = path
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| TEMPLATE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .map(|_| path.with_extension(""));
    kind_by_name(rendered.as_deref().unwrap_or(path)).unwrap_or(InputKind::Dockerfile)
}

/// The kind of a file met while walking a directory: [`kind_by_name`], except that
/// - a template ([`TEMPLATE_EXTENSIONS`]) is skipped;
/// - a YAML file of a CI workflow directory (`.github/workflows`, `.gitea/workflows`,
///   `.forgejo/workflows`) is a workflow, never a compose file, whatever its name.
///
/// Files are judged by name only: a helper script named like a Dockerfile variant without an
/// extension (`build-dockerfile`) is read as a Dockerfile and its first line that is not an
/// instruction is an error; a `.ignore` entry skips it. Looking inside instead would skip real
/// Dockerfiles too: some start with `#!` to be run as `docker build`.
fn kind_in_tree(path: &Path) -> Option<InputKind> {
    if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_template)
    {
        return None;
    }
    let kind = kind_by_name(path)?;
    match kind {
        InputKind::Compose if in_workflow_dir(path) => None,
        _ => Some(kind),
    }
}

fn in_workflow_dir(path: &Path) -> bool {
    let mut dirs = path.parent().into_iter().flat_map(Path::iter).rev();
    dirs.next().is_some_and(|d| d == "workflows")
        && dirs
            .next()
            .and_then(|d| d.to_str())
            .is_some_and(|d| matches!(d, ".github" | ".gitea" | ".forgejo"))
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
            inputs.files.push((path.clone(), kind_of_given_file(path)));
            continue;
        }
        let mut found = walk(path, &mut inputs.errors);
        found.sort();
        found.dedup();
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

/// The files of known kinds under the directory `root`: those the ignore files leave, then the
/// tracked ones a `.gitignore` hid.
fn walk(root: &Path, errors: &mut Vec<InputError>) -> Vec<(PathBuf, InputKind)> {
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .filter_entry(|e| {
            e.depth() == 0
                || !e.file_type().is_some_and(|t| t.is_dir())
                || !is_vcs_dir(e.file_name())
        })
        .build();
    for entry in walker {
        match entry {
            Ok(e) => {
                if e.file_type().is_some_and(|t| t.is_file())
                    && let Some(kind) = kind_in_tree(e.path())
                {
                    found.push((e.into_path(), kind));
                }
            }
            Err(e) => errors.push(InputError {
                path: root.display().to_string(),
                line: None,
                column: None,
                message: format!("cannot walk: {e}"),
            }),
        }
    }
    let Some(tracked) = tracked_files(root) else {
        return found;
    };
    let seen: BTreeSet<PathBuf> = found.iter().map(|(p, _)| p.clone()).collect();
    let mut dot_ignores = DotIgnores::default();
    for path in tracked {
        if seen.contains(&path) || in_vcs_dir(&path, root) {
            continue;
        }
        let Some(kind) = kind_in_tree(&path) else {
            continue;
        };
        // like the walk: regular files only (a tracked symbolic link is not followed), and
        // not a tracked file deleted from the work tree
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if regular && !dot_ignores.ignores(&path) {
            found.push((path, kind));
        }
    }
    found
}

fn is_vcs_dir(name: &std::ffi::OsStr) -> bool {
    VCS_DIRS.iter().any(|d| name == *d)
}

/// Whether `path`, under `root`, is inside a version-control directory.
fn in_vcs_dir(path: &Path, root: &Path) -> bool {
    let inner = path.strip_prefix(root).unwrap_or(path);
    inner.parent().is_some_and(|dir| dir.iter().any(is_vcs_dir))
}

/// The files git tracks under the directory `root` (submodules included), as paths under
/// `root`; `None` when `root` is not in a git work tree or git cannot tell (not installed, a
/// repository git refuses to read).
///
/// Only `git ls-files` runs, reading the index: with `core.fsmonitor` (a command that a
/// repository's own config may name) turned off, and without optional locks, so that an audit
/// does not write to the repository it reads. git's own checks still apply: a repository owned
/// by another user is refused (`safe.directory`), and then the ignore files alone decide.
fn tracked_files(root: &Path) -> Option<Vec<PathBuf>> {
    let absolute = std::path::absolute(root).ok()?;
    if !absolute.ancestors().any(|dir| dir.join(".git").exists()) {
        return None;
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "core.fsmonitor=false",
            "ls-files",
            "-z",
            "--recurse-submodules",
        ])
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .filter_map(path_from_bytes)
            .map(|name| root.join(name))
            .collect(),
    )
}

/// A path as git prints it: bytes on Unix, UTF-8 elsewhere (`None` when it is not).
#[cfg(unix)]
#[allow(
    clippy::unnecessary_wraps,
    reason = "the same signature as on other systems"
)]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(bytes).ok().map(PathBuf::from)
}

/// The `.ignore` files (the convention of ripgrep and the `ignore` crate) of the directories
/// above a file, read once per directory. They say what tools should skip, so unlike
/// `.gitignore` they exclude tracked files too.
#[derive(Debug, Default)]
struct DotIgnores {
    by_dir: HashMap<PathBuf, Option<Gitignore>>,
}

impl DotIgnores {
    /// Whether the nearest `.ignore` file with a pattern for `file` (or one of its
    /// directories) excludes it.
    fn ignores(&mut self, file: &Path) -> bool {
        let Ok(file) = std::path::absolute(file) else {
            return false;
        };
        for dir in file.ancestors().skip(1) {
            let matcher = self
                .by_dir
                .entry(dir.to_path_buf())
                .or_insert_with(|| read_dot_ignore(dir));
            match matcher
                .as_ref()
                .map_or(Match::None, |m| m.matched_path_or_any_parents(&file, false))
            {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

fn read_dot_ignore(dir: &Path) -> Option<Gitignore> {
    let file = dir.join(".ignore");
    if !file.is_file() {
        return None;
    }
    let mut builder = GitignoreBuilder::new(dir);
    // a bad line is skipped, as the walk does
    let _ = builder.add(file);
    builder.build().ok()
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
            "Dockerfile-dev",
            "Dockerfile_prod",
            "Dockerfile-alpine",
            "Dockerfile.ubuntu-22.04",
            "dev-Dockerfile",
            "dev.Dockerfile",
            "build_dockerfile",
            "Containerfile.fedora",
            "DockerFile",
            "z__owner__repo__Dockerfile",
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
            "Dockerfile.dev.dockerignore",
            "dockerfile-lint.json",
            "Dockerfile-lint.yaml",
            "dockerfile.go",
            "dockerfile_test.go",
            "dockerfile-utils.js",
            "Dockerfile~",
            "Dockerfile.orig",
            "Dockerfiles",
            "mydockerfile",
            "Dockerfile-",
            "-Dockerfile",
            "dockerfile.snap",
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

    #[test]
    fn templates_are_recognised_by_any_extension_after_the_first_dot() {
        for yes in [
            "Dockerfile.j2",
            "Dockerfile.prod.tmpl",
            "Dockerfile.in",
            "Dockerfile.template",
            "docker-compose.tmpl.yml",
            "compose.template.yaml",
            "docker-compose.yml.j2",
            "deploy.sh.erb",
            "Dockerfile.JINJA2",
        ] {
            assert!(is_template(yes), "{yes}");
        }
        for no in [
            "Dockerfile",
            "Dockerfile.prod",
            "index.Dockerfile",
            "in.Dockerfile",
        ] {
            assert!(!is_template(no), "{no}");
        }
    }

    #[test]
    fn a_file_given_by_name_is_judged_without_its_template_extension() {
        let kind = |p: &str| kind_of_given_file(Path::new(p));
        assert_eq!(kind("docker-compose.yml.j2"), InputKind::Compose);
        assert_eq!(kind("Dockerfile.j2"), InputKind::Dockerfile);
        assert_eq!(kind("deploy.sh.tmpl"), InputKind::Script);
        assert_eq!(kind("anything"), InputKind::Dockerfile);
    }

    #[test]
    fn workflow_directories_hold_no_compose_files() {
        assert!(in_workflow_dir(Path::new(
            ".github/workflows/docker-compose.yml"
        )));
        assert!(in_workflow_dir(Path::new(
            "./x/.gitea/workflows/compose.yaml"
        )));
        assert!(!in_workflow_dir(Path::new(".github/docker-compose.yml")));
        assert!(!in_workflow_dir(Path::new("workflows/docker-compose.yml")));
        assert!(!in_workflow_dir(Path::new("docker-compose.yml")));
    }

    #[test]
    fn vcs_directories_are_recognised_below_the_root_only() {
        let root = Path::new("repo");
        assert!(in_vcs_dir(Path::new("repo/.git/hooks/pre-commit.sh"), root));
        assert!(in_vcs_dir(Path::new("repo/a/.hg/Dockerfile"), root));
        assert!(!in_vcs_dir(Path::new("repo/.github/Dockerfile"), root));
        assert!(!in_vcs_dir(
            Path::new(".git/x/Dockerfile"),
            Path::new(".git/x")
        ));
    }
}
