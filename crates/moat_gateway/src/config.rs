//! The configuration file as the user writes it: serde structs with spans, unknown keys refused.
//!
//! This layer only parses. [`crate::plan`] turns a parsed [`RawConfig`] into the immutable plan
//! the proxy runs, reading secrets from files and the environment, and reports every mistake at
//! `file:line:col`.

use moat_diagnostics::{InputError, SourceFile};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// A string value with its byte span in the config file.
pub type SpannedString = Spanned<String>;

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Admin listener (metrics, health, readiness).
    #[serde(default)]
    pub admin: Option<Spanned<RawAdmin>>,
    /// Public listeners.
    #[serde(default, rename = "listener")]
    pub listeners: Vec<Spanned<RawListener>>,
    /// Connection-level limits and timeouts.
    #[serde(default)]
    pub limits: RawLimits,
    /// Default request policy, overridden per route.
    #[serde(default)]
    pub defaults: RawPolicy,
    /// How the client address is found.
    #[serde(default)]
    pub client_address: RawClientAddress,
    /// API-key authentication.
    #[serde(default)]
    pub api_keys: Option<Spanned<RawApiKeys>>,
    /// Named rate limits, referenced by routes.
    #[serde(default, rename = "rate_limit")]
    pub rate_limits: Vec<Spanned<RawRateLimit>>,
    /// Rate limiter memory bounds.
    #[serde(default)]
    pub rate_limiter: RawRateLimiter,
    /// Redis, for rate limits shared by the gateway's replicas.
    #[serde(default)]
    pub redis: Option<Spanned<RawRedis>>,
    /// JWT bearer-token authentication.
    #[serde(default)]
    pub jwt: Option<Spanned<RawJwt>>,
    /// Abuse bans.
    #[serde(default, rename = "ban")]
    pub bans: Vec<Spanned<RawBan>>,
    /// Upstream groups by name.
    #[serde(default, rename = "upstream")]
    pub upstreams: BTreeMap<String, Spanned<RawUpstream>>,
    /// Routes, matched by host and longest path prefix.
    #[serde(default, rename = "route")]
    pub routes: Vec<Spanned<RawRoute>>,
    /// Response security headers.
    #[serde(default)]
    pub security_headers: RawSecurityHeaders,
    /// Access log.
    #[serde(default)]
    pub access_log: RawAccessLog,
    /// How request paths are canonicalised before routing.
    #[serde(default)]
    pub paths: RawPaths,
    /// Request headers the gateway owns.
    #[serde(default)]
    pub headers: RawHeaders,
}

/// `[paths]`: what the canonical path does with forms upstreams read differently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPaths {
    /// `%2F`: `"reject"` (default), `"decode"` (a separator) or `"keep"` (unchanged).
    #[serde(default)]
    pub escaped_slashes: Option<SpannedString>,
    /// `\` and `%5C`: `"reject"` (default), `"decode"` (a separator) or `"keep"`.
    #[serde(default)]
    pub backslashes: Option<SpannedString>,
    /// `;` path parameters: `"reject"` (default) or `"keep"`.
    #[serde(default)]
    pub semicolons: Option<SpannedString>,
}

/// `[headers]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaders {
    /// More request headers only the gateway may set (identity headers an upstream trusts):
    /// removed from every request in every spelling.
    #[serde(default)]
    pub owned: Vec<SpannedString>,
}

/// `[admin]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// Address to bind, e.g. `127.0.0.1:9901`.
    pub listen: SpannedString,
}

/// `[[listener]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    /// Name used in logs and metrics.
    #[serde(default)]
    pub name: Option<SpannedString>,
    /// Address to bind, e.g. `0.0.0.0:8443`.
    pub listen: SpannedString,
    /// TLS settings; required unless `plain_http` or `redirect_https` is set.
    #[serde(default)]
    pub tls: Option<Spanned<RawTls>>,
    /// Serve plain HTTP (only behind another TLS terminator). Flagged by `check`.
    #[serde(default)]
    pub plain_http: Option<Spanned<bool>>,
    /// Plain-HTTP listener that only redirects to HTTPS on this port.
    #[serde(default)]
    pub redirect_https_port: Option<Spanned<u16>>,
    /// HTTP/2 settings (TLS listeners negotiate h2 with ALPN).
    #[serde(default)]
    pub http2: RawHttp2,
}

/// `[listener.tls]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// Lowest protocol version: `"1.2"` (default) or `"1.3"`.
    #[serde(default)]
    pub min_version: Option<SpannedString>,
    /// Certificates; the first one is the default when SNI matches none.
    pub certificates: Vec<Spanned<RawCertificate>>,
    /// How often certificate and key files are checked for changes (`"5s"` by default,
    /// `"0s"` = only on SIGHUP).
    #[serde(default)]
    pub watch_interval: Option<SpannedString>,
}

/// One certificate chain and key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertificate {
    /// PEM certificate chain file.
    #[serde(default)]
    pub cert_file: Option<SpannedString>,
    /// PEM private key file.
    #[serde(default)]
    pub key_file: Option<SpannedString>,
    /// Environment variable holding the PEM chain (or `NAME_FILE` naming a file).
    #[serde(default)]
    pub cert_env: Option<SpannedString>,
    /// Environment variable holding the PEM key (or `NAME_FILE` naming a file).
    #[serde(default)]
    pub key_env: Option<SpannedString>,
    /// Server names (SNI) this certificate answers; `*.example.com` wildcards allowed.
    #[serde(default)]
    pub server_names: Vec<SpannedString>,
}

/// `[listener.http2]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp2 {
    /// Offer h2 in ALPN (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Concurrent streams per connection (default 100).
    #[serde(default)]
    pub max_concurrent_streams: Option<u32>,
    /// Pending-accept reset streams before the connection is closed (default 20).
    #[serde(default)]
    pub max_pending_accept_reset_streams: Option<usize>,
    /// Locally reset streams before GOAWAY, against reset floods (default 256).
    #[serde(default)]
    pub max_local_error_reset_streams: Option<usize>,
    /// Header list size (default 16 KiB).
    #[serde(default)]
    pub max_header_list_size: Option<u32>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Maximum request header fields (431 above).
    #[serde(default)]
    pub max_header_count: Option<Spanned<usize>>,
    /// Maximum request head size in bytes (431 above).
    #[serde(default)]
    pub max_header_bytes: Option<Spanned<usize>>,
    /// Maximum request target length (414 above).
    #[serde(default)]
    pub max_uri_bytes: Option<Spanned<usize>>,
    /// Time allowed to send a whole request head (408 after).
    #[serde(default)]
    pub header_read_timeout: Option<SpannedString>,
    /// Keep-alive idle time before a connection is closed.
    #[serde(default)]
    pub idle_timeout: Option<SpannedString>,
    /// TLS handshake time limit.
    #[serde(default)]
    pub handshake_timeout: Option<SpannedString>,
    /// Concurrent connections from one client address (0 = unlimited).
    #[serde(default)]
    pub max_connections_per_ip: Option<Spanned<u32>>,
    /// Concurrent connections in all (0 = unlimited).
    #[serde(default)]
    pub max_connections: Option<Spanned<u32>>,
    /// Time allowed for in-flight requests on SIGTERM.
    #[serde(default)]
    pub shutdown_grace: Option<SpannedString>,
}

/// Request policy fields shared by `[defaults]` and each `[[route]]`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// CIDRs allowed (empty = everyone).
    #[serde(default)]
    pub allow: Option<Vec<SpannedString>>,
    /// CIDRs denied (deny wins).
    #[serde(default)]
    pub deny: Option<Vec<SpannedString>>,
    /// Allowed methods (405 otherwise).
    #[serde(default)]
    pub methods: Option<Vec<SpannedString>>,
    /// Maximum request body in bytes (413 above).
    #[serde(default)]
    pub max_body_bytes: Option<Spanned<u64>>,
    /// Time a request body may stall (408 after).
    #[serde(default)]
    pub body_idle_timeout: Option<SpannedString>,
    /// Names of `[[rate_limit]]` entries applied.
    #[serde(default)]
    pub rate_limits: Option<Vec<SpannedString>>,
    /// `"api_key"`, `"jwt"` or `"none"`.
    #[serde(default)]
    pub auth: Option<SpannedString>,
    /// Header names with `_`: `"drop"` (default), `"reject"` (400) or `"allow"`.
    #[serde(default)]
    pub header_underscores: Option<SpannedString>,
    /// Scopes a JWT must grant on the route (`scope` or `scp`); all of them.
    #[serde(default)]
    pub jwt_scopes: Option<Vec<SpannedString>>,
    /// Claims a JWT must carry with these values on the route.
    #[serde(default)]
    pub jwt_claims: Option<BTreeMap<String, SpannedString>>,
    /// Pass the JWT on to the upstream in `Authorization` (default: removed).
    #[serde(default)]
    pub forward_token: Option<bool>,
    /// WebSocket handshakes (HTTP/1.1 `Upgrade: websocket`) passed to the upstream (default
    /// false: refused with 403).
    #[serde(default)]
    pub websocket: Option<Spanned<bool>>,
    /// A WebSocket tunnel with no bytes either way for this long is closed (default `60s`).
    #[serde(default)]
    pub websocket_idle_timeout: Option<SpannedString>,
}

/// `[client_address]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientAddress {
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<SpannedString>,
    /// Prefix length IPv6 clients are keyed by (default 64).
    #[serde(default)]
    pub ipv6_prefix: Option<Spanned<u8>>,
}

/// `[api_keys]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiKeys {
    /// File with one `id:key` or `id:sha256:HEX` per line.
    #[serde(default)]
    pub file: Option<SpannedString>,
    /// Environment variable with the same lines (or `NAME_FILE` naming a file).
    #[serde(default)]
    pub env: Option<SpannedString>,
    /// Header carrying the key (default `x-api-key`; `authorization` means `Bearer KEY`).
    #[serde(default)]
    pub header: Option<SpannedString>,
    /// Query parameter carrying the key (off by default).
    #[serde(default)]
    pub query: Option<SpannedString>,
    /// Header the key id is sent upstream in (default `x-consumer-id`).
    #[serde(default)]
    pub consumer_header: Option<SpannedString>,
}

/// `[[rate_limit]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// Name referenced by routes.
    pub name: SpannedString,
    /// `ip`, `api_key`, `route` or `header:NAME`.
    pub key: SpannedString,
    /// `N/s`, `N/m`, `N/h` or `N/d`.
    pub rate: SpannedString,
    /// Requests admitted at once (default = N).
    #[serde(default)]
    pub burst: Option<Spanned<u32>>,
    /// Only count and log, never reject.
    #[serde(default)]
    pub dry_run: bool,
    /// Only for these key ids (a tier); default all.
    #[serde(default)]
    pub consumers: Option<Vec<SpannedString>>,
    /// Not for these key ids.
    #[serde(default)]
    pub except_consumers: Vec<SpannedString>,
    /// Where the state lives: `memory` (default) or `redis` (shared by replicas; needs
    /// `[redis]`).
    #[serde(default)]
    pub store: Option<SpannedString>,
    /// When Redis does not answer in time: `allow`, `deny` or `local` (default).
    #[serde(default)]
    pub on_store_error: Option<SpannedString>,
}

/// `[redis]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// `redis://host:port[/db]` (or several, for a Cluster's seed nodes).
    pub urls: Vec<SpannedString>,
    /// The nodes are seeds of a Redis Cluster (implied by several URLs).
    #[serde(default)]
    pub cluster: bool,
    /// ACL user.
    #[serde(default)]
    pub username: Option<SpannedString>,
    /// File holding the password.
    #[serde(default)]
    pub password_file: Option<SpannedString>,
    /// Environment variable holding the password (or `NAME_FILE` naming a file).
    #[serde(default)]
    pub password_env: Option<SpannedString>,
    /// The longest one decision may take (default `50ms`).
    #[serde(default)]
    pub deadline: Option<SpannedString>,
    /// Failures in a row that open the circuit breaker (default 5).
    #[serde(default)]
    pub breaker_failures: Option<Spanned<u32>>,
    /// How long an open breaker refuses calls before one probe (default `1s`).
    #[serde(default)]
    pub breaker_cool_down: Option<SpannedString>,
    /// Gateway replicas sharing the limits: `on_store_error = "local"` allows each `1/n`.
    #[serde(default)]
    pub replicas: Option<Spanned<u32>>,
    /// With `rediss://`: CA certificates (PEM) for the server's certificate (default: the
    /// system's roots).
    #[serde(default)]
    pub ca_file: Option<SpannedString>,
    /// With `rediss://`: a client certificate chain (PEM), for servers that ask for one.
    #[serde(default)]
    pub client_cert_file: Option<SpannedString>,
    /// With `rediss://`: the client certificate's key (PEM).
    #[serde(default)]
    pub client_key_file: Option<SpannedString>,
}

/// `[jwt]`: where the verification keys come from and what every token must satisfy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJwt {
    /// A JWKS document (`{"keys": [...]}`), keys picked by `kid`; read again on reload.
    #[serde(default)]
    pub jwks_file: Option<SpannedString>,
    /// One PEM public key (RSA, P-256 or Ed25519).
    #[serde(default)]
    pub public_key_file: Option<SpannedString>,
    /// A shared secret for HS256 (then the only algorithm accepted); at least 32 bytes.
    #[serde(default)]
    pub hs256_secret_file: Option<SpannedString>,
    /// Accepted issuers (`iss`); at least one.
    #[serde(default)]
    pub issuers: Vec<SpannedString>,
    /// Accepted audiences (`aud`); at least one.
    #[serde(default)]
    pub audiences: Vec<SpannedString>,
    /// Clock skew allowed for `exp` and `nbf` (default `30s`, at most `5m`).
    #[serde(default)]
    pub leeway: Option<SpannedString>,
    /// The claim naming the consumer (default `sub`).
    #[serde(default)]
    pub consumer_claim: Option<SpannedString>,
    /// Header the consumer id is sent upstream in (default `x-consumer-id`).
    #[serde(default)]
    pub consumer_header: Option<SpannedString>,
}

/// `[[ban]]`: a fail2ban-like rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBan {
    /// Name (metrics, admin list).
    pub name: SpannedString,
    /// What counts: `auth_failure`, `rate_limited`, or a status code as a string (`"404"`).
    pub offences: Vec<SpannedString>,
    /// Offences within `window` that ban.
    pub threshold: Spanned<u32>,
    /// The counting window (e.g. `1m`).
    pub window: SpannedString,
    /// How long a ban lasts (e.g. `10m`).
    pub ban_for: SpannedString,
    /// `memory` (default) or `redis` (shared by the replicas; needs `[redis]`).
    #[serde(default)]
    pub store: Option<SpannedString>,
}

/// `[rate_limiter]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimiter {
    /// Keys remembered per limit (default 100 000).
    #[serde(default)]
    pub max_keys: Option<Spanned<usize>>,
}

/// `[upstream.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// `host:port` targets.
    pub targets: Vec<SpannedString>,
    /// `round_robin` (default) or `least_connections`.
    #[serde(default)]
    pub balance: Option<SpannedString>,
    /// Connect timeout (default 2s).
    #[serde(default)]
    pub connect_timeout: Option<SpannedString>,
    /// Time to response headers (default 30s).
    #[serde(default)]
    pub response_timeout: Option<SpannedString>,
    /// Whole exchange including the response body (default 60s).
    #[serde(default)]
    pub total_timeout: Option<SpannedString>,
    /// Active health checks.
    #[serde(default)]
    pub health_check: Option<Spanned<RawHealthCheck>>,
    /// Consecutive connect failures before a target is ejected (default 3; 0 = never).
    #[serde(default)]
    pub eject_after_failures: Option<u32>,
    /// How long an ejected target is skipped (default 10s).
    #[serde(default)]
    pub eject_for: Option<SpannedString>,
    /// Extra attempts for idempotent requests without a body (default 1).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Retries allowed as a percentage of requests (default 20).
    #[serde(default)]
    pub retry_budget_percent: Option<Spanned<u32>>,
}

/// `[upstream.NAME.health_check]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Path probed with GET.
    pub path: SpannedString,
    /// Probe interval (default 5s).
    #[serde(default)]
    pub interval: Option<SpannedString>,
    /// Probe timeout (default 2s).
    #[serde(default)]
    pub timeout: Option<SpannedString>,
    /// Consecutive successes to become healthy (default 2).
    #[serde(default)]
    pub healthy_threshold: Option<u32>,
    /// Consecutive failures to become unhealthy (default 3).
    #[serde(default)]
    pub unhealthy_threshold: Option<u32>,
}

/// `[[route]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Name used in logs and metrics.
    pub name: SpannedString,
    /// Hosts matched (exact, case-insensitive, port ignored); empty = any host.
    #[serde(default)]
    pub hosts: Vec<SpannedString>,
    /// Path prefix (default `/`); longest wins.
    #[serde(default)]
    pub path_prefix: Option<SpannedString>,
    /// Upstream group name.
    pub upstream: SpannedString,
    /// Marks a route that must require authentication (checked).
    #[serde(default)]
    pub private: Option<Spanned<bool>>,
    /// CIDRs allowed.
    #[serde(default)]
    pub allow: Option<Vec<SpannedString>>,
    /// CIDRs denied.
    #[serde(default)]
    pub deny: Option<Vec<SpannedString>>,
    /// Allowed methods.
    #[serde(default)]
    pub methods: Option<Vec<SpannedString>>,
    /// Maximum request body in bytes.
    #[serde(default)]
    pub max_body_bytes: Option<Spanned<u64>>,
    /// Body stall timeout.
    #[serde(default)]
    pub body_idle_timeout: Option<SpannedString>,
    /// Rate limits applied (replaces the default list).
    #[serde(default)]
    pub rate_limits: Option<Vec<SpannedString>>,
    /// `"api_key"`, `"jwt"` or `"none"`.
    #[serde(default)]
    pub auth: Option<SpannedString>,
    /// Header names with `_`: `"drop"`, `"reject"` or `"allow"`.
    #[serde(default)]
    pub header_underscores: Option<SpannedString>,
    /// Scopes a JWT must grant on the route (`scope` or `scp`); all of them.
    #[serde(default)]
    pub jwt_scopes: Option<Vec<SpannedString>>,
    /// Claims a JWT must carry with these values on the route.
    #[serde(default)]
    pub jwt_claims: Option<BTreeMap<String, SpannedString>>,
    /// Pass the JWT on to the upstream in `Authorization` (default: removed).
    #[serde(default)]
    pub forward_token: Option<bool>,
    /// WebSocket handshakes passed to the upstream.
    #[serde(default)]
    pub websocket: Option<Spanned<bool>>,
    /// Idle time after which a WebSocket tunnel is closed.
    #[serde(default)]
    pub websocket_idle_timeout: Option<SpannedString>,
}

/// `[security_headers]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecurityHeaders {
    /// HSTS max-age in seconds (default 63072000 = 2 years; 0 disables).
    #[serde(default)]
    pub hsts_max_age: Option<Spanned<u64>>,
    /// Add `includeSubDomains` (default true).
    #[serde(default)]
    pub hsts_include_subdomains: Option<bool>,
    /// `X-Frame-Options` value (default `DENY`).
    #[serde(default)]
    pub frame_options: Option<String>,
    /// `Referrer-Policy` value (default `no-referrer`).
    #[serde(default)]
    pub referrer_policy: Option<String>,
}

/// `[access_log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLog {
    /// `stdout` (default), `stderr`, `off`, or a file path.
    #[serde(default)]
    pub target: Option<SpannedString>,
}

/// A parsed config file together with its text (for error locations).
#[derive(Debug)]
pub struct ParsedConfig {
    /// The file text.
    pub source: SourceFile,
    /// The parsed structure.
    pub raw: RawConfig,
}

/// An error at a span of `source`.
pub fn error_at(source: &SourceFile, span: Range<usize>, message: impl Into<String>) -> InputError {
    let loc = source.location(span);
    InputError {
        path: source.path.clone(),
        line: Some(loc.line),
        column: Some(loc.column),
        message: message.into(),
    }
}

/// Parses config text (named `path` in errors).
pub fn parse_str(path: &str, text: &str) -> Result<ParsedConfig, InputError> {
    let source = SourceFile::new(path, text);
    match toml::from_str::<RawConfig>(text) {
        Ok(raw) => Ok(ParsedConfig { source, raw }),
        Err(e) => {
            let message = e.message().trim().to_string();
            Err(match e.span() {
                Some(span) => error_at(&source, span, message),
                None => InputError {
                    path: path.to_string(),
                    line: None,
                    column: None,
                    message,
                },
            })
        }
    }
}

/// Reads and parses a config file.
pub fn load(path: &Path) -> Result<ParsedConfig, InputError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        path: shown.clone(),
        line: None,
        column: None,
        message: format!("cannot read config: {e}"),
    })?;
    parse_str(&shown, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let e = parse_str(
            "g.toml",
            "[[listener]]\nlisten = \"127.0.0.1:0\"\nbogus = 1\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("bogus"), "{e}");
        assert!(e.to_string().starts_with("g.toml:3:1:"), "{e}");
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let e = parse_str("g.toml", "[limits]\nmax_header_count = \"x\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(20)), "{e}");
    }
}
