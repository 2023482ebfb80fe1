//! `/info` and `/version` → [`DaemonFacts`].

use bollard::models::{NetworkInspect, SystemInfo, SystemVersion};
use moat_deploy::{DaemonFacts, DaemonInfo, DaemonSource};

use crate::names::{At, ObjectNames};

/// The daemon's facts, located at `daemon:HOST`.
///
/// The shared fields of [`DaemonFacts`] are filled where `/info` tells the value in force:
/// `live-restore`, `storage-driver`, `log-driver`, `experimental`, `log-level` (`debug` when
/// the daemon runs with `Debug`), `seccomp-profile`, `no-new-privileges` (Engine 24+ lists it in
/// `SecurityOptions`; `None` otherwise), `userns-remap` (`userns`, or `rootless` for a rootless
/// daemon; `None` without either), `insecure-registries` (`RegistryConfig`: the CIDRs and the
/// index names not marked secure), `authorization-plugins`, and `icc` from the default
/// bridge's `com.docker.network.bridge.enable_icc` option (`bridge`, when given). `hosts` holds
/// the engine host only when it was reached over plain TCP (then `tls` is `false`): that is a
/// fact about the daemon's socket. What `/info` does not report stays unknown (`None`/empty):
/// see [`DaemonSource::EngineInfo`].
pub fn daemon_facts(
    info: &SystemInfo,
    version: Option<&SystemVersion>,
    negotiated_api: Option<&str>,
    bridge: Option<&NetworkInspect>,
    plain_tcp: bool,
    names: &ObjectNames,
) -> DaemonFacts {
    let location = names.daemon();
    let at = At(&location);
    let security: Vec<String> = info.security_options.clone().unwrap_or_default();
    // `name=seccomp,profile=default` → ("seccomp", [("profile", "default")])
    let parsed: Vec<(String, Vec<(String, String)>)> = security
        .iter()
        .map(|opt| {
            let mut name = String::new();
            let mut rest = Vec::new();
            for part in opt.split(',') {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                if k == "name" {
                    name = v.to_string();
                } else {
                    rest.push((k.to_string(), v.to_string()));
                }
            }
            // engines before 1.13 listed bare words (`seccomp`, `apparmor`)
            if name.is_empty() {
                name.clone_from(&opt.clone());
            }
            (name, rest)
        })
        .collect();
    let has = |n: &str| parsed.iter().any(|(name, _)| name == n);
    let seccomp = parsed.iter().find(|(n, _)| n == "seccomp").map(|(_, kv)| {
        kv.iter()
            .find(|(k, _)| k == "profile")
            .map_or_else(|| "default".to_string(), |(_, v)| v.clone())
    });
    let registry = info.registry_config.clone().unwrap_or_default();
    let mut insecure: Vec<String> = registry.insecure_registry_cidrs.clone().unwrap_or_default();
    let mut index: Vec<(String, bool)> = registry
        .index_configs
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (v.name.unwrap_or(k), v.secure.unwrap_or(true)))
        .collect();
    index.sort();
    insecure.extend(
        index
            .into_iter()
            .filter(|(_, secure)| !secure)
            .map(|(n, _)| n),
    );
    let icc = bridge
        .and_then(|b| b.options.as_ref())
        .and_then(|o| o.get("com.docker.network.bridge.enable_icc"))
        .and_then(|v| v.parse::<bool>().ok());
    let rootless = has("rootless");
    let userns = has("userns");
    let string = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let info_facts = DaemonInfo {
        host: names.host.clone(),
        name: string(&info.name),
        id: string(&info.id),
        server_version: version
            .and_then(|v| string(&v.version))
            .or_else(|| string(&info.server_version)),
        api_version: version.and_then(|v| string(&v.api_version)),
        min_api_version: version.and_then(|v| string(&v.min_api_version)),
        negotiated_api_version: negotiated_api.map(str::to_string),
        operating_system: string(&info.operating_system),
        kernel_version: string(&info.kernel_version),
        platform: match (string(&info.os_type), string(&info.architecture)) {
            (Some(os), Some(arch)) => Some(format!("{os}/{arch}")),
            _ => None,
        },
        security_options: security.clone(),
        rootless,
        userns,
        selinux: has("selinux"),
        apparmor: has("apparmor"),
        cgroup_driver: info.cgroup_driver.map(|d| d.as_ref().to_string()),
        cgroup_version: info.cgroup_version.map(|v| v.as_ref().to_string()),
        registry_mirrors: registry.mirrors.clone().unwrap_or_default(),
        swarm: info
            .swarm
            .as_ref()
            .and_then(|s| s.local_node_state)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty()),
        default_runtime: string(&info.default_runtime),
        runtimes: {
            let mut r: Vec<String> = info
                .runtimes
                .iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .collect();
            r.sort();
            r
        },
        warnings: info.warnings.clone().unwrap_or_default(),
        root_dir: string(&info.docker_root_dir),
    };
    DaemonFacts {
        path: location.path.clone(),
        location: location.clone(),
        hosts: if plain_tcp {
            vec![at.of(names.host.clone())]
        } else {
            Vec::new()
        },
        tls: plain_tcp.then(|| at.of(false)),
        tlsverify: None,
        tlscacert: None,
        tlscert: None,
        tlskey: None,
        userns_remap: if userns {
            Some(at.of("userns".to_string()))
        } else if rootless {
            Some(at.of("rootless".to_string()))
        } else {
            None
        },
        icc: icc.map(|v| at.of(v)),
        live_restore: info.live_restore_enabled.map(|v| at.of(v)),
        no_new_privileges: has("no-new-privileges").then(|| at.of(true)),
        userland_proxy: None,
        iptables: None,
        insecure_registries: insecure.into_iter().map(|v| at.of(v)).collect(),
        log_driver: string(&info.logging_driver).map(|v| at.of(v)),
        log_level: info
            .debug
            .filter(|d| *d)
            .map(|_| at.of("debug".to_string())),
        default_ulimits: Vec::new(),
        seccomp_profile: seccomp.map(|v| at.of(v)),
        experimental: info.experimental_build.map(|v| at.of(v)),
        cgroup_parent: None,
        authorization_plugins: info
            .plugins
            .as_ref()
            .and_then(|p| p.authorization.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|v| at.of(v))
            .collect(),
        storage_driver: string(&info.driver).map(|v| at.of(v)),
        keys: Vec::new(),
        source: DaemonSource::EngineInfo,
        info: Some(info_facts),
    }
}
