//! Acceptance tests of `moat audit --engine` against the real Docker engine of the machine,
//! through the moat binary. Skipped without an engine; a failure under `MOAT_REQUIRE_DOCKER=1`.
//!
//! Each test makes its own objects under its own run label (see
//! `moat_engine::test_support`), audits only them (`--label moat.test=<run>`, or a filter
//! that names them) and removes them on drop, also when it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use moat_engine::test_support::{EngineGuard, busybox_image, free_port, require_engine};
use serde_json::Value;

/// Runs moat in `dir` (where a `.moat.toml` may be) with `args`.
fn moat(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `moat audit --engine --format json ARGS` in the guard's directory; the report, checked
/// against moat's JSON schema (closed: no field it does not document), and the exit code.
fn audit(g: &EngineGuard, args: &[&str]) -> (Value, Option<i32>) {
    let mut all = vec!["audit", "--engine", "--format", "json"];
    all.extend_from_slice(args);
    let o = moat(g.dir(), &all);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "moat {all:?}: {:?}\n{}{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&o)));
    let errors: Vec<String> = strict_report_validator()
        .iter_errors(&v)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    (v, o.status.code())
}

/// The run's own containers: `--label moat.test=<run>`.
fn audit_run(g: &EngineGuard) -> Value {
    let label = g.label();
    audit(g, &["--label", &label]).0
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings")
}

/// Findings whose `location.object` is `container:NAME`.
fn on_container<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    let object = format!("container:{name}");
    findings(v)
        .iter()
        .filter(|f| f["location"]["object"] == object.as_str())
        .collect()
}

/// Rule codes by container name.
fn codes_by_container(v: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in findings(v) {
        if let Some(name) = f["location"]["object"]
            .as_str()
            .and_then(|o| o.strip_prefix("container:"))
        {
            m.entry(name.to_string())
                .or_default()
                .insert(f["code"].as_str().unwrap().to_string());
        }
    }
    m
}

/// The containers a report has findings on.
fn containers(v: &Value) -> BTreeSet<String> {
    codes_by_container(v).into_keys().collect()
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(ToString::to_string).collect()
}

/// moat's JSON schema with no property beyond those it documents.
fn strict_report_validator() -> jsonschema::Validator {
    fn close(v: &mut Value) {
        if let Some(map) = v.as_object_mut() {
            if map.contains_key("properties") {
                map.insert("additionalProperties".into(), false.into());
            }
            map.values_mut().for_each(close);
        } else if let Some(items) = v.as_array_mut() {
            items.iter_mut().for_each(close);
        }
    }
    let mut schema: Value = serde_json::from_str(moat_diagnostics::report::JSON_SCHEMA_V1).unwrap();
    close(&mut schema);
    jsonschema::validator_for(&schema).unwrap()
}

/// Starts (`run`) or creates the containers concurrently: `(name, flags, running)`.
fn make_containers(g: &EngineGuard, image: &str, specs: &[(String, Vec<String>, bool)]) {
    std::thread::scope(|s| {
        for (name, flags, running) in specs {
            s.spawn(move || {
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                if *running {
                    g.run(name, &flags, image, &[]);
                } else {
                    g.create(name, &flags, image, &[]);
                }
            });
        }
    });
}

/// What a plain `docker run IMAGE sleep 3600` gets, the image running as `nobody`: every
/// capability kept (C002), no no-new-privileges (C017), no memory, CPU or pids limits (C020,
/// C021, C022), a writable root (C023), no health check (C027), the default bridge (C028).
const BASELINE: &[&str] = &[
    "C002", "C017", "C020", "C021", "C022", "C023", "C027", "C028",
];

/// A bad setting: (name suffix, `docker run` flags, the rule reporting it, the CIS id it
/// cites, rules of the baseline it removes).
type Case<'a> = (&'a str, Vec<String>, &'a str, &'a str, &'a [&'a str]);

/// One bad setting per container, running, created and exited, and a privileged one
/// (created only: this engine cannot start it). Each container gets exactly the baseline plus
/// the rule of its setting, and that finding cites the CIS Docker Benchmark item.
#[test]
fn bad_settings_are_reported_on_running_and_stopped_containers() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "bad", &["USER 65534"]);
    // (suffix, flags, the rule of the setting, its CIS id, removed from the baseline)
    let cases: Vec<Case> = vec![
        (
            "capsys",
            vec!["--cap-add".into(), "SYS_ADMIN".into()],
            "C003",
            "CIS-DOCKER-5.4",
            &[],
        ),
        (
            "hostnet",
            vec!["--network".into(), "host".into()],
            "C006",
            "CIS-DOCKER-5.10",
            &["C028"],
        ),
        (
            "hostpid",
            vec!["--pid".into(), "host".into()],
            "C007",
            "CIS-DOCKER-5.16",
            &[],
        ),
        (
            "hostipc",
            vec!["--ipc".into(), "host".into()],
            "C008",
            "CIS-DOCKER-5.17",
            &[],
        ),
        (
            "hostuts",
            vec!["--uts".into(), "host".into()],
            "C009",
            "CIS-DOCKER-5.21",
            &[],
        ),
        (
            "etc",
            vec!["-v".into(), "/etc:/host-etc".into()],
            "C004",
            "CIS-DOCKER-5.6",
            &[],
        ),
        (
            "sock",
            vec![
                "-v".into(),
                "/var/run/docker.sock:/var/run/docker.sock".into(),
            ],
            "C005",
            "CIS-DOCKER-5.32",
            &[],
        ),
        (
            "seccomp",
            vec!["--security-opt".into(), "seccomp=unconfined".into()],
            "C013",
            "CIS-DOCKER-5.22",
            &[],
        ),
        (
            "user0",
            vec!["--user".into(), "0".into()],
            "C018",
            "CIS-DOCKER-4.1",
            &[],
        ),
        (
            "user00",
            vec!["--user".into(), "0:0".into()],
            "C018",
            "CIS-DOCKER-4.1",
            &[],
        ),
    ];
    let mut specs: Vec<(String, Vec<String>, bool)> = Vec::new();
    // (container, flags, rule, CIS, removed)
    let mut expect: Vec<(String, &str, &str, &[&str])> = Vec::new();
    // running; created (never started); exited (started, then stopped)
    let states = [("run", true), ("created", false), ("exited", true)];
    for (suffix, flags, rule, cis, removed) in &cases {
        for (state, running) in states {
            let name = g.name(&format!("{suffix}-{state}"));
            specs.push((name.clone(), flags.clone(), running));
            expect.push((name, rule, cis, removed));
        }
    }
    // published ports on all interfaces, IPv4 and IPv6 (distinct host ports: the created twin
    // binds nothing, but is kept apart anyway)
    for (suffix, ip) in [("port4", "0.0.0.0"), ("port6", "[::]")] {
        for (state, running) in states {
            let name = g.name(&format!("{suffix}-{state}"));
            let publish = format!("{ip}:{}:80", free_port());
            specs.push((name.clone(), vec!["-p".into(), publish], running));
            expect.push((name, "C025", "CIS-DOCKER-5.14", &[]));
        }
    }
    // a privileged container has every capability: C001 says it, not C002 too
    let privileged = g.name("priv-created");
    specs.push((privileged.clone(), vec!["--privileged".into()], false));
    expect.push((privileged.clone(), "C001", "CIS-DOCKER-5.5", &["C002"]));
    make_containers(&g, &image, &specs);
    let exited: Vec<&str> = specs
        .iter()
        .map(|(name, _, _)| name.as_str())
        .filter(|n| n.ends_with("-exited"))
        .collect();
    g.stop(&exited);

    let v = audit_run(&g);
    let got = codes_by_container(&v);
    let mut problems = Vec::new();
    for (name, rule, cis, removed) in &expect {
        let mut want = set(BASELINE);
        for r in *removed {
            want.remove(*r);
        }
        want.insert(rule.to_string());
        let have = got.get(name).cloned().unwrap_or_default();
        if have != want {
            problems.push(format!(
                "{name}: got {have:?}, want {want:?} (extra {:?}, missing {:?})",
                have.difference(&want).collect::<Vec<_>>(),
                want.difference(&have).collect::<Vec<_>>()
            ));
        }
        for f in on_container(&v, name) {
            if f["code"] == *rule {
                assert!(
                    f["references"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|r| r == *cis)),
                    "{name}: {rule} cites {cis}: {f}"
                );
                assert_eq!(f["location"]["path"], f["location"]["object"], "{f}");
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(got.len(), expect.len(), "{:?}", got.keys());
}

/// A hardened container, running and a stopped twin (started, then stopped): nothing at
/// medium or above.
#[test]
fn a_hardened_container_has_no_medium_finding() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "good", &[]);
    let net = g.name("net");
    g.network(&net);
    let (run, stop) = (g.name("good-run"), g.name("good-stop"));
    let ports = [free_port(), free_port()];
    std::thread::scope(|s| {
        for (name, port) in [(&run, ports[0]), (&stop, ports[1])] {
            let (g, image, net) = (&g, &image, &net);
            s.spawn(move || {
                let publish = format!("127.0.0.1:{port}:80");
                g.run(
                    name,
                    &[
                        "--read-only",
                        "--tmpfs",
                        "/tmp",
                        "--cap-drop",
                        "ALL",
                        "--security-opt",
                        "no-new-privileges",
                        "--memory",
                        "64m",
                        "--memory-swap",
                        "64m",
                        "--cpus",
                        "0.5",
                        "--pids-limit",
                        "64",
                        "--user",
                        "65534",
                        "-p",
                        &publish,
                        "--health-cmd",
                        "true",
                        "--restart",
                        "on-failure:3",
                        "--network",
                        net,
                    ],
                    image,
                    &[],
                );
            });
        }
    });
    g.stop(&[&stop]);

    let v = audit_run(&g);
    // both were audited (no finding is not "not read")
    assert_eq!(v["summary"]["files"]["containers"], 2, "{:#}", v["summary"]);
    assert_eq!(v["summary"]["files"]["engines"], 1, "{:#}", v["summary"]);
    for name in [&run, &stop] {
        let serious: Vec<_> = on_container(&v, name)
            .into_iter()
            .filter(|f| !matches!(f["severity"].as_str(), Some("low" | "info")))
            .collect();
        assert!(serious.is_empty(), "{name}: {serious:#?}");
    }
    // low and info findings are allowed; on Docker 20.10 this container gets none at all (the
    // low rules C021 CPU, C022 pids, C024 port, C026 restart, C027 health check, C028 default
    // bridge are all satisfied)
}

/// A process named `sshd` in a running container (C033, CIS 5.7), seen through `docker top`.
/// busybox cannot run under another name, so the engine's `--init` (tini, which ignores its
/// `argv[0]`) is started as `sshd`.
#[test]
fn an_ssh_server_in_a_container_is_reported() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "ssh", &["USER 65534"]);
    let name = g.name("sshd");
    g.run(
        &name,
        &["--init"],
        &image,
        &[
            "sh",
            "-c",
            "exec -a /usr/sbin/sshd /sbin/docker-init -s -- sleep 3600",
        ],
    );
    let v = audit_run(&g);
    let f: Vec<_> = on_container(&v, &name)
        .into_iter()
        .filter(|f| f["code"] == "C033")
        .collect();
    assert_eq!(f.len(), 1, "{:#?}", codes_by_container(&v));
    assert_eq!(f[0]["references"], serde_json::json!(["CIS-DOCKER-5.7"]));
}

/// A container created from a tag that now names a newer image (C034, CIS 5.28).
#[test]
fn a_container_of_an_older_image_than_its_tag_is_reported() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "stale", &["USER 65534"]);
    let (old, new) = (g.name("old"), g.name("new"));
    g.create(&old, &[], &image, &[]);
    // same tag, another image
    let again = busybox_image(&g, "stale", &["USER 65534", "ENV BUILD=2"]);
    assert_eq!(again, image);
    g.create(&new, &[], &image, &[]);
    let v = audit_run(&g);
    let got = codes_by_container(&v);
    assert!(got[&old].contains("C034"), "{got:#?}");
    assert!(!got[&new].contains("C034"), "{got:#?}");
    let f = on_container(&v, &old)
        .into_iter()
        .find(|f| f["code"] == "C034")
        .unwrap();
    assert_eq!(f["references"], serde_json::json!(["CIS-DOCKER-5.28"]));
}

fn compose_installed() -> bool {
    let ok = Command::new("docker-compose")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !moat_engine::test_support::engine_required(),
            "docker-compose is not installed"
        );
        eprintln!("skipped: docker-compose is not installed");
    }
    ok
}

/// A compose-started container's findings point at the compose file line that asked for the
/// setting; when the file no longer says so, the finding says the container drifted.
#[test]
fn compose_started_containers_point_back_to_the_file() {
    let Some(g) = require_engine() else { return };
    if !compose_installed() {
        return;
    }
    let image = busybox_image(&g, "compose", &["USER 65534"]);
    let project = format!("mt{}", g.run_id().replace('-', ""));
    let dir = g.dir().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("docker-compose.yml");
    let port = free_port();
    let label = g.label();
    let text = format!(
        "version: \"3.8\"\n\
         services:\n\
         \x20 api:\n\
         \x20   image: {image}\n\
         \x20   command: [\"sleep\", \"3600\"]\n\
         \x20   cap_add:\n\
         \x20     - SYS_ADMIN\n\
         \x20   ports:\n\
         \x20     - \"0.0.0.0:{port}:80\"\n\
         \x20   labels:\n\
         \x20     - \"{label}\"\n"
    );
    std::fs::write(&file, &text).unwrap();
    let cap_line = text
        .lines()
        .position(|l| l.trim() == "- SYS_ADMIN")
        .unwrap()
        + 1;
    g.compose_up(&project, &file);
    let name = format!("{project}_api_1");
    let file_str = file.to_string_lossy().into_owned();

    let c003 = |v: &Value| -> Value {
        on_container(v, &name)
            .into_iter()
            .find(|f| f["code"] == "C003")
            .unwrap_or_else(|| panic!("no C003 on {name}: {:#?}", codes_by_container(v)))
            .clone()
    };
    let v = audit_run(&g);
    let f = c003(&v);
    let related = f["related"].as_array().expect("related");
    assert!(
        related.iter().any(
            |r| r["location"]["path"] == file_str.as_str() && r["location"]["line"] == cap_line
        ),
        "C003 points at {file_str}:{cap_line}: {f:#}"
    );
    // the published port too
    let c025 = on_container(&v, &name)
        .into_iter()
        .find(|f| f["code"] == "C025")
        .expect("C025");
    assert!(
        c025["related"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["location"]["path"] == file_str.as_str())),
        "{c025:#}"
    );

    // the file no longer asks for SYS_ADMIN: the running container has drifted from it
    std::fs::write(&file, text.replace("    cap_add:\n      - SYS_ADMIN\n", "")).unwrap();
    let v = audit_run(&g);
    let f = c003(&v);
    let notes: Vec<String> = f["related"]
        .as_array()
        .expect("related")
        .iter()
        .map(|r| r["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        notes
            .iter()
            .any(|m| m.contains("differs") || m.contains("drift")),
        "{f:#}"
    );
}

/// `--container`, `--image`, `--label`, `--exclude` and `--running-only` each narrow the
/// containers audited.
#[test]
fn filters_narrow_the_containers() {
    let Some(g) = require_engine() else { return };
    let one = busybox_image(&g, "one", &["USER 65534"]);
    let two = busybox_image(&g, "two", &["USER 65534"]);
    let (fa, fb, fc) = (g.name("fa"), g.name("fb"), g.name("fc"));
    let role = format!("moat.role={}", g.run_id());
    // a key of this run only, on two containers, with different values
    let tier = format!("moat.tier-{}", g.run_id());
    let (tier_web, tier_db) = (format!("{tier}=web"), format!("{tier}=db"));
    std::thread::scope(|s| {
        s.spawn(|| g.run(&fa, &["--label", &role, "--label", &tier_web], &one, &[]));
        s.spawn(|| g.create(&fb, &["--label", &tier_db], &two, &[]));
        s.spawn(|| g.run(&fc, &[], &two, &[]));
    });
    let all = format!("mt-{}-*", g.run_id());
    let names = |args: &[&str]| containers(&audit(&g, args).0);
    let want = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>();

    assert_eq!(names(&["--container", &all]), want(&[&fa, &fb, &fc]));
    assert_eq!(
        names(&["--container", &format!("{}*", g.name("fa"))]),
        want(&[&fa])
    );
    assert_eq!(names(&["--image", &two]), want(&[&fb, &fc]));
    assert_eq!(names(&["--label", &role]), want(&[&fa]));
    assert_eq!(names(&["--label", &tier]), want(&[&fa, &fb]));
    assert_eq!(names(&["--label", &tier_db]), want(&[&fb]));
    assert_eq!(
        names(&["--container", &all, "--image", &one]),
        want(&[&fa, &fb, &fc]),
        "include options combine with `or`"
    );
    assert_eq!(
        names(&["--label", &tier, "--exclude", &format!("label={tier_web}")]),
        want(&[&fb])
    );
    assert_eq!(
        names(&["--container", &all, "--exclude", &format!("image={two}")]),
        want(&[&fa])
    );
    assert_eq!(
        names(&["--container", &all, "--exclude", &format!("name={fc}")]),
        want(&[&fa, &fb])
    );
    assert_eq!(
        names(&["--container", &all, "--running-only"]),
        want(&[&fa, &fc])
    );
    // the images judged are those of the containers left
    let v = audit(&g, &["--image", &two]).0;
    let images: BTreeSet<&str> = findings(&v)
        .iter()
        .filter_map(|f| f["location"]["object"].as_str())
        .filter(|o| o.starts_with("image:"))
        .collect();
    assert!(
        images.iter().all(|o| *o == format!("image:{two}")),
        "{images:?}"
    );
}

/// `[[ignore]]` of `.moat.toml` names a live container; without a reason it is an error.
#[test]
fn ignores_name_live_containers_and_need_a_reason() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "ign", &["USER 65534"]);
    let (root, other) = (g.name("root"), g.name("root2"));
    g.create(&root, &["--user", "0"], &image, &[]);
    g.create(&other, &["--user", "0"], &image, &[]);
    let config = g.dir().join(".moat.toml");
    std::fs::write(
        &config,
        format!(
            "[[ignore]]\ncontainer = \"{root}\"\nrules = [\"C018\"]\nreason = \"test fixture, runs as root\"\n"
        ),
    )
    .unwrap();
    let got = codes_by_container(&audit_run(&g));
    assert!(!got[&root].contains("C018"), "{got:#?}");
    assert!(got[&root].contains("C023"), "{got:#?}");
    assert!(got[&other].contains("C018"), "{got:#?}");

    std::fs::write(
        &config,
        format!("[[ignore]]\ncontainer = \"{root}\"\nrules = [\"C018\"]\n"),
    )
    .unwrap();
    let label = g.label();
    let o = moat(g.dir(), &["audit", "--engine", "--label", &label]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    // located at file:line:col
    let at = err
        .split(".moat.toml:")
        .nth(1)
        .unwrap_or_else(|| panic!("no location: {err}"));
    let mut parts = at.splitn(3, ':');
    let (line, col) = (parts.next().unwrap(), parts.next().unwrap_or(""));
    assert!(
        line.parse::<u32>().is_ok_and(|l| (1..=3).contains(&l)) && col.parse::<u32>().is_ok(),
        "{err}"
    );
    assert!(err.contains("needs a `reason`"), "{err}");
}

/// An engine that cannot be reached is an error naming it (exit 2). No engine needed.
#[test]
fn unreachable_engines_exit_two_and_are_named() {
    let dir = std::env::temp_dir();
    let o = moat(&dir, &["audit", "--host", "tcp://127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("127.0.0.1:1"), "{}", stderr(&o));
    let o = moat(
        &dir,
        &["audit", "--host", "unix:///nonexistent/docker.sock"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/docker.sock"),
        "{}",
        stderr(&o)
    );
}

/// Text names the container and counts the engine; SARIF validates against the official
/// schema; findings at medium or above exit 1.
#[test]
fn text_and_sarif_reports_of_an_engine() {
    let Some(g) = require_engine() else { return };
    let image = busybox_image(&g, "fmt", &["USER 65534"]);
    let name = g.name("fmt");
    g.run(&name, &["--cap-add", "SYS_ADMIN"], &image, &[]);
    let label = g.label();

    let o = moat(
        g.dir(),
        &["audit", "--engine", "--no-color", "--label", &label],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(&format!("container:{name}")), "{text}");
    assert!(
        text.contains("1 engine audited (1 container, 1 image)"),
        "{text}"
    );

    let o = moat(
        g.dir(),
        &["audit", "--engine", "--format", "sarif", "--label", &label],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&schema_path)
            .unwrap_or_else(|e| panic!("SARIF schema missing at {}: {e}", schema_path.display())),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = v["runs"][0]["results"].as_array().unwrap();
    let c003 = results
        .iter()
        .find(|r| r["ruleId"] == "C003")
        .expect("C003 in SARIF");
    assert_eq!(
        c003["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        format!("container:{name}").as_str(),
        "{c003:#}"
    );

    // below the threshold: exit 0
    let o = moat(
        g.dir(),
        &[
            "audit",
            "--engine",
            "--fail-on",
            "critical",
            "--label",
            &label,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
