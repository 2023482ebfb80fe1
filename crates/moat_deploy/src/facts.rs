//! The facts every deploy-time source produces: one [`ContainerFacts`] per compose service or
//! `docker run` command line, [`NetworkFacts`] per compose network and [`DaemonFacts`] per
//! daemon.json. Rules read only these types.
//!
//! Every value is [`Located`]: it carries the [`Location`] of the text it was read from (for a
//! compose value, the YAML scalar or collection; for `docker run`, the shell word or the part
//! after `=`). A value that is absent is `None` (or an empty list); a rule that reports a missing
//! key points at the container's own [`ContainerFacts::location`].

use crate::runtime::{DaemonInfo, DaemonSource, NetworkRuntimeFacts, RuntimeFacts};
use moat_diagnostics::Location;
use serde::Serialize;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located<T> {
    /// The value, after interpolation and normalisation (documented per field).
    pub value: T,
    /// Where the value is written.
    pub location: Location,
    /// The written text contained a variable reference: compose `${VAR}`/`$VAR` (interpolated
    /// from the environment or `.env`), or a shell `$VAR`/`$(…)`/make `$(VAR)` on a command
    /// line. Such a value is never hard-coded. For a compose string split into argv (`command:
    /// sh -c …`), every word of an interpolated string is marked.
    pub interpolated: bool,
}

impl<T> Located<T> {
    /// Wraps `value` written literally at `location`.
    pub fn new(value: T, location: Location) -> Self {
        Self {
            value,
            location,
            interpolated: false,
        }
    }

    /// Wraps `value` written at `location`, saying whether it contained a variable reference.
    pub fn with_flag(value: T, location: Location, interpolated: bool) -> Self {
        Self {
            value,
            location,
            interpolated,
        }
    }

    /// The same location and flag with another value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Located<U> {
        Located {
            value: f(self.value),
            location: self.location,
            interpolated: self.interpolated,
        }
    }
}

/// Which kind of input a container was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A service of a compose file (after merging overrides and `extends`).
    Compose,
    /// A `docker run` / `docker create` command line.
    DockerRun,
    /// A container read from a live Docker engine (its inspect data); see
    /// [`ContainerFacts::live`].
    Engine,
}

/// How a value came to be: what rules need to tell a hard-coded secret from a reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Provenance {
    /// Written literally in the file or on the command line.
    Literal,
    /// Contains a `${VAR}` / `$VAR` reference (compose interpolation, or a shell variable on a
    /// command line); never hard-coded. The value is the interpolated one (compose) or the raw
    /// text with the reference (docker run, scripts).
    Interpolated,
    /// Read from an env file (compose `env_file`); the location is the line in that file.
    EnvFile {
        /// Path of the env file, as resolved from the compose file's directory.
        path: String,
    },
    /// Only a name (`- FOO` in compose, `-e FOO` on a command line): the value is taken from
    /// the host environment at deploy time.
    HostEnv,
    /// Set in a live container's configuration when it was created (`docker run -e`, compose
    /// `environment:` or an env file: the engine no longer tells which). The value is what the
    /// container has; the location is the container object.
    ContainerConfig,
    /// Inherited from the image's `ENV` by a live container (the same `NAME=value` is in the
    /// image's configuration). The image's own [`crate::ImageFacts::env`] has it too, so a rule about
    /// secrets should judge it there once rather than again for every container.
    Image {
        /// The image as the container names it (`Config.Image`).
        image: String,
    },
}

/// One environment variable of a container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvVar {
    /// Variable name (location: the name as written).
    pub name: Located<String>,
    /// Value; `None` for [`Provenance::HostEnv`] when the host has no such variable, and for
    /// compose `FOO:` (null). Location: the value as written (or the whole entry).
    pub value: Option<Located<String>>,
    /// Where the value comes from.
    pub provenance: Provenance,
}

/// A `key=value` pair (labels, log options, sysctls, driver options).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyValue {
    /// Key.
    pub key: Located<String>,
    /// Value, when one is given.
    pub value: Option<Located<String>>,
}

/// Syntax a value was written in (helps rules write fixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Syntax {
    /// Compose short syntax (`"8080:80"`, `./data:/data:ro`) or `docker run -p`/`-v`.
    Short,
    /// Compose long syntax (a mapping with `target:` …) or `docker run --mount`.
    Long,
}

/// A parsed `security_opt` / `--security-opt` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum SecurityOptKind {
    /// `seccomp=PROFILE` (or `seccomp:PROFILE`); `unconfined` disables seccomp.
    Seccomp(String),
    /// `apparmor=PROFILE`; `unconfined` disables AppArmor.
    Apparmor(String),
    /// `label=…` (SELinux): `disable`, `user:…`, `role:…`, `type:…`, `level:…`.
    Label(String),
    /// `no-new-privileges`, `no-new-privileges=true|false` (also with `:`).
    NoNewPrivileges(bool),
    /// `systempaths=unconfined` and anything else, kept raw.
    Other(String),
}

/// One security option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityOpt {
    /// Parsed meaning.
    pub kind: SecurityOptKind,
    /// As written (after interpolation).
    pub raw: String,
}

/// Mount type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountKind {
    /// A host path (short syntax with a source starting with `/`, `.`, `~` or a drive letter).
    Bind,
    /// A named or anonymous volume.
    Volume,
    /// A tmpfs mount.
    Tmpfs,
    /// A Windows named pipe.
    Npipe,
    /// A cluster volume.
    Cluster,
    /// An image mount.
    Image,
}

/// One mount of a container (`volumes:`, `-v`, `--mount`). `tmpfs:` / `--tmpfs` entries are in
/// [`ContainerFacts::tmpfs`], not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// Type.
    pub kind: MountKind,
    /// Host path or volume name as written (after interpolation; `~` and relative paths are
    /// not resolved); `None` for anonymous volumes and tmpfs.
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Mounted read-only (`ro`, `readonly`, `read_only: true`).
    pub read_only: bool,
    /// Bind propagation (`shared`, `rshared`, `slave`, `rslave`, `private`, `rprivate`).
    pub propagation: Option<String>,
    /// SELinux relabel option (`z` or `Z`).
    pub selinux: Option<String>,
    /// Short or long syntax.
    pub syntax: Syntax,
}

/// One device mapping (`devices:`, `--device`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Host device path (or CDI name).
    pub host: String,
    /// Path in the container, when different.
    pub container: Option<String>,
    /// Cgroup permissions (`rwm`), when given.
    pub permissions: Option<String>,
}

/// One published port (`ports:`, `-p`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Host interface (`127.0.0.1`, `::1`, `0.0.0.0`); `None` means all interfaces. IPv6
    /// addresses are given without brackets.
    pub host_ip: Option<String>,
    /// Host port or range as written (`8080`, `8000-8010`); `None` means an ephemeral port.
    pub published: Option<String>,
    /// First and last host port, when `published` is numeric.
    pub published_range: Option<(u16, u16)>,
    /// Container port or range as written.
    pub target: String,
    /// First and last container port, when numeric.
    pub target_range: Option<(u16, u16)>,
    /// `tcp` (default), `udp` or `sctp`.
    pub protocol: String,
    /// Long syntax `mode:` (`host` or `ingress`).
    pub mode: Option<String>,
    /// Short or long syntax.
    pub syntax: Syntax,
    /// Long syntax: where `published:` is written (the entry's own location covers the
    /// short syntax).
    pub published_at: Option<Location>,
}

/// A reference from a service to a secret or config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// Name of the top-level secret/config.
    pub source: String,
    /// File name or path in the container, when given.
    pub target: Option<String>,
    /// Owner uid, when given.
    pub uid: Option<String>,
    /// Owner gid, when given.
    pub gid: Option<String>,
    /// File mode, as written.
    pub mode: Option<String>,
}

/// A memory size (`512m`, `1g`, `1073741824`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ByteSize {
    /// As written.
    pub raw: String,
    /// In bytes, when the text parses (`b`, `k`, `m`, `g`, `t` suffixes, optional `b`/`ib`).
    pub bytes: Option<u64>,
}

/// A CPU limit (`0.5`, `"2"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuLimit {
    /// As written.
    pub raw: String,
    /// Number of CPUs, when the text parses.
    pub cpus: Option<f64>,
}

/// One ulimit (`nofile: {soft: 1024, hard: 2048}`, `nproc: 65535`, `--ulimit nofile=1024:2048`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    /// Resource name (`nofile`, `nproc`, `core`, …).
    pub name: String,
    /// Soft limit as written (`-1` for unlimited).
    pub soft: Option<i64>,
    /// Hard limit.
    pub hard: Option<i64>,
}

/// Resource limits. Each value is located at the key it came from: `deploy.resources.limits`,
/// the legacy `mem_limit`/`cpus`/`pids_limit`/`cpu_quota`, or `--memory`/`--cpus`/….
/// When both a `deploy.resources.limits` value and a legacy key are set, the deploy one is kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Resources {
    /// Memory limit.
    pub memory: Option<Located<ByteSize>>,
    /// Memory reservation (soft limit).
    pub memory_reservation: Option<Located<ByteSize>>,
    /// Memory + swap limit (`memswap_limit`, `--memory-swap`).
    pub memory_swap: Option<Located<ByteSize>>,
    /// CPU limit (`cpus`; also derived from `cpu_quota`/`cpu_period` is NOT done: see
    /// [`Resources::cpu_quota`]).
    pub cpus: Option<Located<CpuLimit>>,
    /// `cpu_shares` / `--cpu-shares` (relative weight, not a limit).
    pub cpu_shares: Option<Located<i64>>,
    /// `cpu_quota` / `--cpu-quota` (microseconds per period; a CPU limit too).
    pub cpu_quota: Option<Located<i64>>,
    /// `cpuset` / `--cpuset-cpus`.
    pub cpuset: Option<Located<String>>,
    /// Pids limit (`-1` or `0` mean unlimited).
    pub pids: Option<Located<i64>>,
    /// Ulimits.
    pub ulimits: Vec<Located<Ulimit>>,
}

/// A restart policy (`restart:`, `deploy.restart_policy`, `--restart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartPolicy {
    /// `no`, `always`, `on-failure`, `unless-stopped` (from `restart`/`--restart`), or the
    /// `deploy.restart_policy.condition` (`none`, `on-failure`, `any`; `any` when absent).
    pub name: String,
    /// `on-failure:N` or `max_attempts`, located at the number.
    pub max_retries: Option<Located<u32>>,
}

/// A healthcheck (`healthcheck:`, `--health-*`, `--no-healthcheck`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    /// `disable: true`, `test: ["NONE"]` or `--no-healthcheck`.
    pub disabled: bool,
    /// Test command as written: `["CMD", …]`, `["CMD-SHELL", "…"]` or a string (given as
    /// `["CMD-SHELL", string]`).
    pub test: Option<Located<Vec<String>>>,
    /// Interval, as written.
    pub interval: Option<Located<String>>,
    /// Timeout, as written.
    pub timeout: Option<Located<String>>,
    /// Retries.
    pub retries: Option<Located<i64>>,
    /// Start period, as written.
    pub start_period: Option<Located<String>>,
}

/// Logging configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Logging {
    /// `logging.driver` / `--log-driver`.
    pub driver: Option<Located<String>>,
    /// `logging.options` / `--log-opt`.
    pub options: Vec<KeyValue>,
}

/// Everything a rule may ask about one container, from any source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerFacts {
    /// Service name (compose) or `--name` / the image (docker run).
    pub name: String,
    /// Compose service or docker run.
    pub source_kind: SourceKind,
    /// The service key (compose) or the whole command line (docker run): where findings about
    /// missing keys point.
    pub location: Location,
    /// `image:` / the image argument, after interpolation.
    pub image: Option<Located<String>>,
    /// `build:` context (string form or `build.context`; `.` when a mapping has no context).
    pub build: Option<Located<String>>,
    /// `container_name` / `--name`.
    pub container_name: Option<Located<String>>,
    /// `user:` / `-u`.
    pub user: Option<Located<String>>,
    /// `privileged:` / `--privileged`.
    pub privileged: Option<Located<bool>>,
    /// `cap_add:` / `--cap-add`, upper-cased with any `CAP_` prefix removed (`ALL` kept).
    pub cap_add: Vec<Located<String>>,
    /// `cap_drop:` / `--cap-drop`, normalised like `cap_add`.
    pub cap_drop: Vec<Located<String>>,
    /// `security_opt:` / `--security-opt`.
    pub security_opt: Vec<Located<SecurityOpt>>,
    /// `read_only:` / `--read-only`.
    pub read_only: Option<Located<bool>>,
    /// `tmpfs:` / `--tmpfs` entries as written (`/run:size=64m`).
    pub tmpfs: Vec<Located<String>>,
    /// `volumes:` / `-v` / `--mount` (tmpfs mounts of the long syntax included, kind `Tmpfs`).
    pub mounts: Vec<Located<Mount>>,
    /// `volumes_from:` / `--volumes-from`.
    pub volumes_from: Vec<Located<String>>,
    /// `devices:` / `--device`.
    pub devices: Vec<Located<Device>>,
    /// `pid:` / `--pid` (`host`, `container:…`, `service:…`).
    pub pid: Option<Located<String>>,
    /// `ipc:` / `--ipc` (`host`, `shareable`, `private`, `container:…`).
    pub ipc: Option<Located<String>>,
    /// `uts:` / `--uts`.
    pub uts: Option<Located<String>>,
    /// `userns_mode:` / `--userns` (`host` disables user namespace remapping).
    pub userns: Option<Located<String>>,
    /// `network_mode:` / `--network` when it is a mode (`host`, `none`, `bridge`, `default`,
    /// `container:…`, `service:…`); user-defined networks are in [`ContainerFacts::networks`].
    pub network_mode: Option<Located<String>>,
    /// `cgroup:` / `--cgroupns` (`host` or `private`).
    pub cgroup: Option<Located<String>>,
    /// `cgroup_parent:` / `--cgroup-parent`.
    pub cgroup_parent: Option<Located<String>>,
    /// `ports:` / `-p`.
    pub ports: Vec<Located<PortMapping>>,
    /// `-P` / `--publish-all`.
    pub publish_all: Option<Located<bool>>,
    /// `expose:` / `--expose` (not published), as written.
    pub expose: Vec<Located<String>>,
    /// Networks the container joins by name (`networks:` list or mapping keys, `--network NAME`).
    /// Empty in compose means the project's implicit `default` network (a user-defined bridge);
    /// empty for docker run means Docker's default `bridge` (docker0) unless `network_mode` says
    /// otherwise.
    pub networks: Vec<Located<String>>,
    /// `environment:`, `env_file:` and `-e`, in order; a later entry of the same name wins at
    /// run time (compose: `environment` wins over `env_file`, as docker compose does).
    pub environment: Vec<EnvVar>,
    /// `env_file:` / `--env-file` paths as written.
    pub env_files: Vec<Located<String>>,
    /// `secrets:` references.
    pub secrets: Vec<Located<SecretRef>>,
    /// `configs:` references.
    pub configs: Vec<Located<SecretRef>>,
    /// Resource limits.
    pub resources: Resources,
    /// `restart:` / `--restart`.
    pub restart: Option<Located<RestartPolicy>>,
    /// `deploy.restart_policy` (compose only).
    pub deploy_restart_policy: Option<Located<RestartPolicy>>,
    /// `healthcheck:` / `--health-*` / `--no-healthcheck`; `None` when nothing is said (the
    /// image's HEALTHCHECK, if any, applies).
    pub healthcheck: Option<Located<Healthcheck>>,
    /// Logging.
    pub logging: Logging,
    /// `command:` / the arguments after the image, as argv (a compose string is shell-split).
    pub command: Option<Located<Vec<Located<String>>>>,
    /// `entrypoint:` / `--entrypoint`, as argv.
    pub entrypoint: Option<Located<Vec<Located<String>>>>,
    /// `labels:` / `-l`.
    pub labels: Vec<KeyValue>,
    /// `profiles:` (compose).
    pub profiles: Vec<Located<String>>,
    /// `sysctls:` / `--sysctl`.
    pub sysctls: Vec<KeyValue>,
    /// `extra_hosts:` / `--add-host`, as written.
    pub extra_hosts: Vec<Located<String>>,
    /// `depends_on:` service names (compose).
    pub depends_on: Vec<Located<String>>,
    /// `init:` / `--init`.
    pub init: Option<Located<bool>>,
    /// `runtime:` / `--runtime`.
    pub runtime: Option<Located<String>>,
    /// `hostname:` / `-h`.
    pub hostname: Option<Located<String>>,
    /// `group_add:` / `--group-add`.
    pub group_add: Vec<Located<String>>,
    /// `-d`, `--rm`, `-i`, `-t` and similar run-only switches that were given (docker run).
    pub run_switches: Vec<Located<String>>,
    /// Settings whose values are unknown because they need an input that is not available (an
    /// unset variable): such a setting is left out of the fields above when its value cannot
    /// be read without the input (a boolean, a number, a size, a port…); a text value stays,
    /// marked [`Located::interpolated`]. See [`ContainerFacts::assuming`].
    pub unknown: Vec<UnknownSetting>,
    /// A compose service with neither `image` nor `build` (after `extends`): a fragment of an
    /// overlay file (`compose.prod.yaml` adding labels to a service its base file defines),
    /// read without that base. Only what it sets is known: a missing key says nothing about
    /// the container, so findings about missing keys do not apply to it.
    pub partial: bool,
    /// What only a live engine knows about the container (state, processes, image id, the
    /// engine host); `None` for compose services and command lines.
    pub live: Option<RuntimeFacts>,
}

/// `value`, standing for an unknown value written at `location`.
fn unknown_at<T>(location: &Location, value: T) -> Located<T> {
    Located::with_flag(value, location.clone(), true)
}

/// A setting whose value is unknown (compose: it needs a variable that is not set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownSetting {
    /// The key, as a compose path below the service (`read_only`, `ports`,
    /// `deploy.resources.limits.memory`).
    pub key: String,
    /// Where the value is written.
    pub location: Location,
}

/// Which way [`ContainerFacts::assuming`] fills unknown settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assume {
    /// Each unknown setting at its least safe value (`privileged: true`, `read_only: false`,
    /// limits of 0, which mean none).
    Worst,
    /// Each unknown setting at a safe value (`privileged: false`, `read_only: true`, limits
    /// set).
    Best,
}

impl ContainerFacts {
    /// Empty facts for a container at `location`.
    pub fn new(name: impl Into<String>, source_kind: SourceKind, location: Location) -> Self {
        Self {
            name: name.into(),
            source_kind,
            location,
            image: None,
            build: None,
            container_name: None,
            user: None,
            privileged: None,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            security_opt: Vec::new(),
            read_only: None,
            tmpfs: Vec::new(),
            mounts: Vec::new(),
            volumes_from: Vec::new(),
            devices: Vec::new(),
            pid: None,
            ipc: None,
            uts: None,
            userns: None,
            network_mode: None,
            cgroup: None,
            cgroup_parent: None,
            ports: Vec::new(),
            publish_all: None,
            expose: Vec::new(),
            networks: Vec::new(),
            environment: Vec::new(),
            env_files: Vec::new(),
            secrets: Vec::new(),
            configs: Vec::new(),
            resources: Resources::default(),
            restart: None,
            deploy_restart_policy: None,
            healthcheck: None,
            logging: Logging::default(),
            command: None,
            entrypoint: None,
            labels: Vec::new(),
            profiles: Vec::new(),
            sysctls: Vec::new(),
            extra_hosts: Vec::new(),
            depends_on: Vec::new(),
            init: None,
            runtime: None,
            hostname: None,
            group_add: Vec::new(),
            run_switches: Vec::new(),
            unknown: Vec::new(),
            partial: false,
            live: None,
        }
    }

    /// These facts with every unknown setting that has a safe and an unsafe value filled in
    /// `assume`'s way (located at the unknown value, marked interpolated). A judgement that is
    /// the same under [`Assume::Worst`] and [`Assume::Best`] does not depend on what is
    /// unknown; one that differs must not be made.
    #[must_use]
    pub fn assuming(&self, assume: Assume) -> ContainerFacts {
        let worst = assume == Assume::Worst;
        let mut f = self.clone();
        for u in &self.unknown {
            let size = |raw: &str, bytes| ByteSize {
                raw: raw.into(),
                bytes: Some(bytes),
            };
            let r = &mut f.resources;
            match u.key.as_str() {
                "privileged" => f.privileged = Some(unknown_at(&u.location, worst)),
                "read_only" => f.read_only = Some(unknown_at(&u.location, !worst)),
                "init" => f.init = Some(unknown_at(&u.location, !worst)),
                "mem_limit" | "deploy.resources.limits.memory" => {
                    r.memory = r.memory.take().or_else(|| {
                        Some(unknown_at(
                            &u.location,
                            if worst {
                                size("0", 0)
                            } else {
                                size("1g", 1 << 30)
                            },
                        ))
                    });
                }
                "mem_reservation" | "deploy.resources.reservations.memory" => {
                    r.memory_reservation = r.memory_reservation.take().or_else(|| {
                        Some(unknown_at(
                            &u.location,
                            if worst {
                                size("0", 0)
                            } else {
                                size("512m", 1 << 29)
                            },
                        ))
                    });
                }
                "memswap_limit" => {
                    r.memory_swap = r.memory_swap.take().or_else(|| {
                        Some(unknown_at(
                            &u.location,
                            if worst {
                                size("-1", 0)
                            } else {
                                size("1g", 1 << 30)
                            },
                        ))
                    });
                }
                "cpus" | "deploy.resources.limits.cpus" => {
                    r.cpus = r.cpus.take().or_else(|| {
                        let (raw, cpus) = if worst { ("0", 0.0) } else { ("1", 1.0) };
                        Some(unknown_at(
                            &u.location,
                            CpuLimit {
                                raw: raw.into(),
                                cpus: Some(cpus),
                            },
                        ))
                    });
                }
                "pids_limit" | "deploy.resources.limits.pids" => {
                    r.pids = r
                        .pids
                        .take()
                        .or_else(|| Some(unknown_at(&u.location, if worst { -1 } else { 100 })));
                }
                "restart" => {
                    f.restart = f.restart.take().or_else(|| {
                        Some(unknown_at(
                            &u.location,
                            RestartPolicy {
                                name: if worst { "on-failure" } else { "no" }.into(),
                                max_retries: worst.then(|| unknown_at(&u.location, u32::MAX)),
                            },
                        ))
                    });
                }
                _ => {}
            }
        }
        f
    }

    /// The effective value of environment variable `name` (the last entry wins).
    pub fn env(&self, name: &str) -> Option<&EnvVar> {
        self.environment.iter().rev().find(|e| e.name.value == name)
    }
}

/// A compose network (top-level `networks:` entry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkFacts {
    /// Key under `networks:` (location: the key).
    pub name: Located<String>,
    /// `driver:`.
    pub driver: Option<Located<String>>,
    /// `internal:`.
    pub internal: Option<Located<bool>>,
    /// `attachable:`.
    pub attachable: Option<Located<bool>>,
    /// `external:` (`true`, or a legacy `external: {name: …}` mapping counts as true).
    pub external: Option<Located<bool>>,
    /// `enable_ipv6:`.
    pub enable_ipv6: Option<Located<bool>>,
    /// `driver_opts:` (e.g. `com.docker.network.bridge.enable_icc`).
    pub driver_opts: Vec<KeyValue>,
    /// The network's key (same as `name.location`).
    pub location: Location,
    /// What only a live engine knows about the network; `None` for compose networks.
    pub live: Option<NetworkRuntimeFacts>,
}

/// A top-level `secrets:` or `configs:` definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretDef {
    /// Key (location: the key).
    pub name: Located<String>,
    /// `file:`.
    pub file: Option<Located<String>>,
    /// `environment:` (secret taken from a host variable).
    pub environment: Option<Located<String>>,
    /// `content:` (configs only; a literal value in the compose file).
    pub content: Option<Located<String>>,
    /// `external:`.
    pub external: Option<Located<bool>>,
}

/// A top-level named volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeDef {
    /// Key (location: the key).
    pub name: Located<String>,
    /// `driver:`.
    pub driver: Option<Located<String>>,
    /// `driver_opts:` (a local driver with `o: bind` and `device:` is a bind mount in disguise).
    pub driver_opts: Vec<KeyValue>,
    /// `external:`.
    pub external: Option<Located<bool>>,
}

/// An input a compose project refers to that is not available where it is read: `docker
/// compose` would stop there, an audit goes on with the values that come from it unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnavailableInput {
    /// What is missing.
    pub kind: UnavailableKind,
    /// The env file as written, or the variable's name.
    pub name: String,
    /// The message of `${VAR:?message}`, when it has one.
    pub detail: Option<String>,
    /// Where it is referred to: the `env_file` entry, or the first value that needs the
    /// variable.
    pub location: Location,
}

/// The kinds of [`UnavailableInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnavailableKind {
    /// An `env_file` that cannot be read (commonly a git-ignored `.env`); an entry marked
    /// `required: false` is not one.
    EnvFile,
    /// A variable that is not set, needed without a default (`${VAR}`, `$VAR`) or required
    /// (`${VAR:?message}`, `${VAR?}`).
    Variable,
}

/// A loaded compose project: the files merged in order, then `extends` resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComposeProject {
    /// The compose files, in merge order.
    pub paths: Vec<String>,
    /// Top-level `name:`.
    pub name: Option<Located<String>>,
    /// One entry per service, in file order (services of later files appended).
    pub services: Vec<ContainerFacts>,
    /// Top-level networks.
    pub networks: Vec<NetworkFacts>,
    /// Top-level named volumes.
    pub volumes: Vec<VolumeDef>,
    /// Top-level secrets.
    pub secrets: Vec<SecretDef>,
    /// Top-level configs.
    pub configs: Vec<SecretDef>,
    /// Inputs the project refers to that are not available, one per env file or variable, in
    /// the order of their locations.
    pub unavailable: Vec<UnavailableInput>,
}

impl ComposeProject {
    /// The images the project builds: the `image:` of every service with `build:` (compose
    /// tags the built image with it), and, when the project has a `name:`, the names compose
    /// gives the images of services built without one (`NAME-SERVICE`, and `NAME_SERVICE` as
    /// Compose v1 spelled them). Another service that runs one of these images runs what the
    /// project built, not an image pulled from a registry.
    pub fn built_images(&self) -> Vec<String> {
        let project = self
            .name
            .as_ref()
            .map(|n| n.value.to_ascii_lowercase())
            .filter(|n| !n.is_empty());
        let mut out = Vec::new();
        for s in self.services.iter().filter(|s| s.build.is_some()) {
            match (&s.image, &project) {
                (Some(image), _) => out.push(image.value.clone()),
                (None, Some(p)) => {
                    out.push(format!("{p}-{}", s.name));
                    out.push(format!("{p}_{}", s.name));
                }
                (None, None) => {}
            }
        }
        out
    }
}

/// One value of daemon.json, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Located<JsonValue>>),
    /// An object, in file order.
    Object(Vec<(Located<String>, Located<JsonValue>)>),
}

/// The settings of a Docker daemon configuration file (daemon.json). A key that is absent is
/// `None`/empty (the daemon default applies). Values are located at the value; `keys` has the
/// key locations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaemonFacts {
    /// The file.
    pub path: String,
    /// The top-level object (from its `{` to its `}`): where findings about missing keys point.
    pub location: Location,
    /// `hosts` (`unix:///…`, `tcp://0.0.0.0:2375`, `fd://`).
    pub hosts: Vec<Located<String>>,
    /// `tls`.
    pub tls: Option<Located<bool>>,
    /// `tlsverify`.
    pub tlsverify: Option<Located<bool>>,
    /// `tlscacert`.
    pub tlscacert: Option<Located<String>>,
    /// `tlscert`.
    pub tlscert: Option<Located<String>>,
    /// `tlskey`.
    pub tlskey: Option<Located<String>>,
    /// `userns-remap`.
    pub userns_remap: Option<Located<String>>,
    /// `icc`.
    pub icc: Option<Located<bool>>,
    /// `live-restore`.
    pub live_restore: Option<Located<bool>>,
    /// `no-new-privileges`.
    pub no_new_privileges: Option<Located<bool>>,
    /// `userland-proxy`.
    pub userland_proxy: Option<Located<bool>>,
    /// `iptables`.
    pub iptables: Option<Located<bool>>,
    /// `insecure-registries`.
    pub insecure_registries: Vec<Located<String>>,
    /// `log-driver`.
    pub log_driver: Option<Located<String>>,
    /// `log-level`.
    pub log_level: Option<Located<String>>,
    /// `default-ulimits` (`{"nofile": {"Name": "nofile", "Soft": 64000, "Hard": 64000}}`).
    pub default_ulimits: Vec<Located<Ulimit>>,
    /// `seccomp-profile` (`unconfined` disables seccomp).
    pub seccomp_profile: Option<Located<String>>,
    /// `experimental`.
    pub experimental: Option<Located<bool>>,
    /// `cgroup-parent`.
    pub cgroup_parent: Option<Located<String>>,
    /// `authorization-plugins`.
    pub authorization_plugins: Vec<Located<String>>,
    /// `storage-driver`.
    pub storage_driver: Option<Located<String>>,
    /// Every top-level key with its value, known ones included, in file order.
    pub keys: Vec<(Located<String>, Located<JsonValue>)>,
    /// Where the facts were read: a daemon.json file, a running daemon's `/info` (then `path`
    /// is the `daemon:HOST` object and a `None` value is unknown rather than unset), or a
    /// `dockerd` command line.
    pub source: DaemonSource,
    /// What a running daemon reports about itself; `None` for daemon.json.
    pub info: Option<DaemonInfo>,
}
