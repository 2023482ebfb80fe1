//! Facts that only a running Docker engine gives: the state and processes of a container, the
//! images it has, what a network looks like once created and what the daemon reports about
//! itself. The live source (`moat_engine`) fills these next to the shared fields of
//! [`ContainerFacts`], [`NetworkFacts`] and [`DaemonFacts`]; the compose, `docker run` and
//! daemon.json sources leave them empty.
//!
//! Engine objects have no file: their values are located at the object
//! ([`moat_diagnostics::Location::object`], named `container:NAME`, `image:REF`,
//! `network:NAME` or `daemon:HOST`).

use crate::facts::DaemonFacts;
#[cfg(doc)]
use crate::facts::{ContainerFacts, NetworkFacts};
use crate::facts::{EnvVar, Healthcheck, KeyValue, Located};
use moat_diagnostics::Location;
use serde::Serialize;

/// Where the user a live container runs as was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserOrigin {
    /// Set for the container (`docker run -u`, compose `user:`), different from the image's.
    Container,
    /// The image's `USER` (the container set none, or the same one).
    Image,
    /// Neither the container nor the image names a user: the engine runs the process as root
    /// (the fact's `user` then says `root`).
    Default,
}

/// One process of a running container, as `docker top` lists it (read without `exec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Process id on the host (`PID` column), when listed.
    pub pid: Option<String>,
    /// User name or uid on the host (`UID` or `USER` column), when listed.
    pub user: Option<String>,
    /// The command line (`CMD` or `COMMAND` column), argv joined by spaces.
    pub command: String,
}

/// The compose project a live container was created by, from the labels `docker compose` sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComposeOrigin {
    /// `com.docker.compose.project`.
    pub project: String,
    /// `com.docker.compose.service`.
    pub service: Option<String>,
    /// `com.docker.compose.project.config_files`, split at commas.
    pub config_files: Vec<String>,
    /// `com.docker.compose.project.working_dir`.
    pub working_dir: Option<String>,
}

/// What only a live engine knows about a container: [`ContainerFacts::live`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuntimeFacts {
    /// The engine host the container was read from, as given (`unix:///var/run/docker.sock`,
    /// `tcp://10.0.0.5:2376`): tells containers of several hosts apart.
    pub host: String,
    /// Full container id.
    pub id: String,
    /// `State.Running`.
    pub running: bool,
    /// `State.Status` (`created`, `running`, `paused`, `restarting`, `exited`, `dead`).
    pub status: String,
    /// `State.ExitCode` of a container that has stopped.
    pub exit_code: Option<i64>,
    /// `State.Health.Status` (`starting`, `healthy`, `unhealthy`) when a healthcheck runs.
    pub health: Option<String>,
    /// `RestartCount`.
    pub restart_count: i64,
    /// Id of the image the container was created from (`sha256:…`).
    pub image_id: String,
    /// Creation time (RFC 3339, as the engine gives it).
    pub created: Option<String>,
    /// Last start time; `None` for a container never started.
    pub started_at: Option<String>,
    /// Where the user of [`ContainerFacts::user`] was set.
    pub user_origin: UserOrigin,
    /// The processes of a running container (`top`); empty for a stopped one.
    pub processes: Vec<Process>,
    /// The compose project that created the container, when its labels say so.
    pub compose: Option<ComposeOrigin>,
}

/// A network as a live engine has it: [`NetworkFacts::live`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkRuntimeFacts {
    /// The engine host, as given.
    pub host: String,
    /// Network id.
    pub id: String,
    /// `local`, `swarm` or `global`.
    pub scope: Option<String>,
    /// IPAM subnets (`172.17.0.0/16`).
    pub subnets: Vec<String>,
    /// Names of the containers attached (running ones only: the engine lists no others).
    pub containers: Vec<String>,
    /// Labels.
    pub labels: Vec<KeyValue>,
    /// One of Docker's predefined networks (`bridge`, `host`, `none`).
    pub predefined: bool,
}

/// One layer of an image's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageLayer {
    /// The instruction that made it (`CreatedBy`: `/bin/sh -c #(nop)  ENV …`, `RUN …`).
    pub created_by: String,
    /// Creation time (RFC 3339), when known.
    pub created: Option<String>,
    /// The instruction changed only metadata (`ENV`, `CMD`…): no filesystem layer.
    pub empty_layer: bool,
    /// `Comment`, when given.
    pub comment: Option<String>,
}

/// An image, from its configuration and history (`docker image inspect`, `docker history`).
/// Values are located at the image object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageFacts {
    /// A readable reference: the first tag, else `<repo>@<digest>`, else the short id.
    pub reference: String,
    /// `RepoTags`.
    pub tags: Vec<String>,
    /// `RepoDigests`.
    pub digests: Vec<String>,
    /// Image id (`sha256:…`).
    pub id: String,
    /// Creation time (RFC 3339), when known.
    pub created: Option<String>,
    /// `Config.User`; `None` when empty (the image runs as root).
    pub user: Option<Located<String>>,
    /// `Config.Env`, provenance [`crate::Provenance::Image`].
    pub env: Vec<EnvVar>,
    /// `Config.Healthcheck`; `None` when the image has none.
    pub healthcheck: Option<Located<Healthcheck>>,
    /// `Config.ExposedPorts` (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// `Config.Volumes` (paths).
    pub volumes: Vec<String>,
    /// `Config.Entrypoint`.
    pub entrypoint: Option<Vec<String>>,
    /// `Config.Cmd`.
    pub cmd: Option<Vec<String>>,
    /// `Config.WorkingDir`, when set.
    pub working_dir: Option<String>,
    /// `Config.Labels`.
    pub labels: Vec<KeyValue>,
    /// History, oldest layer first.
    pub history: Vec<ImageLayer>,
    /// `Os`/`Architecture` (`linux/amd64`), when given.
    pub platform: Option<String>,
    /// Size in bytes, when given.
    pub size: Option<i64>,
    /// The engine host, as given.
    pub host: String,
    /// The image object: where findings about the image point.
    pub location: Location,
}

/// Where a [`DaemonFacts`] was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DaemonSource {
    /// A daemon.json file: every value is located in it, a missing key means the daemon's
    /// default.
    #[default]
    DaemonJson,
    /// A running daemon's `/info` (and its default bridge network): the values in force,
    /// whether set in daemon.json or on the `dockerd` command line; located at the
    /// `daemon:HOST` object. Settings `/info` does not report (`iptables`, `userland-proxy`,
    /// `default-ulimits`, the daemon's own TLS files) stay `None`/empty: unknown, not unset.
    EngineInfo,
    /// A `dockerd` command line (flags), located at the words.
    CommandLine,
    /// A local daemon's `/info` completed with its command line and its daemon.json: every
    /// setting is known (an absent one is the daemon's default).
    LocalDaemon,
}

/// What a running daemon reports about itself (`/info`, `/version`) beyond the settings that
/// daemon.json has too: [`DaemonFacts::info`]. Those settings (`live-restore`, the storage and
/// logging drivers, `no-new-privileges`, the seccomp profile, insecure registries,
/// authorization plugins, `experimental`, `debug` as `log-level`) are in the shared fields of
/// [`DaemonFacts`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DaemonInfo {
    /// The engine host it was read through, as given.
    pub host: String,
    /// `Name` (the daemon's host name).
    pub name: Option<String>,
    /// `ID`.
    pub id: Option<String>,
    /// Engine version (`/version` `Version`).
    pub server_version: Option<String>,
    /// Highest API version the daemon speaks.
    pub api_version: Option<String>,
    /// Lowest API version the daemon accepts.
    pub min_api_version: Option<String>,
    /// The API version the facts were read with.
    pub negotiated_api_version: Option<String>,
    /// `OperatingSystem` (`Debian GNU/Linux 12 (bookworm)`, `Docker Desktop`).
    pub operating_system: Option<String>,
    /// `KernelVersion`.
    pub kernel_version: Option<String>,
    /// `OSType`/`Architecture` (`linux/x86_64`).
    pub platform: Option<String>,
    /// `SecurityOptions` as reported (`name=seccomp,profile=default`, `name=rootless`).
    pub security_options: Vec<String>,
    /// Rootless mode (`name=rootless`).
    pub rootless: bool,
    /// User namespace remapping (`name=userns`).
    pub userns: bool,
    /// SELinux support enabled (`name=selinux`).
    pub selinux: bool,
    /// AppArmor available (`name=apparmor`).
    pub apparmor: bool,
    /// `CgroupDriver` (`cgroupfs`, `systemd`, `none`).
    pub cgroup_driver: Option<String>,
    /// `CgroupVersion` (`1`, `2`).
    pub cgroup_version: Option<String>,
    /// `RegistryConfig.Mirrors`.
    pub registry_mirrors: Vec<String>,
    /// `Swarm.LocalNodeState` (`inactive`, `active`, `pending`, `error`, `locked`).
    pub swarm: Option<String>,
    /// `DefaultRuntime`.
    pub default_runtime: Option<String>,
    /// Names of `Runtimes`.
    pub runtimes: Vec<String>,
    /// `Warnings` (e.g. an unencrypted TCP socket, missing kernel features).
    pub warnings: Vec<String>,
    /// `DockerRootDir`.
    pub root_dir: Option<String>,
}

impl DaemonFacts {
    /// Completes a live daemon's facts (read from `/info`) with a daemon.json of the same
    /// daemon: a setting `/info` does not report (`userland-proxy`, `iptables`,
    /// `default-ulimits`, TLS files, and before Engine 24 `no-new-privileges`) is taken from the
    /// file, located at its line there; what `/info` reports stays (it is what is in force).
    pub fn fill_from_file(&mut self, file: &DaemonFacts) {
        fn fill<T: Clone>(live: &mut Option<T>, file: Option<&T>) {
            if live.is_none() {
                *live = file.cloned();
            }
        }
        fn fill_list<T: Clone>(live: &mut Vec<T>, file: &[T]) {
            if live.is_empty() {
                *live = file.to_vec();
            }
        }
        fill_list(&mut self.hosts, &file.hosts);
        fill(&mut self.tls, file.tls.as_ref());
        fill(&mut self.tlsverify, file.tlsverify.as_ref());
        fill(&mut self.tlscacert, file.tlscacert.as_ref());
        fill(&mut self.tlscert, file.tlscert.as_ref());
        fill(&mut self.tlskey, file.tlskey.as_ref());
        fill(&mut self.userns_remap, file.userns_remap.as_ref());
        fill(&mut self.icc, file.icc.as_ref());
        fill(&mut self.live_restore, file.live_restore.as_ref());
        fill(&mut self.no_new_privileges, file.no_new_privileges.as_ref());
        fill(&mut self.userland_proxy, file.userland_proxy.as_ref());
        fill(&mut self.iptables, file.iptables.as_ref());
        fill_list(&mut self.insecure_registries, &file.insecure_registries);
        fill(&mut self.log_driver, file.log_driver.as_ref());
        fill(&mut self.log_level, file.log_level.as_ref());
        fill_list(&mut self.default_ulimits, &file.default_ulimits);
        fill(&mut self.seccomp_profile, file.seccomp_profile.as_ref());
        fill(&mut self.experimental, file.experimental.as_ref());
        fill(&mut self.cgroup_parent, file.cgroup_parent.as_ref());
        fill_list(&mut self.authorization_plugins, &file.authorization_plugins);
        fill(&mut self.storage_driver, file.storage_driver.as_ref());
        if self.keys.is_empty() {
            self.keys.clone_from(&file.keys);
        }
    }

    /// Whether a daemon setting that is `None` here means "unknown" rather than "not set":
    /// facts read from `/info`, which does not report every setting. `key` is the daemon.json
    /// key.
    pub fn is_unknown(&self, key: &str) -> bool {
        if self.source != DaemonSource::EngineInfo {
            return false;
        }
        let major = self
            .info
            .as_ref()
            .and_then(|i| i.server_version.as_deref())
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        match key {
            "userland-proxy" => self.userland_proxy.is_none(),
            "iptables" => self.iptables.is_none(),
            "default-ulimits" => self.default_ulimits.is_empty(),
            // `/info` lists `name=no-new-privileges` from Engine 24 on
            "no-new-privileges" => self.no_new_privileges.is_none() && major.is_none_or(|m| m < 24),
            "tls" | "tlsverify" => self.tls.is_none() && self.tlsverify.is_none(),
            _ => false,
        }
    }
}
