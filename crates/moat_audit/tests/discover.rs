//! Discovery on small trees shaped like real projects: hidden directories are walked and
//! version-control ones are not, Dockerfile and compose names are recognised as projects spell
//! them, templates are skipped, `.gitignore` hides untracked files only (checked with a real
//! git repository), and the files read are counted by kind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use moat_audit::discover::{InputKind, discover};
use moat_diagnostics::report::FileCounts;

/// A scratch tree of one test, removed when dropped.
struct Tree(PathBuf);

impl Tree {
    /// A new, empty directory: tests run in parallel in one process, so each call gets its own.
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("moat-discover-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn root(&self) -> &Path {
        &self.0
    }

    /// Writes the files `(path, text)`, creating their directories.
    fn write(&self, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    /// The files discovered under `dir` (relative to the tree), relative to `dir`, sorted.
    fn found_under(&self, dir: &str) -> Vec<(String, InputKind)> {
        let root = self.0.join(dir);
        let inputs = discover(std::slice::from_ref(&root));
        assert!(inputs.errors.is_empty(), "{:?}", inputs.errors);
        let mut found: Vec<(String, InputKind)> = inputs
            .files
            .iter()
            .map(|(p, k)| {
                let rel = p.strip_prefix(&root).unwrap();
                (rel.to_string_lossy().replace('\\', "/"), *k)
            })
            .collect();
        found.sort();
        found
    }

    fn found(&self) -> Vec<(String, InputKind)> {
        self.found_under("")
    }

    fn paths(&self) -> Vec<String> {
        self.found().into_iter().map(|(p, _)| p).collect()
    }

    /// Runs git in the tree; `false` when git is not installed.
    fn git(&self, args: &[&str]) -> bool {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.0)
            .args([
                "-c",
                "user.name=moat tests",
                "-c",
                "user.email=tests@moat.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output();
        match out {
            Ok(o) => {
                assert!(
                    o.status.success(),
                    "git {args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => panic!("git {args:?}: {e}"),
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// git is needed by the tests of tracked files: without it they are skipped with a message,
/// except under CI (`CI` set), where a missing git is a failure.
fn git_missing() -> bool {
    if Command::new("git").arg("--version").output().is_ok() {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "git is not installed: the tracked-file tests need it"
    );
    eprintln!("skipped: git is not installed");
    true
}

const DOCKERFILE: &str = "FROM alpine:3.20\nUSER nobody\n";
const COMPOSE: &str = "services:\n  api:\n    image: alpine:3.20\n";

use InputKind::{Compose, Daemon, Dockerfile, Script};

fn own(found: &[(&str, InputKind)]) -> Vec<(String, InputKind)> {
    let mut v: Vec<(String, InputKind)> = found.iter().map(|(p, k)| ((*p).into(), *k)).collect();
    v.sort();
    v
}

#[test]
fn hidden_directories_are_walked_but_not_version_control_ones() {
    let t = Tree::new("hidden");
    t.write(&[
        // a project that keeps its examples, dev container and CI helpers in dot-directories
        (".examples/basic/docker-compose.yml", COMPOSE),
        (".examples/basic/Dockerfile", DOCKERFILE),
        (".examples/tls/compose.yaml", COMPOSE),
        (".devcontainer/Dockerfile", DOCKERFILE),
        (".devcontainer/docker-compose.yml", COMPOSE),
        (".docker/daemon.json", "{}"),
        (".github/actions/build/Dockerfile", DOCKERFILE),
        (".github/scripts/release.sh", "docker run alpine:3.20\n"),
        // a GitHub workflow is never a compose file, whatever its name
        (
            ".github/workflows/docker-compose.yml",
            "on: push\njobs: {}\n",
        ),
        (".gitea/workflows/compose.yaml", "on: push\njobs: {}\n"),
        // version-control directories are not walked
        (".git/hooks/pre-commit.sh", "docker run alpine\n"),
        (".hg/store/Dockerfile", DOCKERFILE),
        (".svn/pristine/Dockerfile", DOCKERFILE),
        (".jj/repo/Dockerfile", DOCKERFILE),
    ]);
    assert_eq!(
        t.found(),
        own(&[
            (".devcontainer/Dockerfile", Dockerfile),
            (".devcontainer/docker-compose.yml", Compose),
            (".docker/daemon.json", Daemon),
            (".examples/basic/Dockerfile", Dockerfile),
            (".examples/basic/docker-compose.yml", Compose),
            (".examples/tls/compose.yaml", Compose),
            (".github/actions/build/Dockerfile", Dockerfile),
            (".github/scripts/release.sh", Script),
        ])
    );
}

#[test]
fn a_version_control_directory_given_as_the_root_is_walked() {
    let t = Tree::new("vcs-root");
    t.write(&[(".git/x/Dockerfile", DOCKERFILE)]);
    assert_eq!(t.found_under(".git/x"), own(&[("Dockerfile", Dockerfile)]));
}

#[test]
fn dockerfile_names_as_projects_spell_them() {
    let t = Tree::new("dockerfile-names");
    let names = [
        "Dockerfile",
        "Containerfile",
        "Dockerfile.prod",
        "Dockerfile-dev",
        "Dockerfile_prod",
        "Dockerfile-alpine",
        "dev-Dockerfile",
        "dev.Dockerfile",
        "api.dockerfile",
        "worker_Dockerfile",
    ];
    let not = [
        "dockerfile-lint.json",
        "Dockerfile.md",
        "dockerfile.go",
        "dockerfile_test.go",
        "Dockerfile.dockerignore",
        "Dockerfile~",
        "Dockerfiles.txt",
    ];
    let files: Vec<(String, &str)> = names
        .iter()
        .chain(&not)
        .map(|n| (format!("svc/{n}"), DOCKERFILE))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    t.write(&files);
    let mut expected: Vec<String> = names.iter().map(|n| format!("svc/{n}")).collect();
    expected.sort();
    assert_eq!(t.paths(), expected);
    assert!(t.found().iter().all(|(_, k)| *k == Dockerfile));
}

#[test]
fn compose_names_as_projects_spell_them() {
    let t = Tree::new("compose-names");
    let names = [
        "docker-compose.yml",
        "docker-compose.prod.yml",
        "docker-compose-dev.yaml",
        "docker-compose_ci.yml",
        "compose.staging.yaml",
        "compose-dev.yaml",
        "prod.compose.yml",
        "api_compose.yaml",
    ];
    let not = [
        "docker-compose.yml.example",
        "composer.yaml",
        "config.yml",
        "docker-compose.json",
    ];
    // each name in a directory of its own: no base file merges another's override
    let files: Vec<(String, &str)> = names
        .iter()
        .chain(&not)
        .enumerate()
        .map(|(i, n)| (format!("d{i:02}/{n}"), COMPOSE))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    t.write(&files);
    let found: Vec<String> = t
        .found()
        .into_iter()
        .map(|(p, k)| {
            assert_eq!(k, Compose, "{p}");
            p.split_once('/').unwrap().1.to_string()
        })
        .collect();
    assert_eq!(found, names);
}

#[test]
fn templates_are_skipped_when_walking_and_audited_when_named() {
    let t = Tree::new("templates");
    t.write(&[
        ("Dockerfile", DOCKERFILE),
        ("Dockerfile.j2", "FROM {{ base_image }}\n"),
        ("Dockerfile.tmpl", "FROM {{ .Base }}\n"),
        (
            "Dockerfile.template",
            "FROM balenalib/%%BALENA_MACHINE_NAME%%\n",
        ),
        ("Dockerfile.in", "FROM @BASE@\n"),
        ("deploy/docker-compose.yml.j2", COMPOSE),
        ("deploy/docker-compose.tmpl.yml", COMPOSE),
        ("deploy/compose.template.yaml", COMPOSE),
        ("deploy/run.sh.erb", "docker run <%= image %>\n"),
    ]);
    assert_eq!(t.found(), own(&[("Dockerfile", Dockerfile)]));
    // named on the command line, a template is audited as what it renders to
    let given = [
        t.root().join("deploy/docker-compose.yml.j2"),
        t.root().join("Dockerfile.j2"),
    ];
    let inputs = discover(&given);
    let kinds: Vec<InputKind> = inputs.files.iter().map(|(_, k)| *k).collect();
    assert_eq!(kinds, [Compose, Dockerfile]);
}

#[test]
fn gitignore_hides_untracked_files_outside_a_repository() {
    let t = Tree::new("gitignore");
    t.write(&[
        (".gitignore", "node_modules/\nbuild/\n"),
        ("Dockerfile", DOCKERFILE),
        ("node_modules/some-package/Dockerfile", DOCKERFILE),
        ("node_modules/some-package/install.sh", "docker run x\n"),
        ("build/Dockerfile", DOCKERFILE),
        ("vendor/lib/Dockerfile", DOCKERFILE),
    ]);
    // nothing skips node_modules or vendor by name: the ignore files decide
    assert_eq!(t.paths(), ["Dockerfile", "vendor/lib/Dockerfile"]);
}

#[test]
fn tracked_files_are_audited_even_when_gitignore_matches_them() {
    if git_missing() {
        return;
    }
    let t = Tree::new("tracked");
    t.write(&[
        (".gitignore", "deploy/\n*.local.yml\n"),
        ("Dockerfile", DOCKERFILE),
        // committed with `git add -f` under ignored patterns: shipped all the same
        ("deploy/Dockerfile", DOCKERFILE),
        ("deploy/nested/run.sh", "docker run --privileged alpine\n"),
        ("docker-compose.local.yml", COMPOSE),
        ("svc/api/deploy/Dockerfile", DOCKERFILE),
        // ignored and never committed: still skipped
        ("deploy/Dockerfile.scratch", DOCKERFILE),
        ("deploy/notes/compose.yaml", COMPOSE),
        ("svc/api/deploy/scratch.Dockerfile", DOCKERFILE),
        // tracked, but `.ignore` says tools skip it
        ("fixtures/.ignore", "insecure/\n"),
        ("fixtures/insecure/Dockerfile", DOCKERFILE),
        // a tracked template is still a template
        ("deploy/Dockerfile.j2", DOCKERFILE),
    ]);
    assert!(t.git(&["init", "-q"]));
    assert!(t.git(&["add", "."]));
    assert!(t.git(&[
        "add",
        "-f",
        "deploy/Dockerfile",
        "deploy/nested/run.sh",
        "docker-compose.local.yml",
        "deploy/Dockerfile.j2",
        "svc/api/deploy/Dockerfile",
    ]));
    assert!(t.git(&["commit", "-q", "-m", "initial"]));
    let expected = own(&[
        ("Dockerfile", Dockerfile),
        ("deploy/Dockerfile", Dockerfile),
        ("deploy/nested/run.sh", Script),
        ("docker-compose.local.yml", Compose),
        ("svc/api/deploy/Dockerfile", Dockerfile),
    ]);
    assert_eq!(t.found(), expected);

    // from a subdirectory of the work tree, with paths under the directory given
    assert_eq!(
        t.found_under("svc"),
        own(&[("api/deploy/Dockerfile", Dockerfile)])
    );

    // a file added to the index but not committed yet is tracked too
    t.write(&[("deploy/api.Dockerfile", DOCKERFILE)]);
    assert!(t.git(&["add", "-f", "deploy/api.Dockerfile"]));
    assert!(
        t.paths().contains(&"deploy/api.Dockerfile".to_string()),
        "{:?}",
        t.paths()
    );

    // a tracked file deleted from the work tree is not reported
    std::fs::remove_file(t.root().join("deploy/Dockerfile")).unwrap();
    assert!(!t.paths().contains(&"deploy/Dockerfile".to_string()));
}

#[test]
fn file_counts_include_the_override_read_with_its_base() {
    let t = Tree::new("counts");
    t.write(&[
        ("Dockerfile", DOCKERFILE),
        ("worker.Dockerfile", DOCKERFILE),
        ("compose.yaml", COMPOSE),
        ("compose.override.yaml", COMPOSE),
        ("compose.prod.yaml", COMPOSE),
        ("etc/daemon.json", "{}"),
        ("scripts/deploy.sh", "docker run alpine:3.20\n"),
        ("Makefile", "run:\n\tdocker run alpine:3.20\n"),
    ]);
    let mut inputs = discover(&[t.root().to_path_buf()]);
    // the override is loaded with its base file, not audited on its own...
    assert!(
        !inputs
            .files
            .iter()
            .any(|(p, _)| p.ends_with("compose.override.yaml"))
    );
    // ... and counted: it is read
    assert_eq!(
        inputs.file_counts(),
        FileCounts {
            dockerfile: 2,
            compose: 3,
            daemon: 1,
            script: 2,
            ..FileCounts::default()
        }
    );
    // files of `--compose` count too, once each
    inputs.compose_project = vec![
        t.root().join("compose.prod.yaml"),
        t.root().join("ci/compose.ci.yaml"),
    ];
    assert_eq!(inputs.file_counts().compose, 4);
    assert_eq!(discover(&[]).file_counts().total(), 0);
}
