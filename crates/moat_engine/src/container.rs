//! A container's inspect data → [`ContainerFacts`].

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerInspectResponse, ContainerTopResponse, HealthConfig, HostConfig, ImageInspect,
    MountPoint, PortBinding, PortMap,
};
use moat_deploy::{
    ByteSize, ComposeOrigin, ContainerFacts, CpuLimit, Device, EnvVar, Healthcheck, KeyValue,
    Located, Mount, MountKind, PortMapping, Process, Provenance, RestartPolicy, RuntimeFacts,
    SecurityOptKind, SourceKind, Syntax, Ulimit, UserOrigin, normalize_cap, parse_security_opt,
};
use moat_diagnostics::Location;

use crate::names::{At, ObjectNames, short_id};

/// The engine's "never": `StartedAt` of a container that was never started.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The facts of one container.
///
/// `image` is the inspect data of the container's image (by id), when the engine still has it:
/// it tells which environment variables and which user come from the image. `top` is the
/// process list of a running container. Every value is located at the container object
/// (`container:NAME`, see [`ObjectNames`]).
pub fn container_facts(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
    top: Option<&ContainerTopResponse>,
    names: &ObjectNames,
) -> ContainerFacts {
    let id = c.id.clone().unwrap_or_default();
    let name = c
        .name
        .as_deref()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| short_id(&id).to_string());
    let loc = names.location("container", &name);
    let at = At(&loc);
    let mut f = ContainerFacts::new(name.clone(), SourceKind::Engine, loc.clone());
    let default_hc = HostConfig::default();
    let hc = c.host_config.as_ref().unwrap_or(&default_hc);
    let cfg = c.config.clone().unwrap_or_default();
    let state = c.state.clone().unwrap_or_default();
    let running = state.running.unwrap_or(false);
    let image_cfg = image.and_then(|i| i.config.as_ref());

    f.image = cfg
        .image
        .clone()
        .filter(|i| !i.is_empty())
        .map(|v| at.of(v));
    f.container_name = Some(at.of(name.clone()));

    // user: the engine copies the image's USER into the container's config when none is given
    let user = cfg.user.clone().unwrap_or_default();
    let image_user = image_cfg.and_then(|i| i.user.clone()).unwrap_or_default();
    let user_origin = if user.is_empty() {
        UserOrigin::Default
    } else if image.is_some() && user == image_user {
        UserOrigin::Image
    } else {
        UserOrigin::Container
    };
    f.user = Some(at.of(if user.is_empty() { "root".into() } else { user }));

    let privileged = hc.privileged.unwrap_or(false);
    f.privileged = Some(at.of(privileged));
    f.cap_add = caps(hc.cap_add.as_ref(), &loc);
    f.cap_drop = caps(hc.cap_drop.as_ref(), &loc);
    let pid = non_empty(hc.pid_mode.as_ref());
    let ipc = non_empty(hc.ipc_mode.as_ref());
    // The daemon adds `label=disable` itself to a privileged container and to one sharing the
    // host's PID or IPC namespace; that is not a setting of its own.
    let label_added =
        privileged || pid.as_deref() == Some("host") || ipc.as_deref() == Some("host");
    f.security_opt = hc
        .security_opt
        .iter()
        .flatten()
        .map(|raw| parse_security_opt(raw))
        .filter(|o| {
            !(label_added
                && matches!(&o.kind, SecurityOptKind::Label(v) if v.trim().eq_ignore_ascii_case("disable")))
        })
        .map(|v| at.of(v))
        .collect();
    f.read_only = Some(at.of(hc.readonly_rootfs.unwrap_or(false)));
    f.tmpfs = sorted(hc.tmpfs.as_ref())
        .into_iter()
        .map(|(path, opts)| {
            at.of(if opts.is_empty() {
                path
            } else {
                format!("{path}:{opts}")
            })
        })
        .collect();
    f.mounts = mounts(c, hc, &loc);
    f.volumes_from = hc
        .volumes_from
        .iter()
        .flatten()
        .cloned()
        .map(|v| at.of(v))
        .collect();
    f.devices = hc
        .devices
        .iter()
        .flatten()
        .map(|d| {
            let host = d.path_on_host.clone().unwrap_or_default();
            let inside = d
                .path_in_container
                .clone()
                .filter(|p| !p.is_empty() && *p != host);
            at.of(Device {
                host,
                container: inside,
                permissions: d.cgroup_permissions.clone().filter(|p| !p.is_empty()),
            })
        })
        .collect();
    f.pid = pid.map(|v| at.of(v));
    f.ipc = ipc.map(|v| at.of(v));
    f.uts = non_empty(hc.uts_mode.as_ref()).map(|v| at.of(v));
    f.userns = non_empty(hc.userns_mode.as_ref()).map(|v| at.of(v));
    f.cgroup = hc
        .cgroupns_mode
        .map(|m| m.as_ref().to_string())
        .filter(|m| !m.is_empty())
        .map(|v| at.of(v));
    f.cgroup_parent = non_empty(hc.cgroup_parent.as_ref()).map(|v| at.of(v));

    // networks: `default` is the default bridge; a user-defined network is a name, not a mode
    let mode = non_empty(hc.network_mode.as_ref()).unwrap_or_else(|| "default".into());
    let joined: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| {
            let mut keys: Vec<String> = n.keys().cloned().collect();
            keys.sort();
            keys
        })
        .unwrap_or_default();
    let is_mode = |m: &str| {
        matches!(m, "default" | "bridge" | "host" | "none")
            || m.starts_with("container:")
            || m.starts_with("service:")
    };
    if is_mode(&mode) {
        let mode = if mode == "default" {
            "bridge".into()
        } else {
            mode
        };
        f.networks = joined
            .iter()
            .filter(|n| **n != mode && !(mode == "host" && *n == "host") && *n != "none")
            .cloned()
            .map(|v| at.of(v))
            .collect();
        f.network_mode = Some(at.of(mode));
    } else {
        let mut nets = vec![mode.clone()];
        nets.extend(joined.into_iter().filter(|n| *n != mode));
        f.networks = nets.into_iter().map(|v| at.of(v)).collect();
    }

    f.ports = ports(running, c, hc)
        .into_iter()
        .map(|v| at.of(v))
        .collect();
    f.publish_all = Some(at.of(hc.publish_all_ports.unwrap_or(false)));
    f.expose = cfg
        .exposed_ports
        .iter()
        .flatten()
        .cloned()
        .map(|v| at.of(v))
        .collect();

    f.environment = environment(
        cfg.env.as_ref(),
        image_cfg.and_then(|i| i.env.as_ref()),
        cfg.image.as_deref(),
        &loc,
    );

    let r = &mut f.resources;
    r.memory = positive(hc.memory).map(|b| at.of(bytes(b)));
    r.memory_reservation = positive(hc.memory_reservation).map(|b| at.of(bytes(b)));
    r.memory_swap = hc.memory_swap.filter(|b| *b != 0).map(|b| at.of(bytes(b)));
    r.cpus = positive(hc.nano_cpus).map(|n| {
        let cpus = n as f64 / 1e9;
        at.of(CpuLimit {
            raw: format!("{cpus}"),
            cpus: Some(cpus),
        })
    });
    r.cpu_shares = positive(hc.cpu_shares).map(|v| at.of(v));
    r.cpu_quota = positive(hc.cpu_quota).map(|v| at.of(v));
    r.cpuset = non_empty(hc.cpuset_cpus.as_ref()).map(|v| at.of(v));
    // null, 0 and -1 all mean unlimited: no limit
    r.pids = positive(hc.pids_limit).map(|v| at.of(v));
    r.ulimits = hc
        .ulimits
        .iter()
        .flatten()
        .map(|u| {
            at.of(Ulimit {
                name: u.name.clone().unwrap_or_default(),
                soft: u.soft,
                hard: u.hard,
            })
        })
        .collect();

    if let Some(p) = &hc.restart_policy {
        let name = p
            .name
            .map(|n| n.as_ref().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "no".into());
        let max = p
            .maximum_retry_count
            .filter(|n| *n > 0 && name == "on-failure")
            .map(|n| at.of(u32::try_from(n).unwrap_or(u32::MAX)));
        f.restart = Some(at.of(RestartPolicy {
            name,
            max_retries: max,
        }));
    }
    f.healthcheck = cfg.healthcheck.as_ref().and_then(|h| healthcheck(h, &loc));
    if let Some(log) = &hc.log_config {
        f.logging.driver = non_empty(log.typ.as_ref()).map(|v| at.of(v));
        f.logging.options = key_values(log.config.as_ref(), &loc);
    }
    f.command = argv(cfg.cmd.as_ref(), &loc);
    f.entrypoint = argv(cfg.entrypoint.as_ref(), &loc);
    f.labels = key_values(cfg.labels.as_ref(), &loc);
    f.sysctls = key_values(hc.sysctls.as_ref(), &loc);
    f.extra_hosts = hc
        .extra_hosts
        .iter()
        .flatten()
        .cloned()
        .map(|v| at.of(v))
        .collect();
    f.init = hc.init.map(|v| at.of(v));
    f.runtime = non_empty(hc.runtime.as_ref()).map(|v| at.of(v));
    f.hostname = non_empty(cfg.hostname.as_ref())
        .filter(|h| !id.starts_with(h.as_str()))
        .map(|v| at.of(v));
    f.group_add = hc
        .group_add
        .iter()
        .flatten()
        .cloned()
        .map(|v| at.of(v))
        .collect();

    let labels = cfg.labels.clone().unwrap_or_default();
    f.live = Some(RuntimeFacts {
        host: names.host.clone(),
        id: id.clone(),
        running,
        status: state
            .status
            .map(|s| s.as_ref().to_string())
            .unwrap_or_default(),
        exit_code: state.exit_code.filter(|_| !running),
        health: state
            .health
            .as_ref()
            .and_then(|h| h.status)
            .map(|s| s.as_ref().to_string())
            .filter(|s| !s.is_empty() && s != "none"),
        restart_count: c.restart_count.unwrap_or(0),
        image_id: c.image.clone().unwrap_or_default(),
        created: c
            .created
            .clone()
            .filter(|t| !t.is_empty() && t != ZERO_TIME),
        started_at: state
            .started_at
            .clone()
            .filter(|t| !t.is_empty() && t != ZERO_TIME),
        user_origin,
        processes: top.map(processes).unwrap_or_default(),
        compose: compose_origin(&labels),
    });
    f
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn positive(n: Option<i64>) -> Option<i64> {
    n.filter(|n| *n > 0)
}

fn bytes(n: i64) -> ByteSize {
    ByteSize {
        raw: n.to_string(),
        bytes: u64::try_from(n).ok(),
    }
}

fn sorted(map: Option<&HashMap<String, String>>) -> Vec<(String, String)> {
    let map: BTreeMap<&String, &String> = map.into_iter().flatten().collect();
    map.into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn key_values(map: Option<&HashMap<String, String>>, loc: &Location) -> Vec<KeyValue> {
    sorted(map)
        .into_iter()
        .map(|(k, v)| KeyValue {
            key: Located::new(k, loc.clone()),
            value: Some(Located::new(v, loc.clone())),
        })
        .collect()
}

fn argv(v: Option<&Vec<String>>, loc: &Location) -> Option<Located<Vec<Located<String>>>> {
    let v = v.filter(|v| !v.is_empty())?;
    Some(Located::new(
        v.iter()
            .map(|w| Located::new(w.clone(), loc.clone()))
            .collect(),
        loc.clone(),
    ))
}

/// Capabilities upper-cased without `CAP_` (the engine stores `CAP_NET_RAW` for `net_raw`),
/// each once.
fn caps(list: Option<&Vec<String>>, loc: &Location) -> Vec<Located<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in list.into_iter().flatten() {
        let c = normalize_cap(c);
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    }
    out.into_iter()
        .map(|c| Located::new(c, loc.clone()))
        .collect()
}

/// Environment variables with their provenance: an entry the image has too (the same
/// `NAME=value`) comes from the image.
pub(crate) fn environment(
    env: Option<&Vec<String>>,
    image_env: Option<&Vec<String>>,
    image_ref: Option<&str>,
    loc: &Location,
) -> Vec<EnvVar> {
    env.into_iter()
        .flatten()
        .map(|entry| {
            let (name, value) = match entry.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (entry.clone(), None),
            };
            let provenance = match (image_env, image_ref) {
                (Some(ie), Some(r)) if ie.contains(entry) => Provenance::Image {
                    image: r.to_string(),
                },
                _ => Provenance::ContainerConfig,
            };
            EnvVar {
                name: Located::new(name, loc.clone()),
                value: value.map(|v| Located::new(v, loc.clone())),
                provenance,
            }
        })
        .collect()
}

/// Formats nanoseconds the way `docker inspect --format` users write durations (`30s`,
/// `1m30s`, `500ms`).
fn duration(ns: i64) -> String {
    if ns % 1_000_000_000 != 0 {
        return format!("{}ms", ns / 1_000_000);
    }
    let s = ns / 1_000_000_000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// A healthcheck; `None` when no test is configured (an empty `Test` inherits, which in an
/// inspect means there is none).
pub(crate) fn healthcheck(h: &HealthConfig, loc: &Location) -> Option<Located<Healthcheck>> {
    let test = h.test.clone().filter(|t| !t.is_empty())?;
    let disabled = test.first().is_some_and(|t| t.eq_ignore_ascii_case("NONE"));
    let at = At(loc);
    Some(at.of(Healthcheck {
        disabled,
        test: Some(at.of(test)),
        interval: positive(h.interval).map(|n| at.of(duration(n))),
        timeout: positive(h.timeout).map(|n| at.of(duration(n))),
        retries: positive(h.retries).map(|v| at.of(v)),
        start_period: positive(h.start_period).map(|n| at.of(duration(n))),
    }))
}

/// Mounts from the resolved `Mounts` list (binds, volumes and tmpfs mounts, stopped containers
/// included); `HostConfig.Binds` only when an engine leaves `Mounts` out.
fn mounts(c: &ContainerInspectResponse, hc: &HostConfig, loc: &Location) -> Vec<Located<Mount>> {
    let long_targets: Vec<String> = hc
        .mounts
        .iter()
        .flatten()
        .filter_map(|m| m.target.clone())
        .collect();
    let syntax = |target: &str| {
        if long_targets.iter().any(|t| t == target) {
            Syntax::Long
        } else {
            Syntax::Short
        }
    };
    let Some(points) = c.mounts.as_ref() else {
        return hc
            .binds
            .iter()
            .flatten()
            .filter_map(|b| bind_string(b))
            .map(|m| Located::new(m, loc.clone()))
            .collect();
    };
    points
        .iter()
        .filter_map(|m| mount_point(m, &syntax))
        .map(|m| Located::new(m, loc.clone()))
        .collect()
}

fn mount_point(m: &MountPoint, syntax: &impl Fn(&str) -> Syntax) -> Option<Mount> {
    let target = m.destination.clone().filter(|d| !d.is_empty())?;
    let typ = m.typ.as_deref().unwrap_or("").to_ascii_lowercase();
    let kind = match typ.as_str() {
        "bind" => MountKind::Bind,
        "tmpfs" => MountKind::Tmpfs,
        "npipe" => MountKind::Npipe,
        "cluster" => MountKind::Cluster,
        "image" => MountKind::Image,
        _ => MountKind::Volume,
    };
    let source = match kind {
        // an anonymous volume (`VOLUME` of the image, `-v /data`) has a random 64-hex name
        MountKind::Volume => m
            .name
            .clone()
            .filter(|n| !(n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))),
        MountKind::Tmpfs => None,
        _ => m.source.clone(),
    }
    .filter(|s| !s.is_empty());
    let mode = m.mode.clone().unwrap_or_default();
    let selinux = mode
        .split(',')
        .find(|o| matches!(*o, "z" | "Z"))
        .map(str::to_string);
    let syntax = syntax(&target);
    Some(Mount {
        kind,
        source,
        target,
        read_only: !m.rw.unwrap_or(true),
        propagation: m.propagation.clone().filter(|p| !p.is_empty()),
        selinux,
        syntax,
    })
}

/// `SOURCE:TARGET[:OPTIONS]` of `HostConfig.Binds`.
fn bind_string(b: &str) -> Option<Mount> {
    let mut parts = b.splitn(3, ':');
    let source = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let opts = parts.next().unwrap_or("");
    let kind = if source.starts_with('/') {
        MountKind::Bind
    } else {
        MountKind::Volume
    };
    let opt = |names: &[&str]| {
        opts.split(',')
            .find(|o| names.contains(o))
            .map(str::to_string)
    };
    Some(Mount {
        kind,
        source: Some(source),
        target,
        read_only: opt(&["ro"]).is_some(),
        propagation: opt(&[
            "shared", "rshared", "slave", "rslave", "private", "rprivate",
        ]),
        selinux: opt(&["z", "Z"]),
        syntax: Syntax::Short,
    })
}

fn port_range(s: &str) -> Option<(u16, u16)> {
    let p: u16 = s.trim().parse().ok()?;
    Some((p, p))
}

/// Published ports. A running container's `NetworkSettings.Ports` has what the engine bound
/// (ephemeral ports resolved, one entry for `0.0.0.0` and one for `::` of a single publish); a
/// stopped one has only `HostConfig.PortBindings`. Entries for `0.0.0.0` and `::` of the same
/// port are one mapping on all interfaces (`host_ip: None`), as is an empty `HostIp`.
pub(crate) fn ports(
    running: bool,
    c: &ContainerInspectResponse,
    hc: &HostConfig,
) -> Vec<PortMapping> {
    let live = c
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .filter(|p| {
            p.values()
                .any(|b| b.as_ref().is_some_and(|b| !b.is_empty()))
        });
    let map: Option<&PortMap> = match (running, live) {
        (true, Some(live)) => Some(live),
        _ => hc.port_bindings.as_ref(),
    };
    let mut keys: Vec<&String> = map.map(|m| m.keys().collect()).unwrap_or_default();
    // `-P` binds every exposed port; those bindings are the `publish_all` fact, not ports of
    // their own (one `-P`, one finding): keep the ports published explicitly
    if hc.publish_all_ports == Some(true) {
        let explicit = hc.port_bindings.as_ref();
        keys.retain(|k| explicit.is_some_and(|e| e.contains_key(*k)));
    }
    keys.sort_by_key(|k| {
        let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
        (port.parse::<u32>().unwrap_or(u32::MAX), proto.to_string())
    });
    let mut out: Vec<PortMapping> = Vec::new();
    for key in keys {
        let (target, protocol) = match key.split_once('/') {
            Some((t, p)) => (t.to_string(), p.to_ascii_lowercase()),
            None => (key.clone(), "tcp".to_string()),
        };
        let bindings: &[PortBinding] = map
            .and_then(|m| m.get(key))
            .and_then(|b| b.as_deref())
            .unwrap_or(&[]);
        // (published, host_ip) pairs in order, the wildcard pair merged
        let mut seen: Vec<(Option<String>, Option<String>)> = Vec::new();
        for b in bindings {
            let published = b.host_port.clone().filter(|p| !p.is_empty());
            let ip = b
                .host_ip
                .as_deref()
                .map(|ip| ip.trim_start_matches('[').trim_end_matches(']'))
                .filter(|ip| !ip.is_empty())
                .map(str::to_string);
            let wildcard = |ip: &Option<String>| matches!(ip.as_deref(), Some("0.0.0.0" | "::"));
            if let Some(prev) = seen.iter_mut().find(|(p, prev_ip)| {
                *p == published && wildcard(prev_ip) && wildcard(&ip) && *prev_ip != ip
            }) {
                prev.1 = None;
                continue;
            }
            if seen
                .iter()
                .any(|(p, i)| *p == published && (*i == ip || i.is_none() && wildcard(&ip)))
            {
                continue;
            }
            seen.push((published, ip));
        }
        for (published, host_ip) in seen {
            out.push(PortMapping {
                host_ip,
                published_range: published.as_deref().and_then(port_range),
                published,
                target_range: port_range(&target),
                target: target.clone(),
                protocol: protocol.clone(),
                mode: None,
                syntax: Syntax::Short,
                published_at: None,
            });
        }
    }
    out
}

/// Processes from `top`: the command column (`CMD` on Linux `ps -ef`, `COMMAND` with other
/// `ps` options), the pid and the user.
fn processes(top: &ContainerTopResponse) -> Vec<Process> {
    let titles = top.titles.clone().unwrap_or_default();
    let col = |names: &[&str]| titles.iter().position(|t| names.contains(&t.as_str()));
    let cmd = col(&["CMD", "COMMAND", "ARGS"]).unwrap_or(titles.len().saturating_sub(1));
    let pid = col(&["PID"]);
    let user = col(&["UID", "USER"]);
    top.processes
        .iter()
        .flatten()
        .map(|row| Process {
            pid: pid.and_then(|i| row.get(i).cloned()),
            user: user.and_then(|i| row.get(i).cloned()),
            command: row.get(cmd).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The compose project from the labels `docker compose` puts on its containers.
pub fn compose_origin<S: std::hash::BuildHasher>(
    labels: &HashMap<String, String, S>,
) -> Option<ComposeOrigin> {
    let project = labels.get("com.docker.compose.project")?.clone();
    let get = |k: &str| labels.get(k).cloned().filter(|v| !v.is_empty());
    Some(ComposeOrigin {
        project,
        service: get("com.docker.compose.service"),
        config_files: get("com.docker.compose.project.config_files")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        working_dir: get("com.docker.compose.project.working_dir"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(30_000_000_000), "30s");
        assert_eq!(duration(90_000_000_000), "1m30s");
        assert_eq!(duration(120_000_000_000), "2m");
        assert_eq!(duration(500_000_000), "500ms");
        assert_eq!(duration(3_600_000_000_000), "1h0m0s");
    }

    #[test]
    fn binds() {
        let m = bind_string("/etc:/host-etc:ro,rshared").unwrap();
        assert_eq!(m.kind, MountKind::Bind);
        assert!(m.read_only);
        assert_eq!(m.propagation.as_deref(), Some("rshared"));
        let m = bind_string("data:/data").unwrap();
        assert_eq!(m.kind, MountKind::Volume);
    }
}
