//! Merge, `extends` and interpolation compared with Docker's own implementation:
//! `docker compose config` (v2) or `docker-compose config` (v1), when one is installed.
//! Skipped, with a message, on machines that have neither.

use moat_deploy::{ComposeProject, ContainerFacts, Env, load_compose, parse_compose};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The reference command, as program and leading arguments.
fn reference() -> Option<(String, Vec<String>)> {
    let candidates: [(&str, &[&str]); 2] = [("docker", &["compose"]), ("docker-compose", &[])];
    for (prog, pre) in candidates {
        let ok = Command::new(prog)
            .args(pre)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some((
                prog.to_string(),
                pre.iter().map(|s| (*s).to_string()).collect(),
            ));
        }
    }
    None
}

/// What is compared for one service.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    image: Option<String>,
    command: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    environment: BTreeMap<String, Option<String>>,
    /// (host ip, host port, container port, protocol), ranges expanded.
    ports: BTreeSet<(String, Option<u16>, u16, String)>,
    mounts: BTreeSet<(String, bool)>,
    expose: BTreeSet<String>,
    restart: Option<String>,
}

fn summary(s: &ContainerFacts) -> Summary {
    let argv = |a: &Option<moat_deploy::Located<Vec<moat_deploy::Located<String>>>>| {
        a.as_ref()
            .map(|v| v.value.iter().map(|x| x.value.clone()).collect())
    };
    let mut ports = BTreeSet::new();
    for p in &s.ports {
        let p = &p.value;
        let Some((t0, t1)) = p.target_range else {
            continue;
        };
        for (k, t) in (t0..=t1).enumerate() {
            let published = p.published_range.map(|(h0, _)| h0 + k as u16);
            ports.insert((
                p.host_ip.clone().unwrap_or_default(),
                published,
                t,
                p.protocol.clone(),
            ));
        }
    }
    Summary {
        image: s.image.as_ref().map(|i| i.value.clone()),
        command: argv(&s.command),
        entrypoint: argv(&s.entrypoint),
        environment: s
            .environment
            .iter()
            .map(|e| {
                (
                    e.name.value.clone(),
                    e.value.as_ref().map(|v| v.value.clone()),
                )
            })
            .collect(),
        ports,
        mounts: s
            .mounts
            .iter()
            .map(|m| (m.value.target.clone(), m.value.read_only))
            .collect(),
        expose: s.expose.iter().map(|e| e.value.clone()).collect(),
        restart: s.restart.as_ref().map(|r| r.value.name.clone()),
    }
}

fn summaries(p: &ComposeProject) -> BTreeMap<String, Summary> {
    p.services
        .iter()
        .map(|s| (s.name.clone(), summary(s)))
        .collect()
}

fn compare(dir: &str, files: &[&str], vars: &[(&str, &str)]) {
    let Some((prog, pre)) = reference() else {
        println!("skipped: neither `docker compose` nor `docker-compose` is installed");
        return;
    };
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(dir);
    let mut cmd = Command::new(&prog);
    cmd.args(&pre).current_dir(&dir);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    cmd.arg("config");
    let mut env = Env::from_process();
    for (k, v) in vars {
        cmd.env(k, v);
        env.set(*k, *v);
    }
    let out = cmd.output().expect("run reference");
    assert!(
        out.status.success(),
        "{prog} config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    let theirs = parse_compose(&text, "<reference config>", &Env::new())
        .unwrap_or_else(|e| panic!("reference output does not parse: {e}\n{text}"));
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let ours = load_compose(&paths, &env).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "compared with `{prog} {} config` on {}",
        pre.join(" "),
        dir.display()
    );
    assert_eq!(
        summaries(&ours),
        summaries(&theirs),
        "reference output:\n{text}"
    );
}

#[test]
fn override_merge_matches_docker_compose() {
    compare(
        "merge",
        &["compose.yml", "compose.override.yml"],
        &[("BVAL", "bee"), ("DB_PASSWORD", "pw"), ("TAG", "")],
    );
}

#[test]
fn extends_anchors_and_dotenv_match_docker_compose() {
    compare("extends", &["compose.yml"], &[]);
}

#[test]
fn syntax_forms_match_docker_compose() {
    compare("forms", &["compose.yml", "compose.prod.yml"], &[]);
}
