//! Helpers for tests against a real Docker engine (feature `test-support`).
//!
//! Everything goes through the `docker` command-line client, as a person would: the tests check
//! moat against what the engine really does, not against moat's own client.
//!
//! - [`require_engine`] checks that an engine answers and returns an [`EngineGuard`]; without
//!   one, a test is skipped (a line on stderr), unless `MOAT_REQUIRE_DOCKER=1` is set (CI), where
//!   that is a failure.
//! - The [`EngineGuard`] owns a unique run label, `moat.test=<pid>-<nanos>-<n>`, that every
//!   object it creates carries (containers, networks, volumes and, through a `LABEL` change,
//!   images). Dropping it, also while a test panics, removes all of them, the containers and
//!   networks of the compose projects it started, and every image it imported.
//! - [`busybox_image`] builds a small image from the host's static busybox (`/bin/busybox`,
//!   Debian's `busybox-static`) with `docker import`: no registry is needed.
//!
//! ```no_run
//! use moat_engine::test_support::{busybox_image, require_engine};
//!
//! let Some(guard) = require_engine() else { return };
//! let image = busybox_image(&guard, "web", &["USER 65534"]);
//! let name = guard.name("web");
//! guard.run(&name, &["--read-only"], &image, &[]);
//! // read the engine and check the container `name`; `guard` removes it on drop
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The label key every test object carries.
pub const LABEL_KEY: &str = "moat.test";

/// Where the static busybox is expected on the host.
pub const BUSYBOX: &str = "/bin/busybox";

/// The busybox applets linked in the test image's `/bin`.
pub const APPLETS: &[&str] = &[
    "sh", "sleep", "top", "true", "false", "cat", "echo", "ls", "ps", "id", "env", "nc", "wget",
];

/// The engine host the `docker` client uses: `DOCKER_HOST`, else the default socket.
pub fn engine_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| crate::DEFAULT_HOST.to_string())
}

/// `MOAT_REQUIRE_DOCKER=1`: a missing engine (or busybox) fails the test instead of skipping it.
pub fn engine_required() -> bool {
    std::env::var("MOAT_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// Skips (returns `None`, saying so on stderr) or, under `MOAT_REQUIRE_DOCKER=1`, panics.
fn unavailable(why: &str) -> Option<EngineGuard> {
    let msg = format!("no Docker engine at {}: {why}", engine_host());
    assert!(!engine_required(), "MOAT_REQUIRE_DOCKER=1 but {msg}");
    eprintln!("skipped: {msg}");
    None
}

/// An [`EngineGuard`] when the engine answers `docker version` and the host has a static
/// busybox; otherwise `None` after a `skipped: …` line on stderr, or a panic when
/// `MOAT_REQUIRE_DOCKER=1`.
pub fn require_engine() -> Option<EngineGuard> {
    let out = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .stdin(Stdio::null())
        .output();
    match out {
        Err(e) => return unavailable(&format!("cannot run the docker client: {e}")),
        Ok(o) if !o.status.success() => {
            return unavailable(String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(_) => {}
    }
    if !Path::new(BUSYBOX).is_file() {
        return unavailable(&format!(
            "{BUSYBOX} is missing (install busybox-static) to build the test image"
        ));
    }
    Some(EngineGuard::new())
}

/// A free TCP port on all interfaces of the host (bound, then released), for `-p`.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("0.0.0.0", 0)).expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// The unique label of one test, and the owner of every object created with it.
#[derive(Debug)]
pub struct EngineGuard {
    run: String,
    images: Mutex<Vec<String>>,
    projects: Mutex<Vec<String>>,
    dir: tempfile_dir::TempDir,
}

impl EngineGuard {
    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let run = format!(
            "{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile_dir::TempDir::new(&run);
        Self {
            run,
            images: Mutex::new(Vec::new()),
            projects: Mutex::new(Vec::new()),
            dir,
        }
    }

    /// The run id, `<pid>-<nanos>-<n>`: unique per guard.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// The run label, `moat.test=<run id>`, as `--label` and `--filter label=` take it.
    pub fn label(&self) -> String {
        format!("{LABEL_KEY}={}", self.run)
    }

    /// A unique object name for this run: `mt-<run id>-<suffix>`.
    pub fn name(&self, suffix: &str) -> String {
        format!("mt-{}-{suffix}", self.run)
    }

    /// A directory of this guard's own (removed on drop), for rootfs tars, compose files…
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `docker ARGS`; panics with its stderr when it fails. Returns stdout, trimmed.
    pub fn docker(&self, args: &[&str]) -> String {
        let o = docker_output(args);
        assert!(
            o.status.success(),
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Runs `docker ARGS` and returns its output, whatever the exit status.
    pub fn try_docker(&self, args: &[&str]) -> Output {
        docker_output(args)
    }

    fn container_args<'a>(
        verb: &'a str,
        name: &'a str,
        flags: &[&'a str],
        image: &'a str,
        command: &[&'a str],
        label: &'a str,
    ) -> Vec<&'a str> {
        let mut args = vec![verb];
        if verb == "run" {
            args.push("-d");
        }
        args.extend(["--name", name, "--label", label]);
        args.extend_from_slice(flags);
        args.push(image);
        if command.is_empty() {
            args.extend(["sleep", "3600"]);
        } else {
            args.extend_from_slice(command);
        }
        args
    }

    /// `docker run -d --name NAME --label <run label> FLAGS IMAGE COMMAND` (`sleep 3600` when
    /// `command` is empty); returns the container id.
    pub fn run(&self, name: &str, flags: &[&str], image: &str, command: &[&str]) -> String {
        let label = self.label();
        self.docker(&Self::container_args(
            "run", name, flags, image, command, &label,
        ))
    }

    /// `docker create --name NAME --label <run label> FLAGS IMAGE COMMAND` (`sleep 3600` when
    /// `command` is empty); returns the container id.
    pub fn create(&self, name: &str, flags: &[&str], image: &str, command: &[&str]) -> String {
        let label = self.label();
        self.docker(&Self::container_args(
            "create", name, flags, image, command, &label,
        ))
    }

    /// `docker start NAME…`.
    pub fn start(&self, names: &[&str]) {
        let mut args = vec!["start"];
        args.extend_from_slice(names);
        self.docker(&args);
    }

    /// `docker stop -t 0 NAME…` (`sleep` ignores SIGTERM as PID 1: no grace period).
    pub fn stop(&self, names: &[&str]) {
        let mut args = vec!["stop", "-t", "0"];
        args.extend_from_slice(names);
        self.docker(&args);
    }

    /// `docker network create --label <run label> NAME`; returns the network id.
    pub fn network(&self, name: &str) -> String {
        let label = self.label();
        self.docker(&["network", "create", "--label", &label, name])
    }

    /// `docker volume create --label <run label> NAME`.
    pub fn volume(&self, name: &str) -> String {
        let label = self.label();
        self.docker(&["volume", "create", "--label", &label, name])
    }

    /// Records an image (name or id) to remove on drop.
    pub fn own_image(&self, image: &str) {
        lock(&self.images).push(image.to_string());
    }

    /// Starts a compose project: `docker-compose -p PROJECT -f FILE up -d` (Compose v1, the
    /// Debian package). Its containers, networks and volumes are removed on drop, by the
    /// `com.docker.compose.project` label (the file may have changed or be gone by then).
    pub fn compose_up(&self, project: &str, file: &Path) {
        lock(&self.projects).push(project.to_string());
        let file = file.to_string_lossy();
        let o = Command::new("docker-compose")
            .args(["-p", project, "-f", &file, "up", "-d", "--no-build"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("docker-compose: {e} (install docker-compose)"));
        assert!(
            o.status.success(),
            "docker-compose -p {project} -f {file} up -d: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }

    /// Removes every object of one label filter (`label=K=V`): containers (with their
    /// anonymous volumes), then networks and volumes.
    fn remove_labelled(filter: &str) {
        let ids = ids_of(&["ps", "-aq", "--filter", filter]);
        if !ids.is_empty() {
            quiet(&[&["rm", "-f", "-v"][..], &refs(&ids)].concat());
        }
        let ids = ids_of(&["network", "ls", "-q", "--filter", filter]);
        if !ids.is_empty() {
            quiet(&[&["network", "rm"][..], &refs(&ids)].concat());
        }
        let ids = ids_of(&["volume", "ls", "-q", "--filter", filter]);
        if !ids.is_empty() {
            quiet(&[&["volume", "rm", "-f"][..], &refs(&ids)].concat());
        }
    }
}

impl Drop for EngineGuard {
    fn drop(&mut self) {
        let label = format!("label={}", self.label());
        Self::remove_labelled(&label);
        for project in lock(&self.projects).iter() {
            Self::remove_labelled(&format!("label=com.docker.compose.project={project}"));
        }
        // images: those recorded, then any left with the label (an old build whose tag moved)
        let mut images = lock(&self.images).clone();
        images.extend(ids_of(&["images", "-aq", "--no-trunc", "--filter", &label]));
        images.sort();
        images.dedup();
        // a record whose image is already gone (removed by the test) is not an error
        images.retain(|id| {
            docker_output(&["image", "inspect", "--format", "x", id])
                .status
                .success()
        });
        if !images.is_empty() {
            quiet(&[&["rmi", "-f"][..], &refs(&images)].concat());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn docker_output(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("docker {}: {e}", args.join(" ")))
}

/// Runs a clean-up command; failures are said on stderr, never a panic (drop may run while
/// panicking).
fn quiet(args: &[&str]) {
    match Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => eprintln!(
            "clean-up: docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => eprintln!("clean-up: docker {}: {e}", args.join(" ")),
    }
}

fn ids_of(args: &[&str]) -> Vec<String> {
    match Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => {
            let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect();
            v.sort();
            v.dedup();
            v
        }
        Err(_) => Vec::new(),
    }
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Builds an image from the host's static busybox and returns its reference,
/// `moat-test-<name>:<run id>`: a root filesystem with `/bin/busybox`, links for [`APPLETS`],
/// `/etc/passwd` (`root` 0, `nobody` 65534), `/etc/group` and `/tmp`, imported with
/// `docker import`, labelled with the run label and removed when the guard drops.
///
/// `changes` are Dockerfile instructions for `--change` (`USER 65534`, `ENV A=b`,
/// `HEALTHCHECK CMD true`, `EXPOSE 80`, `CMD ["sleep", "3600"]`). Called again with the same
/// name, the tag moves to the new image (the old one stays until the guard drops).
pub fn busybox_image(guard: &EngineGuard, name: &str, changes: &[&str]) -> String {
    let root = guard.dir().join(format!("rootfs-{name}"));
    let tar = guard.dir().join(format!("rootfs-{name}.tar"));
    if !tar.exists() {
        build_rootfs(&root);
        let o = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .output()
            .unwrap_or_else(|e| panic!("tar: {e}"));
        assert!(
            o.status.success(),
            "tar: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let reference = format!("moat-test-{name}:{}", guard.run_id());
    let label_change = format!("LABEL {}", guard.label());
    let mut args = vec!["import".to_string()];
    for c in std::iter::once(label_change.as_str()).chain(changes.iter().copied()) {
        args.push("--change".into());
        args.push(c.into());
    }
    args.push(tar.to_string_lossy().into_owned());
    args.push(reference.clone());
    let id = guard.docker(&refs(&args));
    guard.own_image(if id.is_empty() { &reference } else { &id });
    reference
}

fn build_rootfs(root: &Path) {
    let bin = root.join("bin");
    let etc = root.join("etc");
    for d in [&bin, &etc, &root.join("tmp"), &root.join("root")] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    }
    let busybox = bin.join("busybox");
    std::fs::copy(BUSYBOX, &busybox).unwrap_or_else(|e| panic!("copy {BUSYBOX}: {e}"));
    for applet in APPLETS {
        let link: PathBuf = bin.join(applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", &link)
                .unwrap_or_else(|e| panic!("{}: {e}", link.display()));
        }
    }
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    std::fs::write(etc.join("group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
}

/// A temporary directory removed on drop, without a dependency for it.
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub(super) struct TempDir(PathBuf);

    impl TempDir {
        pub(super) fn new(run: &str) -> Self {
            let p = std::env::temp_dir().join(format!("moat-test-{run}"));
            std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            Self(p)
        }

        pub(super) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
