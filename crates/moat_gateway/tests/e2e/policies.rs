//! Request policies end to end: client address, IP allow/deny, API keys, rate limits, limits.

use crate::common::*;
use crate::config::Config;
use std::time::Duration;

/// The plain listener, admin and access log, and upstream `api` at `up`.
fn cfg_with(dir: &TempDir, up: std::net::SocketAddr) -> Config {
    Config::plain(dir).upstream("api", &[up], "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_comes_from_trusted_proxies_only_and_fails_closed() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = cfg_with(&dir, up.addr)
        .section("[client_address]\ntrusted_proxies = [\"127.0.0.0/8\"]\n")
        .route("all", "api", "deny = [\"203.0.113.0/24\"]\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    // peer 127.0.0.1 is trusted: the rightmost untrusted hop is the client
    let r = request(
        addr,
        "GET",
        "/",
        &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header("x-forwarded-for"),
        Some(vec!["6.6.6.6, 198.51.100.7, 127.0.0.1".into()])
    );
    assert!(r.upstream_header("forwarded").unwrap()[0].starts_with("for=198.51.100.7;"));
    // deny applies to the resolved client
    let r = request(addr, "GET", "/", &[("x-forwarded-for", "203.0.113.5")], "").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "forbidden");
    // spoofing a denied address to the left does not help or hurt
    let r = request(
        addr,
        "GET",
        "/",
        &[("x-forwarded-for", "203.0.113.5, 198.51.100.7")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    // an undecidable address fails closed
    let r = request(
        addr,
        "GET",
        "/",
        &[("x-forwarded-for", "1.1.1.1, garbage")],
        "",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "bad_forwarded_for");
    let log = access_log(&dir, 4).await;
    assert_eq!(log[0]["client.ip"], "198.51.100.7");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_allow_and_deny_lists_with_deny_winning() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = cfg_with(&dir, up.addr)
        .route(
            "open",
            "api",
            "path_prefix = \"/open\"\nallow = [\"127.0.0.0/8\", \"::1\"]\n",
        )
        .route(
            "closed",
            "api",
            "path_prefix = \"/closed\"\nallow = [\"127.0.0.0/8\"]\ndeny = [\"127.0.0.1\"]\n",
        )
        .route(
            "elsewhere",
            "api",
            "path_prefix = \"/elsewhere\"\nallow = [\"10.0.0.0/8\"]\n",
        )
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    assert_eq!(get(addr, "/open").await.status, 200);
    let r = get(addr, "/closed").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(get(addr, "/elsewhere").await.status, 403);
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

const ALICE: &str = "alice-0123456789abcdef";
const BOB: &str = "bob-0123456789abcdef00";

fn keys_file(dir: &TempDir) {
    dir.write(
        "keys.txt",
        &format!(
            "# id:key or id:sha256:HEX\nalice:{ALICE}\nbob:sha256:{}\n",
            moat_gateway::auth::sha256_hex(BOB)
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_authenticate_identify_and_are_stripped() {
    let up = upstream().await;
    let dir = TempDir::new();
    keys_file(&dir);
    let gw = cfg_with(&dir, up.addr)
        .section("[api_keys]\nfile = \"keys.txt\"\nheader = \"x-api-key\"\nquery = \"api_key\"\n")
        .route(
            "private",
            "api",
            "path_prefix = \"/private\"\nauth = \"api_key\"\nprivate = true\n",
        )
        .route("public", "api", "path_prefix = \"/public\"\n")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];

    let r = get(addr, "/private/x").await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("x-api-key"));
    assert_eq!(r.json()["error"]["code"], "unauthorized");
    let r = request(
        addr,
        "GET",
        "/private/x",
        &[("x-api-key", "wrong-key-000000000")],
        "",
    )
    .await;
    assert_eq!(r.status, 401);

    let r = request(
        addr,
        "GET",
        "/private/x",
        &[("x-api-key", ALICE), ("x-consumer-id", "admin")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.upstream_header("x-consumer-id"),
        Some(vec!["alice".into()])
    );
    assert_eq!(r.upstream_header("x-api-key"), None);

    // hashed key, in the query: removed before proxying
    let r = get(addr, &format!("/private/y?a=1&api_key={BOB}&b=2")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["query"], "a=1&b=2");
    assert_eq!(r.upstream_header("x-consumer-id"), Some(vec!["bob".into()]));

    // unauthenticated routes never forward credentials or a spoofed identity either
    let r = request(
        addr,
        "GET",
        &format!("/public?api_key={ALICE}"),
        &[("x-consumer-id", "admin")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["query"], serde_json::Value::Null);
    assert_eq!(r.upstream_header("x-consumer-id"), None);

    let log = access_log(&dir, 5).await;
    let text = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    assert!(!text.contains(ALICE) && !text.contains(BOB), "{text}");
    assert_eq!(log[2]["user.id"], "alice");
    assert_eq!(log[3]["user.id"], "bob");
    let m = gw.metrics_text();
    assert!(
        m.contains("moat_gateway_auth_failures_total{reason=\"missing\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("moat_gateway_auth_failures_total{reason=\"invalid\"} 1"),
        "{m}"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_admit_exact_counts_with_headers() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = cfg_with(&dir, up.addr)
        .section(
            r#"[[rate_limit]]
name = "per-ip"
key = "ip"
rate = "1/m"
burst = 3

[[rate_limit]]
name = "hourly"
key = "ip"
rate = "100/h"

[[rate_limit]]
name = "per-tenant"
key = "header:x-tenant"
rate = "2/m"
"#,
        )
        .route(
            "limited",
            "api",
            "path_prefix = \"/limited\"\nrate_limits = [\"per-ip\", \"hourly\"]\n",
        )
        .route(
            "by-tenant",
            "api",
            "path_prefix = \"/tenant\"\nrate_limits = [\"per-tenant\"]\n",
        )
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let r = get(addr, "/limited").await;
        statuses.push(r.status);
        remaining.push(r.header("x-ratelimit-remaining").unwrap_or("-").to_string());
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        let policy = r.header("ratelimit-policy").unwrap();
        if r.status == 200 {
            assert_eq!(policy, "\"per-ip\";q=3;w=180, \"hourly\";q=100;w=3600");
        } else {
            // evaluation stops at the rejecting limit
            assert_eq!(policy, "\"per-ip\";q=3;w=180");
        }
        if r.status == 429 {
            assert_eq!(r.header("retry-after"), Some("60"));
            assert_eq!(r.json()["error"]["code"], "rate_limited");
            assert!(
                r.header("ratelimit")
                    .unwrap()
                    .starts_with("\"per-ip\";r=0;t=")
            );
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    assert_eq!(remaining, vec!["2", "1", "0", "0", "0"]);
    // rejected requests did not consume the hourly budget: 3 used, 97 left
    let r = get(addr, "/limited").await;
    assert!(r.header("ratelimit").unwrap().contains("\"per-ip\";r=0"));
    // tenant header keys are independent
    for tenant in ["a", "b"] {
        for expect in [200, 200, 429] {
            let r = request(addr, "GET", "/tenant", &[("x-tenant", tenant)], "").await;
            assert_eq!(r.status, expect, "tenant {tenant}");
        }
    }
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 3 + 4);
    let m = gw.metrics_text();
    assert!(
        m.contains(
            "moat_gateway_rate_limit_decisions_total{limit=\"per-ip\",outcome=\"rejected\"} 3"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "moat_gateway_rate_limit_decisions_total{limit=\"hourly\",outcome=\"passed\"} 3"
        ),
        "{m}"
    );
    let log = access_log(&dir, 12).await;
    assert_eq!(log[0]["moat.rate_limit"], "passed");
    assert_eq!(log[3]["moat.rate_limit"], "rejected");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_tiers_by_consumer_and_dry_run() {
    let up = upstream().await;
    let dir = TempDir::new();
    keys_file(&dir);
    let gw = cfg_with(&dir, up.addr)
        .section(
            r#"[api_keys]
file = "keys.txt"

[[rate_limit]]
name = "free"
key = "api_key"
rate = "2/m"
except_consumers = ["alice"]

[[rate_limit]]
name = "gold"
key = "api_key"
rate = "4/m"
consumers = ["alice"]

[[rate_limit]]
name = "shadow"
key = "route"
rate = "1/m"
dry_run = true
"#,
        )
        .route(
            "api",
            "api",
            "auth = \"api_key\"\nrate_limits = [\"free\", \"gold\"]\n",
        )
        .route(
            "shadowed",
            "api",
            "path_prefix = \"/shadow\"\nrate_limits = [\"shadow\"]\n",
        )
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let count = |key: &'static str| async move {
        let mut ok = 0;
        for _ in 0..6 {
            if request(addr, "GET", "/", &[("x-api-key", key)], "")
                .await
                .status
                == 200
            {
                ok += 1;
            }
        }
        ok
    };
    assert_eq!(count(ALICE).await, 4);
    assert_eq!(count(BOB).await, 2);
    for _ in 0..3 {
        let r = get(addr, "/shadow").await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("x-ratelimit-limit"),
            None,
            "dry-run limits add no headers"
        );
    }
    let log = access_log(&dir, 15).await;
    assert_eq!(log[12]["moat.rate_limit"], "passed");
    assert_eq!(log[13]["moat.rate_limit"], "dry-run");
    let m = gw.metrics_text();
    assert!(
        m.contains(
            "moat_gateway_rate_limit_decisions_total{limit=\"shadow\",outcome=\"dry_run\"} 2"
        ),
        "{m}"
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// One request and what the client must get.
struct LimitCase<'a> {
    what: &'a str,
    method: &'a str,
    path: &'a str,
    header: Option<(&'a str, &'a str)>,
    body: &'a str,
    status: u16,
    /// A field of the JSON body (a JSON pointer) and its value.
    field: (&'a str, serde_json::Value),
    /// A response header and its value.
    answer_header: Option<(&'a str, &'a str)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_method_and_header_limits() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = cfg_with(&dir, up.addr)
        .section("[limits]\nmax_header_count = 20\nmax_header_bytes = 2048\nmax_uri_bytes = 256\n")
        .route(
            "api",
            "api",
            "max_body_bytes = 1000\nmethods = [\"GET\", \"POST\"]\n",
        )
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let (body_ok, body_over) = ("x".repeat(1000), "x".repeat(1001));
    let long_path = format!("/{}", "a".repeat(300));
    let (big, huge) = ("v".repeat(3000), "v".repeat(20_000));
    let refused = |code: &str| ("/error/code", serde_json::Value::from(code));
    let cases = [
        LimitCase {
            what: "a body at the limit",
            method: "POST",
            path: "/",
            header: None,
            body: &body_ok,
            status: 200,
            field: ("/body_len", 1000.into()),
            answer_header: None,
        },
        LimitCase {
            what: "a body over the limit",
            method: "POST",
            path: "/",
            header: None,
            body: &body_over,
            status: 413,
            field: refused("body_too_large"),
            answer_header: Some(("content-type", "application/json")),
        },
        LimitCase {
            what: "a method the route does not take",
            method: "DELETE",
            path: "/",
            header: None,
            body: "",
            status: 405,
            field: refused("method_not_allowed"),
            answer_header: Some(("allow", "GET, POST")),
        },
        LimitCase {
            what: "a long target",
            method: "GET",
            path: &long_path,
            header: None,
            body: "",
            status: 414,
            field: refused("uri_too_long"),
            answer_header: Some(("content-type", "application/json")),
        },
        LimitCase {
            what: "a big header",
            method: "GET",
            path: "/",
            header: Some(("x-big", &big)),
            body: "",
            status: 431,
            field: refused("headers_too_large"),
            answer_header: None,
        },
        LimitCase {
            what: "a huge header",
            method: "GET",
            path: "/",
            header: Some(("x-huge", &huge)),
            body: "",
            status: 431,
            field: refused("headers_too_large"),
            answer_header: None,
        },
    ];
    for c in cases {
        let headers: Vec<(&str, &str)> = c.header.into_iter().collect();
        let r = request(addr, c.method, c.path, &headers, c.body).await;
        assert_eq!(r.status, c.status, "{}: {}", c.what, r.body);
        let (pointer, value) = &c.field;
        assert_eq!(
            r.json().pointer(pointer),
            Some(value),
            "{}: {}",
            c.what,
            r.body
        );
        if let Some((name, v)) = c.answer_header {
            assert_eq!(r.header(name), Some(v), "{}", c.what);
        }
    }
    let many: String = (0..30)
        .map(|i| format!("x-h{i}: 1\r\n"))
        .collect::<Vec<_>>()
        .concat();
    let (resp, _) = raw(
        addr,
        format!("GET / HTTP/1.1\r\nhost: a\r\n{many}\r\n").as_bytes(),
        Duration::from_secs(2),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");
    assert!(resp.contains("\"headers_too_large\""), "{resp}");
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_are_cut_at_the_limit_while_streaming() {
    let up = upstream().await;
    let dir = TempDir::new();
    let gw = cfg_with(&dir, up.addr)
        .route(
            "api",
            "api",
            "max_body_bytes = 1000\nbody_idle_timeout = \"300ms\"\n",
        )
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let chunk = format!("{:x}\r\n{}\r\n", 600, "y".repeat(600));
    let req = format!(
        "POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let (resp, _) = raw(addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    // a body that stalls gets 408
    let req = "POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\nabc";
    let (resp, _) = raw(addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
    gw.shutdown_within(Duration::from_secs(1)).await;
}
