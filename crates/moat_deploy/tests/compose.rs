//! Compose source: each syntax form, with the located values rules rely on.

use moat_deploy::{
    ComposeProject, ContainerFacts, Env, MountKind, Provenance, SecurityOptKind, Syntax,
    load_compose, parse_compose,
};
use std::path::PathBuf;

/// Writes `files` into a new temporary directory.
fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write fixture");
    }
    dir
}

fn load(dir: &tempfile::TempDir, names: &[&str], env: &Env) -> ComposeProject {
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
    load_compose(&paths, env).unwrap_or_else(|e| panic!("{e}"))
}

fn one(text: &str) -> ContainerFacts {
    let p = parse_compose(text, "compose.yaml", &Env::new()).unwrap_or_else(|e| panic!("{e}"));
    p.services.into_iter().next().expect("one service")
}

fn lc(l: &moat_diagnostics::Location) -> (usize, usize) {
    (l.line, l.column)
}

#[test]
fn service_key_and_image_are_located() {
    let s = one("services:\n  api:\n    image: \"nginx:latest\"\n");
    assert_eq!(s.name, "api");
    assert_eq!(lc(&s.location), (2, 3));
    let image = s.image.unwrap();
    assert_eq!(image.value, "nginx:latest");
    assert_eq!(lc(&image.location), (3, 12));
}

#[test]
fn ports_short_and_long() {
    let s = one(concat!(
        "services:\n",
        "  web:\n",
        "    image: x\n",
        "    ports:\n",
        "      - \"8080:80\"\n",
        "      - 127.0.0.1:5432:5432\n",
        "      - 53:53/udp\n",
        "      - 9000\n",
        "      - target: 443\n",
        "        published: \"8443\"\n",
        "        host_ip: \"::\"\n",
        "        protocol: tcp\n",
        "        mode: host\n",
    ));
    assert_eq!(s.ports.len(), 5);
    let p0 = &s.ports[0];
    assert_eq!(
        (p0.value.host_ip.as_deref(), p0.value.published_range),
        (None, Some((8080, 8080)))
    );
    assert_eq!(lc(&p0.location), (5, 9));
    assert_eq!(s.ports[1].value.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.ports[2].value.protocol, "udp");
    assert_eq!(s.ports[3].value.published, None);
    let long = &s.ports[4];
    assert_eq!(long.value.syntax, Syntax::Long);
    assert_eq!(long.value.host_ip.as_deref(), Some("::"));
    assert_eq!(long.value.published_range, Some((8443, 8443)));
    assert_eq!(long.value.mode.as_deref(), Some("host"));
    assert_eq!(lc(&long.location), (9, 9));
}

#[test]
fn volumes_short_and_long_and_tmpfs() {
    let s = one(concat!(
        "services:\n",
        "  web:\n",
        "    image: x\n",
        "    volumes:\n",
        "      - /var/run/docker.sock:/var/run/docker.sock\n",
        "      - data:/data:ro\n",
        "      - type: bind\n",
        "        source: /etc\n",
        "        target: /host-etc\n",
        "        read_only: true\n",
        "        bind:\n",
        "          propagation: rshared\n",
        "      - /anon\n",
        "    tmpfs: /run\n",
        "    read_only: true\n",
    ));
    let m = &s.mounts;
    assert_eq!(m[0].value.kind, MountKind::Bind);
    assert_eq!(m[0].value.source.as_deref(), Some("/var/run/docker.sock"));
    assert_eq!(lc(&m[0].location), (5, 9));
    assert_eq!(
        (m[1].value.kind, m[1].value.read_only),
        (MountKind::Volume, true)
    );
    assert_eq!(m[2].value.syntax, Syntax::Long);
    assert_eq!(m[2].value.propagation.as_deref(), Some("rshared"));
    assert!(m[2].value.read_only);
    assert_eq!(lc(&m[2].location), (7, 9));
    assert_eq!(m[3].value.source, None);
    assert_eq!(s.tmpfs[0].value, "/run");
    let ro = s.read_only.unwrap();
    assert!(ro.value);
    assert_eq!(lc(&ro.location), (15, 16));
}

#[test]
fn environment_list_and_map_with_provenance() {
    let dir = fixture(&[
        (
            "compose.yaml",
            concat!(
                "services:\n",
                "  a:\n",
                "    image: x\n",
                "    env_file: app.env\n",
                "    environment:\n",
                "      - PASSWORD=hunter2\n",
                "      - TOKEN=${TOKEN}\n",
                "      - FROM_HOST\n",
                "  b:\n",
                "    image: x\n",
                "    environment:\n",
                "      DB_PASSWORD: \"s3cret\"\n",
                "      DB_PASSWORD_FILE: /run/secrets/db\n",
                "      EMPTY:\n",
            ),
        ),
        ("app.env", "# comment\nAPI_KEY=abc123\nOTHER=${TOKEN}\n"),
    ]);
    let p = load(&dir, &["compose.yaml"], &Env::new().with("TOKEN", "t0k"));
    let a = &p.services[0];
    let api = a.env("API_KEY").unwrap();
    assert!(matches!(api.provenance, Provenance::EnvFile { .. }));
    assert!(api.name.location.path.ends_with("app.env"));
    assert_eq!(lc(&api.name.location), (2, 1));
    assert_eq!(lc(&api.value.as_ref().unwrap().location), (2, 9));
    assert_eq!(a.env("OTHER").unwrap().provenance, Provenance::Interpolated);
    let pw = a.env("PASSWORD").unwrap();
    assert_eq!(pw.provenance, Provenance::Literal);
    assert_eq!(lc(&pw.name.location), (6, 9));
    let v = pw.value.as_ref().unwrap();
    assert_eq!((v.value.as_str(), lc(&v.location)), ("hunter2", (6, 18)));
    let tok = a.env("TOKEN").unwrap();
    assert_eq!(tok.provenance, Provenance::Interpolated);
    assert_eq!(
        (lc(&tok.name.location), tok.name.location.end_column),
        ((7, 9), 14)
    );
    assert_eq!(tok.value.as_ref().unwrap().value, "t0k");
    assert_eq!(a.env("FROM_HOST").unwrap().provenance, Provenance::HostEnv);
    assert_eq!(a.env_files[0].value, "app.env");
    let b = &p.services[1];
    let db = b.env("DB_PASSWORD").unwrap();
    assert_eq!(lc(&db.name.location), (12, 7));
    assert_eq!(lc(&db.value.as_ref().unwrap().location), (12, 20));
    assert_eq!(b.env("EMPTY").unwrap().provenance, Provenance::HostEnv);
}

#[test]
fn env_file_missing_is_a_located_note_unless_optional() {
    let dir = fixture(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    env_file:\n      - nope.env\n",
    )]);
    let p = load(&dir, &["compose.yaml"], &Env::new());
    assert_eq!(p.unavailable.len(), 1);
    assert_eq!(p.unavailable[0].name, "nope.env");
    assert_eq!(lc(&p.unavailable[0].location), (5, 9));
    assert_eq!(p.services[0].image.as_ref().unwrap().value, "x");
    let dir = fixture(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    env_file:\n      - path: nope.env\n        required: false\n",
    )]);
    let p = load(&dir, &["compose.yaml"], &Env::new());
    assert!(p.services[0].environment.is_empty());
    assert!(p.unavailable.is_empty());
}

#[test]
fn override_files_merge_like_docker_compose() {
    let dir = fixture(&[
        (
            "compose.yaml",
            concat!(
                "services:\n",
                "  web:\n",
                "    image: nginx:1.25\n",
                "    command: [\"nginx\", \"-g\", \"daemon off;\"]\n",
                "    ports: [\"8080:80\"]\n",
                "    environment: {A: \"1\", B: \"2\"}\n",
                "    volumes: [\"./a:/data\"]\n",
            ),
        ),
        (
            "compose.override.yaml",
            concat!(
                "services:\n",
                "  web:\n",
                "    command: nginx -T\n",
                "    ports: [\"8443:443\"]\n",
                "    environment: [\"A=9\", \"C=3\"]\n",
                "    volumes: [\"./b:/data:ro\"]\n",
                "  extra:\n",
                "    image: redis\n",
            ),
        ),
    ]);
    let p = load(
        &dir,
        &["compose.yaml", "compose.override.yaml"],
        &Env::new(),
    );
    assert_eq!(p.services.len(), 2);
    let web = &p.services[0];
    assert_eq!(lc(&web.location), (2, 3));
    let argv: Vec<&str> = web
        .command
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|a| a.value.as_str())
        .collect();
    assert_eq!(argv, ["nginx", "-T"]);
    assert!(
        web.command
            .as_ref()
            .unwrap()
            .location
            .path
            .ends_with("compose.override.yaml")
    );
    assert_eq!(web.ports.len(), 2);
    assert_eq!(web.env("A").unwrap().value.as_ref().unwrap().value, "9");
    assert!(
        web.env("A")
            .unwrap()
            .name
            .location
            .path
            .ends_with("override.yaml")
    );
    assert_eq!(web.env("B").unwrap().value.as_ref().unwrap().value, "2");
    assert_eq!(web.mounts.len(), 1, "volumes are unique by target");
    assert!(web.mounts[0].value.read_only);
}

#[test]
fn reset_and_override_tags() {
    let dir = fixture(&[
        (
            "a.yaml",
            "services:\n  w:\n    image: x\n    ports: [\"80:80\"]\n    environment: {A: \"1\"}\n",
        ),
        (
            "b.yaml",
            "services:\n  w:\n    ports: !reset []\n    environment: !override {B: \"2\"}\n",
        ),
    ]);
    let p = load(&dir, &["a.yaml", "b.yaml"], &Env::new());
    let w = &p.services[0];
    assert!(w.ports.is_empty());
    assert!(w.env("A").is_none());
    assert!(w.env("B").is_some());
}

#[test]
fn extends_same_file_and_other_file() {
    let dir = fixture(&[
        (
            "compose.yaml",
            concat!(
                "services:\n",
                "  base:\n",
                "    image: app\n",
                "    cap_drop: [ALL]\n",
                "  web:\n",
                "    extends: base\n",
                "    ports: [\"80:80\"]\n",
                "  worker:\n",
                "    extends:\n",
                "      file: common.yaml\n",
                "      service: hardened\n",
                "    user: \"1000\"\n",
            ),
        ),
        (
            "common.yaml",
            "services:\n  hardened:\n    image: worker\n    read_only: true\n    security_opt: [no-new-privileges:true]\n",
        ),
    ]);
    let p = load(&dir, &["compose.yaml"], &Env::new());
    let web = p.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web.image.as_ref().unwrap().value, "app");
    assert_eq!(lc(&web.cap_drop[0].location), (4, 16));
    assert_eq!(lc(&web.location), (5, 3));
    let worker = p.services.iter().find(|s| s.name == "worker").unwrap();
    let ro = worker.read_only.as_ref().unwrap();
    assert!(ro.location.path.ends_with("common.yaml"));
    assert_eq!(lc(&ro.location), (4, 16));
    assert_eq!(
        worker.security_opt[0].value.kind,
        SecurityOptKind::NoNewPrivileges(true)
    );
    assert_eq!(worker.user.as_ref().unwrap().value, "1000");
}

#[test]
fn extends_cycle_is_an_error() {
    let e = parse_compose(
        "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
        "compose.yaml",
        &Env::new(),
    )
    .unwrap_err();
    assert!(e.message.contains("cycle"), "{e}");
}

#[test]
fn anchors_and_merge_keys() {
    let s = parse_compose(
        concat!(
            "x-defaults: &defaults\n",
            "  restart: unless-stopped\n",
            "  cap_drop: [ALL]\n",
            "x-logging: &logging\n",
            "  logging:\n",
            "    driver: json-file\n",
            "services:\n",
            "  a:\n",
            "    <<: [*defaults, *logging]\n",
            "    image: a\n",
            "    restart: always\n",
            "  b:\n",
            "    <<: *defaults\n",
            "    image: b\n",
        ),
        "compose.yaml",
        &Env::new(),
    )
    .unwrap();
    let a = &s.services[0];
    assert_eq!(a.restart.as_ref().unwrap().value.name, "always");
    assert_eq!(a.logging.driver.as_ref().unwrap().value, "json-file");
    let b = &s.services[1];
    let r = b.restart.as_ref().unwrap();
    assert_eq!(r.value.name, "unless-stopped");
    assert_eq!(
        lc(&r.location),
        (2, 12),
        "located at the anchor's definition"
    );
    assert_eq!(b.cap_drop[0].value, "ALL");
}

#[test]
fn interpolation_and_dotenv() {
    let dir = fixture(&[
        (
            "compose.yaml",
            concat!(
                "services:\n",
                "  web:\n",
                "    image: \"${REGISTRY:-docker.io}/app:${TAG}\"\n",
                "    user: $$HOME\n",
                "    ports: [\"${HOST_PORT-8080}:80\"]\n",
                "    hostname: ${NAME:+named}\n",
            ),
        ),
        (".env", "TAG=1.2\nNAME=x\nHOST_PORT=9000\n"),
    ]);
    let p = load(
        &dir,
        &["compose.yaml"],
        &Env::new().with("HOST_PORT", "7000"),
    );
    let w = &p.services[0];
    assert_eq!(w.image.as_ref().unwrap().value, "docker.io/app:1.2");
    assert_eq!(w.user.as_ref().unwrap().value, "$HOME");
    assert_eq!(
        w.ports[0].value.published.as_deref(),
        Some("7000"),
        "supplied env wins over .env"
    );
    assert_eq!(w.hostname.as_ref().unwrap().value, "named");
    let p = parse_compose(
        "services:\n  w:\n    image: ${IMG:?set IMG}\n",
        "compose.yaml",
        &Env::new(),
    )
    .unwrap();
    let missing = &p.unavailable[0];
    assert_eq!(lc(&missing.location), (3, 12));
    assert_eq!(
        (missing.name.as_str(), missing.detail.as_deref()),
        ("IMG", Some("set IMG"))
    );
    assert!(p.services[0].image.as_ref().unwrap().interpolated);
}

#[test]
fn errors_are_located() {
    let cases: [(&str, (usize, usize), &str); 6] = [
        ("services:\n  a:\n    ports: 5\n", (3, 12), "sequence"),
        ("services:\n  a:\n    image: [x\n", (4, 1), "YAML"),
        ("servics:\n  a: {}\n", (1, 1), "unknown top-level key"),
        ("services:\n  a:\n    imagee: x\n", (3, 5), "unknown key"),
        (
            "services:\n  a:\n    privileged: maybe\n",
            (3, 17),
            "boolean",
        ),
        (
            "services:\n  a:\n    ports: [\"80:http\"]\n",
            (3, 13),
            "port",
        ),
    ];
    for (text, (line, col), needle) in cases {
        let e = parse_compose(text, "c.yaml", &Env::new()).unwrap_err();
        assert_eq!((e.line, e.column), (Some(line), Some(col)), "{text}: {e}");
        assert!(e.message.contains(needle), "{e}");
    }
}

#[test]
fn extensions_are_allowed_anywhere() {
    let p = parse_compose(
        "x-top: 1\nservices:\n  a:\n    image: x\n    x-note: ${UNSET:?not interpolated}\nnetworks:\n  x-meta: {}\n  back: {internal: true}\n",
        "c.yaml",
        &Env::new(),
    )
    .unwrap();
    assert_eq!(p.networks.len(), 1);
}

#[test]
fn resources_deploy_wins_over_legacy() {
    let s = one(concat!(
        "services:\n",
        "  a:\n",
        "    image: x\n",
        "    mem_limit: 1g\n",
        "    cpus: 0.5\n",
        "    pids_limit: 100\n",
        "    ulimits:\n",
        "      nproc: 65535\n",
        "      nofile: {soft: 1024, hard: 2048}\n",
        "    deploy:\n",
        "      resources:\n",
        "        limits: {memory: 512M, pids: 50}\n",
        "      restart_policy:\n",
        "        condition: on-failure\n",
        "        max_attempts: 10\n",
    ));
    let r = &s.resources;
    let mem = r.memory.as_ref().unwrap();
    assert_eq!(mem.value.bytes, Some(512 << 20));
    assert_eq!(lc(&mem.location), (12, 26));
    assert_eq!(r.cpus.as_ref().unwrap().value.cpus, Some(0.5));
    assert_eq!(lc(&r.cpus.as_ref().unwrap().location), (5, 11));
    assert_eq!(r.pids.as_ref().unwrap().value, 50);
    assert_eq!(r.ulimits.len(), 2);
    assert_eq!(r.ulimits[1].value.hard, Some(2048));
    let rp = s.deploy_restart_policy.as_ref().unwrap();
    assert_eq!(rp.value.name, "on-failure");
    assert_eq!(rp.value.max_retries.as_ref().unwrap().value, 10);
    assert_eq!(
        lc(&rp.value.max_retries.as_ref().unwrap().location),
        (15, 23)
    );
}

#[test]
fn security_and_runtime_settings() {
    let s = one(concat!(
        "services:\n",
        "  a:\n",
        "    image: x\n",
        "    privileged: true\n",
        "    user: root\n",
        "    cap_add: [cap_sys_admin, NET_ADMIN]\n",
        "    cap_drop:\n",
        "      - ALL\n",
        "    security_opt:\n",
        "      - seccomp:unconfined\n",
        "      - apparmor=unconfined\n",
        "      - label:disable\n",
        "      - no-new-privileges:true\n",
        "    pid: host\n",
        "    ipc: host\n",
        "    uts: host\n",
        "    userns_mode: host\n",
        "    network_mode: host\n",
        "    cgroup: host\n",
        "    cgroup_parent: /custom\n",
        "    devices: [\"/dev/sda:/dev/xvda:rwm\"]\n",
        "    restart: on-failure:7\n",
        "    healthcheck:\n",
        "      test: [\"NONE\"]\n",
        "    command: sh -c 'echo hi'\n",
        "    entrypoint: [\"/bin/tini\", \"--\"]\n",
        "    labels: [\"a=b\"]\n",
        "    profiles: [debug]\n",
        "    secrets: [db_pw, {source: api, target: /run/secrets/api}]\n",
    ));
    let privileged = s.privileged.as_ref().unwrap();
    assert!(privileged.value);
    assert_eq!(lc(&privileged.location), (4, 17));
    assert_eq!(s.cap_add[0].value, "SYS_ADMIN");
    assert_eq!(lc(&s.cap_add[1].location), (6, 30));
    assert_eq!(lc(&s.cap_drop[0].location), (8, 9));
    let kinds: Vec<&SecurityOptKind> = s.security_opt.iter().map(|o| &o.value.kind).collect();
    assert_eq!(
        kinds,
        [
            &SecurityOptKind::Seccomp("unconfined".into()),
            &SecurityOptKind::Apparmor("unconfined".into()),
            &SecurityOptKind::Label("disable".into()),
            &SecurityOptKind::NoNewPrivileges(true)
        ]
    );
    for (v, line) in [
        (&s.pid, 14),
        (&s.ipc, 15),
        (&s.uts, 16),
        (&s.userns, 17),
        (&s.network_mode, 18),
        (&s.cgroup, 19),
    ] {
        let v = v.as_ref().unwrap();
        assert_eq!((v.value.as_str(), v.location.line), ("host", line));
    }
    assert_eq!(s.cgroup_parent.as_ref().unwrap().value, "/custom");
    assert_eq!(s.devices[0].value.permissions.as_deref(), Some("rwm"));
    let restart = s.restart.as_ref().unwrap();
    assert_eq!(restart.value.name, "on-failure");
    let retries = restart.value.max_retries.as_ref().unwrap();
    assert_eq!((retries.value, lc(&retries.location)), (7, (22, 25)));
    assert!(s.healthcheck.as_ref().unwrap().value.disabled);
    let cmd: Vec<&str> = s
        .command
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|a| a.value.as_str())
        .collect();
    assert_eq!(cmd, ["sh", "-c", "echo hi"]);
    assert_eq!(lc(&s.command.as_ref().unwrap().value[1].location), (25, 17));
    assert_eq!(s.entrypoint.as_ref().unwrap().value.len(), 2);
    assert_eq!(s.labels[0].key.value, "a");
    assert_eq!(s.profiles[0].value, "debug");
    assert_eq!(
        s.secrets[1].value.target.as_deref(),
        Some("/run/secrets/api")
    );
}

#[test]
fn networks_and_top_level_definitions() {
    let p = parse_compose(
        concat!(
            "services:\n",
            "  gw:\n",
            "    image: nginx\n",
            "    networks: [front, back]\n",
            "  db:\n",
            "    image: postgres\n",
            "    networks:\n",
            "      back:\n",
            "        aliases: [database]\n",
            "networks:\n",
            "  front:\n",
            "  back:\n",
            "    driver: bridge\n",
            "    internal: true\n",
            "  ext:\n",
            "    external: true\n",
            "volumes:\n",
            "  data:\n",
            "secrets:\n",
            "  db_pw:\n",
            "    file: ./pw.txt\n",
            "configs:\n",
            "  c:\n",
            "    content: hello\n",
        ),
        "c.yaml",
        &Env::new(),
    )
    .unwrap();
    let gw = &p.services[0];
    let names: Vec<&str> = gw.networks.iter().map(|n| n.value.as_str()).collect();
    assert_eq!(names, ["front", "back"]);
    assert_eq!(lc(&gw.networks[1].location), (4, 23));
    assert_eq!(lc(&p.services[1].networks[0].location), (8, 7));
    assert_eq!(p.networks.len(), 3);
    let back = &p.networks[1];
    assert_eq!(lc(&back.location), (12, 3));
    assert!(back.internal.as_ref().unwrap().value);
    assert_eq!(back.driver.as_ref().unwrap().value, "bridge");
    assert!(p.networks[2].external.as_ref().unwrap().value);
    assert_eq!(p.volumes[0].name.value, "data");
    assert_eq!(p.secrets[0].file.as_ref().unwrap().value, "./pw.txt");
    assert_eq!(p.configs[0].content.as_ref().unwrap().value, "hello");
}

#[test]
fn build_only_service_and_empty_file() {
    let s = one("services:\n  a:\n    build:\n      context: ./app\n");
    assert_eq!(s.build.unwrap().value, "./app");
    let p = parse_compose("", "c.yaml", &Env::new()).unwrap();
    assert!(p.services.is_empty());
}

#[test]
fn include_loads_other_files() {
    let dir = fixture(&[
        (
            "compose.yaml",
            "include:\n  - db.yaml\n  - path: [cache.yaml]\nservices:\n  web:\n    image: web\n",
        ),
        (
            "db.yaml",
            "services:\n  db:\n    image: postgres\n    ports: [\"5432:5432\"]\n",
        ),
        ("cache.yaml", "services:\n  cache:\n    image: redis\n"),
    ]);
    let p = load(&dir, &["compose.yaml"], &Env::new());
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "cache", "web"]);
    assert!(p.services[0].ports[0].location.path.ends_with("db.yaml"));
    assert_eq!(lc(&p.services[0].ports[0].location), (4, 13));
    let e = load_compose(
        &[fixture(&[("compose.yaml", "include:\n  - missing.yaml\n")])
            .path()
            .join("compose.yaml")],
        &Env::new(),
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(5)));
}

#[test]
fn override_paths_are_relative_to_the_first_file() {
    let dir = fixture(&[
        ("compose.yaml", "services:\n  a:\n    image: x\n"),
        ("app.env", "K=v\n"),
    ]);
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("override.yaml"),
        "services:\n  a:\n    env_file: app.env\n",
    )
    .unwrap();
    let p = load_compose(
        &[dir.path().join("compose.yaml"), sub.join("override.yaml")],
        &Env::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.services[0]
            .env("K")
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .value,
        "v"
    );
}

#[test]
fn interpolated_values_are_flagged() {
    let p = parse_compose(
        "services:\n  a:\n    image: app:${TAG:-1}\n    user: root\n    command: [\"--password\", \"${PW}\"]\n",
        "c.yaml",
        &Env::new().with("PW", "x"),
    )
    .unwrap();
    let a = &p.services[0];
    assert!(a.image.as_ref().unwrap().interpolated);
    assert!(!a.user.as_ref().unwrap().interpolated);
    let argv = &a.command.as_ref().unwrap().value;
    assert!(!argv[0].interpolated && argv[1].interpolated);
    assert_eq!(argv[1].value, "x");
}

#[test]
fn env_files_load_on_their_own() {
    let dir = fixture(&[("run.env", "A=1\n\nB='two'\nC\n")]);
    let vars =
        moat_deploy::load_env_file(&dir.path().join("run.env"), &Env::new().with("C", "host"))
            .unwrap();
    assert_eq!(vars.len(), 3);
    assert_eq!(lc(&vars[1].value.as_ref().unwrap().location), (3, 3));
    assert_eq!(vars[2].provenance, Provenance::HostEnv);
    assert_eq!(vars[2].value.as_ref().unwrap().value, "host");
    assert!(moat_deploy::load_env_file(&dir.path().join("none.env"), &Env::new()).is_err());
}

#[test]
fn overlays_find_their_base_and_fragments_are_partial() {
    let base = "services:\n  api:\n    image: shop/api:1.4\n";
    let prod = "services:\n  api:\n    labels: [tier=prod]\n  cache:\n    image: redis:7.2\n";
    let whole = "services:\n  tools:\n    build: ./tools\n";
    let dir = fixture(&[
        ("compose.yaml", base),
        ("compose.prod.yaml", prod),
        ("compose.tools.yaml", whole),
    ]);
    let at = |name: &str| dir.path().join(name);
    assert_eq!(
        moat_deploy::overlay_base(&at("compose.prod.yaml"), prod),
        Some(at("compose.yaml"))
    );
    // a file whose services stand alone, and the main file itself, have no base
    assert_eq!(
        moat_deploy::overlay_base(&at("compose.tools.yaml"), whole),
        None
    );
    assert_eq!(moat_deploy::overlay_base(&at("compose.yaml"), base), None);
    let alone = fixture(&[("compose.prod.yaml", prod)]);
    let path = alone.path().join("compose.prod.yaml");
    assert_eq!(moat_deploy::overlay_base(&path, prod), None);

    // read alone, the fragment's service is partial; merged onto its base, it is whole
    let p = load(&alone, &["compose.prod.yaml"], &Env::new());
    let partial: Vec<(&str, bool)> = p
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.partial))
        .collect();
    assert_eq!(partial, [("api", true), ("cache", false)]);
    let p = load(&dir, &["compose.yaml", "compose.prod.yaml"], &Env::new());
    assert!(p.services.iter().all(|s| !s.partial));
    assert_eq!(p.services[0].labels[0].key.value, "tier");
}

#[test]
fn a_quoted_port_stops_before_its_comment_and_env_file_paths_have_one_spelling() {
    let text = "services:\n  api:\n    image: x/api:1.2\n    env_file: ./conf/./app.env\n    ports:\n      - 8080:8080   # public\n      - \"9090:9090\" # metrics\n      - '9091:9091'  # metrics\n";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("compose.yaml"), text).unwrap();
    std::fs::write(dir.path().join("conf/app.env"), "LOG_LEVEL=info\n").unwrap();
    let p = load_compose(&[dir.path().join("compose.yaml")], &Env::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let s = &p.services[0];
    let spans: Vec<(usize, usize, usize)> = s
        .ports
        .iter()
        .map(|p| (p.location.line, p.location.column, p.location.end_column))
        .collect();
    assert_eq!(spans, [(6, 9, 18), (7, 9, 20), (8, 9, 20)]);
    let var = &s.environment[0];
    let path = &var.name.location.path;
    assert!(
        path.ends_with("conf/app.env") && !path.contains("/./"),
        "{path}"
    );
}
