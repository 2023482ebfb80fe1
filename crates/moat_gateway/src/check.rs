//! `moat gateway check`: loads a config as a start would, short of binding sockets and
//! connecting to Redis (every mistake at `file:line:col`; certificates, keys, key lists and
//! JWKS read and checked), and audits it for weak settings with the shared finding model.

use crate::config::{self, ParsedConfig, RawConfig};
use crate::plan::{self, BuildOptions, parse_cidr};
use moat_diagnostics::{Finding, Location, Report, RuleInfo, Severity};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

/// `G001` plain-http-listener: A listener serves plain HTTP.
pub const PLAIN_HTTP_LISTENER: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `plain_http = true` listeners. High when the listener binds a non-loopback address, low on loopback.
    ///
    /// ## Why is this bad?
    /// Credentials (API keys) and data cross the network unencrypted. Plain HTTP is only acceptable behind another TLS terminator on the same host.
    ///
    /// ## Example
    /// ```toml
    /// [[listener]]
    /// listen = "0.0.0.0:8080"
    /// plain_http = true
    /// ```
    ///
    /// ## Fix
    /// Configure `[listener.tls]` with a certificate, and add a `redirect_https_port` listener for port 80.
    code: "G001",
    name: "plain-http-listener",
    summary: "A listener serves plain HTTP",
    severity: High,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API8:2023"],
};

/// `G002` weak-tls-version: TLS below 1.2 is allowed.
pub const WEAK_TLS_VERSION: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `tls.min_version` below 1.2.
    ///
    /// ## Why is this bad?
    /// TLS 1.0 and 1.1 are deprecated (RFC 8996) and lack modern AEAD suites. The gateway refuses to start with them.
    ///
    /// ## Fix
    /// Set `min_version = "1.2"` (the default) or `"1.3"`.
    code: "G002",
    name: "weak-tls-version",
    summary: "TLS below 1.2 is allowed",
    severity: High,
    confidence: High,
    default_enabled: true,
    references: ["NIST-SP-800-52r2", "RFC8996"],
};

/// `G003` route-without-rate-limit: A public route has no rate limit.
pub const ROUTE_WITHOUT_RATE_LIMIT: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags routes that have no rate limit (neither their own `rate_limits` nor `[defaults].rate_limits`).
    ///
    /// ## Why is this bad?
    /// Without a limit one client can exhaust the API (brute force, scraping, denial of service).
    ///
    /// ## Fix
    /// Define a `[[rate_limit]]` and list it in `rate_limits` of the route or of `[defaults]`.
    code: "G003",
    name: "route-without-rate-limit",
    summary: "A public route has no rate limit",
    severity: Medium,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API4:2023"],
};

/// `G004` admin-not-loopback: The admin listener is reachable beyond loopback.
pub const ADMIN_NOT_LOOPBACK: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags an `[admin]` listener bound to a non-loopback address.
    ///
    /// ## Why is this bad?
    /// Metrics reveal routes, consumers and upstream health; the admin listener has no authentication.
    ///
    /// ## Fix
    /// Bind it to `127.0.0.1` (and scrape from the same host or network namespace).
    code: "G004",
    name: "admin-not-loopback",
    summary: "The admin listener is reachable beyond loopback",
    severity: High,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API8:2023"],
};

/// `G005` trusted-proxies-everything: Every address is a trusted proxy.
pub const TRUST_EVERY_PROXY: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `trusted_proxies` entries covering the whole address space (`0.0.0.0/0`, `::/0`).
    ///
    /// ## Why is this bad?
    /// Any client can then choose its own address with `X-Forwarded-For`, which defeats IP allow-lists and per-IP rate limits.
    ///
    /// ## Fix
    /// List only the addresses of the load balancers in front of the gateway.
    code: "G005",
    name: "trusted-proxies-everything",
    summary: "Every address is a trusted proxy",
    severity: High,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API4:2023"],
};

/// `G006` private-route-without-auth: A route marked private has no authentication.
pub const PRIVATE_ROUTE_WITHOUT_AUTH: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags routes with `private = true` whose effective `auth` is `none`.
    ///
    /// ## Why is this bad?
    /// The route was meant to require credentials but anyone can call it. The gateway refuses to start with it.
    ///
    /// ## Fix
    /// Set `auth = "api_key"` on the route or in `[defaults]`.
    code: "G006",
    name: "private-route-without-auth",
    summary: "A route marked private has no authentication",
    severity: High,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API2:2023"],
};

/// `G007` weak-hsts: HSTS is off or shorter than two years.
pub const WEAK_HSTS: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `security_headers.hsts_max_age` below 63072000 (two years); medium when 0 (off).
    ///
    /// ## Why is this bad?
    /// Without HSTS a browser can be downgraded to plain HTTP on its first request.
    ///
    /// ## Fix
    /// Remove the setting (the default is two years).
    code: "G007",
    name: "weak-hsts",
    summary: "HSTS is off or shorter than two years",
    severity: Low,
    confidence: High,
    default_enabled: true,
    references: ["RFC6797"],
};

/// `G008` rate-limit-dry-run: A rate limit only logs.
pub const RATE_LIMIT_DRY_RUN: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `[[rate_limit]]` entries with `dry_run = true`.
    ///
    /// ## Why is this bad?
    /// A dry-run limit never rejects; it is meant for tuning, not for production.
    ///
    /// ## Fix
    /// Remove `dry_run` once the limit is tuned.
    code: "G008",
    name: "rate-limit-dry-run",
    summary: "A rate limit only logs",
    severity: Low,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API4:2023"],
};

/// `G009` api-key-in-query: API keys are accepted in the query string.
pub const API_KEY_IN_QUERY: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `[api_keys].query`.
    ///
    /// ## Why is this bad?
    /// URLs end up in browser history, proxies' logs and `Referer` headers. The gateway removes the key before proxying and logging, but systems in front of it may not.
    ///
    /// ## Fix
    /// Send keys in a header only.
    code: "G009",
    name: "api-key-in-query",
    summary: "API keys are accepted in the query string",
    severity: Low,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API2:2023"],
};

/// `G010` large-body-limit: The request body limit is above 100 MiB.
pub const LARGE_BODY_LIMIT: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `max_body_bytes` above 100 MiB.
    ///
    /// ## Why is this bad?
    /// Large bodies tie up upstream workers and disk; most APIs need a few MiB at most.
    ///
    /// ## Fix
    /// Lower `max_body_bytes`, or raise it only on the route that needs it.
    code: "G010",
    name: "large-body-limit",
    summary: "The request body limit is above 100 MiB",
    severity: Low,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API4:2023"],
};

/// `G011` ambiguous-paths-forwarded: Paths an upstream may read differently are forwarded.
pub const AMBIGUOUS_PATHS_FORWARDED: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `[paths]` settings that keep a path form upstreams read differently: `escaped_slashes = "keep"`, `backslashes = "keep"`, `semicolons = "keep"`.
    ///
    /// ## Why is this bad?
    /// The gateway routes and authorises `/open/..%2fprivate` as a path under `/open`; an upstream that decodes `%2F` (or treats `\` as `/`, or strips `;` parameters as Tomcat and Spring do) resolves it to `/private`, walking around that route's policy.
    ///
    /// ## Example
    /// ```toml
    /// [paths]
    /// escaped_slashes = "keep"
    /// ```
    ///
    /// ## Fix
    /// Leave the default `reject`, or use `decode` so the gateway decides on the path the upstream will see. Keep `keep` only for upstreams known to treat the character as data.
    code: "G011",
    name: "ambiguous-paths-forwarded",
    summary: "Paths an upstream may read differently are forwarded",
    severity: Medium,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API5:2023", "CWE-22"],
};

/// `G012` underscore-headers-allowed: Header names with `_` are forwarded.
pub const UNDERSCORE_HEADERS_ALLOWED: RuleInfo = moat_diagnostics::rule_info! {
    /// ## What it does
    /// Flags `header_underscores = "allow"` on a route or in `[defaults]`.
    ///
    /// ## Why is this bad?
    /// CGI, WSGI, PHP and Rack turn `X_User` and `X-User` into the same `HTTP_X_USER` variable, so a client can forge a header that a trusted component sets. The gateway still removes the underscore spellings of its own headers, but not of headers set by other components in front of the upstream.
    ///
    /// ## Fix
    /// Use the default `drop` (or `reject`), and allow underscores only on routes whose clients need them.
    code: "G012",
    name: "underscore-headers-allowed",
    summary: "Header names with `_` are forwarded",
    severity: Low,
    confidence: High,
    default_enabled: true,
    references: ["OWASP-API2:2023"],
};

/// Every rule of `gateway check`.
pub const RULES: [RuleInfo; 12] = [
    PLAIN_HTTP_LISTENER,
    WEAK_TLS_VERSION,
    ROUTE_WITHOUT_RATE_LIMIT,
    ADMIN_NOT_LOOPBACK,
    TRUST_EVERY_PROXY,
    PRIVATE_ROUTE_WITHOUT_AUTH,
    WEAK_HSTS,
    RATE_LIMIT_DRY_RUN,
    API_KEY_IN_QUERY,
    LARGE_BODY_LIMIT,
    AMBIGUOUS_PATHS_FORWARDED,
    UNDERSCORE_HEADERS_ALLOWED,
];

struct Out<'a> {
    parsed: &'a ParsedConfig,
    findings: Vec<Finding>,
}

impl Out<'_> {
    fn add(&mut self, rule: &RuleInfo, sev: Severity, span: Option<Range<usize>>, msg: String) {
        let location = match span {
            Some(s) => self.parsed.source.location(s),
            None => Location::file(self.parsed.source.path.clone()),
        };
        let evidence = location.span.as_ref().and_then(|s| {
            self.parsed
                .source
                .text
                .get(s.clone())
                .map(|t| t.lines().next().unwrap_or("").to_string())
        });
        self.findings.push(Finding {
            code: rule.code.to_string(),
            name: rule.name.to_string(),
            severity: sev,
            confidence: rule.confidence,
            message: msg,
            location,
            references: rule.references.iter().map(|r| (*r).to_string()).collect(),
            evidence,
            fix: None,
            related: Vec::new(),
            secret: None,
        });
    }
}

fn is_loopback(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

/// Runs every rule on a parsed config.
pub fn audit(parsed: &ParsedConfig) -> Vec<Finding> {
    let raw: &RawConfig = &parsed.raw;
    let mut out = Out {
        parsed,
        findings: Vec::new(),
    };
    for l in &raw.listeners {
        let l = l.get_ref();
        if let Some(p) = &l.plain_http
            && *p.get_ref()
        {
            let public = !is_loopback(l.listen.get_ref());
            let sev = if public {
                Severity::High
            } else {
                Severity::Low
            };
            out.add(
                &PLAIN_HTTP_LISTENER,
                sev,
                Some(p.span()),
                format!(
                    "listener `{}` serves plain HTTP{}",
                    l.listen.get_ref(),
                    if public {
                        " on a non-loopback address"
                    } else {
                        " (loopback)"
                    }
                ),
            );
        }
        if let Some(t) = &l.tls
            && let Some(v) = &t.get_ref().min_version
            && matches!(v.get_ref().as_str(), "1.0" | "1.1")
        {
            out.add(
                &WEAK_TLS_VERSION,
                Severity::High,
                Some(v.span()),
                format!("TLS {} is allowed; the minimum should be 1.2", v.get_ref()),
            );
        }
    }
    if let Some(a) = &raw.admin {
        let listen = &a.get_ref().listen;
        if !is_loopback(listen.get_ref()) {
            out.add(
                &ADMIN_NOT_LOOPBACK,
                Severity::High,
                Some(listen.span()),
                format!("admin listener binds `{}`, not loopback", listen.get_ref()),
            );
        }
    }
    for p in &raw.client_address.trusted_proxies {
        if parse_cidr(p.get_ref()).is_some_and(|n| n.prefix_len() == 0) {
            out.add(
                &TRUST_EVERY_PROXY,
                Severity::High,
                Some(p.span()),
                format!(
                    "`{}` trusts every address to set X-Forwarded-For",
                    p.get_ref()
                ),
            );
        }
    }
    let d = &raw.defaults;
    for r in &raw.routes {
        let r = r.get_ref();
        let limits = r.rate_limits.as_ref().or(d.rate_limits.as_ref());
        if limits.is_none_or(Vec::is_empty) {
            out.add(
                &ROUTE_WITHOUT_RATE_LIMIT,
                Severity::Medium,
                Some(r.name.span()),
                format!("route `{}` has no rate limit", r.name.get_ref()),
            );
        }
        let auth = r.auth.as_ref().or(d.auth.as_ref());
        let authed = auth.is_some_and(|a| a.get_ref() != "none");
        if let Some(p) = &r.private
            && *p.get_ref()
            && !authed
        {
            out.add(
                &PRIVATE_ROUTE_WITHOUT_AUTH,
                Severity::High,
                Some(p.span()),
                format!(
                    "route `{}` is private but has no authentication",
                    r.name.get_ref()
                ),
            );
        }
        if let Some(b) = &r.max_body_bytes
            && *b.get_ref() > 100 * 1024 * 1024
        {
            out.add(
                &LARGE_BODY_LIMIT,
                Severity::Low,
                Some(b.span()),
                format!(
                    "route `{}` accepts bodies of {} bytes",
                    r.name.get_ref(),
                    b.get_ref()
                ),
            );
        }
    }
    let paths = &raw.paths;
    for (key, v) in [
        ("escaped_slashes", &paths.escaped_slashes),
        ("backslashes", &paths.backslashes),
        ("semicolons", &paths.semicolons),
    ] {
        if let Some(v) = v
            && v.get_ref() == "keep"
        {
            out.add(
                &AMBIGUOUS_PATHS_FORWARDED,
                Severity::Medium,
                Some(v.span()),
                format!(
                    "`{key} = \"keep\"` forwards paths an upstream may resolve to another route"
                ),
            );
        }
    }
    let underscores = raw
        .routes
        .iter()
        .filter_map(|r| r.get_ref().header_underscores.as_ref())
        .chain(d.header_underscores.as_ref());
    for v in underscores {
        if v.get_ref() == "allow" {
            out.add(
                &UNDERSCORE_HEADERS_ALLOWED,
                Severity::Low,
                Some(v.span()),
                "header names with `_` are forwarded".to_string(),
            );
        }
    }
    if let Some(b) = &d.max_body_bytes
        && *b.get_ref() > 100 * 1024 * 1024
    {
        out.add(
            &LARGE_BODY_LIMIT,
            Severity::Low,
            Some(b.span()),
            format!("default body limit is {} bytes", b.get_ref()),
        );
    }
    if let Some(h) = &raw.security_headers.hsts_max_age {
        let v = *h.get_ref();
        if v < 63_072_000 {
            let (sev, msg) = if v == 0 {
                (Severity::Medium, "HSTS is disabled".to_string())
            } else {
                (
                    Severity::Low,
                    format!("HSTS max-age is {v}s, under two years"),
                )
            };
            out.add(&WEAK_HSTS, sev, Some(h.span()), msg);
        }
    }
    for rl in &raw.rate_limits {
        let rl = rl.get_ref();
        if rl.dry_run {
            out.add(
                &RATE_LIMIT_DRY_RUN,
                Severity::Low,
                Some(rl.name.span()),
                format!(
                    "rate limit `{}` is in dry-run mode and never rejects",
                    rl.name.get_ref()
                ),
            );
        }
    }
    if let Some(k) = &raw.api_keys
        && let Some(q) = &k.get_ref().query
    {
        out.add(
            &API_KEY_IN_QUERY,
            Severity::Low,
            Some(q.span()),
            format!(
                "API keys are accepted in the `{}` query parameter",
                q.get_ref()
            ),
        );
    }
    out.findings.sort_by(|a, b| {
        (a.location.line, a.location.column).cmp(&(b.location.line, b.location.column))
    });
    out.findings
}

/// Validates and audits config text; input errors and findings go into one report.
pub fn check_str(path: &str, text: &str, base_dir: &Path) -> Report {
    let mut report = Report::default();
    report.sources.insert(
        path.to_string(),
        moat_diagnostics::SourceFile::new(path, text),
    );
    let parsed = match config::parse_str(path, text) {
        Ok(p) => p,
        Err(e) => {
            report.errors.push(e);
            return report;
        }
    };
    let opts = BuildOptions {
        base_dir: base_dir.to_path_buf(),
        load_secrets: true,
        connect: false,
    };
    // like a start, short of binding sockets and connecting to Redis: certificates, keys,
    // key lists and JWKS are read and checked, with the same located errors
    let refused = plan::build(&parsed, &opts, None).err();
    report.findings = audit(&parsed);
    if let Some(errs) = refused {
        // the settings a start refuses are errors: not reported twice as findings
        report.findings.retain(|f| {
            f.code != WEAK_TLS_VERSION.code && f.code != PRIVATE_ROUTE_WITHOUT_AUTH.code
        });
        report.errors.extend(errs);
    }
    report
}

/// Validates and audits a config file.
pub fn check_file(path: &Path) -> Report {
    check_file_with(path, false)
}

/// Opens a TCP connection to every upstream target and Redis node of a config that built
/// (2 s each, in parallel); each one that cannot be reached is an error at its place.
fn connect_errors(parsed: &ParsedConfig) -> Vec<moat_diagnostics::InputError> {
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let raw = &parsed.raw;
    let mut places: Vec<(String, Range<usize>, String)> = Vec::new();
    for (name, u) in &raw.upstreams {
        for t in &u.get_ref().targets {
            places.push((
                t.get_ref().clone(),
                t.span(),
                format!("upstream `{name}` target"),
            ));
        }
    }
    if let Some(r) = &raw.redis {
        for u in &r.get_ref().urls {
            let v = u.get_ref();
            let rest = v
                .strip_prefix("rediss://")
                .or_else(|| v.strip_prefix("redis://"))
                .unwrap_or(v);
            let hostport = rest
                .rsplit_once('@')
                .map_or(rest, |(_, h)| h)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            places.push((hostport, u.span(), "Redis node".to_string()));
        }
    }
    let tries: Vec<_> = places
        .into_iter()
        .map(|(addr, span, what)| {
            std::thread::spawn(move || {
                let result = addr
                    .to_socket_addrs()
                    .map_err(|e| e.to_string())
                    .and_then(|mut a| a.next().ok_or_else(|| "no address".to_string()))
                    .and_then(|a| {
                        TcpStream::connect_timeout(&a, Duration::from_secs(2))
                            .map(drop)
                            .map_err(|e| e.to_string())
                    });
                (addr, span, what, result)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tries {
        if let Ok((addr, span, what, Err(e))) = t.join() {
            out.push(config::error_at(
                &parsed.source,
                span,
                format!("{what} `{addr}` cannot be reached: {e}"),
            ));
        }
    }
    out
}

/// Validates and audits a config file; `connect`: also try to reach its upstreams and Redis.
pub fn check_file_with(path: &Path, connect: bool) -> Report {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let base = path
                .parent()
                .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf);
            let mut r = check_str(&shown, &text, &base);
            if connect
                && r.errors.is_empty()
                && let Ok(parsed) = config::parse_str(&shown, &text)
            {
                r.errors.extend(connect_errors(&parsed));
            }
            r
        }
        Err(e) => {
            let mut r = Report::default();
            r.errors.push(moat_diagnostics::InputError {
                path: shown,
                line: None,
                column: None,
                message: format!("cannot read config: {e}"),
            });
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_doc_sections() {
        for r in RULES {
            for s in ["## What it does", "## Why is this bad?", "## Fix"] {
                assert!(r.docs.contains(s), "{} lacks {s}", r.code);
            }
        }
        let codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "codes must be unique and in order");
    }

    #[test]
    fn insecure_config_is_reported_with_locations() {
        let text = r#"[admin]
listen = "0.0.0.0:9901"

[[listener]]
listen = "0.0.0.0:8080"
plain_http = true

[client_address]
trusted_proxies = ["0.0.0.0/0"]

[upstream.api]
targets = ["127.0.0.1:3000"]

[[route]]
name = "admin-api"
upstream = "api"
private = true
"#;
        let r = check_str("bad.toml", text, Path::new("."));
        // a start refuses the private route without authentication: so does `check`, with
        // the same located error, and the finding that says the same is not repeated
        let errors: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("bad.toml:15:8: route is marked `private`"),
            "{errors:?}"
        );
        let got: Vec<(String, usize, usize)> = r
            .findings
            .iter()
            .map(|f| (f.code.clone(), f.location.line, f.location.column))
            .collect();
        assert_eq!(
            got,
            vec![
                ("G004".into(), 2, 10),
                ("G001".into(), 6, 14),
                ("G005".into(), 9, 20),
                ("G003".into(), 15, 8),
            ]
        );
        // what a start would load is loaded: missing certificate files, a JWKS that is not one
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwks.json"), "{\"keys\": 3}").unwrap();
        let text = r#"[[listener]]
listen = "127.0.0.1:8443"
[[listener.tls.certificates]]
cert_file = "missing.pem"
key_file = "missing.key"

[jwt]
jwks_file = "jwks.json"
issuers = ["https://id.test"]
audiences = ["api"]
"#;
        let r = check_str("t.toml", text, dir.path());
        let errors: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
        for want in [
            "t.toml:4:13: cannot read `missing.pem`",
            "t.toml:5:12: cannot read `missing.key`",
            "t.toml:8:13: `jwks.json`: not a JWKS",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(want)),
                "{want} in {errors:#?}"
            );
        }
    }

    #[test]
    fn connect_tries_every_upstream_target() {
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (live_addr, dead_addr) = (live.local_addr().unwrap(), dead.local_addr().unwrap());
        drop(dead);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            format!(
                "[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n[upstream.api]\ntargets = [\"{live_addr}\", \"{dead_addr}\"]\n"
            ),
        )
        .unwrap();
        assert!(check_file_with(&path, false).errors.is_empty());
        let errors: Vec<String> = check_file_with(&path, true)
            .errors
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let col = 16 + live_addr.to_string().len();
        assert!(
            errors[0].starts_with(&format!(
                "{}:6:{col}: upstream `api` target `{dead_addr}` cannot be reached",
                path.display()
            )),
            "{errors:?}"
        );
    }
}
