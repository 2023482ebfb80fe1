//! Connection guards: request smuggling, slowloris, connection limits, HTTP/2 settings.

use crate::common::*;
use crate::config::Config;
use std::time::{Duration, Instant};

/// A gateway on a plain listener with `sections` (`[limits]`), in front of one upstream.
async fn gw_with(dir: &TempDir, sections: &str) -> (moat_gateway::Gateway, Upstream) {
    let up = upstream().await;
    let gw = Config::plain(dir)
        .section(sections)
        .upstream("api", &[up.addr], "")
        .route("all", "api", "methods = [\"GET\", \"POST\"]\n")
        .start(dir)
        .await;
    (gw, up)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_attempts_get_400_and_a_closed_connection() {
    let dir = TempDir::new();
    let (gw, up) = gw_with(&dir, "").await;
    let addr = gw.listener_addrs()[0];
    let cases: [(&str, &[u8]); 6] = [
        (
            "CL+TE",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        ),
        (
            "TE+CL",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        ),
        (
            "duplicate differing CL",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        ),
        (
            "obs-fold",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
        ),
        ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n"),
        (
            "space before colon",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc",
        ),
    ];
    for (name, bytes) in cases {
        let (resp, closed) = raw(addr, bytes, Duration::from_secs(3)).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{name}: {resp}");
        assert!(resp.contains("application/json"), "{name}: {resp}");
        assert!(closed, "{name}: connection must be closed");
        assert_eq!(
            resp.matches("HTTP/1.1").count(),
            1,
            "{name}: one response only: {resp}"
        );
    }
    // a smuggled request pipelined after a valid one is caught too
    let (resp, closed) = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(closed);
    assert!(
        !resp.contains("HTTP/1.1 200"),
        "the batch is refused before hyper sees it: {resp}"
    );
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 0);
    // valid pipelined requests with bodies are fine
    let (resp, _) = raw(
        addr,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(resp.matches("HTTP/1.1 200").count(), 2, "{resp}");
    assert!(
        gw.metrics_text()
            .contains("moat_gateway_rejected_total{reason=\"smuggling\"} 7")
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Heads that hyper itself cannot parse: it would answer a bare 400/431 without a body; the
/// guard turns each into the gateway's JSON error, closes, counts and logs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_heads_get_json_errors_a_log_line_and_a_closed_connection() {
    let dir = TempDir::new();
    let (gw, up) = gw_with(&dir, "").await;
    let addr = gw.listener_addrs()[0];
    let cases: [(&str, &[u8], u16); 6] = [
        ("garbage request line", b"GARBAGE\r\n\r\n", 400),
        (
            "bad method token",
            b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            400,
        ),
        ("unknown version", b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", 400),
        (
            "control byte in the target",
            b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
            400,
        ),
        (
            "control byte in a header name",
            b"GET / HTTP/1.1\r\nX\x01y: a\r\n\r\n",
            400,
        ),
        (
            "invalid authority",
            b"GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n",
            400,
        ),
    ];
    for (name, bytes, status) in cases {
        let (resp, closed) = raw(addr, bytes, Duration::from_secs(3)).await;
        assert!(
            resp.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {resp}"
        );
        assert!(closed, "{name}: connection must be closed");
        let (head, body) = resp.split_once("\r\n\r\n").expect("a complete response");
        let head = head.to_ascii_lowercase();
        for h in [
            "content-type: application/json",
            "cache-control: no-store",
            "x-content-type-options: nosniff",
            "x-request-id: ",
        ] {
            assert!(head.contains(h), "{name}: no {h}: {resp}");
        }
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
        assert_eq!(v["error"]["status"], status, "{name}");
        assert_eq!(
            resp.matches("HTTP/1.1").count(),
            1,
            "{name}: one response: {resp}"
        );
    }
    // a valid request before a malformed one is served; the malformed one is refused
    let (resp, closed) = raw(
        addr,
        b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(closed);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("HTTP/1.1 400 ") && resp.contains("\"malformed_request\""),
        "{resp}"
    );
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 1);
    // one access-log line each, with the id the response carried
    let log = access_log(&dir, 8).await;
    let refused: Vec<_> = log
        .iter()
        .filter(|l| l["error.code"] == "malformed_request")
        .collect();
    assert_eq!(refused.len(), 7, "{log:?}");
    assert!(refused.iter().all(|l| l["http.response.status_code"] == 400
        && l["client.ip"] == "127.0.0.1"
        && l["trace.id"].as_str().is_some_and(|t| t.len() == 32)));
    assert!(
        gw.metrics_text()
            .contains("moat_gateway_rejected_total{reason=\"malformed_request\"} 7"),
        "{}",
        gw.metrics_text()
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_get_408_while_other_clients_are_served() {
    let dir = TempDir::new();
    let (gw, _up) = gw_with(&dir, "[limits]\nheader_read_timeout = \"600ms\"\n").await;
    let addr = gw.listener_addrs()[0];
    let slow = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut out = Vec::new();
        // trickle one header byte every 100 ms, as slowloris does
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut buf = [0u8; 1024];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await
            {
                out.extend_from_slice(&buf[..n]);
                if n == 0 || !out.is_empty() {
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
        (
            String::from_utf8_lossy(&out).into_owned(),
            started.elapsed(),
        )
    });
    // meanwhile normal clients are served promptly
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(get(addr, "/").await.status, 200);
        assert!(t.elapsed() < Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (resp, took) = slow.await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // an idle connection that never sends anything is closed quietly after idle_timeout too
    assert!(
        gw.metrics_text()
            .contains("moat_gateway_rejected_total{reason=\"header_timeout\"} 1")
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_connection_limit() {
    let dir = TempDir::new();
    let (gw, _up) = gw_with(&dir, "[limits]\nmax_connections_per_ip = 2\n").await;
    let addr = gw.listener_addrs()[0];
    let a = tokio::net::TcpStream::connect(addr).await.unwrap();
    let b = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (resp, closed) = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        closed && resp.is_empty(),
        "third connection is dropped: {resp}"
    );
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(addr, "/").await.status, 200);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Reads frames until one of `kind` arrives (or the connection ends); returns its payload.
async fn read_until<S: tokio::io::AsyncRead + Unpin>(s: &mut S, kind: u8) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    loop {
        let mut head = [0u8; 9];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head))
            .await
            .ok()?
            .ok()?;
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.ok()?;
        if head[3] == kind && !(kind == 4 && head[4] & 1 == 1) {
            return Some(payload);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_stream_limit_and_reset_flood_guard() {
    use tokio::io::AsyncWriteExt;
    let dir = TempDir::new();
    let certs = make_certs(&dir, &[("api", &["api.test"])]);
    let up = upstream().await;
    let http2 = "[listener.http2]\nmax_concurrent_streams = 7\nmax_pending_accept_reset_streams = 5\nmax_local_error_reset_streams = 50\n";
    let gw = Config::tls_quiet(http2)
        .upstream("api", &[up.addr], "")
        .route("all", "api", "")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let mut s = tls_connect(addr, &certs.ca_pem, b"h2").await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    s.write_all(&frame(4, 0, 0, &[])).await.unwrap();
    let settings = read_until(&mut s, 4).await.expect("server SETTINGS");
    let max_streams = settings
        .chunks(6)
        .find(|c| c.len() == 6 && u16::from_be_bytes([c[0], c[1]]) == 3)
        .map(|c| u32::from_be_bytes([c[2], c[3], c[4], c[5]]));
    assert_eq!(max_streams, Some(7));
    // rapid reset: open and cancel streams until the server says GOAWAY
    let mut batch = Vec::new();
    for i in 0..200u32 {
        let id = 1 + 2 * i;
        let mut hpack = vec![0x82, 0x87, 0x84, 0x41, 8];
        hpack.extend_from_slice(b"api.test");
        batch.extend(frame(1, 0x4 | 0x1, id, &hpack));
        batch.extend(frame(3, 0, id, &8u32.to_be_bytes()));
    }
    let _ = s.write_all(&batch).await;
    let _ = s.flush().await;
    let goaway = read_until(&mut s, 7)
        .await
        .expect("GOAWAY after a reset flood");
    let code = u32::from_be_bytes([goaway[4], goaway[5], goaway[6], goaway[7]]);
    assert_eq!(code, 0xb, "ENHANCE_YOUR_CALM");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http2_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let dir = TempDir::new();
    let certs = make_certs(&dir, &[("api", &["api.test"])]);
    let up = upstream().await;
    let gw = Config::tls_quiet("")
        .section("[limits]\nidle_timeout = \"300ms\"\n")
        .upstream("api", &[up.addr], "")
        .route("all", "api", "")
        .start(&dir)
        .await;
    let mut s = tls_connect(gw.listener_addrs()[0], &certs.ca_pem, b"h2").await;
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    s.write_all(&frame(4, 0, 0, &[])).await.unwrap();
    let t = Instant::now();
    let goaway = read_until(&mut s, 7).await.expect("GOAWAY when idle");
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(&goaway[4..8], &[0, 0, 0, 0], "NO_ERROR");
    gw.shutdown_within(Duration::from_secs(1)).await;
}
