//! daemon.json source: every documented key, located.

use moat_deploy::{JsonValue, load_daemon_config, parse_daemon_config};

const DAEMON: &str = r#"{
  "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"],
  "tls": true,
  "tlsverify": false,
  "tlscacert": "/etc/docker/ca.pem",
  "tlscert": "/etc/docker/cert.pem",
  "tlskey": "/etc/docker/key.pem",
  "userns-remap": "default",
  "icc": true,
  "live-restore": false,
  "no-new-privileges": false,
  "userland-proxy": true,
  "iptables": false,
  "insecure-registries": ["registry.local:5000", "127.0.0.1:5000"],
  "log-driver": "json-file",
  "log-level": "debug",
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}},
  "seccomp-profile": "unconfined",
  "experimental": true,
  "cgroup-parent": "/docker",
  "authorization-plugins": ["authz-broker"],
  "storage-driver": "aufs",
  "log-opts": {"max-size": "10m"},
  "features": {"buildkit": true}
}
"#;

fn lc(l: &moat_diagnostics::Location) -> (usize, usize) {
    (l.line, l.column)
}

#[test]
fn every_key_is_read_and_located() {
    let f = parse_daemon_config(DAEMON, "/etc/docker/daemon.json").unwrap();
    assert_eq!(f.hosts.len(), 2);
    assert_eq!(lc(&f.hosts[1].location), (2, 44));
    assert!(f.tls.as_ref().unwrap().value);
    let tv = f.tlsverify.as_ref().unwrap();
    assert_eq!((tv.value, lc(&tv.location)), (false, (4, 16)));
    assert_eq!(f.tlscacert.as_ref().unwrap().value, "/etc/docker/ca.pem");
    assert_eq!(f.tlscert.as_ref().unwrap().value, "/etc/docker/cert.pem");
    assert_eq!(f.tlskey.as_ref().unwrap().value, "/etc/docker/key.pem");
    assert_eq!(f.userns_remap.as_ref().unwrap().value, "default");
    assert_eq!(lc(&f.icc.as_ref().unwrap().location), (9, 10));
    assert!(!f.live_restore.as_ref().unwrap().value);
    assert!(!f.no_new_privileges.as_ref().unwrap().value);
    assert!(f.userland_proxy.as_ref().unwrap().value);
    assert!(!f.iptables.as_ref().unwrap().value);
    assert_eq!(f.insecure_registries[0].value, "registry.local:5000");
    assert_eq!(f.log_driver.as_ref().unwrap().value, "json-file");
    assert_eq!(f.log_level.as_ref().unwrap().value, "debug");
    let ulimit = &f.default_ulimits[0];
    assert_eq!(
        (
            ulimit.value.name.as_str(),
            ulimit.value.hard,
            lc(&ulimit.location)
        ),
        ("nofile", Some(64000), (17, 23))
    );
    assert_eq!(f.seccomp_profile.as_ref().unwrap().value, "unconfined");
    assert!(f.experimental.as_ref().unwrap().value);
    assert_eq!(f.cgroup_parent.as_ref().unwrap().value, "/docker");
    assert_eq!(f.authorization_plugins[0].value, "authz-broker");
    assert_eq!(f.storage_driver.as_ref().unwrap().value, "aufs");
    let (k, v) = f.keys.iter().find(|(k, _)| k.value == "features").unwrap();
    assert_eq!(lc(&k.location), (24, 3));
    assert!(matches!(&v.value, JsonValue::Object(o) if o.len() == 1));
    assert_eq!(f.keys.len(), 23);
}

#[test]
fn empty_object_and_file_loading() {
    let f = parse_daemon_config("{}", "d.json").unwrap();
    assert!(f.icc.is_none() && f.hosts.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("daemon.json");
    std::fs::write(&p, "{\n  \"icc\": false,\n}\n").unwrap();
    let e = load_daemon_config(&p).unwrap_err();
    assert_eq!((e.line, e.column), (Some(3), Some(1)));
    let e = load_daemon_config(&dir.path().join("missing.json")).unwrap_err();
    assert_eq!(e.line, None);
}

#[test]
fn wrong_types_are_located() {
    let e = parse_daemon_config("{\n  \"hosts\": \"tcp://x\"\n}", "d").unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(12)));
    let e = parse_daemon_config("{\"insecure-registries\": [1]}", "d").unwrap_err();
    assert_eq!(e.column, Some(26));
}
