//! `docker run` / `docker create` source: flags, located values, and command lines found in
//! scripts and Makefiles.

use moat_deploy::{
    MountKind, Provenance, SecurityOptKind, SourceKind, Syntax, find_docker_runs, parse_docker_run,
};

fn lc(l: &moat_diagnostics::Location) -> (usize, usize) {
    (l.line, l.column)
}

#[test]
fn flags_long_short_and_equals() {
    let cmd = "docker run -dit --rm --name api --cap-drop=ALL --cap-add NET_BIND_SERVICE \
               -p 127.0.0.1:8080:80 -p 443:443/tcp -v /var/run/docker.sock:/var/run/docker.sock:ro \
               --mount type=bind,src=/etc,dst=/host/etc,readonly,bind-propagation=rshared \
               -e DB_PASSWORD=hunter2 -e TOKEN=$TOKEN --env HOME_ONLY -u 1000:1000 --read-only \
               --security-opt no-new-privileges --security-opt=seccomp=unconfined \
               --network=backend --pid host --ipc=host --uts host --userns=host --cgroupns host \
               --cgroup-parent /x --memory 512m --cpus=1.5 --pids-limit 100 \
               --ulimit nofile=1024:2048 --restart=on-failure:3 --health-cmd 'curl -f localhost' \
               --log-driver json-file --log-opt max-size=10m -l team=api --tmpfs /run \
               --device /dev/fuse --privileged=false -P \
               myorg/api:1.0 serve --port 80";
    let f = parse_docker_run(cmd, "<docker-run>", 0).unwrap();
    assert_eq!(f.source_kind, SourceKind::DockerRun);
    assert_eq!(f.name, "api");
    assert_eq!(f.image.as_ref().unwrap().value, "myorg/api:1.0");
    let switches: Vec<&str> = f.run_switches.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(switches, ["detach", "interactive", "tty", "rm"]);
    assert_eq!(f.cap_drop[0].value, "ALL");
    assert_eq!(lc(&f.cap_drop[0].location), (1, 44));
    assert_eq!(f.cap_add[0].value, "NET_BIND_SERVICE");
    assert_eq!(f.ports[0].value.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(f.ports.len(), 2);
    assert_eq!(f.mounts[0].value.kind, MountKind::Bind);
    assert!(f.mounts[0].value.read_only);
    let m = &f.mounts[1].value;
    assert_eq!(
        (m.kind, m.syntax, m.read_only),
        (MountKind::Bind, Syntax::Long, true)
    );
    assert_eq!(m.propagation.as_deref(), Some("rshared"));
    assert_eq!(m.source.as_deref(), Some("/etc"));
    let pw = f.env("DB_PASSWORD").unwrap();
    assert_eq!(pw.provenance, Provenance::Literal);
    assert_eq!(pw.value.as_ref().unwrap().value, "hunter2");
    assert_eq!(f.env("TOKEN").unwrap().provenance, Provenance::Interpolated);
    assert_eq!(f.env("HOME_ONLY").unwrap().provenance, Provenance::HostEnv);
    assert_eq!(f.user.as_ref().unwrap().value, "1000:1000");
    assert!(f.read_only.as_ref().unwrap().value);
    assert_eq!(
        f.security_opt[0].value.kind,
        SecurityOptKind::NoNewPrivileges(true)
    );
    assert_eq!(
        f.security_opt[1].value.kind,
        SecurityOptKind::Seccomp("unconfined".into())
    );
    assert_eq!(f.networks[0].value, "backend");
    for v in [&f.pid, &f.ipc, &f.uts, &f.userns, &f.cgroup] {
        assert_eq!(v.as_ref().unwrap().value, "host");
    }
    assert_eq!(f.cgroup_parent.as_ref().unwrap().value, "/x");
    assert_eq!(
        f.resources.memory.as_ref().unwrap().value.bytes,
        Some(512 << 20)
    );
    assert_eq!(f.resources.cpus.as_ref().unwrap().value.cpus, Some(1.5));
    assert_eq!(f.resources.pids.as_ref().unwrap().value, 100);
    assert_eq!(f.resources.ulimits[0].value.soft, Some(1024));
    let r = f.restart.as_ref().unwrap();
    assert_eq!(
        (
            r.value.name.as_str(),
            r.value.max_retries.as_ref().unwrap().value
        ),
        ("on-failure", 3)
    );
    let hc = f.healthcheck.as_ref().unwrap();
    assert_eq!(
        hc.value.test.as_ref().unwrap().value,
        ["CMD-SHELL", "curl -f localhost"]
    );
    assert_eq!(f.logging.driver.as_ref().unwrap().value, "json-file");
    assert_eq!(f.logging.options[0].key.value, "max-size");
    assert_eq!(f.labels[0].value.as_ref().unwrap().value, "api");
    assert_eq!(f.tmpfs[0].value, "/run");
    assert_eq!(f.devices[0].value.host, "/dev/fuse");
    assert!(!f.privileged.as_ref().unwrap().value);
    assert!(f.publish_all.as_ref().unwrap().value);
    let argv: Vec<&str> = f
        .command
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|a| a.value.as_str())
        .collect();
    assert_eq!(argv, ["serve", "--port", "80"]);
}

#[test]
fn values_are_located_with_base_and_continuations() {
    let cmd = "docker run \\\n  --cap-add SYS_ADMIN \\\n  -e API_KEY=abc \\\n  nginx";
    let f = parse_docker_run(cmd, "deploy.sh", 100).unwrap();
    let cap = &f.cap_add[0];
    assert_eq!(lc(&cap.location), (2, 13));
    assert_eq!(cap.location.span, Some(100 + 25..100 + 34));
    let key = f.env("API_KEY").unwrap();
    assert_eq!(lc(&key.name.location), (3, 6));
    assert_eq!(lc(&key.value.as_ref().unwrap().location), (3, 14));
    assert_eq!(lc(&f.image.as_ref().unwrap().location), (4, 3));
    assert_eq!(lc(&f.location), (1, 1));
    assert_eq!(f.location.end_line, 4);
}

#[test]
fn command_forms() {
    for cmd in [
        "docker create nginx",
        "docker container run nginx",
        "docker container create nginx",
        "sudo docker run nginx",
        "sudo -E docker run nginx",
        "exec docker run nginx",
        "/usr/bin/docker run nginx",
        "docker -H tcp://remote:2376 --tlsverify run nginx",
        "docker --context prod run -- nginx",
        "FOO=1 docker run nginx",
    ] {
        let f = parse_docker_run(cmd, "c", 0).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert_eq!(f.image.as_ref().unwrap().value, "nginx", "{cmd}");
    }
    let f = parse_docker_run("docker run -p8080:80 -itd -m1g -e'A=b c' img", "c", 0).unwrap();
    assert_eq!(f.ports[0].value.published.as_deref(), Some("8080"));
    assert_eq!(
        f.resources.memory.as_ref().unwrap().value.bytes,
        Some(1 << 30)
    );
    assert_eq!(f.env("A").unwrap().value.as_ref().unwrap().value, "b c");
    let f = parse_docker_run("docker run --net host --restart always img", "c", 0).unwrap();
    assert_eq!(f.network_mode.as_ref().unwrap().value, "host");
}

#[test]
fn errors_are_located() {
    let e = parse_docker_run("docker run --frobnicate img", "c", 0).unwrap_err();
    assert_eq!((e.line, e.column), (Some(1), Some(12)));
    assert!(e.message.contains("unknown flag"));
    let e = parse_docker_run("docker run -p", "c", 0).unwrap_err();
    assert!(e.message.contains("needs a value"));
    let e = parse_docker_run("docker run --rm", "c", 0).unwrap_err();
    assert!(e.message.contains("without an image"));
    let e = parse_docker_run("docker run -e 'A=b img", "c", 0).unwrap_err();
    assert_eq!(e.column, Some(15));
    let e = parse_docker_run("docker ps", "c", 0).unwrap_err();
    assert!(e.message.contains("not a `docker run`"));
    let e = parse_docker_run("docker run -p 80:http img", "c", 0).unwrap_err();
    assert_eq!(e.column, Some(15));
    let e = parse_docker_run("docker run --privileged=maybe img", "c", 0).unwrap_err();
    assert!(e.message.contains("true or false"));
}

#[test]
fn found_in_shell_scripts() {
    let script = concat!(
        "#!/bin/sh\n",
        "set -e\n",
        "# docker run --privileged commented\n",
        "docker build -t app .\n",
        "docker pull nginx && sudo docker run -d --cap-drop ALL \\\n",
        "    -p 80:80 \\\n",
        "    app:1.0\n",
        "if true; then exec docker create --read-only app; fi\n",
        "echo \"docker run is mentioned\"\n",
        "docker run --bogus x\n",
    );
    let runs = find_docker_runs(script, "deploy.sh");
    assert_eq!(runs.len(), 3, "{runs:#?}");
    let first = runs[0].as_ref().unwrap();
    assert_eq!(lc(&first.location), (5, 27));
    assert_eq!(first.location.end_line, 7);
    assert_eq!(lc(&first.cap_drop[0].location), (5, 52));
    assert_eq!(lc(&first.ports[0].location), (6, 8));
    assert_eq!(first.image.as_ref().unwrap().value, "app:1.0");
    let second = runs[1].as_ref().unwrap();
    assert_eq!(second.location.line, 8);
    assert!(second.read_only.is_some());
    let err = runs[2].as_ref().unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.line, err.column),
        ("deploy.sh", Some(10), Some(12))
    );
}

#[test]
fn found_in_makefiles() {
    let mk =
        "IMAGE ?= app\n\nrun:\n\t@docker run --rm -e HOME=$$HOME -v $(PWD):/src $(IMAGE) make\n";
    let runs = find_docker_runs(mk, "Makefile");
    assert_eq!(runs.len(), 1);
    let f = runs[0].as_ref().unwrap();
    assert_eq!(f.location.line, 4);
    assert_eq!(
        f.env("HOME").unwrap().value.as_ref().unwrap().value,
        "$HOME"
    );
    assert_eq!(f.env("HOME").unwrap().provenance, Provenance::Interpolated);
    assert_eq!(f.mounts[0].value.source.as_deref(), Some("$(PWD)"));
    assert_eq!(f.image.as_ref().unwrap().value, "$(IMAGE)");
}

#[test]
fn variables_are_flagged_as_interpolated() {
    let f = parse_docker_run(
        "docker run -u \"$UID\" --name=app -p ${PORT}:80 $IMAGE --token $(cat t)",
        "c",
        0,
    )
    .unwrap();
    assert!(f.user.as_ref().unwrap().interpolated);
    assert!(!f.container_name.as_ref().unwrap().interpolated);
    assert!(f.ports[0].interpolated);
    assert!(f.image.as_ref().unwrap().interpolated);
    let argv = &f.command.as_ref().unwrap().value;
    assert!(!argv[0].interpolated && argv[1].interpolated);
}
