//! End-to-end tests of the `moat` binary: each runs the real executable in its own temporary
//! directory and checks output and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary working directory with helpers to write files and run moat in it.
struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    fn moat(&self, args: &[&str]) -> Output {
        self.moat_with_env(args, &[])
    }

    /// Runs moat with these environment variables set.
    fn moat_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_moat"))
            .args(args)
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    }

    /// Runs git in the directory; `false` when git is not installed (then a test that needs it
    /// is skipped, except under CI, where that is a failure).
    fn git(&self, args: &[&str]) -> bool {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args([
                "-c",
                "user.name=moat tests",
                "-c",
                "user.email=tests@moat.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output();
        match out {
            Ok(o) => {
                assert!(
                    o.status.success(),
                    "git {args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(std::env::var_os("CI").is_none(), "git is not installed");
                eprintln!("skipped: git is not installed");
                false
            }
            Err(e) => panic!("git {args:?}: {e}"),
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

const CLEAN: &str = "FROM node:20.11-alpine\nUSER node\nHEALTHCHECK CMD [\"node\", \"health.js\"]\nCMD [\"node\", \"server.js\"]\n";

#[test]
fn clean_dockerfile_exits_zero() {
    let d = Dir::new();
    d.write("Dockerfile", CLEAN);
    let o = d.moat(&["audit"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("no findings"), "{}", stdout(&o));
}

#[test]
fn findings_at_threshold_exit_one_and_below_exit_zero() {
    let d = Dir::new();
    d.write(
        "Dockerfile",
        "FROM node:latest\nUSER node\nHEALTHCHECK CMD [\"true\"]\nCMD [\"node\"]\n",
    );
    let o = d.moat(&["audit", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("D002"), "{text}");
    assert!(text.contains("Dockerfile:1:6"), "{text}");
    let o = d.moat(&["audit", "--fail-on", "high", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn parse_error_is_located_and_exits_two() {
    let d = Dir::new();
    d.write("Dockerfile", "FROM alpine:3.20\nRUN true\nFROBNICATE now\n");
    let o = d.moat(&["audit", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    let err = &v["errors"][0];
    assert_eq!(err["path"], "Dockerfile");
    assert_eq!(err["line"], 3);
    assert_eq!(err["column"], 1);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("frobnicate"),
        "{err}"
    );
}

#[test]
fn unreadable_path_exits_two() {
    let d = Dir::new();
    let o = d.moat(&["audit", "does-not-exist"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("does-not-exist"), "{}", stdout(&o));
}

#[test]
fn usage_error_exits_two() {
    let d = Dir::new();
    let o = d.moat(&["audit", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    let o = d.moat(&["audit", "--select", "NOPE999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown rule `NOPE999`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn json_output_follows_the_documented_shape() {
    let d = Dir::new();
    d.write("Dockerfile", "FROM node\n");
    let o = d.moat(&["audit", "--format", "json"]);
    let v = json(&o);
    assert_eq!(v["version"], 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "D001")
        .expect("D001");
    assert_eq!(f["name"], "untagged-base-image");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["location"]["line"], 1);
    assert_eq!(f["location"]["column"], 6);
    assert!(
        f["references"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "DL3006")
    );
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let d = Dir::new();
    d.write(
        "Dockerfile",
        "FROM node:latest\nRUN apt-get update && apt-get install curl\n",
    );
    d.write("bad/Dockerfile", "FROM\n");
    let o = d.moat(&["audit", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&schema_path)
            .unwrap_or_else(|e| panic!("SARIF schema missing at {}: {e}", schema_path.display())),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let v = json(&o);
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "D002"));
}

#[test]
fn config_errors_are_located() {
    let d = Dir::new();
    d.write("Dockerfile", CLEAN);
    d.write(
        ".moat.toml",
        "[rules]\nenable = [\"D003\"]\nseverity = { D002 = \"extreme\" }\n",
    );
    let o = d.moat(&["audit"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(".moat.toml:3:"), "{err}");
    assert!(err.contains("unknown severity `extreme`"), "{err}");

    d.write(".moat.toml", "[rules]\nenabel = [\"D003\"]\n");
    let o = d.moat(&["audit"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".moat.toml:2:1"), "{}", stderr(&o));
    d.write(
        ".moat.toml",
        "[dockerfile]\nmutable-tags = [\"nightly\", \"bad tag\"]\n",
    );
    let o = d.moat(&["audit"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(".moat.toml:2:28"), "{err}");
    assert!(err.contains("`bad tag` is not a tag name"), "{err}");
}

#[test]
fn config_is_discovered_upward_and_cli_overrides_it() {
    let d = Dir::new();
    d.write(
        ".moat.toml",
        "fail-on = \"high\"\n[rules]\ndisable = [\"D001\"]\n",
    );
    d.write("svc/api/Dockerfile", "FROM node\nFROM node:latest\n");
    let o = d.moat(&["audit", "--format", "json", "svc"]);
    let v = json(&o);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"D001"), "{codes:?}");
    assert!(codes.contains(&"D002"), "{codes:?}");
    assert_eq!(
        o.status.code(),
        Some(0),
        "fail-on = high from the config: medium findings pass"
    );
    let o = d.moat(&["audit", "--fail-on", "low", "svc"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn inline_and_hadolint_ignores_are_honoured_and_unused_ones_reported() {
    let d = Dir::new();
    d.write(
        "Dockerfile",
        "# hadolint ignore=DL3007\nFROM node:latest AS a\n# moat: ignore[D001]\nFROM node:20\n",
    );
    let o = d.moat(&["audit", "--format", "json"]);
    let v = json(&o);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"D002"), "{codes:?}");
    assert!(codes.contains(&"M001"), "{codes:?}");
}

#[test]
fn explain_and_list_rules() {
    let d = Dir::new();
    let o = d.moat(&["audit", "--explain", "DL3007"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("# D002 latest-base-image"), "{text}");
    assert!(text.contains("## Why is this bad?"), "{text}");
    let o = d.moat(&["audit", "--explain", "X999"]);
    assert_eq!(o.status.code(), Some(2));
    let o = d.moat(&["audit", "--list-rules", "--format", "json"]);
    let v = json(&o);
    assert!(v.as_array().unwrap().len() >= 20);
    let o = d.moat(&["audit", "--list-rules"]);
    assert!(stdout(&o).lines().any(|l| l.starts_with("D001")));
}

#[test]
fn output_file_is_written() {
    let d = Dir::new();
    d.write("Dockerfile", "FROM node\n");
    let o = d.moat(&["audit", "--format", "json", "--output", "out.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
}

#[test]
fn broken_pipe_is_quiet() {
    let d = Dir::new();
    let text = "FROM node\n".repeat(3000);
    d.write("Dockerfile", &text);
    let mut child = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["audit", "--no-color"])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // close our end of the pipe before moat has written everything
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn walks_directories_and_respects_gitignore() {
    let d = Dir::new();
    d.write(".gitignore", "vendor/\n");
    d.write("vendor/Dockerfile", "FROM node\n");
    d.write("api.Dockerfile", "FROM node\n");
    d.write("Containerfile", "FROM node\n");
    d.write("docs/Dockerfile.md", "FROM node\n");
    let o = d.moat(&["audit", "--format", "json", "--select", "D001"]);
    let v = json(&o);
    let mut paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["Containerfile", "api.Dockerfile"]);
}

#[test]
fn example_project_is_audited() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/insecure-api");
    let o = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["audit", "--format", "json"])
        .arg(&example)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let codes: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for expected in ["D002", "D050"] {
        assert!(
            codes.contains(expected),
            "{expected} missing from {codes:?}"
        );
    }
}

#[test]
fn docker_run_command_lines_are_audited_and_bad_ones_are_located() {
    let d = Dir::new();
    let o = d.moat(&[
        "audit",
        "--format",
        "json",
        "--docker-run",
        "docker run --privileged nginx:1.25",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "C001")
        .expect("C001");
    assert_eq!(f["location"]["path"], "<docker-run>");
    assert_eq!(f["location"]["column"], 12);

    let o = d.moat(&[
        "audit",
        "--format",
        "json",
        "--docker-run",
        "docker run --no-such-flag x nginx:1.25",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    let err = &v["errors"][0];
    assert_eq!(err["path"], "<docker-run>");
    assert_eq!(err["line"], 1);
    assert_eq!(err["column"], 12, "{err}");
}

#[test]
fn malformed_compose_and_daemon_files_are_located_errors() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  api:\n    image: nginx:1.25\n    ports: [\"80:80\"\n",
    );
    let o = d.moat(&["audit", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    let err = &v["errors"][0];
    assert_eq!(err["path"], "compose.yaml");
    assert!(err["line"].as_u64().unwrap() >= 4, "{err}");

    let d = Dir::new();
    d.write(
        "daemon.json",
        "{\n  \"icc\": false,\n  \"live-restore\": tru\n}\n",
    );
    let o = d.moat(&["audit", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    let err = &v["errors"][0];
    assert_eq!(err["path"], "daemon.json");
    assert_eq!(err["line"], 3, "{err}");

    let d = Dir::new();
    d.write("etc/docker.json", "{\"icc\": true}\n");
    let o = d.moat(&[
        "audit",
        "--format",
        "json",
        "--daemon-config",
        "etc/docker.json",
    ]);
    let v = json(&o);
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["findings"][0]["location"]["path"], "etc/docker.json");
}

#[test]
fn compose_files_given_together_are_merged_in_order() {
    let d = Dir::new();
    d.write(
        "base.yaml",
        "services:\n  api:\n    image: nginx:1.25\n    read_only: true\n",
    );
    d.write("prod.yaml", "services:\n  api:\n    privileged: true\n");
    let o = d.moat(&[
        "audit",
        "--format",
        "json",
        "--compose",
        "base.yaml",
        "--compose",
        "prod.yaml",
    ]);
    let v = json(&o);
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
    let findings = v["findings"].as_array().unwrap();
    let privileged = findings
        .iter()
        .find(|f| f["code"] == "C001")
        .expect("C001 from prod.yaml");
    assert_eq!(privileged["location"]["path"], "prod.yaml");
    assert_eq!(privileged["location"]["line"], 3);
    // read_only from base.yaml survives the merge
    assert!(
        !findings.iter().any(|f| f["code"] == "C023"),
        "{findings:?}"
    );
}

#[test]
fn path_ignores_from_the_config_apply() {
    let d = Dir::new();
    d.write(
        ".moat.toml",
        "[[ignore]]\npath = \"legacy\"\nrules = [\"D001\"]\n",
    );
    d.write("legacy/Dockerfile", "FROM node\n");
    d.write("new/Dockerfile", "FROM node\n");
    let o = d.moat(&["audit", "--format", "json", "--select", "D001"]);
    let v = json(&o);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["new/Dockerfile"]);
}

#[test]
fn yaml_inline_ignores_cover_a_service() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  # moat: ignore[C001] the agent needs it\n  agent:\n    image: agent:1.0\n    privileged: true\n",
    );
    let o = d.moat(&["audit", "--format", "json", "--select", "C001,M001"]);
    let v = json(&o);
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn secret_values_are_masked_in_every_format() {
    let d = Dir::new();
    d.write(
        "Dockerfile",
        "FROM node:20\nENV DB_PASSWORD=hunter2-very-secret\nENV SESSION_SECRET q8Zr2LmX0vT5nK7wP4sY\nRUN git clone https://deploy:Tr0ub4dor3x@git.example.com/app.git\n",
    );
    d.write("compose.yaml", "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-pa55word\n");
    for format in ["text", "json", "sarif"] {
        let o = d.moat(&["audit", "--format", format, "--no-color"]);
        let out = stdout(&o);
        // `ENV NAME value` (no `=`) too: each finding carries its secret's span
        for secret in [
            "hunter2-very-secret",
            "q8Zr2LmX0vT5nK7wP4sY",
            "Tr0ub4dor3x",
            "s3cr3t-pa55word",
        ] {
            assert!(
                !out.contains(secret),
                "{format} output repeats `{secret}`:\n{out}"
            );
        }
        assert!(
            out.contains("D010") && out.contains("C029"),
            "{format}: {out}"
        );
    }
    let o = d.moat(&["audit", "--no-color"]);
    assert!(stdout(&o).contains("DB_PASSWORD=hun****"), "{}", stdout(&o));
}

#[test]
fn gateway_check_reports_the_insecure_example_and_passes_the_example() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gateway");
    let d = Dir::new();
    // the README's steps in a copy: certificates made by `gen-certs.sh`, then `check`
    let examples = d.path().join("examples");
    std::fs::create_dir(&examples).unwrap();
    for f in [
        "moat-gateway.toml",
        "insecure.toml",
        "gen-certs.sh",
        "api-keys.txt",
    ] {
        std::fs::copy(shipped.join(f), examples.join(f)).unwrap();
    }
    let made = std::process::Command::new("bash")
        .arg(examples.join("gen-certs.sh"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let o = d.moat(&[
        "gateway",
        "check",
        "--format",
        "json",
        examples.join("insecure.toml").to_str().unwrap(),
    ]);
    // TLS 1.0 and a private route without authentication: a start refuses them, so does check
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let v = json(&o);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"G001") && codes.contains(&"G003"),
        "{codes:?}"
    );
    let o = d.moat(&[
        "gateway",
        "check",
        examples.join("moat-gateway.toml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = d.moat(&[
        "gateway",
        "check",
        "--format",
        "json",
        examples.join("moat-gateway.toml").to_str().unwrap(),
    ]);
    // a gateway check is not about discovered files: no `summary.files`
    assert!(json(&o)["summary"].get("files").is_none(), "{}", stdout(&o));
    let o = d.moat(&["audit", "--explain", "G003"]);
    assert!(
        stdout(&o).starts_with("# G003 route-without-rate-limit"),
        "{}",
        stdout(&o)
    );
}

/// moat's JSON schema with no property beyond those it documents, so that the test fails when
/// the output has a field the schema lacks.
fn strict_report_validator() -> jsonschema::Validator {
    fn close(v: &mut serde_json::Value) {
        if let Some(map) = v.as_object_mut() {
            if map.contains_key("properties") {
                map.insert("additionalProperties".into(), false.into());
            }
            map.values_mut().for_each(close);
        } else if let Some(items) = v.as_array_mut() {
            items.iter_mut().for_each(close);
        }
    }
    let mut schema: serde_json::Value =
        serde_json::from_str(moat_diagnostics::report::JSON_SCHEMA_V1).unwrap();
    close(&mut schema);
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn summary_counts_the_files_audited_by_kind_in_text_and_json() {
    let d = Dir::new();
    // examples and the dev container kept in dot-directories are audited too
    d.write(
        ".examples/basic/docker-compose.yml",
        "services:\n  api:\n    image: nginx:1.27\n",
    );
    d.write(".examples/basic/Dockerfile-dev", CLEAN);
    d.write(".devcontainer/Dockerfile", CLEAN);
    d.write("compose.yaml", "services:\n  api:\n    image: nginx:1.27\n");
    d.write(
        "compose.override.yaml",
        "services:\n  api:\n    read_only: true\n",
    );
    d.write("deploy.sh", "echo deploying\n");
    d.write("Dockerfile.j2", "FROM {{ base }}\n");
    d.write("README.md", "# api\n");
    let o = d.moat(&["audit", "--format", "json", "--select", "D001"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(
        v["summary"]["files"],
        serde_json::json!({"dockerfile": 2, "compose": 3, "daemon": 0, "script": 1})
    );
    let errors: Vec<String> = strict_report_validator()
        .iter_errors(&v)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    let o = d.moat(&["audit", "--no-color", "--select", "D001"]);
    assert_eq!(
        stdout(&o),
        "6 files audited (Dockerfile: 2, compose: 3, daemon.json: 0, script: 1)\nno findings\n"
    );
}

#[test]
fn nothing_to_audit_is_said_on_stderr_and_exits_zero() {
    let d = Dir::new();
    d.write("README.md", "# nothing here\n");
    d.write("src/main.py", "print('hi')\n");
    d.write("Dockerfile.tmpl", "FROM {{ .Base }}\n");
    let warning = "warning: no Dockerfile, compose file, daemon.json or script found under .\n";
    let o = d.moat(&["audit"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), warning);
    assert_eq!(stdout(&o), "no files audited\nno findings\n");

    let o = d.moat(&["audit", "--format", "json", "src"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stderr(&o),
        "warning: no Dockerfile, compose file, daemon.json or script found under src\n"
    );
    let v = json(&o);
    assert_eq!(
        v["summary"]["files"],
        serde_json::json!({"dockerfile": 0, "compose": 0, "daemon": 0, "script": 0})
    );

    // a `docker run` line is something to audit: no warning
    let o = d.moat(&["audit", "--docker-run", "docker run nginx:1.27"]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    // a path that does not exist is an error (exit 2), not an empty tree
    let o = d.moat(&["audit", "missing"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn tracked_files_under_gitignored_paths_are_audited() {
    let d = Dir::new();
    d.write(".gitignore", "deploy/\n");
    d.write("deploy/Dockerfile", "FROM node\n");
    if !(d.git(&["init", "-q"])
        && d.git(&["add", ".gitignore"])
        && d.git(&["add", "-f", "deploy/Dockerfile"])
        && d.git(&["commit", "-q", "-m", "deploy"]))
    {
        return;
    }
    // ignored but never committed: still skipped
    d.write("deploy/Dockerfile.local", "FROM node\n");
    let o = d.moat(&["audit", "--format", "json", "--select", "D001"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["deploy/Dockerfile"]);
    assert_eq!(v["summary"]["files"]["dockerfile"], 1);

    // without git, the ignore files alone decide, silently
    let o = d.moat_with_env(&["audit", "--format", "json"], &[("PATH", "")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["files"]["dockerfile"], 0);
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
}
