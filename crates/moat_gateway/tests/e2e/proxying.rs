//! Routing, upstream exchange, header handling and error bodies.

use crate::common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_with_forwarded_headers_and_strips_hop_by_hop_both_ways() {
    let up = upstream().await;
    let dir = TempDir::new();
    let cfg = format!(
        "{}\n[upstream.api]\ntargets = [\"{}\"]\n\n[[route]]\nname = \"all\"\nupstream = \"api\"\n",
        plain_head(&dir),
        up.addr
    );
    let gw = start(&dir, &cfg).await;
    let addr = gw.listener_addrs()[0];
    let r = request(
        addr,
        "GET",
        "/v1/items?x=1",
        &[
            ("connection", "x-client-hop"),
            ("x-client-hop", "drop me"),
            ("keep-alive", "timeout=5"),
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=6.6.6.6"),
            ("x-custom", "kept"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["path"], "/v1/items");
    assert_eq!(j["query"], "x=1");
    assert_eq!(r.upstream_header("x-client-hop"), None);
    assert_eq!(r.upstream_header("keep-alive"), None);
    assert_eq!(r.upstream_header("x-custom"), Some(vec!["kept".into()]));
    // the untrusted client cannot choose its forwarded address
    assert_eq!(
        r.upstream_header("x-forwarded-for"),
        Some(vec!["127.0.0.1".into()])
    );
    assert_eq!(
        r.upstream_header("x-forwarded-proto"),
        Some(vec!["http".into()])
    );
    assert_eq!(
        r.upstream_header("x-forwarded-host"),
        Some(vec!["api.test".into()])
    );
    assert_eq!(
        r.upstream_header("forwarded"),
        Some(vec!["for=127.0.0.1;proto=http;host=\"api.test\"".into()])
    );
    assert_eq!(r.upstream_header("host"), Some(vec!["api.test".into()]));
    let rid = r.upstream_header("x-request-id").unwrap()[0].clone();
    assert_eq!(rid.len(), 32);
    // response side
    assert_eq!(r.header("x-request-id"), Some(rid.as_str()));
    assert_eq!(r.header("server"), None);
    assert_eq!(r.header("x-powered-by"), None);
    assert_eq!(r.header("x-hop-resp"), None);
    assert_eq!(r.header("x-upstream"), Some("yes"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    // HSTS only on TLS listeners
    assert_eq!(r.header("strict-transport-security"), None);

    // a valid incoming request id is propagated; an invalid one replaced
    let r = request(addr, "GET", "/", &[("x-request-id", "trace-abc.123")], "").await;
    assert_eq!(
        r.upstream_header("x-request-id"),
        Some(vec!["trace-abc.123".into()])
    );
    assert_eq!(r.header("x-request-id"), Some("trace-abc.123"));
    let r = request(addr, "GET", "/", &[("x-request-id", "bad id<script>")], "").await;
    assert_ne!(r.header("x-request-id"), Some("bad id<script>"));
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_host_then_longest_prefix() {
    let a = upstream().await;
    let b = upstream().await;
    let c = upstream().await;
    let dir = TempDir::new();
    let cfg = format!(
        r#"{}
[upstream.a]
targets = ["{}"]
[upstream.b]
targets = ["{}"]
[upstream.c]
targets = ["{}"]

[[route]]
name = "root"
upstream = "a"

[[route]]
name = "api"
path_prefix = "/api"
upstream = "b"

[[route]]
name = "api-v2-on-other-host"
hosts = ["other.test"]
path_prefix = "/api/v2"
upstream = "c"
"#,
        plain_head(&dir),
        a.addr,
        b.addr,
        c.addr
    );
    let gw = start(&dir, &cfg).await;
    let addr = gw.listener_addrs()[0];
    get(addr, "/").await;
    get(addr, "/apix").await;
    get(addr, "/api").await;
    get(addr, "/api/v2/x").await;
    request(addr, "GET", "/api/v2/x", &[("host", "OTHER.test:8443")], "").await;
    request(addr, "GET", "/api/v1", &[("host", "other.test")], "").await;
    assert_eq!(a.hits.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert_eq!(b.hits.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert_eq!(c.hits.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_are_json_without_internal_details() {
    let up = upstream().await;
    let dead = dead_addr().await;
    let dir = TempDir::new();
    let cfg = format!(
        r#"{}
[upstream.api]
targets = ["{}"]
response_timeout = "200ms"
[upstream.dead]
targets = ["{}"]
retries = 0

[[route]]
name = "api"
path_prefix = "/api"
upstream = "api"

[[route]]
name = "dead"
path_prefix = "/dead"
upstream = "dead"
"#,
        plain_head(&dir),
        up.addr,
        dead
    );
    let gw = start(&dir, &cfg).await;
    let addr = gw.listener_addrs()[0];
    for (path, status, code) in [
        ("/nowhere", 404, "no_route"),
        ("/dead/x", 502, "upstream_unavailable"),
        ("/api/slow/2000", 504, "upstream_timeout"),
    ] {
        let r = get(addr, path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let j = r.json();
        assert_eq!(j["error"]["code"], code);
        assert!(!r.body.contains("127.0.0.1"), "{}", r.body);
        assert!(!r.body.contains("Connection refused"), "{}", r.body);
    }
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_to_upstreams_are_reused() {
    let up = upstream().await;
    let dir = TempDir::new();
    let cfg = format!(
        "{}\n[upstream.api]\ntargets = [\"{}\"]\n\n[[route]]\nname = \"all\"\nupstream = \"api\"\n",
        plain_head(&dir),
        up.addr
    );
    let gw = start(&dir, &cfg).await;
    let addr = gw.listener_addrs()[0];
    for _ in 0..10 {
        let r = get(addr, "/").await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 10);
    assert_eq!(up.conns.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.shutdown_within(Duration::from_secs(1)).await;
}
