//! The reference deployment (`deploy/`) on the real engine: `deploy/try.sh` builds its images
//! (the static moat binary FROM scratch, the stand-in API on a debootstrap Debian base, both
//! cached between runs), starts the compose project and checks the perimeter from the host —
//! TLS with an API key, 401, 429 with its headers, the API unreachable but through the
//! gateway, one JSON access-log line per request, `moat audit --engine` with nothing at medium
//! or above, `moat scan` of both images — then removes everything it made, also on failure.
//! The host-side checks use this build's moat binary.
//!
//! Skipped (a line on stderr) without a Docker engine or Compose, unless
//! `MOAT_REQUIRE_DOCKER=1` (CI), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why the deployment cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let engine = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output();
    match engine {
        Err(e) => return Some(format!("cannot run the docker client: {e}")),
        Ok(o) if !o.status.success() => {
            return Some(format!(
                "no Docker engine answers: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(_) => {}
    }
    let compose = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !compose(&["docker-compose", "version"]) && !compose(&["docker", "compose", "version"]) {
        return Some("neither docker-compose nor the docker compose plugin is installed".into());
    }
    None
}

#[test]
fn reference_deployment_holds_its_perimeter() {
    if let Some(why) = missing_prerequisite() {
        let required = std::env::var("MOAT_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
        assert!(!required, "MOAT_REQUIRE_DOCKER=1 but {why}");
        eprintln!(
            "skipped: the reference deployment needs a Docker engine and Compose: {why}; set MOAT_REQUIRE_DOCKER=1 to require them"
        );
        return;
    }
    let out = Command::new("bash")
        .arg(repo().join("deploy/try.sh"))
        .env("MOAT_BIN", env!("CARGO_BIN_EXE_moat"))
        .env_remove("KEEP")
        .env_remove("MOAT_DEPLOY_PORT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    // the script's progress (with its timings), whether it passed or not
    eprintln!("{log}");
    assert!(
        out.status.success(),
        "deploy/try.sh failed ({:?}):\n{}{log}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(log.contains("all checks passed; torn down"), "{log}");
}
