//! Two `moat gateway` processes behind no load balancer but the test itself, sharing one
//! `redis-server`: one rate limit admits its count across both replicas, bans set on one
//! replica hold on the other and are lifted from either admin API. The same load with the
//! in-memory store shows the over-admission the shared store exists to prevent (so the test
//! can fail).
//!
//! Skipped without `redis-server` unless `MOAT_REQUIRE_REDIS=1`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Proc, free_port};

fn have_redis() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !std::env::var("MOAT_REQUIRE_REDIS").is_ok_and(|v| v == "1"),
            "MOAT_REQUIRE_REDIS=1 but redis-server is missing"
        );
        eprintln!("skipped: redis-server not found (apt-get install redis-server)");
    }
    ok
}

fn redis(dir: &Path) -> (Proc, u16) {
    redis_on(dir, free_port())
}

fn redis_on(dir: &Path, port: u16) -> (Proc, u16) {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (p, port)
}

/// One request on a fresh connection: (status, `Retry-After`); status 0 when the exchange
/// failed.
fn send(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, Option<u64>) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, None);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\nContent-Length: 0\r\n{headers}\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, None);
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let retry = text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("retry-after")
            .then(|| v.trim().parse().ok())
            .flatten()
    });
    (status, retry)
}

fn body_of(addr: SocketAddr, method: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// A replica: `moat gateway --config` on its own port, with an admin listener; killed on drop.
struct Replica {
    _proc: Proc,
    addr: SocketAddr,
    admin: SocketAddr,
}

fn replica(dir: &Path, name: &str, shared: &str) -> Replica {
    let port = free_port();
    let admin_port = free_port();
    let config = format!(
        r#"[[listener]]
listen = "127.0.0.1:{port}"
plain_http = true

[admin]
listen = "127.0.0.1:{admin_port}"

[access_log]
target = "off"

[api_keys]
file = "keys.txt"

{shared}

[upstream.api]
targets = ["127.0.0.1:9"]
eject_after_failures = 1000000

[[route]]
name = "orders"
path_prefix = "/orders"
upstream = "api"
rate_limits = ["orders"]

[[route]]
name = "warm"
path_prefix = "/warm"
upstream = "api"

[[route]]
name = "private"
path_prefix = "/private"
upstream = "api"
auth = "api_key"
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["gateway", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = Replica {
        _proc: Proc(child),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        admin: SocketAddr::from(([127, 0, 0, 1], admin_port)),
    };
    let start = Instant::now();
    while send(r.admin, "GET", "/healthz", "").0 != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // the connection to Redis comes up with the first requests: on a route of its own
    for _ in 0..10 {
        send(r.addr, "GET", "/warm", "");
    }
    r
}

/// 8 clients, 40 requests each, spread over both replicas: (admitted, limited).
fn load(replicas: &[&Replica]) -> (usize, usize) {
    let addrs: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let addr = addrs[i % addrs.len()];
            std::thread::spawn(move || {
                (0..40)
                    .map(|_| send(addr, "GET", "/orders", "").0)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let (mut admitted, mut limited) = (0, 0);
    for t in threads {
        for s in t.join().unwrap() {
            match s {
                429 => limited += 1,
                0 => panic!("an exchange failed"),
                _ => admitted += 1,
            }
        }
    }
    (admitted, limited)
}

#[test]
fn two_gateway_processes_share_limits_and_bans_through_redis() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keys.txt"),
        "alice:alice-0123456789abcdef\n",
    )
    .unwrap();
    let (_redis, port) = redis(dir.path());
    let bans = "[[ban]]\nname = \"guessing\"\noffences = [\"auth_failure\"]\nthreshold = 3\nwindow = \"1m\"\nban_for = \"10m\"\n";
    let shared = format!(
        "[redis]\nurls = [\"redis://127.0.0.1:{port}\"]\nreplicas = 2\n\n[[rate_limit]]\nname = \"orders\"\nkey = \"route\"\nrate = \"100/h\"\nstore = \"redis\"\n\n{bans}"
    );
    let a = replica(dir.path(), "a", &shared);
    let b = replica(dir.path(), "b", &shared);
    let (admitted, limited) = load(&[&a, &b]);
    eprintln!("two processes, one Redis limit of 100/h: {admitted} admitted, {limited} limited");
    assert_eq!((admitted, limited), (100, 220));

    // three failed keys on replica A ban the address on replica B as well
    for _ in 0..3 {
        assert_eq!(
            send(a.addr, "GET", "/private", "X-Api-Key: guess\r\n").0,
            401
        );
    }
    let good = "X-Api-Key: alice-0123456789abcdef\r\n";
    let (status, retry) = send(b.addr, "GET", "/private", good);
    assert_eq!(status, 403, "banned on the other replica");
    assert!(retry.is_some_and(|s| (590..=600).contains(&s)), "{retry:?}");
    assert!(body_of(a.admin, "GET", "/bans").contains("\"address\":\"127.0.0.1\""));
    // lifted from B's admin API: lifted for A too
    let lifted = body_of(b.admin, "DELETE", "/bans/127.0.0.1");
    assert!(lifted.contains("\"lifted\":true"), "{lifted}");
    assert_eq!(
        send(a.addr, "GET", "/private", good).0,
        502,
        "admitted (dead upstream)"
    );
    assert_eq!(send(b.addr, "GET", "/private", good).0, 502);
    drop((a, b));

    // the in-memory store: each replica admits the whole limit
    let memory =
        format!("[[rate_limit]]\nname = \"orders\"\nkey = \"route\"\nrate = \"100/h\"\n\n{bans}");
    let a = replica(dir.path(), "ma", &memory);
    let b = replica(dir.path(), "mb", &memory);
    let (admitted, limited) = load(&[&a, &b]);
    eprintln!("two processes, in-memory limits of 100/h: {admitted} admitted, {limited} limited");
    assert_eq!((admitted, limited), (200, 120), "2× over-admission");
    for _ in 0..3 {
        send(a.addr, "GET", "/private", "X-Api-Key: guess\r\n");
    }
    assert_eq!(send(a.addr, "GET", "/private", good).0, 403);
    assert_eq!(
        send(b.addr, "GET", "/private", good).0,
        502,
        "a local ban stays local"
    );
}

/// `on_store_error = "allow"` with Redis killed under traffic: every request still passes and
/// none waits much longer than the deadline; Redis back on its port, the shared limit applies
/// again without a restart of the gateway.
#[test]
fn redis_killed_under_traffic_with_allow_and_back() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keys.txt"),
        "alice:alice-0123456789abcdef\n",
    )
    .unwrap();
    let (redis_proc, port) = redis(dir.path());
    let shared = format!(
        "[redis]\nurls = [\"redis://127.0.0.1:{port}\"]\ndeadline = \"50ms\"\nbreaker_failures = 3\nbreaker_cool_down = \"300ms\"\n\n[[rate_limit]]\nname = \"orders\"\nkey = \"route\"\nrate = \"5/h\"\nstore = \"redis\"\non_store_error = \"allow\"\n"
    );
    let gw = replica(dir.path(), "allow", &shared);
    let statuses: Vec<u16> = (0..8)
        .map(|_| send(gw.addr, "GET", "/orders", "").0)
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        3,
        "{statuses:?}"
    );

    drop(redis_proc);
    let mut worst = Duration::ZERO;
    for _ in 0..30 {
        let t = Instant::now();
        let (status, _) = send(gw.addr, "GET", "/orders", "");
        worst = worst.max(t.elapsed());
        assert!(
            status != 429 && status != 0,
            "refused or failed with Redis down: {status}"
        );
    }
    eprintln!("Redis dead, allow: 30 of 30 passed; slowest answer {worst:?} (deadline 50 ms)");
    assert!(worst < Duration::from_millis(300), "{worst:?}");

    // Redis back (empty) on the same port: the limit of 5 applies again
    let (_redis_again, _) = redis_on(dir.path(), port);
    let start = Instant::now();
    let mut refused = false;
    while start.elapsed() < Duration::from_secs(15) {
        if send(gw.addr, "GET", "/orders", "").0 == 429 {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(refused, "the shared limit did not come back with Redis");
}
