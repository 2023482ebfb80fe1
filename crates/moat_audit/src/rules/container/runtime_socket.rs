use moat_deploy::MountKind;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::sensitive_host_path::{host_source, normalize};

declare_rule! {
    /// ## What it does
    /// Reports a container that can reach a container runtime's API: a bind mount of
    /// `docker.sock`, `containerd.sock`, `podman.sock`, `crio.sock` or `cri-dockerd.sock`
    /// (wherever it lives, rootless sockets under `/run/user/…` included), of the directories
    /// that hold them (`/run`, `/var/run`, `/var`, `/run/docker`, `/run/containerd`,
    /// `/run/podman`, `/run/crio`, and the same under `/var/run`), of the Windows pipe
    /// `\\.\pipe\docker_engine`, and `docker run --use-api-socket`. Named volumes declared
    /// as bind mounts (`driver_opts: {o: bind, device: /var/run}`) count too.
    ///
    /// ## Why is this bad?
    /// Whoever can talk to the runtime API can start a privileged container that mounts the
    /// host's `/`: the socket is root on the host. Mounting it read-only (`:ro`) does not help,
    /// since connecting to a socket is not a write to the file system; the finding keeps its
    /// severity.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   dashboard:
    ///     image: example/dashboard:1.0
    ///     volumes:
    ///       - /var/run/docker.sock:/var/run/docker.sock:ro
    /// ```
    ///
    /// Use instead: no socket, or a filtering proxy that allows only the read-only API calls the
    /// tool needs (for example a socket proxy container on an internal network).
    /// ```yaml
    /// services:
    ///   dashboard:
    ///     image: example/dashboard:1.0
    ///     environment:
    ///       DOCKER_HOST: tcp://socket-proxy:2375
    /// ```
    ///
    /// ## Fix
    /// Remove the mount. If the service must see containers, put an API-filtering proxy in
    /// between and keep that proxy off every network an attacker can reach.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.32 (the Docker socket is not mounted inside containers).
    /// - Docker docs, "Protect the Docker daemon socket".
    pub struct RuntimeSocket {
        code: "C005",
        name: "container-runtime-socket-mounted",
        summary: "container mounts a container runtime socket",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.32"],
        check: Container,
    }
}

const SOCKETS: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "podman.sock",
    "crio.sock",
    "cri-dockerd.sock",
];

/// Directories whose mount exposes a runtime socket.
const SOCKET_DIRS: &[&str] = &[
    "/run",
    "/var/run",
    "/var",
    "/run/docker",
    "/var/run/docker",
    "/run/containerd",
    "/var/run/containerd",
    "/run/podman",
    "/var/run/podman",
    "/run/crio",
    "/var/run/crio",
];

/// Whether the normalised host path is a runtime socket or a directory exposing one.
pub(crate) fn is_runtime_socket(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    SOCKETS.contains(&file) || SOCKET_DIRS.contains(&path)
}

fn is_docker_pipe(source: &str) -> bool {
    let s = source.replace('/', "\\").to_ascii_lowercase();
    s.ends_with("\\pipe\\docker_engine")
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    for mount in &f.mounts {
        let m = &mount.value;
        let hit = match m.kind {
            MountKind::Npipe => m
                .source
                .as_deref()
                .filter(|s| is_docker_pipe(s))
                .map(str::to_string),
            _ => host_source(m, ctx.project)
                .and_then(|s| normalize(&s))
                .filter(|p| is_runtime_socket(p)),
        };
        let Some(path) = hit else {
            continue;
        };
        let what = if SOCKET_DIRS.contains(&path.as_str()) {
            format!("host directory `{path}` (where the container runtime's socket lives)")
        } else {
            format!("the container runtime socket `{path}`")
        };
        out.emit_at(
            &RuntimeSocket::INFO,
            mount.location.clone(),
            format!(
                "`{}` mounts {what} at `{}`: control of the runtime is root on the host",
                f.name, m.target
            ),
        );
    }
    for switch in &f.run_switches {
        if switch.value == "use-api-socket" {
            out.emit_at(
                &RuntimeSocket::INFO,
                switch.location.clone(),
                format!(
                    "`{}` gets the Docker API socket (`--use-api-socket`): control of the runtime is root on the host",
                    f.name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sockets_and_their_directories() {
        assert!(is_runtime_socket("/var/run/docker.sock"));
        assert!(is_runtime_socket("/run/user/1000/podman/podman.sock"));
        assert!(is_runtime_socket("/run/containerd/containerd.sock"));
        assert!(is_runtime_socket("/var/run"));
        assert!(is_runtime_socket("/run"));
        assert!(!is_runtime_socket("/run/secrets"));
        assert!(!is_runtime_socket("/srv/docker.socket"));
        assert!(is_docker_pipe("\\\\.\\pipe\\docker_engine"));
        assert!(is_docker_pipe("//./pipe/docker_engine"));
    }
}
