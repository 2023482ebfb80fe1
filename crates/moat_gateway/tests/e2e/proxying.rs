//! Routing, upstream exchange, header handling and error bodies.

use crate::common::*;
use crate::config::Config;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_with_forwarded_headers_and_strips_hop_by_hop_both_ways() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = Config::single(&dir, up.addr).start(&dir).await;
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
    let gw = Config::plain(&dir)
        .upstream("a", &[a.addr], "")
        .upstream("b", &[b.addr], "")
        .upstream("c", &[c.addr], "")
        .route("root", "a", "")
        .route("api", "b", "path_prefix = \"/api\"\n")
        .route(
            "api-v2-on-other-host",
            "c",
            "hosts = [\"other.test\"]\npath_prefix = \"/api/v2\"\n",
        )
        .start(&dir)
        .await;
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
    let gw = Config::plain(&dir)
        .upstream("api", &[up.addr], "response_timeout = \"200ms\"\n")
        .upstream("dead", &[dead], "retries = 0\n")
        .route("api", "api", "path_prefix = \"/api\"\n")
        .route("dead", "dead", "path_prefix = \"/dead\"\n")
        .start(&dir)
        .await;
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
    let gw = Config::single(&dir, up.addr).start(&dir).await;
    let addr = gw.listener_addrs()[0];
    for _ in 0..10 {
        let r = get(addr, "/").await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 10);
    assert_eq!(up.conns.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// A raw upstream that answers by path with hand-written framing, and counts connections.
async fn raw_upstream() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let conns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = conns.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            counted.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    let line = head.lines().next().unwrap_or_default().to_string();
                    let reply: &[u8] = if line.starts_with("GET /chunked ") {
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
                    } else if line.starts_with("GET /until-close ") {
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until close"
                    } else if line.starts_with("HEAD /head ") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                    } else if line.starts_with("GET /continue ") {
                        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    } else if line.starts_with("GET /no-content ") {
                        b"HTTP/1.1 204 No Content\r\n\r\n"
                    } else if line.starts_with("GET /bad ") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"
                    } else if line.starts_with("GET /drop-after ") {
                        // answers, then closes the keep-alive connection without saying so
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce")
                            .await;
                        return;
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    };
                    if s.write_all(reply).await.is_err() || line.contains("/until-close ") {
                        return;
                    }
                }
            });
        }
    });
    (addr, conns)
}

/// One request to the hand-framed upstream and what the client must get.
struct FramingCase {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    status: u16,
    /// The body, when it is checked.
    body: Option<&'static str>,
    /// Headers with their value, or `None` for absent.
    headers: &'static [(&'static str, Option<&'static str>)],
}

/// The upstream side of the proxy against hand-framed responses: chunked with extensions and
/// trailers, read-until-close, HEAD, interim 100, 204, invalid framing, and a pooled connection
/// the upstream closed while it sat idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_framing_and_stale_pooled_connections() {
    use std::sync::atomic::Ordering;
    let (up, conns) = raw_upstream().await;
    let dir = TempDir::new();
    let gw = Config::plain(&dir)
        .upstream("api", &[up], "")
        .route("all", "api", "methods = [\"GET\", \"HEAD\"]\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let case = |what, method, path, status, body, headers| FramingCase {
        what,
        method,
        path,
        status,
        body,
        headers,
    };
    let cases = [
        case(
            "chunked with an extension and a trailer (not forwarded)",
            "GET",
            "/chunked",
            200,
            Some("hello, world"),
            &[("x-trailer", None)],
        ),
        case(
            "read until close",
            "GET",
            "/until-close",
            200,
            Some("read until close"),
            &[],
        ),
        case(
            "HEAD",
            "HEAD",
            "/head",
            200,
            Some(""),
            &[("content-length", Some("5"))],
        ),
        case("interim 100", "GET", "/continue", 200, Some("ok"), &[]),
        case("204", "GET", "/no-content", 204, Some(""), &[]),
        case(
            "conflicting lengths are refused",
            "GET",
            "/bad",
            502,
            None,
            &[("content-type", Some("application/json"))],
        ),
    ];
    for c in cases {
        let r = request(addr, c.method, c.path, &[], "").await;
        assert_eq!(r.status, c.status, "{}: {}", c.what, r.body);
        if let Some(body) = c.body {
            assert_eq!(r.body, body, "{}", c.what);
        }
        for (name, value) in c.headers {
            assert_eq!(r.header(name), *value, "{}: {name}", c.what);
        }
    }
    // keep-alive reuse: sequential requests share one upstream connection
    let before = conns.load(Ordering::Relaxed);
    for _ in 0..5 {
        assert_eq!(get(addr, "/plain").await.body, "ok");
    }
    assert_eq!(
        conns.load(Ordering::Relaxed),
        before + 1,
        "one pooled connection"
    );
    // the upstream drops a connection after answering: the next GET still succeeds, on a new one
    assert_eq!(get(addr, "/drop-after").await.body, "once");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(get(addr, "/plain").await.body, "ok");
    assert_eq!(get(addr, "/drop-after").await.body, "once");
    assert_eq!(
        get(addr, "/plain").await.status,
        200,
        "stale pooled connection retried"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}
