//! Operations under load: `wrk` drives HTTPS keep-alive traffic through a `moat gateway`
//! process while its config and its certificate are replaced and SIGHUP is sent several times.
//! Not one request may fail: no non-2xx answer, no connection error. The new certificate is
//! then the one served. Needs `wrk`, `openssl` and `python3` (the upstream): skipped without
//! them, except in CI.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
use common::{Proc, free_port, wait_port};

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{tool}` is required in CI (installed by .ci/deps/gateway.sh)"
        );
        eprintln!("skipped: `{tool}` is not installed (see .ci/deps/gateway.sh)");
    }
    found
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A self-signed certificate and key for 127.0.0.1: `NAME.pem`, `NAME.key`.
fn certificate(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// The SHA-256 fingerprint of the certificate `port` serves.
fn served_fingerprint(dir: &Path, port: u16) -> String {
    let script = format!(
        "openssl s_client -connect 127.0.0.1:{port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn file_fingerprint(dir: &Path, file: &str) -> String {
    openssl(
        dir,
        &["x509", "-in", file, "-noout", "-fingerprint", "-sha256"],
    )
    .trim()
    .to_string()
}

/// Python's threading HTTP/1.1 server on `port` (keep-alive, a small body); with `log`, one
/// line per request appended to that file.
fn python_upstream(port: u16, log: Option<&Path>) -> Proc {
    let server = r#"
import http.server, sys
log = sys.argv[2] if len(sys.argv) > 2 else None
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        if log:
            with open(log, "a") as f:
                f.write(self.path + "\n")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;
    let mut cmd = Command::new("python3");
    cmd.args(["-c", server, &port.to_string()]);
    if let Some(l) = log {
        cmd.arg(l);
    }
    let p = Proc(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(port, "the upstream");
    p
}

/// Runs `wrk` for `secs` against `url` in the background.
fn wrk(url: &str, secs: u32) -> Child {
    Command::new("wrk")
        .args(["-t1", "-c16", &format!("-d{secs}s"), "--timeout", "5s", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `wrk` and checks its report: more than 1000 requests, no non-2xx answer, no
/// socket error. Returns the report.
fn no_failures(wrk: Child) -> String {
    let out = wrk.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests: u64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().to_string())
        })
        .and_then(|n| n.parse().ok())
        .expect("wrk's request count");
    assert!(requests > 1000, "{requests} requests: the load did not run");
    assert!(!report.contains("Non-2xx"), "failed answers:\n{report}");
    assert!(
        !report.contains("Socket errors"),
        "connection errors:\n{report}"
    );
    report
}

fn config(port: u16, admin: u16, upstream: u16, rate: u32) -> String {
    format!(
        r#"[[listener]]
listen = "127.0.0.1:{port}"

[listener.tls]
watch_interval = "200ms"

[[listener.tls.certificates]]
cert_file = "live.pem"
key_file = "live.key"

[admin]
listen = "127.0.0.1:{admin}"

[access_log]
target = "off"

[[rate_limit]]
name = "wide"
key = "ip"
rate = "{rate}/s"

[upstream.api]
targets = ["127.0.0.1:{upstream}"]

[[route]]
name = "all"
upstream = "api"
rate_limits = ["wide"]
"#
    )
}

fn metrics(admin: SocketAddr) -> String {
    let mut s = TcpStream::connect(admin).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Replaces `to` with `from` in one rename (readers never see half a file).
fn replace(dir: &Path, from: &str, to: &str) {
    let tmp = dir.join(format!("{to}.tmp"));
    std::fs::copy(dir.join(from), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join(to)).unwrap();
}

#[test]
fn config_and_certificate_reloads_under_load_fail_no_request() {
    if !(have("wrk") && have("openssl") && have("python3")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    certificate(dir, "one");
    certificate(dir, "two");
    replace(dir, "one.pem", "live.pem");
    replace(dir, "one.key", "live.key");

    let up = free_port();
    let _upstream = python_upstream(up, None);
    let (port, admin) = (free_port(), free_port());
    std::fs::write(dir.join("gateway.toml"), config(port, admin, up, 100_000)).unwrap();
    let gateway = Proc(
        Command::new(env!("CARGO_BIN_EXE_moat"))
            .args(["gateway", "--config", "gateway.toml"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(port, "the gateway");
    let pid = gateway.0.id().to_string();

    let load = wrk(&format!("https://127.0.0.1:{port}/"), 8);
    // while it runs: six reloads, each with a changed config; the certificate replaced twice
    std::thread::sleep(Duration::from_millis(800));
    for i in 0..6_u32 {
        std::fs::write(
            dir.join("gateway.toml.tmp"),
            config(port, admin, up, 100_000 + i),
        )
        .unwrap();
        std::fs::rename(dir.join("gateway.toml.tmp"), dir.join("gateway.toml")).unwrap();
        if i == 1 || i == 4 {
            let name = if i == 1 { "two" } else { "one" };
            replace(dir, &format!("{name}.key"), "live.key.next");
            replace(dir, &format!("{name}.pem"), "live.pem.next");
            std::fs::rename(dir.join("live.key.next"), dir.join("live.key")).unwrap();
            std::fs::rename(dir.join("live.pem.next"), dir.join("live.pem")).unwrap();
        }
        let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(hup.success());
        std::thread::sleep(Duration::from_secs(1));
    }
    no_failures(load);

    let m = metrics(SocketAddr::from(([127, 0, 0, 1], admin)));
    assert!(
        m.contains("moat_gateway_config_reloads_total{result=\"ok\"} 6"),
        "{m}"
    );
    assert!(
        m.contains("moat_gateway_config_reloads_total{result=\"rejected\"} 0"),
        "{m}"
    );
    // `moat health` (an image's HEALTHCHECK) says ready; a port where nothing listens is not
    let health = |url: String| {
        Command::new(env!("CARGO_BIN_EXE_moat"))
            .args(["health", &url, "--timeout", "2s"])
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(health(format!("http://127.0.0.1:{admin}/readyz")), Some(0));
    assert_eq!(
        health(format!("http://127.0.0.1:{}/readyz", free_port())),
        Some(1)
    );
    assert_eq!(
        health(format!("http://127.0.0.1:{admin}/nothing-here")),
        Some(1)
    );
    assert_eq!(health("ftp://x".into()), Some(2));
    // the last certificate put in place is the one served
    assert_eq!(
        served_fingerprint(dir, port),
        file_fingerprint(dir, "one.pem")
    );
    assert_ne!(
        file_fingerprint(dir, "one.pem"),
        file_fingerprint(dir, "two.pem")
    );
}

/// One of two upstream targets killed under load, then started again: requests that met the
/// dead target are retried on the other (GET, within the retry budget), the dead target is
/// ejected and marked unhealthy, and it takes traffic again once its health checks pass. Not
/// one request fails.
#[test]
fn an_upstream_target_killed_and_returned_under_load_fails_no_request() {
    if !(have("wrk") && have("python3")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a, b) = (free_port(), free_port());
    let _a = python_upstream(a, None);
    let b_proc = python_upstream(b, None);
    let (port, admin) = (free_port(), free_port());
    std::fs::write(
        dir.join("gateway.toml"),
        format!(
            r#"[[listener]]
listen = "127.0.0.1:{port}"
plain_http = true

[admin]
listen = "127.0.0.1:{admin}"

[access_log]
target = "off"

[upstream.api]
targets = ["127.0.0.1:{a}", "127.0.0.1:{b}"]
retries = 1
retry_budget_percent = 100
eject_after_failures = 1
eject_for = "500ms"

[upstream.api.health_check]
path = "/healthz"
interval = "200ms"
timeout = "200ms"
healthy_threshold = 1
unhealthy_threshold = 1

[[route]]
name = "all"
upstream = "api"
"#
        ),
    )
    .unwrap();
    let _gateway = Proc(
        Command::new(env!("CARGO_BIN_EXE_moat"))
            .args(["gateway", "--config", "gateway.toml"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(port, "the gateway");
    let admin = SocketAddr::from(([127, 0, 0, 1], admin));
    let healthy = |target: u16| {
        metrics(admin).contains(&format!(
            "moat_gateway_upstream_healthy{{upstream=\"api\",target=\"127.0.0.1:{target}\"}} 1"
        ))
    };
    let load = wrk(&format!("http://127.0.0.1:{port}/"), 8);
    std::thread::sleep(Duration::from_secs(2));
    drop(b_proc);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!healthy(b), "a dead target is still healthy");
    std::thread::sleep(Duration::from_secs(1));
    let log = dir.join("b.log");
    let _b_again = python_upstream(b, Some(&log));
    no_failures(load);
    assert!(healthy(b), "the target did not come back");
    let served = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        served.lines().filter(|l| *l == "/").count() > 100,
        "the returned target took {} requests",
        served.lines().count()
    );
}
