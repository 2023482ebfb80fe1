//! What the compose tests share: the reference implementation (`docker compose` v2 or
//! `docker-compose` v1, when one is installed) and the per-service summary compared with its
//! `config` output.
#![allow(dead_code)]

use moat_deploy::{ComposeProject, ContainerFacts};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The reference command, as program and leading arguments.
pub fn reference() -> Option<(String, Vec<String>)> {
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
pub struct Summary {
    pub image: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: BTreeMap<String, Option<String>>,
    /// (host ip, host port, container port, protocol), ranges expanded.
    pub ports: BTreeSet<(String, Option<u16>, u16, String)>,
    pub mounts: BTreeSet<(String, bool)>,
    pub expose: BTreeSet<String>,
    pub restart: Option<String>,
    pub healthcheck_test: Option<Vec<String>>,
    pub labels: BTreeMap<String, Option<String>>,
    pub logging_options: BTreeMap<String, Option<String>>,
    pub memory_limit: Option<u64>,
}

pub fn summary(s: &ContainerFacts) -> Summary {
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
        healthcheck_test: s
            .healthcheck
            .as_ref()
            .and_then(|h| h.value.test.as_ref())
            .map(|t| t.value.clone()),
        labels: key_values(&s.labels),
        logging_options: key_values(&s.logging.options),
        memory_limit: s.resources.memory.as_ref().and_then(|m| m.value.bytes),
    }
}

fn key_values(kv: &[moat_deploy::KeyValue]) -> BTreeMap<String, Option<String>> {
    kv.iter()
        .map(|kv| {
            (
                kv.key.value.clone(),
                kv.value.as_ref().map(|v| v.value.clone()),
            )
        })
        .collect()
}

pub fn summaries(p: &ComposeProject) -> BTreeMap<String, Summary> {
    p.services
        .iter()
        .map(|s| (s.name.clone(), summary(s)))
        .collect()
}

/// Runs `PROG config` on `files` in `dir` with `vars` set: its output, or its error output.
pub fn reference_config(
    (prog, pre): &(String, Vec<String>),
    dir: &Path,
    files: &[&str],
    vars: &[(&str, &str)],
) -> Result<String, String> {
    let mut cmd = Command::new(prog);
    cmd.args(pre).current_dir(dir);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    cmd.arg("config");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
