use moat_deploy::{ComposeProject, Mount, MountKind};

use crate::context::{ContainerContext, Emitter};
use crate::rule::{Severity, declare_rule};
use crate::rules::container::runtime_socket;

declare_rule! {
    /// ## What it does
    /// Reports bind mounts of sensitive host directories, or of paths below them: `/`, `/etc`,
    /// `/boot`, `/dev`, `/lib`, `/lib64`, `/bin`, `/sbin`, `/usr`, `/proc`, `/sys`, `/root`,
    /// `/var/lib/docker` and `/var/lib/containerd`. Under `/home` (and `~`), a user's home
    /// itself and its credential folders (`.ssh`, `.docker`, `.aws`, `.kube`, `.gnupg`,
    /// `.config`) are reported, not every project directory that happens to live there.
    ///
    /// A read-only mount (`:ro`, `read_only: true`) is still reported, with its severity lowered
    /// to medium. A few read-only files that are commonly and harmlessly shared are skipped:
    /// `/etc/localtime`, `/etc/timezone`, `/usr/share/zoneinfo`, `/etc/ssl/certs` and
    /// `/etc/ca-certificates`. Container runtime sockets and `/run`, `/var/run` are reported by
    /// `C005` instead. A named volume declared with `driver_opts: {o: bind, device: /etc}` is a
    /// bind mount of `/etc` and is judged as one.
    ///
    /// ## Why is this bad?
    /// A writable `/etc`, `/usr` or `/boot` lets the container change what the host runs and
    /// who may log in; `/` hands over the whole host. Even read-only, `/etc/shadow`, SSH keys,
    /// `/proc` or `/var/lib/docker` leak secrets of the host and of every other container.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   agent:
    ///     image: example/agent:3.0
    ///     volumes:
    ///       - /etc:/host/etc
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   agent:
    ///     image: example/agent:3.0
    ///     volumes:
    ///       - ./agent.conf:/etc/agent/agent.conf:ro
    /// ```
    ///
    /// ## Fix
    /// Mount only the file or directory the service needs, from a dedicated location, and
    /// read-only where possible. Monitoring agents that must read `/proc` or `/sys` should
    /// mount them `:ro` and be reviewed (and ignored with a reason).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.6 (sensitive host system directories).
    pub struct SensitiveHostPath {
        code: "C004",
        name: "sensitive-host-path-mounted",
        summary: "container mounts a sensitive host directory",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.6"],
        check: Container,
    }
}

/// Host directories whose contents (and sub-paths) are sensitive.
const SENSITIVE: &[&str] = &[
    "/etc",
    "/boot",
    "/dev",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",
    "/usr",
    "/proc",
    "/sys",
    "/root",
    "/var/lib/docker",
    "/var/lib/containerd",
];

/// Read-only paths that are shared routinely and leak nothing.
const BENIGN_READ_ONLY: &[&str] = &[
    "/etc/localtime",
    "/etc/timezone",
    "/usr/share/zoneinfo",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
];

/// Folders of a home directory that hold credentials.
const HOME_SECRETS: &[&str] = &[".ssh", ".docker", ".aws", ".kube", ".gnupg", ".config"];

/// Normalises an absolute host path: collapses `//`, `.` and `..`, drops a trailing `/`.
/// `~` and `~/…` are kept with `~` as their first component. Returns `None` for relative
/// paths, named volumes and paths with variables.
pub(crate) fn normalize(source: &str) -> Option<String> {
    let s = source.trim();
    let rest = if let Some(r) = s.strip_prefix('~') {
        if !(r.is_empty() || r.starts_with('/')) {
            return None; // `~user` is another user's home: judge it as a home
        }
        r
    } else if s.starts_with('/') {
        s
    } else {
        return None;
    };
    if s.contains('$') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in rest.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let prefix = if s.starts_with('~') { "~" } else { "" };
    Some(format!("{prefix}/{}", parts.join("/")))
}

/// Whether `path` is `dir` or below it.
pub(crate) fn is_under(path: &str, dir: &str) -> bool {
    path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// Whether the normalised host path is sensitive (the matched directory is returned).
fn sensitive(path: &str, read_only: bool) -> Option<String> {
    if path == "/" {
        return Some("/".into());
    }
    if read_only && BENIGN_READ_ONLY.iter().any(|b| is_under(path, b)) {
        return None;
    }
    if let Some(dir) = SENSITIVE.iter().find(|d| is_under(path, d)) {
        return Some((*dir).to_string());
    }
    // a home directory: `/home`, `/home/USER`, `~`, and their credential folders
    let home_rel: Option<Vec<&str>> = if let Some(r) = path.strip_prefix("~") {
        Some(r.split('/').filter(|p| !p.is_empty()).collect())
    } else if is_under(path, "/home") {
        let comps: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if comps.len() <= 2 {
            return Some(path.to_string());
        }
        Some(comps[2..].to_vec())
    } else {
        None
    };
    let rel = home_rel?;
    match rel.first() {
        None => Some(path.to_string()),
        Some(first) if HOME_SECRETS.contains(first) => Some(path.to_string()),
        Some(_) => None,
    }
}

/// The host path a mount exposes: the source of a bind mount, or the `device` of a named
/// volume declared with the local driver and `o: bind` (a bind mount in disguise).
pub(crate) fn host_source(m: &Mount, project: Option<&ComposeProject>) -> Option<String> {
    match m.kind {
        MountKind::Bind => m.source.clone(),
        MountKind::Volume => {
            let name = m.source.as_deref()?;
            let def = project?.volumes.iter().find(|v| v.name.value == name)?;
            let opt = |key: &str| {
                def.driver_opts
                    .iter()
                    .find(|kv| kv.key.value == key)
                    .and_then(|kv| kv.value.as_ref())
                    .map(|v| v.value.as_str())
            };
            let bind = opt("o")
                .is_some_and(|o| o.split(',').any(|x| matches!(x.trim(), "bind" | "rbind")));
            if bind {
                opt("device").map(str::to_string)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The sensitive directory a mount exposes, if any.
fn finding_for(m: &Mount, project: Option<&ComposeProject>) -> Option<(String, String)> {
    let path = normalize(&host_source(m, project)?)?;
    if runtime_socket::is_runtime_socket(&path) {
        return None;
    }
    let dir = sensitive(&path, m.read_only)?;
    Some((path, dir))
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for mount in &ctx.facts.mounts {
        let m = &mount.value;
        let Some((path, dir)) = finding_for(m, ctx.project) else {
            continue;
        };
        let what = if path == dir {
            format!("host directory `{path}`")
        } else {
            format!("host path `{path}` (under `{dir}`)")
        };
        let message = if m.read_only {
            format!(
                "`{}` mounts {what} read-only at `{}`",
                ctx.facts.name, m.target
            )
        } else {
            format!(
                "`{}` mounts {what} writable at `{}`",
                ctx.facts.name, m.target
            )
        };
        let finding = out.emit_at(&SensitiveHostPath::INFO, mount.location.clone(), message);
        if m.read_only {
            finding.severity = Severity::Medium;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("/etc/").as_deref(), Some("/etc"));
        assert_eq!(normalize("//etc/./ssl").as_deref(), Some("/etc/ssl"));
        assert_eq!(normalize("/srv/../etc").as_deref(), Some("/etc"));
        assert_eq!(normalize("/").as_deref(), Some("/"));
        assert_eq!(normalize("~/.ssh").as_deref(), Some("~/.ssh"));
        assert_eq!(normalize("./data"), None);
        assert_eq!(normalize("$HOME/x"), None);
    }

    #[test]
    fn judges_sub_paths_and_homes() {
        assert!(sensitive("/etc/shadow", true).is_some());
        assert!(sensitive("/etcetera", false).is_none());
        assert!(sensitive("/etc/localtime", true).is_none());
        assert!(sensitive("/etc/localtime", false).is_some());
        assert!(sensitive("/proc", true).is_some());
        assert!(sensitive("/home/alice", false).is_some());
        assert!(sensitive("/home/alice/.ssh", true).is_some());
        assert!(sensitive("/home/alice/src/app", false).is_none());
        assert!(sensitive("~", false).is_some());
        assert!(sensitive("~/.aws", true).is_some());
        assert!(sensitive("~/app/data", false).is_none());
        assert!(sensitive("/srv/data", false).is_none());
        assert!(sensitive("/var/lib/docker/volumes", false).is_some());
    }
}
