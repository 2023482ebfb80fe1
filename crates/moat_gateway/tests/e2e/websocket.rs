//! WebSockets through the gateway: a Python `websockets` server as the upstream (echo, a
//! message that reports the handshake it saw, a path it refuses with 403, every handshake
//! recorded) and the Python `websockets` client, over plain HTTP and TLS; raw sockets where an
//! upstream must misbehave. Skipped without the `websockets` module, unless
//! `MOAT_REQUIRE_WEBSOCKETS=1` (CI installs it: `.ci/deps/gateway.sh`).

use crate::common::*;
use crate::config::Config;
use crate::real_upstreams::{Proc, json_lines, own_dir, wait_port_file};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Whether Python's `websockets` (its sync client and server) can be imported; when not, a
/// failure under `MOAT_REQUIRE_WEBSOCKETS=1`, a skip notice otherwise.
fn have_websockets(test: &str) -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import websockets.sync.client, websockets.sync.server",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !std::env::var("MOAT_REQUIRE_WEBSOCKETS").is_ok_and(|v| v == "1"),
            "{test}: MOAT_REQUIRE_WEBSOCKETS=1 but python3 cannot import websockets"
        );
        eprintln!("skipped: {test}: python websockets not installed (pip install websockets)");
    }
    ok
}

/// The upstream: echoes every message, answers `headers` with the handshake it saw, refuses
/// `/ws/deny` with a plain 403, and records every handshake request (JSON lines).
const SERVER_PY: &str = r#"
import json, os, sys, threading
from http import HTTPStatus
from websockets.sync.server import serve

port_file, log_path = sys.argv[1], sys.argv[2]
lock = threading.Lock()

def seen(request):
    return {"path": request.path, "headers": [[k, v] for k, v in request.headers.raw_items()]}

def process_request(connection, request):
    with lock, open(log_path, "a") as f:
        f.write(json.dumps(seen(request)) + "\n")
    if request.path.startswith("/ws/deny"):
        return connection.respond(HTTPStatus.FORBIDDEN, "denied by upstream\n")
    return None

def handler(ws):
    for message in ws:
        ws.send(json.dumps(seen(ws.request)) if message == "headers" else message)

with serve(handler, "127.0.0.1", 0, process_request=process_request, subprotocols=["chat"],
           max_size=None, ping_interval=None) as server:
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.socket.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()
"#;

/// The client: `python3 -c CLIENT MODE URL ARGS_JSON`; prints one JSON object. `echo` sends
/// a text, a 100 000-byte binary message and `headers`; `idle` waits for the gateway to close.
const CLIENT_PY: &str = r#"
import json, ssl, sys, time
from websockets.sync.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

mode, url, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
kw = dict(additional_headers=args.get("headers", {}), open_timeout=10, close_timeout=2,
          ping_interval=None, max_size=None, proxy=None, subprotocols=["chat"])
if "ca" in args:
    kw["ssl"] = ssl.create_default_context(cafile=args["ca"])
    kw["server_hostname"] = "api.test"
try:
    ws = connect(url, **kw)
except InvalidStatus as e:
    print(json.dumps({"status": e.response.status_code,
                      "body": e.response.body.decode("utf-8", "replace"),
                      "response_headers": [[k, v] for k, v in e.response.headers.raw_items()]}))
    sys.exit(0)
out = {"status": ws.response.status_code, "subprotocol": ws.subprotocol,
       "response_headers": [[k, v] for k, v in ws.response.headers.raw_items()]}
with ws:
    if mode == "echo":
        ws.send("hello")
        out["text"] = ws.recv(timeout=10)
        blob = bytes(i % 251 for i in range(100_000))
        ws.send(blob)
        back = ws.recv(timeout=10)
        out["binary_len"] = len(back)
        out["binary_ok"] = back == blob
        ws.send("headers")
        out["seen"] = json.loads(ws.recv(timeout=10))
    elif mode == "idle":
        start = time.monotonic()
        try:
            ws.recv(timeout=args["wait"])
            out["closed"] = False
        except ConnectionClosed:
            out["closed"] = True
        except TimeoutError:
            out["closed"] = False
        out["after"] = time.monotonic() - start
print(json.dumps(out))
"#;

/// The Python upstream, killed on drop.
struct WsUpstream {
    addr: SocketAddr,
    log: PathBuf,
    _proc: Proc,
}

impl WsUpstream {
    async fn start(dir: &TempDir) -> Self {
        let own = own_dir(dir, "py-websockets");
        let script = own.join("ws_server.py");
        std::fs::write(&script, SERVER_PY).unwrap();
        let port_file = own.join("port");
        let log = own.join("handshakes.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(&port_file).arg(&log);
        let mut proc = Proc::spawn(cmd, "python3 websockets server", &own);
        let addr = wait_port_file(&mut proc, &port_file).await;
        Self {
            addr,
            log,
            _proc: proc,
        }
    }

    /// The handshake requests received so far.
    fn handshakes(&self) -> Vec<Value> {
        json_lines(&self.log)
    }
}

/// Runs the client (at most 60 s) and returns what it printed.
async fn client(mode: &str, url: &str, args: &Value) -> Value {
    let (ok, out, err) = run(
        "timeout",
        vec![
            "60".into(),
            "python3".into(),
            "-c".into(),
            CLIENT_PY.into(),
            mode.into(),
            url.into(),
            args.to_string(),
        ],
        None,
    )
    .await;
    assert!(ok, "websockets client failed: {err}\n{out}");
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"))
}

/// The values of header `name` (any case) in a `[[name, value], …]` list.
fn values(list: &Value, name: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|p| p[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .map(|p| p[1].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits until the metrics text contains every line of `lines`.
async fn metrics_show(gw: &moat_gateway::Gateway, lines: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = gw.metrics_text();
        if lines.iter().all(|l| text.lines().any(|t| t == *l)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never showed {lines:?}:\n{}",
            text.lines()
                .filter(|l| l.contains("websocket"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Echo of text, binary and a >64 KiB message through a plain or TLS listener; the upstream
/// saw the gateway's forwarding headers and none of the client's forged ones; the client got
/// the upstream's subprotocol and extension, and none of its other headers.
async fn echo_through(tls: bool) {
    let dir = TempDir::new();
    let up = WsUpstream::start(&dir).await;
    let (config, scheme, mut args) = if tls {
        let certs = make_certs(&dir, &[("api", &["api.test"])]);
        (
            Config::tls(&dir),
            "wss",
            json!({ "ca": certs.ca_pem.display().to_string() }),
        )
    } else {
        (Config::plain(&dir), "ws", json!({}))
    };
    let gw = config
        .upstream("ws", &[up.addr], "")
        .route("ws", "ws", "websocket = true\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    args["headers"] = json!({
        "X-Forwarded-For": "6.6.6.6",
        "X-Real-IP": "6.6.6.6",
        "X-Consumer-Id": "admin",
        "Forwarded": "for=6.6.6.6",
    });
    let url = format!("{scheme}://127.0.0.1:{}/ws/echo?x=1", addr.port());
    let out = client("echo", &url, &args).await;
    assert_eq!(out["status"], 101, "{out}");
    assert_eq!(out["text"], "hello");
    assert_eq!(
        (out["binary_len"].as_u64(), out["binary_ok"].as_bool()),
        (Some(100_000), Some(true))
    );
    assert_eq!(out["subprotocol"], "chat", "Sec-WebSocket-Protocol passed");
    let resp = &out["response_headers"];
    assert_eq!(values(resp, "upgrade"), ["websocket"]);
    assert_eq!(values(resp, "connection"), ["upgrade"]);
    assert_eq!(values(resp, "sec-websocket-accept").len(), 1);
    assert!(
        values(resp, "sec-websocket-extensions")[0].contains("permessage-deflate"),
        "{resp}"
    );
    assert!(
        values(resp, "server").is_empty(),
        "upstream identity: {resp}"
    );
    assert_eq!(values(resp, "x-content-type-options"), ["nosniff"]);
    assert_eq!(values(resp, "x-request-id").len(), 1);

    let seen = &out["seen"];
    assert_eq!(seen["path"], "/ws/echo?x=1");
    let h = &seen["headers"];
    assert_eq!(values(h, "x-forwarded-for"), ["127.0.0.1"], "{h}");
    assert_eq!(
        values(h, "x-forwarded-proto"),
        [if tls { "https" } else { "http" }]
    );
    assert!(values(h, "x-real-ip").is_empty(), "{h}");
    assert!(values(h, "x-consumer-id").is_empty(), "{h}");
    assert!(
        values(h, "forwarded")
            .iter()
            .all(|f| f.starts_with("for=127.0.0.1;")),
        "{h}"
    );
    assert_eq!(values(h, "upgrade"), ["websocket"], "{h}");
    assert_eq!(values(h, "connection"), ["upgrade"], "{h}");
    assert_eq!(values(h, "sec-websocket-version"), ["13"], "{h}");
    assert_eq!(values(h, "x-request-id"), values(resp, "x-request-id"));

    let log = access_log(&dir, 1).await;
    let line = log
        .iter()
        .find(|l| l["url.path"] == "/ws/echo")
        .expect("the handshake is logged");
    assert_eq!(line["http.response.status_code"], 101, "{line}");
    assert_eq!(line["moat.route"], "ws");
    metrics_show(
        &gw,
        &[
            "moat_gateway_websocket_tunnels_total 1",
            "moat_gateway_websocket_tunnels 0",
            "moat_gateway_websocket_tunnels_closed_total{reason=\"closed\"} 1",
            "moat_gateway_requests_total{route=\"ws\",status=\"101\",method=\"GET\"} 1",
        ],
    )
    .await;
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_round_trip_with_forwarding_headers() {
    if !have_websockets("websocket_echo_round_trip_with_forwarding_headers") {
        return;
    }
    echo_through(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_round_trip_over_tls() {
    if !have_websockets("websocket_echo_round_trip_over_tls") {
        return;
    }
    echo_through(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_without_websocket_refuses_the_upgrade_before_the_upstream() {
    if !have_websockets("a_route_without_websocket_refuses_the_upgrade_before_the_upstream") {
        return;
    }
    let dir = TempDir::new();
    let up = WsUpstream::start(&dir).await;
    let gw = Config::plain(&dir)
        .upstream("ws", &[up.addr], "")
        .route(
            "open",
            "ws",
            "path_prefix = \"/ws/open\"\nwebsocket = true\n",
        )
        .route("closed", "ws", "path_prefix = \"/ws/closed\"\n")
        .start(&dir)
        .await;
    let port = gw.listener_addrs()[0].port();
    let out = client(
        "echo",
        &format!("ws://127.0.0.1:{port}/ws/closed"),
        &json!({}),
    )
    .await;
    assert_eq!(out["status"], 403, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "websocket_not_allowed");
    let out = client(
        "echo",
        &format!("ws://127.0.0.1:{port}/ws/open"),
        &json!({}),
    )
    .await;
    assert_eq!(out["status"], 101, "{out}");
    let paths: Vec<String> = up
        .handshakes()
        .iter()
        .map(|h| h["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        paths,
        ["/ws/open"],
        "the refused handshake never reached it"
    );
    metrics_show(
        &gw,
        &["moat_gateway_rejected_total{reason=\"websocket\"} 1"],
    )
    .await;
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Alice's API key.
const KEY: &str = "alice-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_route_needs_the_key_on_the_handshake() {
    if !have_websockets("an_api_key_route_needs_the_key_on_the_handshake") {
        return;
    }
    let dir = TempDir::new();
    dir.write("keys.txt", &format!("alice:{KEY}\n"));
    let up = WsUpstream::start(&dir).await;
    let gw = Config::plain(&dir)
        .section("[api_keys]\nfile = \"keys.txt\"\nheader = \"x-api-key\"\n")
        .upstream("ws", &[up.addr], "")
        .route("ws", "ws", "auth = \"api_key\"\nwebsocket = true\n")
        .start(&dir)
        .await;
    let url = format!(
        "ws://127.0.0.1:{}/ws/private",
        gw.listener_addrs()[0].port()
    );
    let out = client("echo", &url, &json!({})).await;
    assert_eq!(out["status"], 401, "{out}");
    let out = client(
        "echo",
        &url,
        &json!({ "headers": { "X-Api-Key": "wrong" } }),
    )
    .await;
    assert_eq!(out["status"], 401, "{out}");
    assert!(up.handshakes().is_empty(), "{:?}", up.handshakes());
    let out = client("echo", &url, &json!({ "headers": { "X-Api-Key": KEY } })).await;
    assert_eq!(out["status"], 101, "{out}");
    assert_eq!(out["text"], "hello");
    let h = &out["seen"]["headers"];
    assert_eq!(values(h, "x-consumer-id"), ["alice"], "{h}");
    assert!(
        values(h, "x-api-key").is_empty(),
        "the key is not passed on: {h}"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tunnel_is_closed_after_its_timeout() {
    if !have_websockets("an_idle_tunnel_is_closed_after_its_timeout") {
        return;
    }
    let dir = TempDir::new();
    let up = WsUpstream::start(&dir).await;
    let gw = Config::plain(&dir)
        .upstream("ws", &[up.addr], "")
        .route(
            "ws",
            "ws",
            "websocket = true\nwebsocket_idle_timeout = \"1s\"\n",
        )
        .start(&dir)
        .await;
    let url = format!("ws://127.0.0.1:{}/ws/idle", gw.listener_addrs()[0].port());
    let out = client("idle", &url, &json!({ "wait": 20 })).await;
    assert_eq!(out["status"], 101, "{out}");
    assert_eq!(out["closed"], true, "{out}");
    let after = out["after"].as_f64().unwrap();
    assert!((0.8..5.0).contains(&after), "closed after {after} s");
    metrics_show(
        &gw,
        &[
            "moat_gateway_websocket_tunnels_closed_total{reason=\"idle_timeout\"} 1",
            "moat_gateway_websocket_tunnels 0",
        ],
    )
    .await;
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_refusing_the_handshake_is_answered_as_it_said() {
    if !have_websockets("an_upstream_refusing_the_handshake_is_answered_as_it_said") {
        return;
    }
    let dir = TempDir::new();
    let up = WsUpstream::start(&dir).await;
    let gw = Config::plain(&dir)
        .upstream("ws", &[up.addr], "")
        .route("ws", "ws", "websocket = true\n")
        .start(&dir)
        .await;
    let url = format!("ws://127.0.0.1:{}/ws/deny", gw.listener_addrs()[0].port());
    let out = client("echo", &url, &json!({})).await;
    assert_eq!(out["status"], 403, "{out}");
    assert_eq!(out["body"], "denied by upstream\n");
    assert!(values(&out["response_headers"], "upgrade").is_empty());
    assert_eq!(up.handshakes().len(), 1);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// A WebSocket handshake request for `path`, written by hand.
fn handshake_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    )
}

/// Reads until `until` holds (or the peer closes, or 10 s pass); returns what was read.
async fn read_until(s: &mut TcpStream, until: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !until(&out) {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// An upstream that answers `/bad` with a 101 lacking `Upgrade`, and `/early` with a valid
/// 101 and `EARLY` in the same write, then echoes.
async fn misbehaving_upstream() -> SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let head = read_until(&mut s, |b| b.windows(4).any(|w| w == b"\r\n\r\n")).await;
                let head = String::from_utf8_lossy(&head).into_owned();
                if head.starts_with("GET /bad ") {
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let _ = s
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nEARLY")
                    .await;
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_101_is_a_502_and_bytes_after_a_valid_one_are_kept() {
    let dir = TempDir::new();
    let up = misbehaving_upstream().await;
    let gw = Config::plain(&dir)
        .upstream("raw", &[up], "")
        .route("ws", "raw", "websocket = true\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];

    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(handshake_request("/bad").as_bytes())
        .await
        .unwrap();
    let got = read_until(&mut s, |b| b.ends_with(b"}}")).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 502 "), "{text}");
    assert!(text.contains("\"upstream_invalid_response\""), "{text}");

    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(handshake_request("/early").as_bytes())
        .await
        .unwrap();
    let got = read_until(&mut s, |b| b.ends_with(b"EARLY")).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nEARLY"), "{text}");
    // the tunnel is open both ways
    s.write_all(b"\x81\x02hi").await.unwrap();
    let back = read_until(&mut s, |b| b.len() >= 4).await;
    assert_eq!(back, b"\x81\x02hi");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_tunnels_within_the_grace() {
    if !have_websockets("shutdown_closes_open_tunnels_within_the_grace") {
        return;
    }
    let dir = TempDir::new();
    let up = WsUpstream::start(&dir).await;
    let gw = Config::plain(&dir)
        .upstream("ws", &[up.addr], "")
        .route("ws", "ws", "websocket = true\n")
        .start(&dir)
        .await;
    let mut s = TcpStream::connect(gw.listener_addrs()[0]).await.unwrap();
    s.write_all(handshake_request("/ws/held").as_bytes())
        .await
        .unwrap();
    let got = read_until(&mut s, |b| b.windows(4).any(|w| w == b"\r\n\r\n")).await;
    assert!(got.starts_with(b"HTTP/1.1 101 "), "{got:?}");
    let started = Instant::now();
    let left = gw.shutdown_within(Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert_eq!(left, 0, "the tunnel's connection was closed");
    assert!(
        took >= Duration::from_millis(1500) && took <= Duration::from_secs(2),
        "an open tunnel may use the grace, not more: {took:?}"
    );
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the client's side is closed: {read:?}"
    );
}
