//! The examples audit as they claim: `examples/insecure-api` is caught by every family of rules
//! (Dockerfile, container, topology, daemon) with findings located in its files, and its
//! hardened twin `examples/secure-api` audits clean, down to `info`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs moat from the workspace root, so that finding paths are `examples/…`.
fn moat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Code families (`C`, `D`, `H`, `N`) of the rules enabled by default, engine rules aside.
fn families() -> BTreeSet<char> {
    let rules = json(&moat(&["audit", "--list-rules", "--format", "json"]));
    rules
        .as_array()
        .expect("a list of rules")
        .iter()
        .filter(|r| r["default_enabled"].as_bool() == Some(true))
        .filter_map(|r| r["code"].as_str()?.chars().next())
        .filter(|c| matches!(c, 'C' | 'D' | 'H' | 'N'))
        .collect()
}

fn findings(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["findings"].as_array().expect("findings")
}

fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

#[test]
fn insecure_example_is_caught_by_every_rule_family() {
    let out = moat(&["audit", "examples/insecure-api", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert!(
        report["errors"].as_array().is_none_or(Vec::is_empty),
        "errors: {}",
        report["errors"]
    );
    let found = findings(&report);
    let fired: BTreeSet<char> = found
        .iter()
        .filter_map(|f| str_of(f, "code").chars().next())
        .collect();
    for family in families() {
        assert!(
            fired.contains(&family),
            "no `{family}` rule fires on examples/insecure-api (fired: {fired:?})"
        );
    }

    // compose findings point at lines of the compose file
    let compose =
        std::fs::read_to_string(workspace().join("examples/insecure-api/compose.yaml")).unwrap();
    let lines: Vec<&str> = compose.lines().collect();
    let in_compose: Vec<_> = found
        .iter()
        .filter(|f| str_of(&f["location"], "path") == "examples/insecure-api/compose.yaml")
        .collect();
    if fired.contains(&'C') {
        assert!(!in_compose.is_empty(), "no finding in compose.yaml");
    }
    for f in &in_compose {
        let line = f["location"]["line"].as_u64().expect("a line") as usize;
        assert!((1..=lines.len()).contains(&line), "line {line} of {f}");
    }
    // where the rule exists, `privileged: true` of the `api` service is reported on its line
    if let Some(f) = in_compose.iter().find(|f| str_of(f, "code") == "C001") {
        let line = f["location"]["line"].as_u64().unwrap() as usize;
        assert_eq!(lines[line - 1].trim(), "privileged: true");
    }
    // daemon findings point into daemon.json
    if fired.contains(&'H') {
        assert!(found.iter().any(|f| {
            str_of(f, "code").starts_with('H')
                && str_of(&f["location"], "path") == "examples/insecure-api/daemon.json"
        }));
    }
}

#[test]
fn secure_example_audits_clean() {
    let out = moat(&[
        "audit",
        "examples/secure-api",
        "--format",
        "json",
        "--fail-on",
        "info",
    ]);
    let report = json(&out);
    let found: Vec<String> = findings(&report)
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {}",
                str_of(f, "code"),
                str_of(&f["location"], "path"),
                f["location"]["line"],
                str_of(f, "message")
            )
        })
        .collect();
    assert!(found.is_empty(), "findings:\n{}", found.join("\n"));
    assert!(
        report["errors"].as_array().is_none_or(Vec::is_empty),
        "errors: {}",
        report["errors"]
    );
    assert_eq!(out.status.code(), Some(0));
}

/// `examples/gateway-replicas`: two gateway replicas sharing limits and bans through Redis.
/// The compose file audits with nothing above `low` (the two replicas' missing healthcheck,
/// explained in the file), and the replicas' config loads as a start would once
/// `deploy.sh --secrets-only` has made the secrets (paths under /run/secrets pointed at them).
#[test]
fn replicas_example_audits_clean_and_its_config_loads() {
    let out = moat(&["audit", "examples/gateway-replicas", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = json(&out);
    let got: Vec<(&str, &str)> = findings(&report)
        .iter()
        .map(|f| (str_of(f, "code"), str_of(f, "severity")))
        .collect();
    assert_eq!(got, vec![("C027", "low"), ("C027", "low")], "{report:#}");

    let dir = tempfile::tempdir().unwrap();
    let example = workspace().join("examples/gateway-replicas");
    std::fs::copy(example.join("deploy.sh"), dir.path().join("deploy.sh")).unwrap();
    let made = Command::new("bash")
        .arg(dir.path().join("deploy.sh"))
        .arg("--secrets-only")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let secrets = dir.path().join("secrets");
    let text = std::fs::read_to_string(example.join("gateway.toml"))
        .unwrap()
        .replace(
            "/run/secrets/gateway_cert",
            &secrets.join("api.pem").display().to_string(),
        )
        .replace(
            "/run/secrets/gateway_key",
            &secrets.join("api.key").display().to_string(),
        )
        .replace(
            "/run/secrets/api_keys",
            &secrets.join("api-keys.txt").display().to_string(),
        )
        .replace(
            "/run/secrets/redis_password",
            &secrets.join("redis_password.txt").display().to_string(),
        );
    assert!(!text.contains("/run/secrets"), "{text}");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, text).unwrap();
    let out = moat(&["gateway", "check", config.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // the Redis password the config names is the one deploy.sh put in redis.conf
    let password = std::fs::read_to_string(secrets.join("redis_password.txt")).unwrap();
    let conf = std::fs::read_to_string(secrets.join("redis.conf")).unwrap();
    assert!(conf.contains(&format!("requirepass {}", password.trim())));
}

/// moat's own image (`deploy/moat`): the static binary alone, non-root, with a HEALTHCHECK by
/// `moat health` — audited with no finding at all.
#[test]
fn moat_s_own_image_audits_clean() {
    let out = moat(&[
        "audit",
        "deploy/moat",
        "--format",
        "json",
        "--fail-on",
        "info",
    ]);
    let report = json(&out);
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(out.status.code(), Some(0));
    let counts = &report["summary"]["files"];
    assert_eq!(counts["dockerfile"], 1, "{report:#}");
}

/// The reference deployment (`deploy/`): its compose project, Dockerfiles and scripts audit
/// with no finding at all, and both gateway configs load as a start would once
/// `deploy/secrets.sh` has made the secrets (paths under /run/secrets pointed at them).
#[test]
fn reference_deployment_audits_clean_and_its_configs_load() {
    let out = moat(&["audit", "deploy", "--format", "json", "--fail-on", "info"]);
    let report = json(&out);
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(out.status.code(), Some(0));
    let counts = &report["summary"]["files"];
    assert_eq!(counts["compose"], 1, "{report:#}");
    assert_eq!(counts["dockerfile"], 2, "{report:#}");

    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    let made = Command::new("bash")
        .arg(workspace().join("deploy/secrets.sh"))
        .arg(&secrets)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    for name in ["gateway.toml", "gateway-replicas.toml"] {
        let text = std::fs::read_to_string(workspace().join("deploy").join(name))
            .unwrap()
            .replace(
                "/run/secrets/gateway_cert",
                &secrets.join("gateway.pem").display().to_string(),
            )
            .replace(
                "/run/secrets/gateway_key",
                &secrets.join("gateway.key").display().to_string(),
            )
            .replace(
                "/run/secrets/api_keys",
                &secrets.join("api-keys.txt").display().to_string(),
            )
            .replace(
                "/run/secrets/redis_password",
                &secrets.join("redis_password.txt").display().to_string(),
            );
        assert!(!text.contains("\"/run/secrets/"), "{text}");
        let config = dir.path().join(name);
        std::fs::write(&config, text).unwrap();
        let out = moat(&[
            "gateway",
            "check",
            "--fail-on",
            "info",
            config.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // the demo key the client holds is the one the gateway's list holds hashed
    let key = std::fs::read_to_string(secrets.join("demo-api-key.txt")).unwrap();
    let keys = std::fs::read_to_string(secrets.join("api-keys.txt")).unwrap();
    let digest = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(key.trim().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout);
    let digest = digest.split_whitespace().next().unwrap();
    assert!(keys.contains(&format!("demo:sha256:{digest}")), "{keys}");
}
