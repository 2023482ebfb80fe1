//! Facts from recorded engine answers: Docker 20.10 (recorded on a real engine), Docker 24/25
//! and Podman 4 (written from the Engine API reference and Podman's compatible API).

use bollard::models::{
    ContainerInspectResponse, ContainerTopResponse, ImageHistoryResponseItem, ImageInspect,
    NetworkInspect, SystemInfo, SystemVersion,
};
use moat_deploy::{ContainerFacts, MountKind, Provenance, SecurityOptKind, SourceKind, UserOrigin};
use moat_engine::{ObjectNames, container_facts, daemon_facts, image_facts, network_facts};
use serde::de::DeserializeOwned;

fn load<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn names() -> ObjectNames {
    ObjectNames::new("unix:///var/run/docker.sock", false)
}

/// A Docker 20.10 container with the image it was created from.
fn docker20(name: &str) -> ContainerFacts {
    let c: ContainerInspectResponse = load(&format!("docker20-container-{name}.json"));
    let image_file = match c.config.as_ref().and_then(|c| c.image.as_deref()) {
        Some("moat-fixture:1") => "docker20-image-fixture.json",
        _ => "docker20-image-plain.json",
    };
    let image: ImageInspect = load(image_file);
    let top: Option<ContainerTopResponse> = (name == "bad").then(|| load("docker20-top-bad.json"));
    container_facts(&c, Some(&image), top.as_ref(), &names())
}

fn strings(v: &[moat_deploy::Located<String>]) -> Vec<&str> {
    v.iter().map(|l| l.value.as_str()).collect()
}

#[test]
fn every_value_is_located_at_the_container() {
    let f = docker20("bad");
    assert_eq!(f.source_kind, SourceKind::Engine);
    assert_eq!(f.name, "moat-fx-bad");
    assert_eq!(f.location.object.as_deref(), Some("container:moat-fx-bad"));
    assert_eq!(f.location.line, 0);
    assert!(f.cap_add.iter().all(|c| c.location == f.location));
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["source_kind"], "engine");
}

#[test]
fn a_badly_configured_running_container() {
    let f = docker20("bad");
    // the engine stored CAP_NET_RAW, CAP_SYS_ADMIN
    assert_eq!(strings(&f.cap_add), ["NET_RAW", "SYS_ADMIN"]);
    assert!(f.cap_drop.is_empty());
    assert_eq!(f.user.as_ref().unwrap().value, "0");
    assert_eq!(f.live.as_ref().unwrap().user_origin, UserOrigin::Container);
    assert!(!f.privileged.as_ref().unwrap().value);
    let kinds: Vec<&SecurityOptKind> = f.security_opt.iter().map(|o| &o.value.kind).collect();
    // `label=disable` was added by the daemon for the host PID/IPC namespaces: left out
    assert_eq!(
        kinds,
        [
            &SecurityOptKind::Seccomp("unconfined".into()),
            &SecurityOptKind::Apparmor("unconfined".into())
        ]
    );
    assert_eq!(f.pid.as_ref().unwrap().value, "host");
    assert_eq!(f.ipc.as_ref().unwrap().value, "host");
    assert_eq!(f.uts.as_ref().unwrap().value, "host");
    assert_eq!(f.network_mode.as_ref().unwrap().value, "bridge");
    assert!(f.networks.is_empty());
    // ports: 8080 published on 0.0.0.0 only; 18081/udp on 0.0.0.0 and :: is one mapping
    let ports: Vec<(Option<&str>, Option<&str>, &str, &str)> = f
        .ports
        .iter()
        .map(|p| {
            (
                p.value.host_ip.as_deref(),
                p.value.published.as_deref(),
                p.value.target.as_str(),
                p.value.protocol.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            (Some("0.0.0.0"), Some("18080"), "8080", "tcp"),
            (None, Some("18081"), "8081", "udp")
        ]
    );
    let binds: Vec<(&str, &str, bool)> = f
        .mounts
        .iter()
        .map(|m| {
            (
                m.value.source.as_deref().unwrap_or(""),
                m.value.target.as_str(),
                m.value.read_only,
            )
        })
        .collect();
    assert!(binds.contains(&("/etc", "/host-etc", false)));
    assert!(binds.contains(&("/var/run/docker.sock", "/var/run/docker.sock", false)));
    // the image's `VOLUME /data` is an anonymous volume
    let kinds: Vec<(MountKind, Option<&str>, &str)> = f
        .mounts
        .iter()
        .map(|m| {
            (
                m.value.kind,
                m.value.source.as_deref(),
                m.value.target.as_str(),
            )
        })
        .collect();
    assert_eq!(kinds.iter().filter(|k| k.0 == MountKind::Bind).count(), 2);
    assert!(kinds.contains(&(MountKind::Volume, None, "/data")));
    assert_eq!(f.resources.pids, None, "PidsLimit null is no limit");
    assert_eq!(f.resources.memory, None);
    assert_eq!(f.restart.as_ref().unwrap().value.name, "always");
    assert_eq!(f.devices[0].value.host, "/dev/null");
    assert_eq!(f.devices[0].value.container.as_deref(), Some("/dev/xnull"));
    assert_eq!(f.resources.ulimits[0].value.soft, Some(1024));
    assert_eq!(
        f.sysctls[0].key.value,
        "net.ipv4.ip_unprivileged_port_start"
    );
    // environment: the image's API_TOKEN is overridden, PATH comes from the image
    let env: Vec<(&str, &Provenance)> = f
        .environment
        .iter()
        .map(|e| (e.name.value.as_str(), &e.provenance))
        .collect();
    assert_eq!(env[0], ("DB_PASSWORD", &Provenance::ContainerConfig));
    assert_eq!(env[1], ("API_TOKEN", &Provenance::ContainerConfig));
    assert_eq!(
        env[2],
        (
            "PATH",
            &Provenance::Image {
                image: "moat-fixture:1".into()
            }
        )
    );
    // the image's healthcheck applies
    let hc = &f.healthcheck.as_ref().unwrap().value;
    assert!(!hc.disabled);
    assert_eq!(hc.interval.as_ref().unwrap().value, "30s");
    let live = f.live.as_ref().unwrap();
    assert!(live.running);
    assert_eq!(live.status, "running");
    assert_eq!(live.processes.len(), 1);
    assert_eq!(live.processes[0].command, "sleep 3600");
    assert_eq!(live.processes[0].user.as_deref(), Some("root"));
    assert!(live.image_id.starts_with("sha256:3f677f58"));
    let compose = live.compose.as_ref().unwrap();
    assert_eq!(compose.project, "shop");
    assert_eq!(compose.service.as_deref(), Some("api"));
    assert_eq!(
        compose.config_files,
        ["/srv/shop/compose.yaml", "/srv/shop/compose.prod.yaml"]
    );
    assert_eq!(compose.working_dir.as_deref(), Some("/srv/shop"));
}

#[test]
fn a_hardened_running_container() {
    let f = docker20("good");
    assert_eq!(strings(&f.cap_drop), ["ALL"]);
    assert!(f.read_only.as_ref().unwrap().value);
    assert_eq!(
        f.security_opt[0].value.kind,
        SecurityOptKind::NoNewPrivileges(true)
    );
    assert_eq!(
        f.resources.memory.as_ref().unwrap().value.bytes,
        Some(64 << 20)
    );
    assert_eq!(f.resources.cpus.as_ref().unwrap().value.cpus, Some(0.5));
    assert_eq!(f.resources.pids.as_ref().unwrap().value, 100);
    assert_eq!(f.user.as_ref().unwrap().value, "65534:65534");
    assert_eq!(f.live.as_ref().unwrap().user_origin, UserOrigin::Container);
    let p = &f.ports[0].value;
    assert_eq!(
        (p.host_ip.as_deref(), p.published.as_deref()),
        (Some("127.0.0.1"), Some("18082"))
    );
    let hc = &f.healthcheck.as_ref().unwrap().value;
    assert_eq!(hc.test.as_ref().unwrap().value, ["CMD-SHELL", "true"]);
    assert_eq!(hc.interval.as_ref().unwrap().value, "5s");
    let r = &f.restart.as_ref().unwrap().value;
    assert_eq!(r.name, "on-failure");
    assert_eq!(r.max_retries.as_ref().unwrap().value, 3);
    assert!(f.network_mode.is_none());
    assert_eq!(strings(&f.networks), ["moat-fixture-net"]);
    assert_eq!(strings(&f.tmpfs), ["/tmp:size=1m"]);
    let m = &f.mounts[0].value;
    assert_eq!(
        (m.kind, m.source.as_deref(), m.read_only),
        (MountKind::Volume, Some("moat-fixture-vol"), true)
    );
    assert!(f.init.as_ref().unwrap().value);
    assert_eq!(f.logging.driver.as_ref().unwrap().value, "json-file");
    assert_eq!(f.live.as_ref().unwrap().health.as_deref(), Some("healthy"));
    assert!(f.live.as_ref().unwrap().compose.is_none());
    // both variables are the image's
    assert!(
        f.environment
            .iter()
            .all(|e| matches!(e.provenance, Provenance::Image { .. }))
    );
}

#[test]
fn a_stopped_container_has_only_its_port_bindings() {
    let f = docker20("stopped");
    let live = f.live.as_ref().unwrap();
    assert!(!live.running);
    assert_eq!(live.status, "created");
    assert_eq!(live.started_at, None, "0001-01-01 is never");
    assert!(live.processes.is_empty());
    let ports: Vec<(Option<&str>, Option<&str>, &str)> = f
        .ports
        .iter()
        .map(|p| {
            (
                p.value.host_ip.as_deref(),
                p.value.published.as_deref(),
                p.value.target.as_str(),
            )
        })
        .collect();
    // empty HostIp is all interfaces; empty HostPort is an ephemeral port
    assert_eq!(
        ports,
        [(None, Some("18083"), "80"), (Some("127.0.0.1"), None, "81")]
    );
    assert_eq!(f.resources.cpu_quota.as_ref().unwrap().value, 50_000);
    let m = &f.mounts[0].value;
    assert_eq!(m.propagation.as_deref(), Some("rshared"));
    assert_eq!(m.syntax, moat_deploy::Syntax::Short);
    let t = &f.mounts[1].value;
    assert_eq!(
        (t.kind, t.syntax, t.source.as_deref()),
        (MountKind::Tmpfs, moat_deploy::Syntax::Long, None)
    );
    // neither the container nor the image names a user
    assert_eq!(f.user.as_ref().unwrap().value, "root");
    assert_eq!(live.user_origin, UserOrigin::Default);
    assert_eq!(f.network_mode.as_ref().unwrap().value, "bridge");
    assert_eq!(f.healthcheck, None);
}

#[test]
fn a_privileged_container_is_not_also_selinux_disabled() {
    let f = docker20("priv");
    assert!(f.privileged.as_ref().unwrap().value);
    assert!(f.security_opt.is_empty(), "{:?}", f.security_opt);
    assert!(!f.live.as_ref().unwrap().running);
}

#[test]
fn host_namespaces() {
    let f = docker20("hostnet");
    assert_eq!(f.network_mode.as_ref().unwrap().value, "host");
    assert!(f.networks.is_empty());
    assert_eq!(f.userns.as_ref().unwrap().value, "host");
    assert_eq!(f.cgroup.as_ref().unwrap().value, "host");
}

#[test]
fn podman_container() {
    let c: ContainerInspectResponse = load("podman4-container.json");
    let image: ImageInspect = load("podman4-image-nginx.json");
    let f = container_facts(&c, Some(&image), None, &names());
    assert_eq!(f.name, "web");
    assert_eq!(strings(&f.cap_add), ["NET_ADMIN", "SYS_PTRACE"]);
    assert_eq!(strings(&f.cap_drop), ["AUDIT_WRITE", "MKNOD"]);
    let kinds: Vec<&SecurityOptKind> = f.security_opt.iter().map(|o| &o.value.kind).collect();
    assert_eq!(
        kinds,
        [
            &SecurityOptKind::Seccomp("unconfined".into()),
            &SecurityOptKind::NoNewPrivileges(true)
        ]
    );
    // Podman's default network is a name, not a mode
    assert_eq!(f.network_mode.as_ref().unwrap().value, "bridge");
    assert_eq!(strings(&f.networks), ["podman"]);
    assert_eq!(f.resources.pids.as_ref().unwrap().value, 2048);
    assert_eq!(f.resources.cpu_quota.as_ref().unwrap().value, 150_000);
    assert_eq!(
        f.resources.memory_swap.as_ref().unwrap().value.bytes,
        Some(512 << 20)
    );
    assert_eq!(f.ports.len(), 1);
    assert_eq!(f.ports[0].value.host_ip, None);
    assert!(f.mounts[0].value.read_only);
    assert_eq!(
        f.restart
            .as_ref()
            .unwrap()
            .value
            .max_retries
            .as_ref()
            .unwrap()
            .value,
        5
    );
    assert_eq!(f.cgroup_parent.as_ref().unwrap().value, "user.slice");
    assert_eq!(f.hostname, None, "the id prefix is not a chosen hostname");
    let env = |n: &str| f.env(n).map(|e| e.provenance.clone());
    assert_eq!(
        env("AWS_SECRET_ACCESS_KEY"),
        Some(Provenance::ContainerConfig)
    );
    assert_eq!(
        env("NGINX_VERSION"),
        Some(Provenance::Image {
            image: "docker.io/library/nginx:1.25".into()
        })
    );
    assert_eq!(env("container"), Some(Provenance::ContainerConfig));
    assert_eq!(f.user.as_ref().unwrap().value, "root");
    assert_eq!(f.live.as_ref().unwrap().user_origin, UserOrigin::Default);
    // CgroupnsMode is left out by Podman
    assert_eq!(f.cgroup, None);
}

#[test]
fn images() {
    let img: ImageInspect = load("docker20-image-fixture.json");
    let hist: Vec<ImageHistoryResponseItem> = load("docker20-image-fixture-history.json");
    let f = image_facts(&img, &hist, &names());
    assert_eq!(f.reference, "moat-fixture:1");
    assert_eq!(f.location.object.as_deref(), Some("image:moat-fixture:1"));
    assert_eq!(f.user.as_ref().unwrap().value, "65534");
    assert_eq!(f.exposed_ports, ["8080/tcp"]);
    assert_eq!(f.volumes, ["/data"]);
    assert_eq!(
        f.cmd.as_deref(),
        Some(&["sleep".to_string(), "3600".to_string()][..])
    );
    assert!(f.healthcheck.is_some());
    assert_eq!(f.labels[0].key.value, "org.example.team");
    let token = f.env.iter().find(|e| e.name.value == "API_TOKEN").unwrap();
    assert_eq!(token.value.as_ref().unwrap().value, "image-secret-123");
    assert!(matches!(token.provenance, Provenance::Image { .. }));
    assert_eq!(f.history.len(), 1);

    let plain: ImageInspect = load("docker20-image-plain.json");
    let f = image_facts(&plain, &[], &names());
    assert_eq!(f.user, None);
    assert_eq!(f.healthcheck, None);

    let nginx: ImageInspect = load("podman4-image-nginx.json");
    let hist: Vec<ImageHistoryResponseItem> = load("docker24-image-history.json");
    let f = image_facts(
        &nginx,
        &hist,
        &ObjectNames::new("tcp://10.0.0.5:2376", true),
    );
    assert_eq!(f.reference, "docker.io/library/nginx:1.25");
    assert_eq!(
        f.location.object.as_deref(),
        Some("image:docker.io/library/nginx:1.25 @ tcp://10.0.0.5:2376")
    );
    assert_eq!(f.digests.len(), 1);
    assert_eq!(f.platform.as_deref(), Some("linux/amd64"));
    // history oldest first
    assert!(f.history[0].created_by.contains("ADD file:"));
    assert!(f.history[1].created_by.starts_with("ENV NPM_TOKEN="));
    assert!(f.history[1].empty_layer);
    assert!(!f.history[2].empty_layer);
    assert_eq!(
        f.history.last().unwrap().created_by,
        "CMD [\"node\" \"server.js\"]"
    );
}

#[test]
fn untagged_image_is_named_by_short_id() {
    let mut img: ImageInspect = load("docker20-image-plain.json");
    img.repo_tags = Some(vec![]);
    img.repo_digests = Some(vec![]);
    let f = image_facts(&img, &[], &names());
    assert_eq!(f.reference, "8d367c458faf");
    assert_eq!(f.location.path, "image:8d367c458faf");
}

#[test]
fn networks() {
    let n: NetworkInspect = load("docker20-network-internal.json");
    let f = network_facts(&n, &names());
    assert_eq!(f.name.value, "moat-fixture-net");
    assert!(f.internal.as_ref().unwrap().value);
    assert_eq!(f.driver.as_ref().unwrap().value, "bridge");
    assert_eq!(f.location.path, "network:moat-fixture-net");
    let icc = f
        .driver_opts
        .iter()
        .find(|kv| kv.key.value == "com.docker.network.bridge.enable_icc")
        .unwrap();
    assert_eq!(icc.value.as_ref().unwrap().value, "false");
    let live = f.live.as_ref().unwrap();
    assert!(!live.predefined);
    assert_eq!(live.containers, ["moat-fx-good"]);
    assert_eq!(live.labels[0].key.value, "moat.fixture");

    let b: NetworkInspect = load("docker20-network-bridge.json");
    let f = network_facts(&b, &names());
    assert!(f.live.as_ref().unwrap().predefined);
    assert_eq!(f.live.as_ref().unwrap().subnets, ["172.17.0.0/16"]);
}

#[test]
fn docker20_daemon() {
    let info: SystemInfo = load("docker20-info.json");
    let version: SystemVersion = load("docker20-version.json");
    let bridge: NetworkInspect = load("docker20-network-bridge.json");
    let f = daemon_facts(
        &info,
        Some(&version),
        Some("1.41"),
        Some(&bridge),
        false,
        &names(),
    );
    assert_eq!(f.source, moat_deploy::DaemonSource::EngineInfo);
    assert_eq!(f.path, "daemon:unix:///var/run/docker.sock");
    assert_eq!(
        f.location.object.as_deref(),
        Some("daemon:unix:///var/run/docker.sock")
    );
    assert!(!f.live_restore.as_ref().unwrap().value);
    assert!(f.icc.as_ref().unwrap().value);
    assert_eq!(f.seccomp_profile.as_ref().unwrap().value, "default");
    assert_eq!(f.no_new_privileges, None, "Docker 20 does not report it");
    assert_eq!(f.userns_remap, None);
    assert_eq!(strings(&f.insecure_registries), ["127.0.0.0/8"]);
    assert_eq!(f.log_driver.as_ref().unwrap().value, "json-file");
    assert_eq!(f.log_level, None);
    assert!(f.hosts.is_empty() && f.tls.is_none());
    let i = f.info.as_ref().unwrap();
    assert_eq!(i.server_version.as_deref(), Some("20.10.24+dfsg1"));
    assert_eq!(i.api_version.as_deref(), Some("1.41"));
    assert_eq!(i.negotiated_api_version.as_deref(), Some("1.41"));
    assert_eq!(i.cgroup_version.as_deref(), Some("1"));
    assert_eq!(i.swarm.as_deref(), Some("inactive"));
    assert!(!i.rootless);
}

#[test]
fn docker24_rootless_cgroup_v2_daemon() {
    let info: SystemInfo = load("docker24-info-rootless-cgroupv2.json");
    let version: SystemVersion = load("docker24-version.json");
    let plain = ObjectNames::new("tcp://10.0.0.5:2375", false);
    let f = daemon_facts(&info, Some(&version), Some("1.43"), None, true, &plain);
    let i = f.info.as_ref().unwrap();
    assert!(i.rootless);
    assert!(!i.userns);
    assert_eq!(i.cgroup_version.as_deref(), Some("2"));
    assert_eq!(i.cgroup_driver.as_deref(), Some("systemd"));
    assert_eq!(i.swarm.as_deref(), Some("active"));
    assert_eq!(i.warnings.len(), 2);
    assert_eq!(i.registry_mirrors, ["https://mirror.example.internal/"]);
    assert_eq!(f.seccomp_profile.as_ref().unwrap().value, "builtin");
    assert!(f.no_new_privileges.as_ref().unwrap().value);
    assert_eq!(f.userns_remap.as_ref().unwrap().value, "rootless");
    assert!(f.live_restore.as_ref().unwrap().value);
    assert_eq!(f.log_level.as_ref().unwrap().value, "debug");
    assert_eq!(strings(&f.authorization_plugins), ["opa-docker-authz"]);
    assert_eq!(
        strings(&f.insecure_registries),
        ["127.0.0.0/8", "10.20.0.0/16", "registry.internal:5000"]
    );
    assert_eq!(f.icc, None, "no bridge read");
    // reached over plain TCP: the socket is a fact
    assert_eq!(strings(&f.hosts), ["tcp://10.0.0.5:2375"]);
    assert!(!f.tls.as_ref().unwrap().value);
}

#[test]
fn docker25_userns_daemon() {
    let info: SystemInfo = load("docker24-info-userns.json");
    let f = daemon_facts(&info, None, None, None, false, &names());
    let i = f.info.as_ref().unwrap();
    assert!(i.userns && i.apparmor && i.selinux);
    assert_eq!(i.server_version.as_deref(), Some("25.0.5"));
    assert_eq!(f.userns_remap.as_ref().unwrap().value, "userns");
    assert_eq!(f.seccomp_profile.as_ref().unwrap().value, "unconfined");
    assert_eq!(f.storage_driver.as_ref().unwrap().value, "aufs");
    assert!(f.experimental.as_ref().unwrap().value);
    assert!(
        f.insecure_registries
            .iter()
            .all(|r| r.value.contains("127.0.0.0") || r.value == "::1/128")
    );
}

#[test]
fn podman_daemon() {
    let info: SystemInfo = load("podman4-info.json");
    let f = daemon_facts(&info, None, None, None, false, &names());
    let i = f.info.as_ref().unwrap();
    assert!(i.rootless && i.selinux);
    assert_eq!(i.default_runtime.as_deref(), Some("crun"));
    assert_eq!(i.runtimes, ["crun", "runc"]);
    // Podman leaves the logging driver empty
    assert_eq!(f.log_driver, None);
    assert!(f.insecure_registries.is_empty());
}
