//! Operations: admin endpoints, access log, reload, drain, health checks, balancing, retries.

use crate::common::*;
use crate::config::Config;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The plain listener, admin and access log; upstream `api` at `targets` with
/// `upstream_extra`, and route `all` to it.
fn simple(dir: &TempDir, targets: &[std::net::SocketAddr], upstream_extra: &str) -> Config {
    Config::plain(dir)
        .upstream("api", targets, upstream_extra)
        .route("all", "api", "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_serves_metrics_health_and_readiness() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = simple(&dir, &[up.addr], "").start(&dir).await;
    let addr = gw.listener_addrs()[0];
    let admin = gw.admin_addr().unwrap();
    assert!(admin.ip().is_loopback());
    get(addr, "/x").await;
    request(addr, "POST", "/x", &[], "abc").await;
    let r = get(admin, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    for needle in [
        "moat_gateway_requests_total{route=\"all\",status=\"200\",method=\"GET\"} 1",
        "moat_gateway_requests_total{route=\"all\",status=\"200\",method=\"POST\"} 1",
        "moat_gateway_request_duration_seconds_count{route=\"all\"} 2",
        "moat_gateway_upstream_duration_seconds_count{upstream=\"api\"} 2",
        "# TYPE moat_gateway_open_connections gauge",
        "moat_gateway_config_reloads_total{result=\"ok\"} 0",
    ] {
        assert!(r.body.contains(needle), "missing {needle} in\n{}", r.body);
    }
    assert!(r.body.contains(&format!(
        "moat_gateway_upstream_healthy{{upstream=\"api\",target=\"{}\"}} 1",
        up.addr
    )));
    assert_eq!(get(admin, "/healthz").await.status, 200);
    assert_eq!(get(admin, "/readyz").await.status, 200);
    assert_eq!(get(admin, "/nope").await.status, 404);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_has_ecs_fields_and_no_secrets() {
    let up = upstream().await;
    let dir = TempDir::new();
    dir.write("keys.txt", "svc:svc-secret-0123456789\n");
    let gw = Config::plain(&dir)
        .section("[api_keys]\nfile = \"keys.txt\"\nquery = \"key\"\n")
        .upstream("api", &[up.addr], "")
        .route("all", "api", "auth = \"api_key\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let r = request(
        addr,
        "GET",
        "/orders?key=svc-secret-0123456789&token=abc",
        &[
            ("authorization", "Basic c2VjcmV0OnNlY3JldA=="),
            ("cookie", "session=cookie-secret"),
            ("x-request-id", "req-42"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let log = access_log(&dir, 1).await;
    let l = &log[0];
    for f in [
        "@timestamp",
        "client.ip",
        "http.request.method",
        "url.path",
        "http.response.status_code",
        "event.duration",
        "user.id",
        "upstream.address",
        "upstream.duration",
        "trace.id",
    ] {
        assert!(!l[f].is_null(), "missing {f}: {l}");
    }
    assert_eq!(l["url.path"], "/orders");
    assert_eq!(l["user.id"], "svc");
    assert_eq!(l["trace.id"], "req-42");
    assert_eq!(l["http.response.status_code"], 200);
    assert_eq!(l["upstream.address"], up.addr.to_string());
    let text = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    for secret in [
        "svc-secret",
        "c2VjcmV0",
        "cookie-secret",
        "token=abc",
        "Basic",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_atomically_and_rejects_bad_configs() {
    let a = upstream().await;
    let b = upstream().await;
    let dir = TempDir::new();
    let gw = simple(&dir, &[a.addr], "").start(&dir).await;
    let addr = gw.listener_addrs()[0];
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(a.hits.load(Ordering::Relaxed), 1);
    // a bad config is rejected with its location and the old plan keeps serving
    dir.write(
        "gateway.toml",
        &simple(&dir, &[a.addr], "")
            .render()
            .replace("upstream = \"api\"", "upstream = \"missing\""),
    );
    let errs = gw.reload().unwrap_err();
    assert!(errs[0].line.is_some(), "{errs:?}");
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(a.hits.load(Ordering::Relaxed), 2);
    // a good one is applied to the next request
    dir.write("gateway.toml", &simple(&dir, &[b.addr], "").render());
    gw.reload().unwrap();
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(b.hits.load(Ordering::Relaxed), 1);
    let m = gw.metrics_text();
    assert!(m.contains("moat_gateway_config_reloads_total{result=\"ok\"} 1"));
    assert!(m.contains("moat_gateway_config_reloads_total{result=\"rejected\"} 1"));
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_state_survives_a_reload() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = simple(&dir, &[up.addr], "")
        .section("[[rate_limit]]\nname = \"l\"\nkey = \"ip\"\nrate = \"2/h\"\n\n[defaults]\nrate_limits = [\"l\"]\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    assert_eq!(get(addr, "/").await.status, 200);
    gw.reload().unwrap();
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(get(addr, "/").await.status, 429);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = simple(&dir, &[up.addr], "").start(&dir).await;
    let addr = gw.listener_addrs()[0];
    let inflight = tokio::spawn(async move { get(addr, "/slow/600").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let t = std::time::Instant::now();
    let left = gw.shutdown_within(Duration::from_secs(5)).await;
    assert_eq!(left, 0);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "waited for the request"
    );
    let r = inflight.await.unwrap();
    assert_eq!(r.status, 200, "the in-flight request completed");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_least_connections_and_passive_ejection() {
    let a = upstream().await;
    let b = upstream().await;
    let dead = dead_addr().await;
    let dir = TempDir::new();
    let gw = simple(
        &dir,
        &[a.addr, b.addr, dead],
        "eject_after_failures = 1\neject_for = \"1m\"\nretries = 1\nretry_budget_percent = 100\n",
    )
    .start(&dir)
    .await;
    let addr = gw.listener_addrs()[0];
    for _ in 0..9 {
        // the dead target fails to connect once, is retried elsewhere and then ejected
        assert_eq!(get(addr, "/").await.status, 200);
    }
    let (ha, hb) = (
        a.hits.load(Ordering::Relaxed),
        b.hits.load(Ordering::Relaxed),
    );
    assert_eq!(ha + hb, 9);
    assert!(ha >= 4 && hb >= 4, "{ha} {hb}");
    let m = gw.metrics_text();
    assert!(m.contains(&format!(
        "moat_gateway_upstream_healthy{{upstream=\"api\",target=\"{dead}\"}} 0"
    )));
    assert!(
        m.contains("moat_gateway_upstream_errors_total{upstream=\"api\",kind=\"connect\"} 1"),
        "{m}"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;

    // least connections: a slow request holds one target, the next ones go to the other
    let dir = TempDir::new();
    let gw = simple(&dir, &[a.addr, b.addr], "balance = \"least_connections\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let (a0, _b0) = (
        a.hits.load(Ordering::Relaxed),
        b.hits.load(Ordering::Relaxed),
    );
    let slow = tokio::spawn(async move { get(addr, "/slow/800").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (a1, b1) = (
        a.hits.load(Ordering::Relaxed),
        b.hits.load(Ordering::Relaxed),
    );
    let slow_on_a = a1 > a0;
    for _ in 0..4 {
        get(addr, "/").await;
    }
    let (a2, b2) = (
        a.hits.load(Ordering::Relaxed),
        b.hits.load(Ordering::Relaxed),
    );
    if slow_on_a {
        assert_eq!((a2 - a1, b2 - b1), (0, 4));
    } else {
        assert_eq!((a2 - a1, b2 - b1), (4, 0));
    }
    assert_eq!(slow.await.unwrap().status, 200);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_health_checks_take_targets_out_and_back() {
    let a = upstream().await;
    let dead = dead_addr().await;
    let dir = TempDir::new();
    let gw = simple(
        &dir,
        &[a.addr, dead],
        "[upstream.api.health_check]\npath = \"/health\"\ninterval = \"100ms\"\nunhealthy_threshold = 2\nhealthy_threshold = 1\n",
    )
    .start(&dir)
    .await;
    let addr = gw.listener_addrs()[0];
    let admin = gw.admin_addr().unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    let m = gw.metrics_text();
    assert!(m.contains(&format!("target=\"{dead}\"}} 0")), "{m}");
    assert!(m.contains(&format!("target=\"{}\"}} 1", a.addr)), "{m}");
    let before = a.hits.load(Ordering::Relaxed);
    for _ in 0..4 {
        assert_eq!(get(addr, "/").await.status, 200);
    }
    assert!(a.hits.load(Ordering::Relaxed) >= before + 4);
    assert_eq!(get(admin, "/readyz").await.status, 200);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_healthy_target_gives_503_and_not_ready() {
    let dead = dead_addr().await;
    let dir = TempDir::new();
    let gw = simple(
        &dir,
        &[dead],
        "[upstream.api.health_check]\npath = \"/health\"\ninterval = \"100ms\"\nunhealthy_threshold = 1\n",
    )
    .start(&dir)
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = get(gw.listener_addrs()[0], "/").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "no_healthy_upstream");
    assert_eq!(get(gw.admin_addr().unwrap(), "/readyz").await.status, 503);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Real signals to this test process: SIGHUP reloads, SIGTERM drains and stops. (Once the
/// handlers are installed, these signals no longer end the test process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_sigterm_drains() {
    use moat_gateway::cli::{Signals, serve_until_stopped};
    let a = upstream().await;
    let b = upstream().await;
    let dir = TempDir::new();
    let gw = simple(&dir, &[a.addr], "").start(&dir).await;
    let addr = gw.listener_addrs()[0];
    let signals = Signals::install().unwrap();
    let served = tokio::spawn(serve_until_stopped(gw, signals));
    let pid = std::process::id().to_string();
    assert_eq!(get(addr, "/").await.status, 200);
    dir.write("gateway.toml", &simple(&dir, &[b.addr], "").render());
    assert!(run("kill", vec!["-HUP".into(), pid.clone()], None).await.0);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while b.hits.load(Ordering::Relaxed) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload"
        );
        get(addr, "/").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inflight = tokio::spawn(async move { get(addr, "/slow/500").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(run("kill", vec!["-TERM".into(), pid], None).await.0);
    let left = tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("SIGTERM stopped the gateway")
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(inflight.await.unwrap().status, 200);
}
