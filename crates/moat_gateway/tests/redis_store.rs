//! The Redis rate-limit store against real `redis-server` processes started here, each on a
//! free port and killed when its test ends: the GCRA decisions, the limit shared exactly by
//! two replicas (and the N× over-admission of separate in-memory limiters, to show the test
//! can fail), the deadline under a paused Redis, the breaker when Redis dies and comes back,
//! `NOSCRIPT` after a flush, key expiry, and a three-master Redis Cluster.
//!
//! Skipped without `redis-server` (a line on stderr), unless `MOAT_REQUIRE_REDIS=1` (CI).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use moat_gateway::ratelimit::{Gcra, KeyKind, LimitSpec, LimitStore, Limiter};
use moat_gateway::redis_store::{BreakerState, RedisSettings, RedisStore, StoreError};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` on its own port and folder, killed when dropped.
struct Server {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::start_in(free_port(), dir, extra)
    }

    fn start_in(port: u16, dir: tempfile::TempDir, extra: &[&str]) -> Server {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server { port, child, dir };
        let start = Instant::now();
        while s.cli(&["ping"]).trim() != "PONG" {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Kills it and returns its port and folder, to start it again there.
    fn kill(mut self) -> (u16, tempfile::TempDir) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (self.port, dir)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn settings(nodes: Vec<String>) -> RedisSettings {
    RedisSettings {
        nodes,
        deadline: Duration::from_millis(50),
        breaker_failures: 3,
        breaker_cool_down: Duration::from_millis(300),
        ..RedisSettings::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

const MS: Duration = Duration::from_millis(1);

/// Decides until the first call that Redis answers (the connection is made lazily).
async fn first_answer(store: &RedisStore, key: &str, emission: Duration, tolerance: Duration) {
    let start = Instant::now();
    while store.decide_one(key, emission, tolerance).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no answer from Redis"
        );
        tokio::time::sleep(10 * MS).await;
    }
}

#[test]
fn gcra_decisions_like_the_in_memory_limiter() {
    if !have_redis() {
        return;
    }
    let server = Server::start(&[]);
    runtime().block_on(async {
        let store = RedisStore::new(&settings(vec![server.url()])).unwrap();
        // 5 per second, burst 5: emission 200 ms, tolerance 1 s
        let (emission, tolerance) = (200 * MS, 1000 * MS);
        first_answer(&store, "warm-up", emission, tolerance).await;
        let mut remaining = Vec::new();
        for _ in 0..5 {
            let d = store.decide_one("k", emission, tolerance).await.unwrap();
            assert!(d.admitted);
            assert_eq!(d.retry_after, Duration::ZERO);
            remaining.push(d.remaining);
        }
        assert_eq!(remaining, [4, 3, 2, 1, 0]);
        let d = store.decide_one("k", emission, tolerance).await.unwrap();
        assert!(!d.admitted);
        assert!(
            d.retry_after > 150 * MS && d.retry_after <= 200 * MS,
            "{d:?}"
        );
        assert!(
            d.reset_after > 900 * MS && d.reset_after <= 1000 * MS,
            "{d:?}"
        );
        // a refund gives one back
        store.refund_one("k", emission).await.unwrap();
        assert!(
            store
                .decide_one("k", emission, tolerance)
                .await
                .unwrap()
                .admitted
        );
        assert!(
            !store
                .decide_one("k", emission, tolerance)
                .await
                .unwrap()
                .admitted
        );
        // another key has its own budget
        assert_eq!(
            store
                .decide_one("other", emission, tolerance)
                .await
                .unwrap()
                .remaining,
            4
        );
        // keys expire when their state carries nothing: the TTL is the state's life (checked on
        // a key that lives long enough to be read on a loaded machine), and a short one is gone
        store
            .decide_one("long", Duration::from_secs(20), Duration::from_secs(100))
            .await
            .unwrap();
        let ttl: i64 = server.cli(&["pttl", "long"]).trim().parse().unwrap();
        assert!(ttl > 10_000 && ttl <= 20_001, "pttl {ttl}");
        tokio::time::sleep(250 * MS).await;
        assert_eq!(server.cli(&["exists", "other"]).trim(), "0");
        // the script is loaded again after a flush (NOSCRIPT)
        assert_eq!(server.cli(&["script", "flush"]).trim(), "OK");
        assert!(
            store
                .decide_one("after-flush", emission, tolerance)
                .await
                .unwrap()
                .admitted
        );
        assert_eq!(store.breaker_state(), BreakerState::Closed);
        // through the LimitStore seam, with a cost: 3 + 3 > a burst of 5
        let gcra = Gcra {
            emission: e_200(),
            tolerance: 1000 * MS,
        };
        let d = LimitStore::decide(&store, "costly", gcra, 3, Instant::now())
            .await
            .unwrap();
        assert!(d.admitted);
        assert_eq!(d.remaining, 2);
        let d = LimitStore::decide(&store, "costly", gcra, 3, Instant::now())
            .await
            .unwrap();
        assert!(!d.admitted);
        LimitStore::refund(&store, "costly", gcra, 3).await.unwrap();
        let d = LimitStore::decide(&store, "costly", gcra, 5, Instant::now())
            .await
            .unwrap();
        assert!(d.admitted, "the refund gave all 3 back: {d:?}");
        assert_eq!(d.remaining, 0);
    });
}

fn e_200() -> Duration {
    200 * MS
}

/// Two replicas hammer one key from 8 tasks each: the total admitted is the limit.
#[test]
fn two_replicas_share_one_limit() {
    if !have_redis() {
        return;
    }
    let server = Server::start(&[]);
    // 100 per 1000 s, burst 100: nothing refills during the test, so exactly 100 pass
    let (emission, tolerance) = (Duration::from_secs(10), Duration::from_secs(1000));
    let admitted = runtime().block_on(async {
        let replica_a = Arc::new(RedisStore::new(&settings(vec![server.url()])).unwrap());
        let replica_b = Arc::new(RedisStore::new(&settings(vec![server.url()])).unwrap());
        first_answer(&replica_a, "warm-a", emission, tolerance).await;
        first_answer(&replica_b, "warm-b", emission, tolerance).await;
        let admitted = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = Arc::clone(if i % 2 == 0 { &replica_a } else { &replica_b });
            let admitted = Arc::clone(&admitted);
            tasks.push(tokio::spawn(async move {
                for _ in 0..40 {
                    match store
                        .decide_one("route:orders:limit:per-key:partner-a", emission, tolerance)
                        .await
                    {
                        Ok(d) if d.admitted => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(err) => panic!("{err}"),
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        admitted.load(Ordering::Relaxed)
    });
    eprintln!("two replicas, 640 requests, limit 100: {admitted} admitted");
    assert_eq!(admitted, 100);

    // the same load on two separate in-memory limiters admits twice the limit
    let spec = LimitSpec {
        name: "per-key".into(),
        key: KeyKind::ApiKey,
        count: 100,
        period: Duration::from_secs(1000),
        burst: 100,
        dry_run: false,
        consumers: None,
        except_consumers: Vec::new(),
        max_keys: 1000,
    };
    let replicas = [Limiter::new(spec.clone()), Limiter::new(spec)];
    let local: u32 = (0..640)
        .map(|i| u32::from(replicas[i % 2].check("partner-a", Instant::now()).allowed))
        .sum();
    eprintln!("two in-memory limiters, same load: {local} admitted");
    assert_eq!(local, 200);
}

#[test]
fn a_paused_redis_costs_no_more_than_the_deadline() {
    if !have_redis() {
        return;
    }
    let server = Server::start(&[]);
    runtime().block_on(async {
        let store = RedisStore::new(&settings(vec![server.url()])).unwrap();
        let (emission, tolerance) = (10 * MS, 1000 * MS);
        first_answer(&store, "warm", emission, tolerance).await;
        // every client is held for a second
        assert_eq!(server.cli(&["client", "pause", "1000", "all"]).trim(), "OK");
        let mut worst = Duration::ZERO;
        for _ in 0..3 {
            let start = Instant::now();
            let r = store.decide_one("k", emission, tolerance).await;
            worst = worst.max(start.elapsed());
            assert!(
                matches!(r, Err(StoreError::Timeout | StoreError::Unavailable)),
                "{r:?}"
            );
        }
        eprintln!("slowest call while Redis is paused: {worst:?} (deadline 50 ms)");
        // the deadline, not the second-long pause (margin for a loaded machine's timers)
        assert!(worst < 250 * MS, "{worst:?}");
        // three timeouts in a row opened the breaker: the next call does not wait at all
        assert_eq!(store.breaker_state(), BreakerState::Open);
        let start = Instant::now();
        assert_eq!(
            store.decide_one("k", emission, tolerance).await,
            Err(StoreError::Unavailable)
        );
        assert!(start.elapsed() < 20 * MS);
        // once Redis answers again, a probe closes the breaker
        let start = Instant::now();
        loop {
            tokio::time::sleep(50 * MS).await;
            if store.decide_one("k", emission, tolerance).await.is_ok() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "never closed");
        }
        assert_eq!(store.breaker_state(), BreakerState::Closed);
    });
}

#[test]
fn redis_killed_and_restarted() {
    if !have_redis() {
        return;
    }
    let server = Server::start(&[]);
    let url = server.url();
    runtime().block_on(async {
        let store = RedisStore::new(&settings(vec![url.clone()])).unwrap();
        let (emission, tolerance) = (10 * MS, 1000 * MS);
        first_answer(&store, "warm", emission, tolerance).await;
        let (port, dir) = server.kill();
        let mut worst = Duration::ZERO;
        for _ in 0..10 {
            let start = Instant::now();
            assert!(store.decide_one("k", emission, tolerance).await.is_err());
            worst = worst.max(start.elapsed());
        }
        eprintln!("slowest call with Redis dead: {worst:?}");
        assert!(worst < 250 * MS, "{worst:?}");
        assert_eq!(store.breaker_state(), BreakerState::Open);
        // back on the same port: shared limiting resumes without a new store
        let again = Server::start_in(port, dir, &[]);
        let start = Instant::now();
        loop {
            tokio::time::sleep(100 * MS).await;
            if store.decide_one("k", emission, tolerance).await.is_ok() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "never came back");
        }
        assert_eq!(store.breaker_state(), BreakerState::Closed);
        // the state is in the new server (a key whose state lives long enough to be seen)
        let d = store
            .decide_one(
                "after-restart",
                Duration::from_secs(10),
                Duration::from_secs(1000),
            )
            .await
            .unwrap();
        assert!(d.admitted);
        assert_eq!(again.cli(&["exists", "after-restart"]).trim(), "1");
    });
}

#[test]
fn a_store_made_while_redis_is_down_starts_and_waits() {
    if !have_redis() {
        return;
    }
    let port = free_port();
    runtime().block_on(async {
        let store = RedisStore::new(&settings(vec![format!("redis://127.0.0.1:{port}")])).unwrap();
        assert!(store.decide_one("k", MS, MS).await.is_err());
    });
    let bad = RedisStore::new(&settings(vec!["http://nope".into()]));
    assert!(bad.is_err());
}

/// Three masters joined into a Cluster by `redis-cli --cluster create`: keys spread over the
/// slots, and the limit still holds exactly across two replicas.
#[test]
fn a_redis_cluster() {
    if !have_redis() {
        return;
    }
    let nodes: Vec<Server> = (0..3)
        .map(|_| Server::start(&["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]))
        .collect();
    let mut create = Command::new("redis-cli");
    create.args(["--cluster", "create"]);
    for n in &nodes {
        create.arg(format!("127.0.0.1:{}", n.port));
    }
    let created = create.args(["--cluster-yes"]).output().unwrap();
    assert!(
        created.status.success(),
        "redis-cli --cluster create: {}",
        String::from_utf8_lossy(&created.stdout)
    );
    let start = Instant::now();
    while !nodes[0]
        .cli(&["cluster", "info"])
        .contains("cluster_state:ok")
    {
        assert!(start.elapsed() < Duration::from_secs(20), "cluster not ok");
        std::thread::sleep(100 * MS);
    }
    let urls: Vec<String> = nodes.iter().map(Server::url).collect();
    let (emission, tolerance) = (Duration::from_secs(10), Duration::from_secs(1000));
    runtime().block_on(async {
        let mut s = settings(urls);
        s.cluster = true;
        s.deadline = Duration::from_millis(500);
        let replica_a = Arc::new(RedisStore::new(&s).unwrap());
        let replica_b = Arc::new(RedisStore::new(&s).unwrap());
        first_answer(&replica_a, "warm-a", emission, tolerance).await;
        first_answer(&replica_b, "warm-b", emission, tolerance).await;
        // 20 keys land on all three masters; each admits exactly 100 of 150
        let mut tasks = Vec::new();
        for k in 0..20 {
            for store in [&replica_a, &replica_b] {
                let store = Arc::clone(store);
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    for _ in 0..75 {
                        if store
                            .decide_one(&format!("key-{k}"), emission, tolerance)
                            .await
                            .unwrap()
                            .admitted
                        {
                            n += 1;
                        }
                    }
                    (k, n)
                }));
            }
        }
        let mut per_key = [0u32; 20];
        for task in tasks {
            let (k, n) = task.await.unwrap();
            per_key[k] += n;
        }
        assert!(per_key.iter().all(|&n| n == 100), "{per_key:?}");
    });
    let spread: Vec<usize> = nodes
        .iter()
        .map(|n| n.cli(&["dbsize"]).trim().parse().unwrap_or(0))
        .collect();
    assert!(
        spread.iter().all(|&n| n > 0),
        "keys on every master: {spread:?}"
    );
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
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
}

/// A CA (`NAME-ca.pem`) and a certificate it signed for 127.0.0.1 (`NAME.pem`, `NAME.key`).
fn signed_pair(dir: &std::path::Path, name: &str) {
    let ca = format!("{name}-ca");
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
            &format!("/CN={ca}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(
        dir.join(format!("{name}.ext")),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// 1 when `store` gets an answer from Redis within 1.5 s, 0 otherwise.
async fn answers(store: &RedisStore) -> u32 {
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        if store
            .decide_one("probe", Duration::from_secs(10), Duration::from_secs(90))
            .await
            .is_ok()
        {
            return 1;
        }
        tokio::time::sleep(50 * MS).await;
    }
    0
}

/// TLS to Redis (`rediss://`): a `redis-server` that speaks TLS only, first accepting any
/// client, then requiring a client certificate. Decisions are exact through it with the right
/// CA; a store that trusts another CA, or speaks plain text, never gets an answer; without its
/// client certificate a store gets none from the server that asks for one.
#[test]
fn tls_to_redis() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    signed_pair(dir.path(), "server");
    signed_pair(dir.path(), "client");
    signed_pair(dir.path(), "stranger");
    let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
    let start = |auth_clients: &str| -> (Proc, u16) {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args([
                "--tls-ca-cert-file",
                "client-ca.pem",
                "--tls-auth-clients",
                auth_clients,
            ])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Proc(child);
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "redis-server (TLS) did not start"
            );
            std::thread::sleep(20 * MS);
        }
        (p, port)
    };
    let store = |url: String, ca: Option<Vec<u8>>, client: bool| {
        let mut s = settings(vec![url]);
        s.deadline = Duration::from_millis(300);
        s.breaker_failures = 1_000_000;
        s.ca_pem = ca;
        s.client_pem = client.then(|| (read("client.pem"), read("client.key")));
        RedisStore::new(&s).unwrap()
    };
    let (emission, tolerance) = (Duration::from_secs(10), Duration::from_secs(90));
    let rt = runtime();
    let (server, port) = start("no");
    let url = format!("rediss://127.0.0.1:{port}");
    rt.block_on(async {
        let good = store(url.clone(), Some(read("server-ca.pem")), false);
        first_answer(&good, "warm", emission, tolerance).await;
        // exact through TLS: 9 of 15 (a tolerance of 9 emission intervals)
        let mut admitted = 0;
        for _ in 0..15 {
            if good
                .decide_one("k", emission, tolerance)
                .await
                .unwrap()
                .admitted
            {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 9);
        let strange = store(url.clone(), Some(read("stranger-ca.pem")), false);
        assert_eq!(
            answers(&strange).await,
            0,
            "a server the CA did not sign was trusted"
        );
        let plain = store(format!("redis://127.0.0.1:{port}"), None, false);
        assert_eq!(
            answers(&plain).await,
            0,
            "plain text to a TLS port got an answer"
        );
    });
    drop(server);
    let (_server, port) = start("yes");
    let url = format!("rediss://127.0.0.1:{port}");
    rt.block_on(async {
        let anonymous = store(url.clone(), Some(read("server-ca.pem")), false);
        assert_eq!(
            answers(&anonymous).await,
            0,
            "no client certificate, yet an answer"
        );
        let known = store(url.clone(), Some(read("server-ca.pem")), true);
        assert_eq!(
            answers(&known).await,
            1,
            "the client certificate was not accepted"
        );
    });
}

/// A Redis Cluster of three masters with a replica each loses a master (killed) while two
/// stores decide on a key it holds: decisions fail only until the replica is promoted (the
/// client follows the new slot map by itself), and the limit loses at most the decisions
/// that were in flight — the key's count goes on from where the replica had it.
#[test]
fn a_cluster_master_killed_fails_over() {
    if !have_redis() {
        return;
    }
    let mut nodes: Vec<Option<Server>> = (0..6)
        .map(|_| {
            Some(Server::start(&[
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "1000",
                // a replica may take over however long its master has been gone
                "--cluster-replica-validity-factor",
                "0",
            ]))
        })
        .collect();
    let node = |nodes: &Vec<Option<Server>>, i: usize| -> String {
        nodes[i].as_ref().map(Server::url).unwrap_or_default()
    };
    let mut create = Command::new("redis-cli");
    create.args(["--cluster", "create"]);
    for n in nodes.iter().flatten() {
        create.arg(format!("127.0.0.1:{}", n.port));
    }
    let created = create
        .args(["--cluster-replicas", "1", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "redis-cli --cluster create: {}",
        String::from_utf8_lossy(&created.stdout)
    );
    let first = nodes[0].as_ref().unwrap();
    let start = Instant::now();
    let synced = |nodes: &Vec<Option<Server>>| {
        nodes
            .iter()
            .flatten()
            .filter(|n| {
                n.cli(&["info", "replication"])
                    .contains("master_link_status:up")
            })
            .count()
            == 3
    };
    while !(first.cli(&["cluster", "info"]).contains("cluster_state:ok") && synced(&nodes)) {
        assert!(start.elapsed() < Duration::from_secs(30), "cluster not ok");
        std::thread::sleep(100 * MS);
    }
    // the master that holds the key, by its port
    let key = "failover-key";
    let owner_port: u16 = {
        let slot: u16 = first
            .cli(&["cluster", "keyslot", key])
            .trim()
            .parse()
            .unwrap();
        first
            .cli(&["cluster", "nodes"])
            .lines()
            .filter(|l| l.contains("master"))
            .find(|l| {
                l.split_whitespace()
                    .skip(8)
                    .any(|r| match r.split_once('-') {
                        Some((a, b)) => {
                            (a.parse().unwrap_or(u16::MAX)..=b.parse().unwrap_or(0)).contains(&slot)
                        }
                        None => r.parse::<u16>().ok() == Some(slot),
                    })
            })
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|a| a.split('@').next()?.rsplit_once(':')?.1.parse().ok())
            .expect("the key's master")
    };
    let owner = nodes
        .iter()
        .position(|n| n.as_ref().is_some_and(|n| n.port == owner_port))
        .unwrap();
    let seeds: Vec<String> = (0..6)
        .filter(|&i| i != owner)
        .map(|i| node(&nodes, i))
        .collect();
    // 100 per 1000 s: nothing is given back during the test
    let (emission, tolerance) = (Duration::from_secs(10), Duration::from_secs(990));
    let rt = runtime();
    let stores: Vec<Arc<RedisStore>> = (0..2)
        .map(|_| {
            let mut s = settings(seeds.clone());
            s.cluster = true;
            s.deadline = Duration::from_millis(300);
            s.breaker_failures = 1_000_000;
            rt.block_on(async { Arc::new(RedisStore::new(&s).unwrap()) })
        })
        .collect();
    rt.block_on(async {
        for s in &stores {
            first_answer(s, "warm", emission, tolerance).await;
        }
    });
    // 60 decisions before the failure: all admitted, and replicated
    let decide = |n: usize| {
        rt.block_on(async {
            let (mut admitted, mut failed) = (0, 0);
            for i in 0..n {
                match stores[i % 2].decide_one(key, emission, tolerance).await {
                    Ok(a) if a.admitted => admitted += 1,
                    Ok(_) => {}
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(50 * MS).await;
                    }
                }
            }
            (admitted, failed)
        })
    };
    assert_eq!(decide(60), (60, 0));
    std::thread::sleep(200 * MS);
    nodes[owner] = None;
    // decide until the replica answers for the key, then 100 more
    let failed_at = Instant::now();
    let mut failed = 0;
    let mut admitted = 0;
    loop {
        let (a, f) = decide(1);
        admitted += a;
        failed += f;
        if f == 0 {
            break;
        }
        assert!(
            failed_at.elapsed() < Duration::from_secs(30),
            "no failover: {failed} decisions failed"
        );
    }
    let outage = failed_at.elapsed();
    let (a, f) = decide(100);
    admitted += a;
    failed += f;
    eprintln!(
        "master killed: decisions failed for {outage:?} ({failed} failed), then {admitted} more admitted"
    );
    // the replica had all 60: at most 40 more fit in the limit of 100; a decision whose answer
    // was lost in the failover may still have been counted (at most one per failed call)
    assert!(
        admitted <= 40 && admitted + failed >= 40,
        "the count went on from the replica's: {admitted} admitted, {failed} failed"
    );
    assert_eq!(f, 0, "decisions fail after the failover");
    assert!(outage < Duration::from_secs(15), "{outage:?}");
}

/// A client that fails authentication three times on either replica is banned on both; an
/// unban on one lifts it on both; with Redis gone, bans fail open and strikes count locally.
#[test]
fn bans_shared_by_two_replicas() {
    use moat_gateway::bans::{BanRule, Bans, Offence};
    if !have_redis() {
        return;
    }
    let server = Server::start(&[]);
    let rules = || {
        vec![BanRule {
            name: "auth".into(),
            offences: vec![Offence::AuthFailure],
            threshold: 3,
            window: Duration::from_mins(1),
            ban_for: Duration::from_mins(10),
        }]
    };
    runtime().block_on(async {
        let store_a = Arc::new(RedisStore::new(&settings(vec![server.url()])).unwrap());
        let store_b = Arc::new(RedisStore::new(&settings(vec![server.url()])).unwrap());
        first_answer(&store_a, "warm-a", MS, MS).await;
        first_answer(&store_b, "warm-b", MS, MS).await;
        let replica_a = Bans::new(rules(), Some(Arc::clone(&store_a)), "moat:");
        let replica_b = Bans::new(rules(), Some(Arc::clone(&store_b)), "moat:");
        let client: std::net::IpAddr = "198.51.100.9".parse().unwrap();
        assert!(
            replica_a
                .record(client, &[Offence::AuthFailure])
                .await
                .is_none()
        );
        assert!(
            replica_b
                .record(client, &[Offence::AuthFailure])
                .await
                .is_none()
        );
        assert!(replica_a.check(client).await.is_none());
        let ban = replica_b
            .record(client, &[Offence::AuthFailure])
            .await
            .unwrap();
        assert_eq!(ban.rule, "auth");
        let seen = replica_a
            .check(client)
            .await
            .expect("banned on the other replica");
        assert_eq!(seen.rule, "auth");
        assert!(seen.remaining > Duration::from_secs(590));
        let ttl: i64 = server
            .cli(&["pttl", "moat:ban:198.51.100.9"])
            .trim()
            .parse()
            .unwrap();
        assert!(ttl > 590_000 && ttl <= 601_000, "{ttl}");
        assert!(replica_a.unban(client).await);
        assert!(replica_b.check(client).await.is_none());
        // Redis gone: nobody is banned by it, and strikes count on each replica alone
        drop(server);
        let other: std::net::IpAddr = "198.51.100.10".parse().unwrap();
        for _ in 0..2 {
            assert!(
                replica_a
                    .record(other, &[Offence::AuthFailure])
                    .await
                    .is_none()
            );
        }
        assert!(
            replica_a
                .record(other, &[Offence::AuthFailure])
                .await
                .is_some()
        );
        assert!(replica_a.check(other).await.is_some());
        assert!(replica_b.check(other).await.is_none());
    });
}

/// One HTTP/1.1 GET of `/orders` to `addr`; the status code (0 when the exchange failed).
async fn get_status(addr: std::net::SocketAddr) -> u16 {
    get_path(addr, "/orders").await
}

/// One HTTP/1.1 GET of `path` to `addr`; the status code (0 when the exchange failed).
async fn get_path(addr: std::net::SocketAddr, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let head = String::from_utf8_lossy(&buf);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Two gateways (separate plans, separate Redis connections, like two replicas) with one limit
/// in Redis: together they admit exactly the limit; with Redis killed, `deny` refuses every
/// request within the deadline, and `local` admits each replica's share.
#[test]
fn two_gateways_share_a_limit_through_redis() {
    use moat_gateway::server::Gateway;
    if !have_redis() {
        return;
    }
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str, policy: &str| {
        let text = format!(
            r#"[[listener]]
listen = "127.0.0.1:0"
plain_http = true

[access_log]
target = "off"

[redis]
urls = ["{url}"]
replicas = 2
deadline = "50ms"

[[rate_limit]]
name = "shared"
key = "route"
rate = "100/h"
store = "redis"
on_store_error = "{policy}"

[[rate_limit]]
name = "warm"
key = "route"
rate = "100000/h"
store = "redis"
on_store_error = "allow"

[upstream.api]
targets = ["127.0.0.1:9"]

[[route]]
name = "all"
upstream = "api"
rate_limits = ["shared"]

[[route]]
name = "warm"
path_prefix = "/warm"
upstream = "api"
rate_limits = ["warm"]
"#,
            url = server.url()
        );
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let deny = config("deny.toml", "deny");
    let local = config("local.toml", "local");
    runtime().block_on(async {
        let a = Gateway::start(&deny).await.unwrap();
        let b = Gateway::start(&deny).await.unwrap();
        let addrs = [a.listener_addrs()[0], b.listener_addrs()[0]];
        // each gateway's lazy connection comes up with its first requests: made on a route of
        // its own, so that the measured limit sees a connected store only
        for addr in addrs {
            for _ in 0..20 {
                get_path(addr, "/warm").await;
            }
        }
        let mut tasks = Vec::new();
        for i in 0..8 {
            let addr = addrs[i % 2];
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..40 {
                    statuses.push(get_status(addr).await);
                }
                statuses
            }));
        }
        let mut admitted = 0;
        let mut limited = 0;
        for t in tasks {
            for s in t.await.unwrap() {
                match s {
                    429 => limited += 1,
                    0 => panic!("an exchange failed"),
                    _ => admitted += 1,
                }
            }
        }
        eprintln!("two gateways, one Redis limit of 100: {admitted} admitted, {limited} limited");
        assert_eq!(admitted, 100);
        assert_eq!(admitted + limited, 320);

        // Redis gone: `deny` refuses, within the deadline
        drop(server);
        let mut worst = Duration::ZERO;
        for _ in 0..10 {
            let start = Instant::now();
            assert_eq!(get_status(addrs[0]).await, 429);
            worst = worst.max(start.elapsed());
        }
        eprintln!("slowest refusal with Redis dead (deny): {worst:?}");
        assert!(worst < 250 * MS, "{worst:?}");
        // the store's health is in the metrics
        let metrics = a.metrics_text();
        for line in [
            "moat_gateway_limit_store_breaker{state=\"open\"} 1",
            "moat_gateway_rate_limit_fallbacks_total{limit=\"shared\"} 10",
        ] {
            assert!(metrics.contains(line), "{line} in\n{metrics}");
        }
        let ok: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("moat_gateway_limit_store_calls_total{result=\"ok\"} "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(ok >= 150, "{ok} decisions by Redis on this replica");
        // `local`: each replica admits its share (100 / 2 replicas)
        let c = Gateway::start(&local).await.unwrap();
        let addr = c.listener_addrs()[0];
        let mut admitted = 0;
        for _ in 0..80 {
            if get_status(addr).await != 429 {
                admitted += 1;
            }
        }
        eprintln!("one replica, Redis dead, local fallback: {admitted} of 80 admitted");
        assert_eq!(admitted, 50);
        for gw in [a, b, c] {
            gw.shutdown_within(Duration::from_secs(1)).await;
        }
    });
}
