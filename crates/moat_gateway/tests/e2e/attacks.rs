//! The attack corpus: requests that a proxy deciding on one reading and forwarding another lets
//! through (path traversal and normalisation tricks, host confusion, spoofed gateway headers,
//! framing the upstream gets wrong), sent over real sockets to the gateway in front of real
//! upstreams (`real_upstreams.rs`). Every case is asserted on what the client got *and* on what
//! the upstream received.

use crate::common::*;
use crate::config::Config;
use crate::real_upstreams::*;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const ALICE: &str = "alice-0123456789abcdef";

fn keys_file(dir: &TempDir) {
    dir.write("keys.txt", &format!("alice:{ALICE}\n"));
}

/// The routes under attack, all to one upstream: `open` (public), `private` (API key),
/// `denied` (nobody), and `admin` (any path on host `admin.example`, API key), added to `base`
/// (the listeners). `extra` goes before the routes (`[paths]`, `[headers]`, `[defaults]`),
/// `open_extra` into route `open`.
fn config(base: Config, up: SocketAddr, extra: &str, open_extra: &str) -> Config {
    base.section(extra)
        .section("[api_keys]\nfile = \"keys.txt\"\nheader = \"x-api-key\"\nquery = \"api_key\"\n")
        .upstream("api", &[up], "")
        .route(
            "open",
            "api",
            &format!("path_prefix = \"/open\"\n{open_extra}"),
        )
        .route(
            "private",
            "api",
            "path_prefix = \"/private\"\nauth = \"api_key\"\n",
        )
        .route(
            "denied",
            "api",
            "path_prefix = \"/denied\"\ndeny = [\"0.0.0.0/0\", \"::/0\"]\n",
        )
        .route(
            "admin",
            "api",
            "hosts = [\"admin.example\"]\npath_prefix = \"/\"\nauth = \"api_key\"\n",
        )
}

/// A response as the client got it.
#[derive(Debug, Default)]
struct Answer {
    status: u16,
    /// Header lines, names lower-cased.
    headers: Vec<(String, String)>,
    body: String,
    /// HTTP/1.1 status lines in what was read (a second one would be a second answer).
    responses: usize,
}

impl Answer {
    /// Parses what [`raw`] read: one response, `Content-Length` or chunked.
    fn parse(text: &str) -> Self {
        let responses = text.matches("HTTP/1.1 ").count();
        let Some((head, rest)) = text.split_once("\r\n\r\n") else {
            return Self {
                body: text.to_string(),
                responses,
                ..Self::default()
            };
        };
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            dechunk(rest)
        } else if let Some(len) = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
        {
            rest.get(..len).unwrap_or(rest).to_string()
        } else {
            rest.to_string()
        };
        Self {
            status,
            headers,
            body,
            responses,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The gateway's JSON error code, or "" when the body is not one.
    fn code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// Sends raw bytes (which should ask for `Connection: close`) and parses the answer.
async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let (text, _) = raw(addr, bytes, Duration::from_secs(5)).await;
    Answer::parse(&text)
}

/// `GET target` with `Host: api.test` (and alice's key when `key`), byte-exact.
fn get_bytes(target: &str, key: bool, extra_headers: &str) -> Vec<u8> {
    let key = if key {
        format!("x-api-key: {ALICE}\r\n")
    } else {
        String::new()
    };
    format!(
        "GET {target} HTTP/1.1\r\nHost: api.test\r\n{key}{extra_headers}Connection: close\r\n\r\n"
    )
    .into_bytes()
}

/// What a case must lead to.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The gateway answers itself with this status and one of these JSON error codes (any
    /// code when empty); nothing reaches the upstream.
    Refused(u16, &'static [&'static str]),
    /// Forwarded once, as this request target; a file-serving upstream answers this status
    /// (and body when given). The WSGI echo answers 200 to every path.
    Forwarded(&'static str, u16, Option<&'static str>),
}

/// One attack.
#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    /// `GET {target} HTTP/1.1` with `Host: api.test`, unless `raw` is given.
    target: &'static str,
    /// Byte-exact request instead (HTTP/1.1 only).
    raw: Option<&'static [u8]>,
    /// Send alice's valid API key.
    key: bool,
    expect: Expect,
}

fn get(name: &'static str, target: &'static str, expect: Expect) -> Case {
    Case {
        name,
        target,
        raw: None,
        key: false,
        expect,
    }
}

fn get_with_key(name: &'static str, target: &'static str, expect: Expect) -> Case {
    Case {
        key: true,
        ..get(name, target, expect)
    }
}

fn raw_case(name: &'static str, bytes: &'static [u8], expect: Expect) -> Case {
    Case {
        name,
        target: "",
        raw: Some(bytes),
        key: false,
        expect,
    }
}

const UNAUTHORIZED: &[&str] = &["unauthorized"];
const BAD_PATH: &[&str] = &["bad_path"];
const BAD_PATH_OR_MALFORMED: &[&str] = &["bad_path", "malformed_request"];
const FORBIDDEN: &[&str] = &["forbidden"];

/// The path corpus with the default `[paths]` rules.
fn path_cases() -> Vec<Case> {
    use Expect::{Forwarded, Refused};
    vec![
        // traversal out of the public prefix resolves before routing
        get(
            "dot segments",
            "/open/../private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "encoded dot segments",
            "/open/%2e%2e/private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "upper-case encoded dot segments",
            "/open/%2E%2E/private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "half-encoded dot segment",
            "/open/.%2E/private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "dot segments above the root",
            "/../private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "two levels of dot segments",
            "/open/x/../../private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "double slash",
            "//private/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "encoded unreserved letter",
            "/%70rivate/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        get(
            "upper-case prefix",
            "/PRIVATE/secret.txt",
            Refused(401, UNAUTHORIZED),
        ),
        // refused: upstreams disagree on what these mean
        get(
            "encoded slash",
            "/open/..%2fprivate/secret.txt",
            Refused(400, BAD_PATH),
        ),
        get(
            "upper-case encoded slash",
            "/open/..%2Fprivate/secret.txt",
            Refused(400, BAD_PATH),
        ),
        get(
            "path parameter",
            "/private;x/secret.txt",
            Refused(400, BAD_PATH),
        ),
        get(
            "dot-dot-semicolon",
            "/open/..;/private/secret.txt",
            Refused(400, BAD_PATH),
        ),
        get(
            "encoded backslash",
            "/open/%5c..%5cprivate/secret.txt",
            Refused(400, BAD_PATH),
        ),
        raw_case(
            "raw backslash",
            b"GET /open/..\\private/secret.txt HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
            Refused(400, BAD_PATH_OR_MALFORMED),
        ),
        get("encoded NUL", "/open/%00/x", Refused(400, BAD_PATH)),
        get("encoded CR LF", "/open/%0d%0ax", Refused(400, BAD_PATH)),
        get("encoded control byte", "/open/%1f", Refused(400, BAD_PATH)),
        get("encoded DEL", "/open/%7F", Refused(400, BAD_PATH)),
        raw_case(
            "raw control byte",
            b"GET /open/\x01x HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
            Refused(400, BAD_PATH_OR_MALFORMED),
        ),
        get("invalid escape", "/open/%zz/x", Refused(400, BAD_PATH)),
        get("trailing percent", "/open/x%", Refused(400, BAD_PATH)),
        get("truncated escape", "/open/x%2", Refused(400, BAD_PATH)),
        get(
            "overlong UTF-8 dots",
            "/open/%c0%ae%c0%ae/private/secret.txt",
            Refused(400, BAD_PATH),
        ),
        get("invalid UTF-8", "/open/%ff.txt", Refused(400, BAD_PATH)),
        raw_case(
            "asterisk-form",
            b"OPTIONS * HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
            Refused(400, BAD_PATH),
        ),
        raw_case(
            "authority-form",
            b"CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\nConnection: close\r\n\r\n",
            Refused(400, BAD_PATH),
        ),
        // deny lists apply to the canonical path
        get(
            "dot segments into a denied route",
            "/open/../denied/secret.txt",
            Refused(403, FORBIDDEN),
        ),
        get(
            "encoded dot segments into a denied route",
            "/open/%2e%2e/denied/secret.txt",
            Refused(403, FORBIDDEN),
        ),
        get(
            "denied route",
            "/denied/secret.txt",
            Refused(403, FORBIDDEN),
        ),
        // forwarded as the canonical path
        get(
            "single dot segment",
            "/open/./index.txt",
            Forwarded("/open/index.txt", 200, Some("OPEN")),
        ),
        get(
            "encoded single dot segment",
            "/open/%2e/index.txt",
            Forwarded("/open/index.txt", 200, Some("OPEN")),
        ),
        get(
            "merged slashes",
            "/open//index.txt",
            Forwarded("/open/index.txt", 200, Some("OPEN")),
        ),
        get(
            "decoded unreserved character",
            "/open/%69ndex.txt",
            Forwarded("/open/index.txt", 200, Some("OPEN")),
        ),
        get(
            "query string unchanged",
            "/open/index.txt?x=../private",
            Forwarded("/open/index.txt?x=../private", 200, Some("OPEN")),
        ),
        get(
            "query string with escapes unchanged",
            "/open/index.txt?a=%2f..%5C&b=;",
            Forwarded("/open/index.txt?a=%2f..%5C&b=;", 200, Some("OPEN")),
        ),
        get(
            "double-encoded dots stay encoded",
            "/open/%252e%252e/private/secret.txt",
            Forwarded("/open/%252e%252e/private/secret.txt", 404, None),
        ),
        get(
            "other escapes kept, upper-cased",
            "/open/a%3fb.txt",
            Forwarded("/open/a%3Fb.txt", 404, None),
        ),
        get(
            "UTF-8 escapes kept",
            "/open/%c3%a9.txt",
            Forwarded("/open/%C3%A9.txt", 404, None),
        ),
        get_with_key(
            "dot segments with a valid key",
            "/open/../private/secret.txt",
            Forwarded("/private/secret.txt", 200, Some("SECRET")),
        ),
        get_with_key(
            "upper-case prefix with a valid key keeps its case",
            "/PRIVATE/secret.txt",
            Forwarded("/PRIVATE/secret.txt", 404, None),
        ),
    ]
}

/// How cases reach the gateway.
#[derive(Clone, Copy)]
enum Via<'a> {
    Http1(SocketAddr),
    /// TLS with ALPN h2, hyper's HTTP/2 client, trusting this CA.
    Http2(SocketAddr, &'a Path),
}

/// Whether a case can be sent that way (HTTP/2 carries no byte-exact request lines, and
/// hyper's `Uri` refuses some targets).
fn sendable(via: Via<'_>, case: &Case) -> bool {
    match via {
        Via::Http1(_) => true,
        Via::Http2(..) => {
            case.raw.is_none()
                && http::Uri::try_from(format!("https://api.test{}", case.target)).is_ok()
        }
    }
}

async fn send_case(via: Via<'_>, case: &Case) -> Answer {
    match via {
        Via::Http1(addr) => match case.raw {
            Some(bytes) => send_raw(addr, bytes).await,
            None => send_raw(addr, &get_bytes(case.target, case.key, "")).await,
        },
        Via::Http2(addr, ca) => {
            let mut headers = vec![];
            if case.key {
                headers.push(("x-api-key", ALICE));
            }
            h2_get(addr, ca, case.target, &headers).await
        }
    }
}

/// One GET over a fresh TLS connection with hyper's HTTP/2 client (`:authority` api.test).
async fn h2_get(addr: SocketAddr, ca: &Path, target: &str, headers: &[(&str, &str)]) -> Answer {
    use http_body_util::BodyExt;
    let tls = tls_connect(addr, ca, b"h2").await;
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let mut b = http::Request::builder().uri(format!("https://api.test{target}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), send.send_request(req))
        .await
        .unwrap_or_else(|_| panic!("{target}: HTTP/2 request timed out"));
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                body: format!("HTTP/2 error: {e}"),
                ..Answer::default()
            };
        }
    };
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    Answer {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        responses: 1,
    }
}

/// Runs every case against `up` through the gateway; returns one line per failed check.
async fn run_cases(up: &dyn RealUpstream, via: Via<'_>, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        if !sendable(via, case) {
            continue;
        }
        let before = up.targets().len();
        let a = send_case(via, case).await;
        let mut fail = |what: String| {
            failures.push(format!(
                "{} `{}`: {what}",
                case.name,
                case.raw
                    .map_or(case.target.to_string(), |b| String::from_utf8_lossy(b)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string())
            ));
        };
        if a.responses > 1 {
            fail(format!("{} responses to one request", a.responses));
        }
        let leaked = ["SECRET", "DENIED"]
            .into_iter()
            .find(|s| a.body.contains(s));
        match case.expect {
            Expect::Refused(status, codes) => {
                // NGINX logs just after it answered: give a wrongly forwarded request time
                tokio::time::sleep(Duration::from_millis(30)).await;
                let after = up.targets();
                if a.status != status {
                    fail(format!(
                        "status {} (want {status}), body {:?}",
                        a.status,
                        a.body.chars().take(160).collect::<String>()
                    ));
                } else if !codes.is_empty() && !codes.contains(&a.code().as_str()) {
                    fail(format!("code {:?} (want one of {codes:?})", a.code()));
                }
                if after.len() != before {
                    fail(format!("upstream received {:?}", &after[before..]));
                }
                if let Some(s) = leaked {
                    fail(format!("{s} leaked to the client"));
                }
            }
            Expect::Forwarded(target, file_status, body) => {
                let after = targets_after(up, before).await;
                if after.len() == before {
                    fail(format!(
                        "upstream received nothing; client got {} {:?}",
                        a.status,
                        a.body.chars().take(160).collect::<String>()
                    ));
                    continue;
                }
                if after.len() > before + 1 {
                    fail(format!("upstream received {:?}", &after[before..]));
                }
                if after[before] != target {
                    fail(format!(
                        "upstream received {:?} (want {target:?})",
                        after[before]
                    ));
                }
                let (want_status, want_body) = if up.serves_files() {
                    (file_status, body)
                } else {
                    (200, None)
                };
                if a.status != want_status {
                    fail(format!("status {} (want {want_status})", a.status));
                }
                if let Some(b) = want_body
                    && a.body != b
                {
                    fail(format!("body {:?} (want {b:?})", a.body));
                }
                if let Some(s) = leaked
                    && want_body != Some(s)
                {
                    fail(format!("{s} leaked to the client"));
                }
            }
        }
    }
    failures
}

/// The gateway under attack (the routes of [`config`], the API keys of [`keys_file`]) in front
/// of Python's `http.server`: `head` gives the listeners, `extra` and `open_extra` go into
/// [`config`]. Bind the three in this order, so they are dropped gateway first.
async fn py_front(
    head: fn(&TempDir) -> Config,
    extra: &str,
    open_extra: &str,
) -> (TempDir, PyHttpServer, moat_gateway::Gateway) {
    let dir = TempDir::new();
    keys_file(&dir);
    let up = PyHttpServer::start(&dir).await;
    let gw = config(head(&dir), up.addr, extra, open_extra)
        .start(&dir)
        .await;
    (dir, up, gw)
}

/// Starts the gateway in front of `up` with the default path rules and runs the corpus.
async fn path_corpus_against(up: &dyn RealUpstream, dir: &TempDir) {
    keys_file(dir);
    let gw = config(Config::plain(dir), up.addr(), "", "")
        .start(dir)
        .await;
    let cases = path_cases();
    let failures = run_cases(up, Via::Http1(gw.listener_addrs()[0]), &cases).await;
    assert!(
        failures.is_empty(),
        "{} of {} path cases failed against {}:\n{}",
        failures.len(),
        cases.len(),
        up.name(),
        failures.join("\n")
    );
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// The path corpus in front of Python's `http.server`, which resolves `%2e%2e` and `%2F` on its
/// own: one canonical path decides the route and is what it receives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_attacks_against_python_http_server() {
    if !have_tool("python3", "path_attacks_against_python_http_server") {
        return;
    }
    let dir = TempDir::new();
    let up = PyHttpServer::start(&dir).await;
    path_corpus_against(&up, &dir).await;
}

/// The path corpus in front of a WSGI app under gunicorn (decodes `PATH_INFO`, keeps `;` and
/// `\`): it receives only canonical paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_attacks_against_gunicorn_wsgi() {
    if !have_tool("gunicorn", "path_attacks_against_gunicorn_wsgi") {
        return;
    }
    let dir = TempDir::new();
    let up = WsgiEcho::start(&dir).await;
    path_corpus_against(&up, &dir).await;
}

/// The path corpus in front of NGINX (normalises `$uri` its own way, merges slashes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_attacks_against_nginx() {
    let Some(bin) = nginx_binary() else {
        return;
    };
    let dir = TempDir::new();
    let up = Nginx::start(&dir, &bin).await;
    path_corpus_against(&up, &dir).await;
}

/// The same path attacks in HTTP/2 `:path` over TLS get the same answers (cases with a raw
/// request line, or a target hyper's `Uri` refuses, are HTTP/1.1 only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_attacks_over_http2_get_the_same_answers() {
    if !have_tool("python3", "path_attacks_over_http2_get_the_same_answers") {
        return;
    }
    let dir = TempDir::new();
    let certs = make_certs(&dir, &[("api", &["api.test"])]);
    keys_file(&dir);
    let up = PyHttpServer::start(&dir).await;
    let gw = config(Config::tls(&dir), up.addr, "", "").start(&dir).await;
    let via = Via::Http2(gw.listener_addrs()[0], &certs.ca_pem);
    let cases = path_cases();
    let sent = cases.iter().filter(|c| sendable(via, c)).count();
    assert!(sent >= 30, "only {sent} cases can go over HTTP/2");
    let failures = run_cases(&up, via, &cases).await;
    assert!(
        failures.is_empty(),
        "{} of {sent} HTTP/2 path cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // they really went over HTTP/2
    let log = access_log(&dir, sent).await;
    assert!(log.iter().all(|l| l["http.version"] == "2"), "{log:?}");
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// The `[paths]` settings for escapes, each in front of Python's `http.server`:
/// `escaped_slashes = "decode"` (and `backslashes = "decode"`) make `%2F` and `%5C` separators
/// before dot segments are removed, so `..%2f` cannot climb out of a public prefix unseen;
/// `escaped_slashes = "keep"` (and `semicolons = "keep"`) forward them as sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_settings_decide_what_escapes_become() {
    use Expect::{Forwarded, Refused};
    if !have_tool("python3", "path_settings_decide_what_escapes_become") {
        return;
    }
    let settings: [(&str, Vec<Case>); 2] = [
        (
            "[paths]\nescaped_slashes = \"decode\"\nbackslashes = \"decode\"\n",
            vec![
                get(
                    "decoded encoded slash",
                    "/open/..%2fprivate/secret.txt",
                    Refused(401, UNAUTHORIZED),
                ),
                get(
                    "decoded encoded backslash",
                    "/open/..%5cprivate/secret.txt",
                    Refused(401, UNAUTHORIZED),
                ),
                get_with_key(
                    "decoded encoded slash with a valid key",
                    "/open/..%2Fprivate/secret.txt",
                    Forwarded("/private/secret.txt", 200, Some("SECRET")),
                ),
            ],
        ),
        (
            "[paths]\nescaped_slashes = \"keep\"\nsemicolons = \"keep\"\n",
            vec![
                get(
                    "kept encoded slash",
                    "/open/a%2Fb",
                    Forwarded("/open/a%2Fb", 404, None),
                ),
                get(
                    "kept path parameter",
                    "/open/x;y.txt",
                    Forwarded("/open/x;y.txt", 404, None),
                ),
            ],
        ),
    ];
    for (paths, cases) in settings {
        let (_dir, up, gw) = py_front(Config::plain, paths, "").await;
        let failures = run_cases(&up, Via::Http1(gw.listener_addrs()[0]), &cases).await;
        assert!(failures.is_empty(), "{paths}{}", failures.join("\n"));
        gw.shutdown_within(Duration::from_secs(1)).await;
    }
}

/// One host decides routing, `Host`, `X-Forwarded-Host`, `Forwarded` and the access log: the
/// absolute-form target's, and invalid or duplicate hosts are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_for_routing_forwarding_and_logs() {
    if !have_tool("python3", "one_host_for_routing_forwarding_and_logs") {
        return;
    }
    let (dir, up, gw) = py_front(Config::plain, "", "").await;
    let addr = gw.listener_addrs()[0];
    let mut failures = Vec::new();

    // absolute-form: the target's host wins over Host, for routing and for the upstream
    let a = send_raw(
        addr,
        b"GET http://localhost/open/index.txt HTTP/1.1\r\nHost: admin.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    if (a.status, a.body.as_str()) == (200, "OPEN") {
        let r = up.last_after(0).await;
        assert_eq!(r.target(), "/open/index.txt", "{r:?}");
        for (name, want) in [
            ("host", vec!["localhost".to_string()]),
            ("x-forwarded-host", vec!["localhost".to_string()]),
            (
                "forwarded",
                vec!["for=127.0.0.1;proto=http;host=\"localhost\"".to_string()],
            ),
        ] {
            if r.header(name) != want {
                failures.push(format!(
                    "absolute-form: upstream {name} {:?} (want {want:?})",
                    r.header(name)
                ));
            }
        }
    } else {
        failures.push(format!(
            "absolute-form http://localhost with Host admin.example: {} {} (want 200 OPEN from route open)",
            a.status, a.body
        ));
    }
    // and the other way round: the target names the admin host
    let before = up.requests().len();
    let a = send_raw(
        addr,
        b"GET http://admin.example/open/index.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    if a.status != 401 {
        failures.push(format!(
            "absolute-form http://admin.example with Host localhost: {} (want 401 from route admin)",
            a.status
        ));
    }
    // a plain request: Forwarded quotes the host, all three agree
    let a = send_raw(addr, &get_bytes("/open/index.txt", false, "")).await;
    assert_eq!(a.status, 200, "{a:?}");
    let r = up.last_after(before).await;
    assert_eq!(r.header("host"), ["api.test"]);
    assert_eq!(r.header("x-forwarded-host"), ["api.test"]);
    assert_eq!(
        r.header("forwarded"),
        ["for=127.0.0.1;proto=http;host=\"api.test\""]
    );

    // refused hosts; accepted ones
    let cases: [(&str, &[u8], u16, &[&str]); 9] = [
        (
            "no Host",
            b"GET /open/index.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
            400,
            &["bad_host"],
        ),
        (
            "two different Host lines",
            b"GET /open/index.txt HTTP/1.1\r\nHost: api.test\r\nHost: admin.example\r\nConnection: close\r\n\r\n",
            400,
            &["bad_host", "malformed_request"],
        ),
        (
            "two equal Host lines",
            b"GET /open/index.txt HTTP/1.1\r\nHost: api.test\r\nHost: api.test\r\nConnection: close\r\n\r\n",
            400,
            &["bad_host", "malformed_request"],
        ),
        (
            "Forwarded injection",
            b"GET /open/index.txt HTTP/1.1\r\nHost: x\";for=6.6.6.6;by=\"y\r\nConnection: close\r\n\r\n",
            400,
            &["bad_host"],
        ),
        (
            "user info",
            b"GET /open/index.txt HTTP/1.1\r\nHost: user@admin.example\r\nConnection: close\r\n\r\n",
            400,
            &["bad_host", "malformed_request"],
        ),
        (
            "port out of range",
            b"GET /open/index.txt HTTP/1.1\r\nHost: admin.example:99999\r\nConnection: close\r\n\r\n",
            400,
            &["bad_host", "malformed_request"],
        ),
        (
            "admin host",
            b"GET /open/index.txt HTTP/1.1\r\nHost: admin.example\r\nConnection: close\r\n\r\n",
            401,
            &["unauthorized"],
        ),
        (
            "admin host, upper-case with a trailing dot and a port",
            b"GET /open/index.txt HTTP/1.1\r\nHost: ADMIN.Example.:8080\r\nConnection: close\r\n\r\n",
            401,
            &["unauthorized"],
        ),
        (
            "IPv6 literal with a port",
            b"GET /open/index.txt HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n",
            200,
            &[],
        ),
    ];
    for (name, bytes, status, codes) in cases {
        let before = up.requests().len();
        let a = send_raw(addr, bytes).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let received = up.requests().len() - before;
        if a.status != status {
            failures.push(format!(
                "{name}: status {} (want {status}) {}",
                a.status, a.body
            ));
        } else if !codes.is_empty() && !codes.contains(&a.code().as_str()) {
            failures.push(format!("{name}: code {:?} (want {codes:?})", a.code()));
        }
        if received != usize::from(status == 200) {
            failures.push(format!("{name}: upstream received {received} requests"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let log = access_log(&dir, 3).await;
    assert_eq!(log[0]["url.domain"], "localhost", "{:?}", log[0]);
    assert_eq!(log[1]["url.domain"], "admin.example", "{:?}", log[1]);
    assert_eq!(log[2]["url.domain"], "api.test", "{:?}", log[2]);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// An HPACK string literal without Huffman coding (short strings only).
fn hpack_str(s: &str) -> Vec<u8> {
    let mut v = vec![u8::try_from(s.len()).unwrap()];
    assert!(v[0] < 127);
    v.extend_from_slice(s.as_bytes());
    v
}

/// Sends one hand-encoded HTTP/2 GET (literal `:authority`, optional literal `host` header)
/// and returns (status, body). hyper's client never sends a `host` header next to
/// `:authority`, so the request is built by hand. Only `:status` values in HPACK's static
/// table (200, 204, 206, 304, 400, 404, 500) are decoded; others come back as 0.
async fn h2_hand_get(
    addr: SocketAddr,
    ca: &Path,
    authority: &str,
    host: Option<&str>,
    path: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tls_connect(addr, ca, b"h2").await;
    let mut block = vec![0x82, 0x87]; // :method GET, :scheme https
    block.push(0x04); // :path, literal without indexing
    block.extend(hpack_str(path));
    block.push(0x01); // :authority, literal without indexing
    block.extend(hpack_str(authority));
    if let Some(h) = host {
        block.push(0x00); // new name, literal without indexing
        block.extend(hpack_str("host"));
        block.extend(hpack_str(h));
    }
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(4, 0, 0, &[]));
    out.extend(frame(1, 0x4 | 0x1, 1, &block));
    s.write_all(&out).await.unwrap();
    let mut status = 0;
    let mut body = Vec::new();
    loop {
        let mut head = [0u8; 9];
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head)).await;
        if !matches!(read, Ok(Ok(_))) {
            return (status, String::from_utf8_lossy(&body).into_owned());
        }
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.unwrap();
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        match (kind, stream) {
            (4, 0) if flags & 1 == 0 => s.write_all(&frame(4, 1, 0, &[])).await.unwrap(),
            (1, 1) => {
                status = match payload.first() {
                    Some(0x88) => 200,
                    Some(0x89) => 204,
                    Some(0x8a) => 206,
                    Some(0x8b) => 304,
                    Some(0x8c) => 400,
                    Some(0x8d) => 404,
                    Some(0x8e) => 500,
                    _ => 0,
                };
                if flags & 1 == 1 {
                    return (status, String::new());
                }
            }
            (0, 1) => {
                body.extend_from_slice(&payload);
                if flags & 1 == 1 {
                    return (status, String::from_utf8_lossy(&body).into_owned());
                }
            }
            (3, 1) | (7, _) => {
                return (
                    status,
                    format!("stream reset or GOAWAY (frame type {kind}) {payload:?}"),
                );
            }
            _ => {}
        }
    }
}

/// HTTP/2 `:authority` and a `host` header that differ are refused; agreeing ones route by
/// that host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_authority_and_host_must_agree() {
    if !have_tool("python3", "http2_authority_and_host_must_agree") {
        return;
    }
    let dir = TempDir::new();
    let certs = make_certs(&dir, &[("api", &["api.test"])]);
    keys_file(&dir);
    let up = PyHttpServer::start(&dir).await;
    let gw = config(Config::tls(&dir), up.addr, "", "").start(&dir).await;
    let addr = gw.listener_addrs()[0];
    let ca = certs.ca_pem.as_path();
    // the hand-made frames work: a plain request is served
    let (status, body) = h2_hand_get(addr, ca, "api.test", None, "/open/index.txt").await;
    assert_eq!((status, body.as_str()), (200, "OPEN"));
    let r = up.last_after(0).await;
    assert_eq!(r.header("host"), ["api.test"]);
    // agreeing host header
    let (status, body) =
        h2_hand_get(addr, ca, "localhost", Some("localhost"), "/open/index.txt").await;
    assert_eq!((status, body.as_str()), (200, "OPEN"));
    // differing: the admin route must not be reachable by one and routed by the other
    let before = up.requests().len();
    let (status, body) = h2_hand_get(
        addr,
        ca,
        "localhost",
        Some("admin.example"),
        "/open/index.txt",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"bad_host\""), "{body}");
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(up.requests().len(), before);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Names that are, or with `_` for `-` would be, headers the gateway owns.
const OWNED_SPELLINGS: [&str; 8] = [
    "x-consumer-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
    "x-request-id",
    "x-api-key",
    "x-user-role",
];

/// Header names with `_` never reach an upstream by default, in any spelling: not in
/// `http.server`'s raw lines, not merged into a WSGI `HTTP_*` key, not as NGINX's `$http_*`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn underscore_header_names_are_dropped_before_every_upstream() {
    let hdrs =
        "X_Consumer_Id: admin\r\nX_Forwarded_For: 6.6.6.6\r\nX_Custom: 1\r\nX-Normal: kept\r\n";
    // python http.server: the raw lines
    if have_tool(
        "python3",
        "underscore_header_names_are_dropped_before_every_upstream",
    ) {
        let (_dir, up, gw) = py_front(Config::plain, "", "").await;
        let a = send_raw(
            gw.listener_addrs()[0],
            &get_bytes("/open/index.txt", false, hdrs),
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
        let r = up.last_after(0).await;
        assert!(
            r.names().iter().all(|n| !n.contains('_')),
            "{:?}",
            r.header_lines
        );
        assert!(
            r.header_lines
                .iter()
                .all(|l| !l.contains("admin") && !l.contains("6.6.6.6")),
            "{:?}",
            r.header_lines
        );
        assert_eq!(r.header("x-normal"), ["kept"]);
        assert_eq!(r.header("x-forwarded-for"), ["127.0.0.1"]);
        assert_eq!(r.header("x-consumer-id"), Vec::<String>::new());
        gw.shutdown_within(Duration::from_secs(1)).await;
    }
    // a WSGI app under gunicorn that maps `_` like `-`
    if have_tool(
        "gunicorn",
        "underscore_header_names_are_dropped_before_every_upstream",
    ) {
        let dir = TempDir::new();
        keys_file(&dir);
        let up = WsgiEcho::start(&dir).await;
        let gw = config(Config::plain(&dir), up.addr, "", "")
            .start(&dir)
            .await;
        let a = send_raw(
            gw.listener_addrs()[0],
            &get_bytes("/open/index.txt", false, hdrs),
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
        let env = WsgiRequest::from_body(&a.body);
        assert_eq!(env.http["HTTP_X_FORWARDED_FOR"], "127.0.0.1", "{env:?}");
        assert_eq!(env.http.get("HTTP_X_CONSUMER_ID"), None, "{env:?}");
        assert_eq!(env.http.get("HTTP_X_CUSTOM"), None, "{env:?}");
        assert_eq!(env.http["HTTP_X_NORMAL"], "kept");
        gw.shutdown_within(Duration::from_secs(1)).await;
    }
    // NGINX with `underscores_in_headers on`
    if let Some(bin) = nginx_binary() {
        let dir = TempDir::new();
        keys_file(&dir);
        let up = Nginx::start(&dir, &bin).await;
        let gw = config(Config::plain(&dir), up.addr, "", "")
            .start(&dir)
            .await;
        let a = send_raw(gw.listener_addrs()[0], &get_bytes("/open/x", false, hdrs)).await;
        assert_eq!(
            (a.status, a.body.as_str()),
            (200, "/open/x|/open/x|api.test|\n")
        );
        targets_after(&up, 0).await;
        let r = &up.requests()[0];
        assert_eq!(r.headers["x-consumer-id"], "");
        assert_eq!(r.headers["x-forwarded-for"], "127.0.0.1");
        gw.shutdown_within(Duration::from_secs(1)).await;
    }
}

/// `header_underscores = "reject"` (here in `[defaults]`) answers 400 `bad_header`; `"allow"`
/// (here on route `open`) forwards `X_Custom` but still removes the underscore spellings of
/// the gateway's own headers and of the API-key header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_underscores_reject_and_allow() {
    if !have_tool("python3", "header_underscores_reject_and_allow") {
        return;
    }
    let (_dir, up, gw) = py_front(
        Config::plain,
        "[defaults]\nheader_underscores = \"reject\"\n",
        "header_underscores = \"allow\"\n",
    )
    .await;
    let addr = gw.listener_addrs()[0];
    // reject, inherited from [defaults] by route private
    let a = send_raw(
        addr,
        &get_bytes("/private/secret.txt", true, "X_Custom: 1\r\n"),
    )
    .await;
    assert_eq!(a.status, 400, "{a:?}");
    assert_eq!(a.code(), "bad_header");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(up.requests().len(), 0, "nothing reaches the upstream");
    // allow, on route open
    let hdrs = format!(
        "X_Custom: 1\r\nX_Consumer_Id: admin\r\nX_Forwarded_For: 6.6.6.6\r\nX_Api_Key: {ALICE}\r\nX_Real_IP: 6.6.6.6\r\nX_Request_Id: spoofed\r\n"
    );
    let a = send_raw(addr, &get_bytes("/open/index.txt", false, &hdrs)).await;
    assert_eq!((a.status, a.body.as_str()), (200, "OPEN"), "{a:?}");
    let r = up.last_after(0).await;
    assert_eq!(r.header("X_Custom"), ["1"], "{:?}", r.header_lines);
    for name in r.names() {
        let norm = name.to_ascii_lowercase().replace('_', "-");
        assert!(
            !(name.contains('_') && OWNED_SPELLINGS.contains(&norm.as_str())),
            "{name} reached the upstream: {:?}",
            r.header_lines
        );
    }
    assert!(
        r.header_lines.iter().all(|l| !l.contains(ALICE)
            && !l.contains("6.6.6.6")
            && !l.contains("admin")
            && !l.contains("spoofed")),
        "{:?}",
        r.header_lines
    );
    assert_eq!(r.header("x-forwarded-for"), ["127.0.0.1"]);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// Client copies of gateway-owned headers (also ones named in `Connection`, and names added by
/// `[headers] owned`) never reach the upstream; the gateway's own values are set after
/// hop-by-hop processing, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_owned_headers_reach_the_upstream_once_with_the_gateways_values() {
    if !have_tool(
        "python3",
        "gateway_owned_headers_reach_the_upstream_once_with_the_gateways_values",
    ) {
        return;
    }
    let (_dir, up, gw) =
        py_front(Config::plain, "[headers]\nowned = [\"x-user-role\"]\n", "").await;
    let addr = gw.listener_addrs()[0];
    let spoofed = "X-Consumer-Id: admin\r\n\
        X-Forwarded-For: 6.6.6.6\r\n\
        X-Forwarded-Proto: https\r\n\
        X-Forwarded-Host: evil.example\r\n\
        Forwarded: for=6.6.6.6;host=evil.example\r\n\
        X-Real-IP: 6.6.6.6\r\n\
        X-Request-Id: trace-abc.123\r\n\
        X-Request-Id: second-id\r\n\
        X-User-Role: admin\r\n\
        x-user-role: root\r\n";
    let mut checked = 0;
    for (path, key, body, consumer) in [
        (
            "/private/secret.txt",
            true,
            "SECRET",
            vec!["alice".to_string()],
        ),
        ("/open/index.txt", false, "OPEN", vec![]),
    ] {
        let before = up.requests().len();
        // the client names the owned headers as hop-by-hop: the gateway's values must survive
        let bytes = format!(
            "GET {path} HTTP/1.1\r\nHost: api.test\r\n{}Connection: X-Consumer-Id, X-Forwarded-For, X-Request-Id\r\n{spoofed}Connection: close\r\n\r\n",
            if key {
                format!("x-api-key: {ALICE}\r\n")
            } else {
                String::new()
            }
        );
        let a = send_raw(addr, bytes.as_bytes()).await;
        assert_eq!((a.status, a.body.as_str()), (200, body), "{path}: {a:?}");
        let r = up.last_after(before).await;
        let lines = &r.header_lines;
        assert_eq!(r.header("x-consumer-id"), consumer, "{path}: {lines:?}");
        assert_eq!(r.header("x-forwarded-for"), ["127.0.0.1"], "{lines:?}");
        assert_eq!(r.header("x-forwarded-proto"), ["http"], "{lines:?}");
        assert_eq!(r.header("x-forwarded-host"), ["api.test"], "{lines:?}");
        assert_eq!(
            r.header("forwarded"),
            ["for=127.0.0.1;proto=http;host=\"api.test\""],
            "{lines:?}"
        );
        assert_eq!(r.header("x-user-role"), Vec::<String>::new(), "{lines:?}");
        assert_eq!(r.header("x-api-key"), Vec::<String>::new(), "{lines:?}");
        let ids = r.header("x-request-id");
        assert_eq!(ids.len(), 1, "one X-Request-Id: {lines:?}");
        assert_eq!(a.header("x-request-id"), Some(ids[0].as_str()));
        assert!(
            lines.iter().all(|l| !l.contains("6.6.6.6")
                && !l.contains("evil.example")
                && !l.contains("admin")
                && !l.contains("root")
                && !l.contains("second-id")),
            "{path}: {lines:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// The API key (header `x-api-key`, query parameter `api_key`) is removed on every route, the
/// public one and the host-routed one included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_credentials_are_stripped_on_every_route() {
    if !have_tool("python3", "api_key_credentials_are_stripped_on_every_route") {
        return;
    }
    let (_dir, up, gw) = py_front(Config::plain, "", "").await;
    let addr = gw.listener_addrs()[0];
    let with_header = format!("x-api-key: {ALICE}\r\n");
    for (name, bytes, status, target) in [
        (
            "public route, header and query",
            format!(
                "GET /open/index.txt?a=1&api_key={ALICE}&b=2 HTTP/1.1\r\nHost: api.test\r\n{with_header}Connection: close\r\n\r\n"
            ),
            200,
            "/open/index.txt?a=1&b=2",
        ),
        (
            "public route, query only",
            format!(
                "GET /open/index.txt?api_key={ALICE} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"
            ),
            200,
            "/open/index.txt",
        ),
        (
            "private route, header",
            format!(
                "GET /private/secret.txt HTTP/1.1\r\nHost: api.test\r\n{with_header}Connection: close\r\n\r\n"
            ),
            200,
            "/private/secret.txt",
        ),
        (
            "private route, query",
            format!(
                "GET /private/secret.txt?api_key={ALICE} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"
            ),
            200,
            "/private/secret.txt",
        ),
        (
            "host-routed admin, header",
            format!(
                "GET /open/index.txt HTTP/1.1\r\nHost: admin.example\r\n{with_header}Connection: close\r\n\r\n"
            ),
            200,
            "/open/index.txt",
        ),
    ] {
        let before = up.requests().len();
        let a = send_raw(addr, bytes.as_bytes()).await;
        assert_eq!(a.status, status, "{name}: {a:?}");
        let r = up.last_after(before).await;
        assert_eq!(r.target(), target, "{name}");
        assert_eq!(r.header("x-api-key"), Vec::<String>::new(), "{name}");
        assert!(
            !r.request_line.contains(ALICE) && r.header_lines.iter().all(|l| !l.contains(ALICE)),
            "{name}: {r:?}"
        );
    }
    gw.shutdown_within(Duration::from_secs(1)).await;
}

/// A hand-framed upstream: reads each request (head, then a `Content-Length` or chunked body),
/// counts it, and answers by path with deliberately broken framing.
async fn framing_upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // reads until `buf` holds `n` bytes; false at EOF
                macro_rules! fill {
                    ($n:expr) => {
                        while buf.len() < $n {
                            match s.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(k) => buf.extend_from_slice(&chunk[..k]),
                            }
                        }
                    };
                }
                loop {
                    let end = loop {
                        if let Some(e) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break e;
                        }
                        let n = buf.len() + 1;
                        fill!(n);
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    buf.drain(..end + 4);
                    counted.fetch_add(1, Ordering::Relaxed);
                    // the body, so that the answer comes after it as a real server's would
                    if head.contains("transfer-encoding: chunked") {
                        loop {
                            let line_end = loop {
                                if let Some(e) = buf.windows(2).position(|w| w == b"\r\n") {
                                    break e;
                                }
                                let n = buf.len() + 1;
                                fill!(n);
                            };
                            let size = String::from_utf8_lossy(&buf[..line_end]).into_owned();
                            buf.drain(..line_end + 2);
                            let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
                                return;
                            };
                            fill!(size + 2);
                            buf.drain(..size + 2);
                            if size == 0 {
                                break;
                            }
                        }
                    } else if let Some(len) = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                    {
                        fill!(len);
                        buf.drain(..len);
                    }
                    let line = head.lines().next().unwrap_or_default().to_string();
                    let reply: &[u8] = if line.starts_with("get /switch ") {
                        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                    } else if line.starts_with("get /two-lengths ") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"
                    } else if line.starts_with("get /length-and-chunked ") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    };
                    if s.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, requests)
}

/// The `moat_gateway_upstream_errors_total` samples.
fn upstream_errors(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with("moat_gateway_upstream_errors_total"))
        .map(str::to_string)
        .collect()
}

/// Each failure gets its own status, sent once: a client's malformed chunked body is the
/// client's 400 (no upstream error counted); an upstream's 101 or ambiguous framing is one 502
/// `upstream_invalid_response`, never retried, and logged as 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_status_once_for_broken_bodies_and_upstream_framing() {
    let (up, requests) = framing_upstream().await;
    let dir = TempDir::new();
    let gw = Config::plain(&dir)
        .upstream("api", &[up], "retries = 2\n")
        .route("all", "api", "")
        .start(&dir)
        .await;
    let addr = gw.listener_addrs()[0];
    let mut failures = Vec::new();

    let errors_before = upstream_errors(&gw.metrics_text());
    let a = send_raw(
        addr,
        b"POST /upload HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    if (a.status, a.code().as_str()) != (400, "bad_request_body") || a.responses != 1 {
        failures.push(format!(
            "malformed chunked body: {} {} ({} responses), want one 400 bad_request_body",
            a.status, a.body, a.responses
        ));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let errors_after = upstream_errors(&gw.metrics_text());
    if errors_after != errors_before {
        failures.push(format!(
            "malformed chunked body counted as an upstream error: {errors_before:?} -> {errors_after:?}"
        ));
    }

    for (path, code) in [
        ("/switch", Some("upstream_invalid_response")),
        ("/two-lengths", None),
        ("/length-and-chunked", Some("upstream_invalid_response")),
    ] {
        let before = requests.load(Ordering::Relaxed);
        let a = send_raw(addr, &get_bytes(path, false, "")).await;
        // a retry would arrive right after the first attempt failed
        tokio::time::sleep(Duration::from_millis(200)).await;
        let hits = requests.load(Ordering::Relaxed) - before;
        if a.status != 502 || a.responses != 1 {
            failures.push(format!(
                "{path}: {} ({} responses) {}, want one 502",
                a.status, a.responses, a.body
            ));
        }
        if let Some(code) = code
            && a.code() != code
        {
            failures.push(format!("{path}: code {:?}, want {code}", a.code()));
        }
        if hits != 1 {
            failures.push(format!("{path}: the upstream received it {hits} times"));
        }
    }
    let log = access_log(&dir, 4).await;
    let line = log
        .iter()
        .find(|l| l["url.path"] == "/length-and-chunked")
        .expect("an access-log line");
    if line["http.response.status_code"] != 502 {
        failures.push(format!("/length-and-chunked logged as {line}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    gw.shutdown_within(Duration::from_secs(1)).await;
}
