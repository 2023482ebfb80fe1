//! Real upstreams that read paths and headers their own way: Python's `http.server`, a WSGI app
//! under gunicorn that echoes its environ, and NGINX. Each runs as a child process on a free
//! loopback port, is killed on drop, and records exactly what it received, so a test can assert
//! what the *upstream* got and not only what the client was told.
//!
//! How they read an unnormalised request target, sent to them directly (the smoke tests below
//! pin the parts the attack corpus relies on):
//!
//! | target | `http.server` | gunicorn `PATH_INFO` | NGINX `$uri` |
//! |---|---|---|---|
//! | `/open/%2e%2e/private/secret.txt` | serves SECRET | `/open/../private/secret.txt` | `/private/secret.txt`, serves SECRET |
//! | `/open/..%2fprivate/secret.txt` | serves SECRET (`%2F` decoded, then `..` resolved) | `/open/../private/…` | serves SECRET |
//! | `//private/secret.txt` | serves SECRET | `//private/secret.txt` | serves SECRET (`merge_slashes`) |
//! | `/private;x/secret.txt` | 404 (`;` is part of the name) | kept | 404 (`;` kept) |
//! | `\` or `%5C` | 404 (not a separator on Linux) | decoded, kept | 404 |
//! | `%00` | closes without an answer (`ValueError` in `open`) | `\u0000` in `PATH_INFO` | 400 |
//! | `X_Consumer_Id` header | kept as sent | `HTTP_X_CONSUMER_ID` (`header_map = "dangerous"`) | `$http_x_consumer_id` (`underscores_in_headers on`) |

use crate::common::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an upstream may take to accept connections.
const START_WITHIN: Duration = Duration::from_secs(15);

/// A child process in a process group of its own (gunicorn forks a worker); the whole group is
/// killed when dropped, also when a test fails.
pub struct Proc {
    child: Child,
    what: &'static str,
    stderr: PathBuf,
}

impl Proc {
    pub fn spawn(mut cmd: Command, what: &'static str, dir: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let stderr = dir.join(format!("{what}.stderr"));
        let out = std::fs::File::create(&stderr).unwrap();
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Self {
            child,
            what,
            stderr,
        }
    }

    /// Whether it exited (and what it printed).
    fn exited(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok()??;
        Some(format!(
            "{} exited ({status}): {}",
            self.what,
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        ))
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the site every upstream serves: `open/index.txt` ("OPEN"), `private/secret.txt`
/// ("SECRET"), `denied/secret.txt` ("DENIED").
fn write_site(root: &Path) {
    for (dir, file, text) in [
        ("open", "index.txt", "OPEN"),
        ("private", "secret.txt", "SECRET"),
        ("denied", "secret.txt", "DENIED"),
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join(file), text).unwrap();
    }
}

/// A fresh directory for one upstream inside the test's `TempDir`.
pub fn own_dir(dir: &TempDir, name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let p = dir.path().join(format!(
        "{name}-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// Waits for `port_file` (written by the child once it listens), then for a connection.
pub async fn wait_port_file(proc: &mut Proc, port_file: &Path) -> SocketAddr {
    let deadline = Instant::now() + START_WITHIN;
    loop {
        if let Some(why) = proc.exited() {
            panic!("{why}");
        }
        if let Some(port) = std::fs::read_to_string(port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
        {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return addr;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} did not accept connections within {START_WITHIN:?}: {}",
            proc.what,
            proc.output()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The JSON lines of a record file written so far (complete lines only).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// What every real upstream offers the attack corpus.
pub trait RealUpstream {
    /// A name for failure messages.
    fn name(&self) -> &'static str;
    fn addr(&self) -> SocketAddr;
    /// The request targets received so far, in order, exactly as they came off the wire.
    fn targets(&self) -> Vec<String>;
    /// Whether it answers `*.txt` paths from the site (`http.server`, NGINX) rather than with an
    /// echo (the WSGI app answers every path 200).
    fn serves_files(&self) -> bool;
}

/// Waits until the upstream has recorded more than `before` requests (up to 3 s) and returns
/// the targets. NGINX writes its log line right after answering, so the client can be faster.
pub async fn targets_after(up: &dyn RealUpstream, before: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let t = up.targets();
        if t.len() > before || Instant::now() >= deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Python http.server

const HTTP_SERVER_PY: &str = r#""""Python's http.server as an upstream that records every request it receives.

Usage: http_server.py PORT_FILE ROOT LOG. Binds 127.0.0.1:0, writes the port to PORT_FILE once
listening, serves ROOT with SimpleHTTPRequestHandler and appends one JSON line per request to
LOG: the raw request line, the raw header lines in order with their original spelling, and the
body length (null when http.server refused the request itself).
"""
import http.server
import json
import os
import sys
import threading

port_file, root, log = sys.argv[1:4]
lock = threading.Lock()


class Tee:
    """Keeps the header lines that http.client.parse_headers reads."""

    def __init__(self, f):
        self.f = f
        self.lines = []

    def readline(self, *args):
        line = self.f.readline(*args)
        self.lines.append(line)
        return line

    def __getattr__(self, name):
        return getattr(self.f, name)


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def parse_request(self):
        real = self.rfile
        self.rfile = Tee(real)
        try:
            ok = super().parse_request()
        finally:
            self.raw_header_lines = [
                line.decode("latin-1").rstrip("\r\n")
                for line in self.rfile.lines
                if line not in (b"\r\n", b"\n", b"")
            ]
            self.rfile = real
        if not ok or not hasattr(self, "do_" + self.command):
            # refused by http.server itself (400, or 501 for a method it has no handler for)
            self.record(None)
        return ok

    def record(self, body_len):
        rec = {
            "request_line": self.raw_requestline.decode("latin-1").rstrip("\r\n"),
            "headers": getattr(self, "raw_header_lines", []),
            "body_len": body_len,
        }
        with lock, open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        self.record(len(self.read_body()))
        super().do_GET()

    def do_HEAD(self):
        self.record(len(self.read_body()))
        super().do_HEAD()

    def do_POST(self):
        body = self.read_body()
        self.record(len(body))
        reply = b"posted %d" % len(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def handler(*args, **kwargs):
    return Handler(*args, directory=root, **kwargs)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
"#;

/// One request as Python's `http.server` received it.
#[derive(Debug, Clone)]
pub struct PyRequest {
    /// The request line without its line end, e.g. `GET /open/index.txt HTTP/1.1`.
    pub request_line: String,
    /// The header lines in order, exactly as sent (`Name: value`).
    pub header_lines: Vec<String>,
    /// Body bytes read; `None` when `http.server` refused the request itself (a bad head, or
    /// 501 for a method other than GET, HEAD and POST).
    pub body_len: Option<u64>,
}

impl PyRequest {
    /// The request target (second word of the request line).
    pub fn target(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or_default()
    }

    /// The header names, in order, as spelt on the wire.
    pub fn names(&self) -> Vec<&str> {
        self.header_lines
            .iter()
            .map(|l| l.split_once(':').map_or(l.as_str(), |(n, _)| n))
            .collect()
    }

    /// The values of every line whose name equals `name` ASCII case-insensitively (one entry
    /// per line: duplicates are visible).
    pub fn header(&self, name: &str) -> Vec<String> {
        self.header_lines
            .iter()
            .filter_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .collect()
    }
}

/// Python's `http.server` (`SimpleHTTPRequestHandler`, HTTP/1.1 keep-alive) serving the site.
pub struct PyHttpServer {
    pub addr: SocketAddr,
    log: PathBuf,
    _proc: Proc,
}

impl PyHttpServer {
    pub async fn start(dir: &TempDir) -> Self {
        let own = own_dir(dir, "py-http");
        write_site(&own.join("www"));
        let script = own.join("http_server.py");
        std::fs::write(&script, HTTP_SERVER_PY).unwrap();
        let port_file = own.join("port");
        let log = own.join("requests.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .arg(&port_file)
            .arg(own.join("www"))
            .arg(&log);
        let mut proc = Proc::spawn(cmd, "python3 http.server", &own);
        let addr = wait_port_file(&mut proc, &port_file).await;
        Self {
            addr,
            log,
            _proc: proc,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<PyRequest> {
        json_lines(&self.log)
            .into_iter()
            .map(|v| PyRequest {
                request_line: v["request_line"].as_str().unwrap_or_default().to_string(),
                header_lines: v["headers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|h| h.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                body_len: v["body_len"].as_u64(),
            })
            .collect()
    }

    /// Waits until more than `before` requests were received and returns the last one.
    pub async fn last_after(&self, before: usize) -> PyRequest {
        targets_after(self, before).await;
        let all = self.requests();
        assert!(
            all.len() > before,
            "http.server received nothing new: {all:?}"
        );
        all.last().unwrap().clone()
    }
}

impl RealUpstream for PyHttpServer {
    fn name(&self) -> &'static str {
        "python http.server"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn targets(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.target().to_string())
            .collect()
    }
    fn serves_files(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// A WSGI app echoing its environ, under gunicorn

const WSGI_ECHO_PY: &str = r#""""A WSGI app that answers with (and appends to MOAT_ECHO_LOG) the parts of its environ an
application decides on: PATH_INFO, QUERY_STRING, RAW_URI / REQUEST_URI and every HTTP_* key."""
import json
import os

LOG = os.environ["MOAT_ECHO_LOG"]


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    rec = {
        "method": environ.get("REQUEST_METHOD"),
        "path_info": environ.get("PATH_INFO"),
        "query_string": environ.get("QUERY_STRING"),
        "raw_uri": environ.get("RAW_URI"),
        "request_uri": environ.get("REQUEST_URI"),
        "http": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
        "body_len": len(body),
    }
    line = json.dumps(rec, sort_keys=True)
    with open(LOG, "a") as f:
        f.write(line + "\n")
    data = line.encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]
"#;

/// gunicorn settings. Unknown names are ignored by older gunicorn releases, so this works from
/// 20.x on: `header_map` exists since 22.0 (older ones always mapped dangerously) and
/// `control_socket_disable` since 25.1 (otherwise every instance would share
/// `~/.gunicorn/gunicorn.ctl`).
const GUNICORN_CONF_PY: &str = r#"import os

bind = "127.0.0.1:0"
workers = 1
worker_class = "sync"
loglevel = "warning"
# CGI- and PHP-like: X_Consumer_Id and X-Consumer-Id both become HTTP_X_CONSUMER_ID
header_map = "dangerous"
control_socket_disable = True


# the port is announced by the worker once the app is loaded, not by the master
def post_worker_init(worker):
    port_file = os.environ["MOAT_ECHO_PORT_FILE"]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(worker.sockets[0].getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
"#;

/// One request as the WSGI app saw it in its environ.
#[derive(Debug, Clone)]
pub struct WsgiRequest {
    pub method: String,
    /// Percent-decoded by gunicorn (`%2F` is `/` here).
    pub path_info: String,
    pub query_string: String,
    /// The request target as received (gunicorn's `RAW_URI`; [`RealUpstream::targets`] falls
    /// back to `REQUEST_URI` for servers that set only that).
    pub raw_uri: Option<String>,
    /// `REQUEST_URI` when the server sets it (gunicorn does not).
    pub request_uri: Option<String>,
    /// Every `HTTP_*` key with its value (several header lines of one key are joined with `,`).
    pub http: std::collections::BTreeMap<String, String>,
    pub body_len: u64,
}

impl WsgiRequest {
    fn from_json(v: &serde_json::Value) -> Self {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        Self {
            method: s("method").unwrap_or_default(),
            path_info: s("path_info").unwrap_or_default(),
            query_string: s("query_string").unwrap_or_default(),
            raw_uri: s("raw_uri"),
            request_uri: s("request_uri"),
            http: v["http"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            body_len: v["body_len"].as_u64().unwrap_or_default(),
        }
    }

    /// Parses the echo the app answered with.
    pub fn from_body(body: &str) -> Self {
        Self::from_json(&serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")))
    }
}

/// A WSGI app echoing its environ, served by gunicorn (sync worker).
///
/// gunicorn rather than the standard library's `wsgiref.simple_server`: `wsgiref` silently
/// drops every header whose name contains `_`, so it could never show whether the gateway let
/// `X_Consumer_Id` through. gunicorn with `header_map = "dangerous"` maps names the way CGI and
/// PHP do (`-` and `_` both to `_`, upper-cased, duplicate keys joined with `,`), which is the
/// upstream an underscore spelling of a gateway-owned header actually fools. It also gives the
/// raw target as `RAW_URI`. Installed by `.ci/deps/attack-peers.sh` (`pip install gunicorn`).
pub struct WsgiEcho {
    pub addr: SocketAddr,
    log: PathBuf,
    _proc: Proc,
}

impl WsgiEcho {
    pub async fn start(dir: &TempDir) -> Self {
        let own = own_dir(dir, "wsgi");
        std::fs::write(own.join("wsgi_echo.py"), WSGI_ECHO_PY).unwrap();
        let conf = own.join("gunicorn.conf.py");
        std::fs::write(&conf, GUNICORN_CONF_PY).unwrap();
        let port_file = own.join("port");
        let log = own.join("requests.jsonl");
        let mut cmd = Command::new("gunicorn");
        cmd.arg("-c")
            .arg(&conf)
            .arg("--chdir")
            .arg(&own)
            .arg("wsgi_echo:app")
            .env("MOAT_ECHO_LOG", &log)
            .env("MOAT_ECHO_PORT_FILE", &port_file);
        let mut proc = Proc::spawn(cmd, "gunicorn", &own);
        let addr = wait_port_file(&mut proc, &port_file).await;
        Self {
            addr,
            log,
            _proc: proc,
        }
    }

    /// Every request the app saw so far.
    pub fn requests(&self) -> Vec<WsgiRequest> {
        json_lines(&self.log)
            .iter()
            .map(WsgiRequest::from_json)
            .collect()
    }
}

impl RealUpstream for WsgiEcho {
    fn name(&self) -> &'static str {
        "gunicorn WSGI echo"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn targets(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .map(|r| r.raw_uri.or(r.request_uri).unwrap_or_default())
            .collect()
    }
    fn serves_files(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// NGINX

/// One request as NGINX logged it.
#[derive(Debug, Clone)]
pub struct NginxRequest {
    /// `$request`: the request line as received.
    pub request: String,
    /// `$request_uri`: the target as received.
    pub request_uri: String,
    /// `$uri`: NGINX's normalised path (decoded, dot segments resolved, slashes merged).
    pub uri: String,
    pub status: u16,
    /// `$http_host`, `$http_x_consumer_id` (also matches `X_Consumer_Id`, see
    /// `underscores_in_headers`), `$http_x_forwarded_for`, `$http_x_forwarded_host`,
    /// `$http_forwarded`, `$http_x_api_key`, `$http_x_request_id`.
    pub headers: std::collections::BTreeMap<String, String>,
}

/// NGINX (`/usr/sbin/nginx` or `nginx` on PATH) in the foreground, one process, with its
/// prefix, pid file, logs and temp dirs in the test's directory. `location /` answers
/// `$request_uri|$uri|$http_host|$http_x_consumer_id\n`; `*.txt` is served from the site (so
/// `/private/secret.txt` is SECRET), and the site is also under `/files/`. Each request is one
/// JSON line of its access log. `underscores_in_headers on` makes `$http_x_consumer_id` match
/// `X_Consumer_Id` too, as CGI-style upstreams do.
pub struct Nginx {
    pub addr: SocketAddr,
    log: PathBuf,
    _proc: Proc,
}

/// The NGINX binary: `/usr/sbin/nginx` (Debian) or `nginx` on PATH.
pub fn nginx_binary() -> Option<String> {
    if Path::new("/usr/sbin/nginx").exists() {
        return Some("/usr/sbin/nginx".into());
    }
    have_tool("nginx", "nginx upstream").then(|| "nginx".into())
}

impl Nginx {
    /// Starts NGINX; `bin` from [`nginx_binary`].
    pub async fn start(dir: &TempDir, bin: &str) -> Self {
        let own = own_dir(dir, "nginx");
        let www = own.join("www");
        write_site(&www);
        for t in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(own.join("tmp").join(t)).unwrap();
        }
        let log = own.join("access.log");
        let d = own.display();
        // a port picked here may be taken before NGINX binds it: try again then
        for attempt in 0..5 {
            let port = free_port().await;
            let conf = format!(
                r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    default_type text/plain;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    underscores_in_headers on;
    log_format rec escape=json '{{"request":"$request","request_uri":"$request_uri","uri":"$uri","status":"$status","host":"$http_host","x-consumer-id":"$http_x_consumer_id","x-forwarded-for":"$http_x_forwarded_for","x-forwarded-host":"$http_x_forwarded_host","forwarded":"$http_forwarded","x-api-key":"$http_x_api_key","x-request-id":"$http_x_request_id"}}';
    access_log {d}/access.log rec;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "$request_uri|$uri|$http_host|$http_x_consumer_id\n"; }}
        location ~ \.txt$ {{ root {www}; }}
        location ^~ /files/ {{ alias {www}/; }}
    }}
}}
"#,
                www = www.display()
            );
            let conf_path = own.join("nginx.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let _ = std::fs::remove_file(own.join("nginx.pid"));
            let mut cmd = Command::new(bin);
            cmd.arg("-p")
                .arg(format!("{d}/"))
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(own.join("error.log"));
            let mut proc = Proc::spawn(cmd, "nginx", &own);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + START_WITHIN;
            loop {
                if let Some(why) = proc.exited() {
                    let errors = std::fs::read_to_string(own.join("error.log")).unwrap_or_default();
                    if errors.contains("Address already in use") && attempt < 4 {
                        break;
                    }
                    panic!("{why}\n{errors}");
                }
                // the pid file is written after the listening socket is bound
                let pid = std::fs::read_to_string(own.join("nginx.pid")).unwrap_or_default();
                if pid.trim() == proc.child.id().to_string()
                    && tokio::net::TcpStream::connect(addr).await.is_ok()
                {
                    return Self {
                        addr,
                        log,
                        _proc: proc,
                    };
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx did not accept connections within {START_WITHIN:?}: {}",
                    std::fs::read_to_string(own.join("error.log")).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        unreachable!("nginx could not bind a port")
    }

    /// Every request logged so far.
    pub fn requests(&self) -> Vec<NginxRequest> {
        json_lines(&self.log)
            .into_iter()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                NginxRequest {
                    request: s("request"),
                    request_uri: s("request_uri"),
                    uri: s("uri"),
                    status: s("status").parse().unwrap_or_default(),
                    headers: [
                        "host",
                        "x-consumer-id",
                        "x-forwarded-for",
                        "x-forwarded-host",
                        "forwarded",
                        "x-api-key",
                        "x-request-id",
                    ]
                    .into_iter()
                    .map(|k| (k.to_string(), s(k)))
                    .collect(),
                }
            })
            .collect()
    }
}

impl RealUpstream for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn targets(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.request_uri).collect()
    }
    fn serves_files(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// The harness itself, against each upstream directly (no gateway)

/// Splits a raw HTTP/1.1 response into (status, body).
fn status_and_body(resp: &str) -> (u16, &str) {
    let status = resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body)
}

/// http.server records the raw request line, header lines in order and spelling, and the body
/// length; it resolves `%2e%2e` and `%2F` itself, which is why the gateway must not forward
/// them unresolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_http_server_records_raw_requests() {
    if !have_tool("python3", "python_http_server_records_raw_requests") {
        return;
    }
    let dir = TempDir::new();
    let up = PyHttpServer::start(&dir).await;
    let (resp, _) = raw(
        up.addr,
        b"POST /open/x?q=1 HTTP/1.1\r\nHost: direct.test\r\nX_Consumer_Id: admin\r\nx-MiXed: 1\r\nx-mixed: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status_and_body(&resp), (200, "posted 3"), "{resp}");
    let (resp, _) = raw(
        up.addr,
        b"GET /open/index.txt HTTP/1.1\r\nHost: direct.test\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status_and_body(&resp), (200, "OPEN"), "{resp}");
    let reqs = up.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].request_line, "POST /open/x?q=1 HTTP/1.1");
    assert_eq!(reqs[0].target(), "/open/x?q=1");
    assert_eq!(
        reqs[0].names(),
        [
            "Host",
            "X_Consumer_Id",
            "x-MiXed",
            "x-mixed",
            "Content-Length",
            "Connection"
        ]
    );
    assert_eq!(reqs[0].header("X-MIXED"), ["1", "2"]);
    assert_eq!(reqs[0].body_len, Some(3));
    assert_eq!(up.targets(), ["/open/x?q=1", "/open/index.txt"]);
    // what it does with unnormalised paths on its own
    for (target, status, body) in [
        ("/open/%2e%2e/private/secret.txt", 200, "SECRET"),
        ("/open/..%2fprivate/secret.txt", 200, "SECRET"),
        ("//private/secret.txt", 200, "SECRET"),
        ("/private;x/secret.txt", 404, ""),
        ("/open/%5c..%5cprivate/secret.txt", 404, ""),
    ] {
        let (resp, _) = raw(
            up.addr,
            format!("GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(5),
        )
        .await;
        let (s, b) = status_and_body(&resp);
        assert_eq!(s, status, "{target}: {resp}");
        if status == 200 {
            assert_eq!(b, body, "{target}");
        }
    }
}

/// The WSGI echo shows PATH_INFO decoded, RAW_URI as sent, and maps `X_Forwarded_For` onto
/// `HTTP_X_FORWARDED_FOR` together with `X-Forwarded-For` (gunicorn `header_map = "dangerous"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wsgi_echo_records_its_environ() {
    if !have_tool("gunicorn", "wsgi_echo_records_its_environ") {
        return;
    }
    let dir = TempDir::new();
    let up = WsgiEcho::start(&dir).await;
    let (resp, _) = raw(
        up.addr,
        b"GET /open/a%2Fb;p?x=../private HTTP/1.1\r\nHost: direct.test\r\nX-Forwarded-For: 1.2.3.4\r\nX_Forwarded_For: 6.6.6.6\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    let (status, body) = status_and_body(&resp);
    assert_eq!(status, 200, "{resp}");
    let echoed = WsgiRequest::from_body(body);
    let reqs = up.requests();
    assert_eq!(reqs.len(), 1);
    for r in [&echoed, &reqs[0]] {
        assert_eq!(r.method, "GET");
        assert_eq!(r.path_info, "/open/a/b;p");
        assert_eq!(r.query_string, "x=../private");
        assert_eq!(r.raw_uri.as_deref(), Some("/open/a%2Fb;p?x=../private"));
        assert_eq!(r.http["HTTP_HOST"], "direct.test");
        // the underscore spelling lands on the same key: what the gateway has to prevent
        assert_eq!(r.http["HTTP_X_FORWARDED_FOR"], "1.2.3.4,6.6.6.6");
        assert_eq!(r.body_len, 0);
    }
    assert_eq!(up.targets(), ["/open/a%2Fb;p?x=../private"]);
}

/// NGINX echoes `$request_uri|$uri|$http_host|$http_x_consumer_id`, serves the site's `*.txt`
/// after its own normalisation, and logs what it received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_echoes_and_logs_what_it_received() {
    let Some(bin) = nginx_binary() else {
        return;
    };
    let dir = TempDir::new();
    let up = Nginx::start(&dir, &bin).await;
    let (resp, _) = raw(
        up.addr,
        b"GET /x/a%2Fb//c?q=1 HTTP/1.1\r\nHost: direct.test\r\nX_Consumer_Id: admin\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        status_and_body(&resp),
        (200, "/x/a%2Fb//c?q=1|/x/a/b/c|direct.test|admin\n"),
        "{resp}"
    );
    for (target, status, body) in [
        ("/open/index.txt", 200, "OPEN"),
        ("/files/private/secret.txt", 200, "SECRET"),
        ("/open/%2e%2e/private/secret.txt", 200, "SECRET"),
        ("//private/secret.txt", 200, "SECRET"),
        ("/open/%252e%252e/private/secret.txt", 404, ""),
        ("/private;x/secret.txt", 404, ""),
    ] {
        let (resp, _) = raw(
            up.addr,
            format!("GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(5),
        )
        .await;
        let (s, b) = status_and_body(&resp);
        assert_eq!(s, status, "{target}: {resp}");
        if status == 200 {
            assert_eq!(b, body, "{target}");
        }
    }
    let targets = targets_after(&up, 6).await;
    assert_eq!(targets.len(), 7, "{targets:?}");
    let first = &up.requests()[0];
    assert_eq!(first.request, "GET /x/a%2Fb//c?q=1 HTTP/1.1");
    assert_eq!(first.request_uri, "/x/a%2Fb//c?q=1");
    assert_eq!(first.uri, "/x/a/b/c");
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["host"], "direct.test");
    assert_eq!(first.headers["x-consumer-id"], "admin");
    assert_eq!(targets[3], "/open/%2e%2e/private/secret.txt");
}
