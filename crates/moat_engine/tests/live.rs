//! Facts read from the real Docker engine of the machine (skipped without one, a failure under
//! `MOAT_REQUIRE_DOCKER=1`). The engine's quirks on recorded answers are in `facts.rs`; this
//! checks that the live reading gives the same facts for containers made for the test.

use moat_deploy::{ContainerFacts, MountKind, SecurityOptKind, UserOrigin};
use moat_engine::test_support::{EngineGuard, LABEL_KEY, busybox_image, free_port, require_engine};
use moat_engine::{
    EngineHost, EngineSnapshot, Filter, ReadOptions, Selector, connect, read_engine,
};

/// Reads the containers of this guard's run (and their images only).
fn read(guard: &EngineGuard) -> EngineSnapshot {
    read_selected(Selector::Label {
        key: LABEL_KEY.to_string(),
        value: Some(guard.run_id().to_string()),
    })
}

fn read_selected(selector: Selector) -> EngineSnapshot {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let host = EngineHost::from_env(None).unwrap();
        let engine = connect(&host).await.unwrap();
        let opts = ReadOptions {
            filter: Filter {
                include: vec![selector],
                exclude: vec![],
            },
            all_images: false,
            ..ReadOptions::default()
        };
        read_engine(&engine, &opts).await.unwrap()
    })
}

fn container<'a>(snap: &'a EngineSnapshot, name: &str) -> &'a ContainerFacts {
    snap.containers
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no container {name} in {:?}", names(snap)))
}

fn names(snap: &EngineSnapshot) -> Vec<&str> {
    snap.containers.iter().map(|c| c.name.as_str()).collect()
}

fn values<T: Clone>(v: &[moat_deploy::Located<T>]) -> Vec<T> {
    v.iter().map(|l| l.value.clone()).collect()
}

#[test]
fn live_containers_become_facts() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "live", &[]);
    let (bad, good, stopped, privileged) = (
        g.name("bad"),
        g.name("good"),
        g.name("stopped"),
        g.name("priv"),
    );
    let (p_bad, p_good, p_stopped) = (free_port(), free_port(), free_port());
    let bad_port = format!("{p_bad}:80");
    g.run(
        &bad,
        &[
            "--cap-add",
            "sys_admin",
            "--cap-add",
            "CAP_NET_ADMIN",
            "--cap-drop",
            "net_raw",
            "-p",
            &bad_port,
            "--user",
            "0:0",
            "--security-opt",
            "seccomp=unconfined",
            "-v",
            "/etc:/host-etc:ro",
            "--pid",
            "host",
        ],
        &image,
        &[],
    );
    let good_port = format!("127.0.0.1:{p_good}:80");
    g.run(
        &good,
        &[
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--pids-limit",
            "64",
            "--user",
            "65534",
            "-p",
            &good_port,
        ],
        &image,
        &[],
    );
    let stopped_port = format!("{p_stopped}:80");
    g.create(&stopped, &["-p", &stopped_port], &image, &[]);
    g.create(&privileged, &["--privileged"], &image, &[]);

    let snap = read(&g);
    let mut got = names(&snap);
    got.sort_unstable();
    let mut want = vec![
        bad.as_str(),
        good.as_str(),
        stopped.as_str(),
        privileged.as_str(),
    ];
    want.sort_unstable();
    assert_eq!(got, want);

    let b = container(&snap, &bad);
    assert_eq!(
        b.location.object.as_deref(),
        Some(format!("container:{bad}").as_str())
    );
    let mut caps = values(&b.cap_add);
    caps.sort();
    assert_eq!(caps, ["NET_ADMIN", "SYS_ADMIN"]);
    assert_eq!(values(&b.cap_drop), ["NET_RAW"]);
    // `-p P:80` is listed on 0.0.0.0 and on :: by a running container: one mapping
    assert_eq!(b.ports.len(), 1, "{:?}", b.ports);
    let p = &b.ports[0].value;
    assert_eq!(p.host_ip, None);
    assert_eq!(p.published.as_deref(), Some(p_bad.to_string().as_str()));
    assert_eq!(p.target, "80");
    assert_eq!(p.protocol, "tcp");
    assert_eq!(b.user.as_ref().map(|u| u.value.as_str()), Some("0:0"));
    assert_eq!(b.pid.as_ref().map(|p| p.value.as_str()), Some("host"));
    // `seccomp=unconfined` kept; the `label=disable` the daemon adds for `--pid host` is not
    let opts: Vec<_> = values(&b.security_opt)
        .into_iter()
        .map(|o| o.kind)
        .collect();
    assert_eq!(opts, [SecurityOptKind::Seccomp("unconfined".into())]);
    let etc = b
        .mounts
        .iter()
        .map(|m| &m.value)
        .find(|m| m.target == "/host-etc")
        .expect("the /etc bind mount");
    assert_eq!(etc.kind, MountKind::Bind);
    assert_eq!(etc.source.as_deref(), Some("/etc"));
    assert!(etc.read_only);
    assert!(!b.read_only.as_ref().is_some_and(|r| r.value));
    let live = b.live.as_ref().expect("live facts");
    assert!(live.running);
    assert_eq!(live.status, "running");
    assert_eq!(live.user_origin, UserOrigin::Container);
    assert!(live.started_at.is_some());
    assert!(live.image_id.starts_with("sha256:"));
    assert!(
        live.processes.iter().any(|p| p.command == "sleep 3600"),
        "{:?}",
        live.processes
    );

    let good_f = container(&snap, &good);
    assert!(good_f.read_only.as_ref().is_some_and(|r| r.value));
    assert_eq!(values(&good_f.cap_drop), ["ALL"]);
    assert!(good_f.cap_add.is_empty());
    assert_eq!(good_f.resources.pids.as_ref().map(|p| p.value), Some(64));
    assert_eq!(
        good_f.user.as_ref().map(|u| u.value.as_str()),
        Some("65534")
    );
    let opts: Vec<_> = values(&good_f.security_opt)
        .into_iter()
        .map(|o| o.kind)
        .collect();
    assert_eq!(opts, [SecurityOptKind::NoNewPrivileges(true)]);
    assert_eq!(values(&good_f.tmpfs).len(), 1);
    assert!(values(&good_f.tmpfs)[0].starts_with("/tmp"));
    assert_eq!(good_f.ports.len(), 1);
    assert_eq!(good_f.ports[0].value.host_ip.as_deref(), Some("127.0.0.1"));

    // never started: ports from PortBindings only, no processes
    let s = container(&snap, &stopped);
    let live = s.live.as_ref().expect("live facts");
    assert!(!live.running);
    assert_eq!(live.status, "created");
    assert_eq!(live.started_at, None);
    assert!(live.processes.is_empty());
    assert_eq!(live.user_origin, UserOrigin::Default);
    assert_eq!(s.user.as_ref().map(|u| u.value.as_str()), Some("root"));
    assert_eq!(s.resources.pids, None);
    assert_eq!(s.ports.len(), 1, "{:?}", s.ports);
    assert_eq!(s.ports[0].value.host_ip, None);
    assert_eq!(
        s.ports[0].value.published.as_deref(),
        Some(p_stopped.to_string().as_str())
    );

    let p = container(&snap, &privileged);
    assert!(p.privileged.as_ref().is_some_and(|v| v.value));
    assert!(
        !p.security_opt
            .iter()
            .any(|o| matches!(o.value.kind, SecurityOptKind::Label(_))),
        "{:?}",
        p.security_opt
    );
    assert!(!p.live.as_ref().unwrap().running);

    // only the images of the containers read
    let refs: Vec<_> = snap.images.iter().map(|i| i.reference.as_str()).collect();
    assert_eq!(refs, [image.as_str()]);
}

#[test]
fn compose_started_containers_know_their_project() {
    let Some(g) = require_engine() else { return };
    if std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            !moat_engine::test_support::engine_required(),
            "docker-compose is not installed"
        );
        eprintln!("skipped: docker-compose is not installed");
        return;
    }
    let image = busybox_image(&g, "compose", &[]);
    let project = format!("mt{}", g.run_id().replace('-', ""));
    let dir = g.dir().join("compose");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("docker-compose.yml");
    std::fs::write(
        &file,
        format!(
            "version: \"3.8\"\nservices:\n  api:\n    image: {image}\n    command: [\"sleep\", \"3600\"]\n"
        ),
    )
    .unwrap();
    g.compose_up(&project, &file);

    let snap = read_selected(Selector::Label {
        key: "com.docker.compose.project".into(),
        value: Some(project.clone()),
    });
    assert_eq!(snap.containers.len(), 1, "{:?}", names(&snap));
    let c = &snap.containers[0];
    let origin = c
        .live
        .as_ref()
        .and_then(|l| l.compose.as_ref())
        .expect("compose origin");
    assert_eq!(origin.project, project);
    assert_eq!(origin.service.as_deref(), Some("api"));
    assert_eq!(origin.config_files, [file.to_string_lossy().into_owned()]);
    assert_eq!(
        origin.working_dir.as_deref(),
        Some(dir.to_string_lossy().as_ref())
    );
    // a user-defined network of the project, not the default bridge
    assert!(c.network_mode.is_none(), "{:?}", c.network_mode);
    assert_eq!(values(&c.networks), [format!("{project}_default")]);
}
