//! The resolved, immutable plan the proxy runs: built from a parsed config in one validation
//! pass that reports every mistake at `file:line:col`, reads secrets from files and the
//! environment, and never panics.

use crate::access_log;
use crate::auth::ApiKeys;
use crate::bans::{BanRule, Bans, Offence};
use crate::canonical::{PathRules, Treatment, canonical_path, prefix_matches};
use crate::config::{ParsedConfig, RawPolicy, SpannedString, error_at};
use crate::headers::OWNED_HEADERS;
use crate::jwt::{RouteClaims, Settings as JwtSettings, Verifier};
use crate::ratelimit::{
    KeyKind, LimitSpec, Limiter, MemoryStore, OnStoreError, SharedStore, Store,
};
use crate::redis_store::{RedisSettings, RedisStore};
use crate::tls::{self, LoadedCert};
use crate::upstream::{Balance, GroupSpec, HealthCheck, UpstreamGroup};
use crate::util::{parse_duration, parse_rate};
use http::{HeaderName, HeaderValue, Method};
use ipnet::IpNet;
use moat_diagnostics::{InputError, SourceFile};
use rustls::ServerConfig;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use toml::Spanned;

/// How a listener serves.
#[derive(Debug, Clone)]
pub enum ListenerKind {
    /// HTTPS.
    Tls(Arc<ServerConfig>),
    /// Plain HTTP, explicitly allowed (behind another TLS terminator).
    Plain,
    /// Plain HTTP that only redirects to HTTPS on the given port.
    Redirect(u16),
}

/// HTTP/2 server settings.
#[derive(Debug, Clone)]
pub struct H2Settings {
    /// Offer h2.
    pub enabled: bool,
    /// Concurrent streams per connection.
    pub max_concurrent_streams: u32,
    /// Pending-accept resets before GOAWAY.
    pub max_pending_accept_reset_streams: usize,
    /// Locally reset streams before GOAWAY.
    pub max_local_error_reset_streams: usize,
    /// Header list size.
    pub max_header_list_size: u32,
}

/// One public listener.
#[derive(Debug, Clone)]
pub struct ListenerPlan {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: SocketAddr,
    /// Mode.
    pub kind: ListenerKind,
    /// HTTP/2 settings.
    pub h2: H2Settings,
}

/// Connection-level limits.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Header fields (431).
    pub max_header_count: usize,
    /// Request head bytes (431).
    pub max_header_bytes: usize,
    /// Request target bytes (414).
    pub max_uri_bytes: usize,
    /// Whole request head (408).
    pub header_read_timeout: Duration,
    /// Keep-alive idle.
    pub idle_timeout: Duration,
    /// TLS handshake.
    pub handshake_timeout: Duration,
    /// Per client address (0 = unlimited).
    pub max_connections_per_ip: u32,
    /// In all (0 = unlimited).
    pub max_connections: u32,
    /// SIGTERM drain deadline.
    pub shutdown_grace: Duration,
}

/// API-key authentication settings.
#[derive(Debug)]
pub struct KeyAuth {
    /// Known keys.
    pub keys: ApiKeys,
    /// Header carrying the key.
    pub header: HeaderName,
    /// The header is `Authorization: Bearer KEY`.
    pub bearer: bool,
    /// Query parameter carrying the key.
    pub query: Option<String>,
    /// Upstream header with the key id.
    pub consumer_header: HeaderName,
}

/// One route.
#[derive(Debug)]
pub struct RoutePlan {
    /// Name.
    pub name: String,
    /// Lower-case hosts (empty = any).
    pub hosts: Vec<String>,
    /// Path prefix.
    pub prefix: String,
    /// Upstream group.
    pub group: Arc<UpstreamGroup>,
    /// Allowed CIDRs (empty = all).
    pub allow: Vec<IpNet>,
    /// Denied CIDRs.
    pub deny: Vec<IpNet>,
    /// Allowed methods.
    pub methods: Vec<Method>,
    /// Body limit.
    pub max_body: u64,
    /// Body stall limit.
    pub body_idle: Duration,
    /// Rate limits in order.
    pub limits: Vec<Arc<Limiter>>,
    /// What authenticates a request.
    pub auth: RouteAuth,
    /// What happens to request header names with `_`.
    pub underscores: Underscores,
    /// WebSocket handshakes are passed to the upstream (refused otherwise).
    pub websocket: bool,
    /// A WebSocket tunnel with no bytes either way for this long is closed.
    pub websocket_idle: Duration,
}

/// How a route authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAuth {
    /// Nobody is asked for credentials.
    None,
    /// An API key of `[api_keys]`.
    ApiKey,
    /// A JWT checked against `[jwt]`, and what the route asks of it.
    Jwt(JwtRoute),
}

impl RouteAuth {
    /// Whether the route asks for credentials.
    pub fn required(&self) -> bool {
        *self != RouteAuth::None
    }
}

/// What a JWT route asks of a token, and whether the token goes on to the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtRoute {
    /// Scopes and claims required.
    pub claims: RouteClaims,
    /// `Authorization: Bearer TOKEN` is passed on (default: removed).
    pub forward_token: bool,
}

/// `[jwt]`: the verifier, and the header the consumer id goes upstream in.
#[derive(Debug)]
pub struct JwtAuth {
    /// Keys and the claims every token must satisfy.
    pub verifier: Verifier,
    /// Upstream header with the consumer id.
    pub consumer_header: HeaderName,
}

/// The default `websocket_idle_timeout`.
pub const DEFAULT_WEBSOCKET_IDLE: Duration = Duration::from_mins(1);

/// Request header names with `_` (which CGI, WSGI, PHP and Rack merge with their `-` spelling
/// into one `HTTP_*` variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Underscores {
    /// Removed before any policy reads the headers (the default, as NGINX's
    /// `underscores_in_headers off`).
    Drop,
    /// 400 `bad_header`.
    Reject,
    /// Forwarded (the underscore spellings of gateway-owned headers are still removed).
    Allow,
}

/// Response security headers.
#[derive(Debug, Clone)]
pub struct Security {
    /// `Strict-Transport-Security` (TLS listeners only).
    pub hsts: Option<HeaderValue>,
    /// `X-Frame-Options`.
    pub frame_options: HeaderValue,
    /// `Referrer-Policy`.
    pub referrer_policy: HeaderValue,
}

/// Background tasks owned by a plan, stopped when it is dropped.
#[derive(Debug, Default)]
pub struct Tasks(Mutex<Vec<tokio::task::JoinHandle<()>>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        if let Ok(v) = self.0.get_mut() {
            for t in v.drain(..) {
                t.abort();
            }
        }
    }
}

/// Everything the gateway runs with.
#[derive(Debug)]
pub struct Plan {
    /// Public listeners.
    pub listeners: Vec<ListenerPlan>,
    /// Admin listener address.
    pub admin: Option<SocketAddr>,
    /// Connection limits.
    pub conn: ConnLimits,
    /// Routes, longest prefix first.
    pub routes: Vec<RoutePlan>,
    /// Upstream groups.
    pub groups: Vec<Arc<UpstreamGroup>>,
    /// Trusted proxies.
    pub trusted: Vec<IpNet>,
    /// IPv6 key prefix.
    pub v6_prefix: u8,
    /// API keys.
    pub keys: Option<KeyAuth>,
    /// JWT verification.
    pub jwt: Option<JwtAuth>,
    /// Abuse bans (kept across reloads while the rules and the store are unchanged).
    pub bans: Option<Arc<Bans>>,
    /// Limiters by name (kept across reloads when unchanged).
    pub limiters: HashMap<String, Arc<Limiter>>,
    /// `[redis]` settings, replica count and store (when serving).
    #[allow(clippy::type_complexity)]
    pub redis: Option<((RedisSettings, u32), Arc<RedisStore>)>,
    /// Security headers.
    pub security: Security,
    /// Access-log target.
    pub log_target: access_log::Target,
    /// Health-check tasks.
    pub tasks: Tasks,
    /// Certificate resolvers of the TLS listeners (their files are watched for changes).
    pub certs: Vec<Arc<tls::SniResolver>>,
    /// How paths are canonicalised.
    pub paths: PathRules,
    /// Request headers only the gateway sets (lower-case): removed from the client's request in
    /// every spelling.
    pub owned: Vec<HeaderName>,
}

impl Plan {
    /// Starts the plan's background tasks (health checks). Needs a tokio runtime.
    pub fn activate(&self) {
        let mut tasks = match self.tasks.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for g in &self.groups {
            if let Some(t) = g.spawn_health_checks() {
                tasks.push(t);
            }
            tasks.push(g.spawn_idle_reaper());
        }
    }

    /// The route for `host` (lower-case, no port) and the canonical `path`: routes naming the
    /// host first, then routes for any host; the longest prefix matching on a segment boundary
    /// (ignoring ASCII case, see [`prefix_matches`]) wins.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&RoutePlan> {
        let specific = host.and_then(|h| {
            self.routes
                .iter()
                .find(|r| r.hosts.iter().any(|x| x == h) && prefix_matches(&r.prefix, path))
        });
        specific.or_else(|| {
            self.routes
                .iter()
                .find(|r| r.hosts.is_empty() && prefix_matches(&r.prefix, path))
        })
    }
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Relative paths are resolved against this directory (the config file's).
    pub base_dir: PathBuf,
    /// Read TLS files, key files, JWKS and environment secrets, and check them as a start
    /// would (`check` does too; false only in unit tests of what needs no files).
    pub load_secrets: bool,
    /// Make the Redis store (connections come up in the background; needs a tokio runtime).
    /// False for `check`, which must not need Redis to be up.
    pub connect: bool,
}

struct Ctx<'a> {
    src: &'a SourceFile,
    errors: Vec<InputError>,
    opts: &'a BuildOptions,
}

impl Ctx<'_> {
    fn err(&mut self, span: std::ops::Range<usize>, msg: impl Into<String>) {
        let e = error_at(self.src, span, msg);
        self.errors.push(e);
    }

    fn duration(&mut self, v: Option<&SpannedString>, default: Duration) -> Duration {
        match v {
            None => default,
            Some(s) => match parse_duration(s.get_ref()) {
                Ok(d) if d > Duration::ZERO => d,
                Ok(_) => {
                    self.err(s.span(), "duration must be greater than zero");
                    default
                }
                Err(e) => {
                    self.err(s.span(), e);
                    default
                }
            },
        }
    }

    fn cidrs(&mut self, list: Option<&Vec<SpannedString>>) -> Vec<IpNet> {
        let mut out = Vec::new();
        for s in list.into_iter().flatten() {
            match parse_cidr(s.get_ref()) {
                Some(n) => out.push(n),
                None => self.err(
                    s.span(),
                    format!("`{}` is not an IP address or CIDR", s.get_ref()),
                ),
            }
        }
        out
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.opts.base_dir.join(p)
        }
    }

    fn read_file(&mut self, s: &SpannedString) -> Option<Vec<u8>> {
        match std::fs::read(self.path(s.get_ref())) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err(s.span(), format!("cannot read `{}`: {e}", s.get_ref()));
                None
            }
        }
    }

    fn read_env(&mut self, s: &SpannedString) -> Option<Vec<u8>> {
        let name = s.get_ref();
        if let Some(v) = std::env::var_os(name) {
            return Some(v.into_encoded_bytes());
        }
        let file_var = format!("{name}_FILE");
        if let Some(p) = std::env::var_os(&file_var) {
            return match std::fs::read(&p) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.err(
                        s.span(),
                        format!("cannot read the file named by `{file_var}`: {e}"),
                    );
                    None
                }
            };
        }
        self.err(
            s.span(),
            format!("environment variable `{name}` (or `{file_var}`) is not set"),
        );
        None
    }
}

/// A name that goes, quoted, into response headers (`RateLimit`, `RateLimit-Policy`) and
/// metric labels: 1 to 64 of `A-Z a-z 0-9 - _ .` (a quote, a backslash or a control character
/// would break them).
fn label_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Parses an address or CIDR (`10.0.0.0/8`, `::1`, `192.0.2.7`).
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<std::net::IpAddr>().ok().map(IpNet::from)
}

const DEFAULT_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `[redis]`: its settings and replica count, and (when serving) the store, reused from the
/// previous plan when the settings did not change. Without `connect` (`check`) nothing is
/// connected and no store is made.
#[allow(clippy::type_complexity)]
fn redis_plan(
    cx: &mut Ctx<'_>,
    raw: &crate::config::RawConfig,
    previous: Option<&Plan>,
) -> Option<((RedisSettings, u32), Arc<RedisStore>)> {
    let sr = raw.redis.as_ref()?;
    let r = sr.get_ref();
    if r.urls.is_empty() {
        cx.err(sr.span(), "`urls` needs at least one `redis://host:port`");
        return None;
    }
    let tls = r.urls.iter().any(|u| u.get_ref().starts_with("rediss://"));
    for u in &r.urls {
        let v = u.get_ref();
        if !v.starts_with("redis://") && !v.starts_with("rediss://") {
            cx.err(
                u.span(),
                "a Redis URL is `redis://host:port[/db]` (or `rediss://` for TLS)",
            );
        } else if tls && v.starts_with("redis://") {
            cx.err(
                u.span(),
                "every node is `rediss://` when one is: TLS is all or nothing",
            );
        }
    }
    for f in [&r.ca_file, &r.client_cert_file, &r.client_key_file]
        .into_iter()
        .flatten()
    {
        if !tls {
            cx.err(f.span(), "TLS files need `rediss://` URLs");
        }
    }
    let ca_pem = match &r.ca_file {
        Some(f) if cx.opts.load_secrets => cx.read_file(f),
        _ => None,
    };
    let client_pem = match (&r.client_cert_file, &r.client_key_file) {
        (Some(c), Some(k)) if cx.opts.load_secrets => cx.read_file(c).zip(cx.read_file(k)),
        (Some(_), Some(_)) | (None, None) => None,
        (Some(f), None) | (None, Some(f)) => {
            cx.err(
                f.span(),
                "give `client_cert_file` and `client_key_file` together",
            );
            None
        }
    };
    if let Some(pem) = &ca_pem
        && let Some(f) = &r.ca_file
        && !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----")
    {
        cx.err(f.span(), "no PEM certificate in this file");
    }
    let defaults = RedisSettings::default();
    let deadline = cx.duration(r.deadline.as_ref(), defaults.deadline);
    let cool_down = cx.duration(r.breaker_cool_down.as_ref(), defaults.breaker_cool_down);
    let password = match (&r.password_file, &r.password_env) {
        (Some(_), Some(e)) => {
            cx.err(e.span(), "give `password_file` or `password_env`, not both");
            None
        }
        (Some(f), None) if cx.opts.load_secrets => cx.read_file(f),
        (None, Some(e)) if cx.opts.load_secrets => cx.read_env(e),
        _ => None,
    }
    .map(|b| {
        String::from_utf8_lossy(&b)
            .trim_end_matches(['\r', '\n'])
            .to_string()
    });
    let settings = RedisSettings {
        nodes: r.urls.iter().map(|u| u.get_ref().clone()).collect(),
        ca_pem,
        client_pem,
        cluster: r.cluster,
        username: r.username.as_ref().map(|u| u.get_ref().clone()),
        password,
        deadline,
        breaker_failures: r
            .breaker_failures
            .as_ref()
            .map_or(defaults.breaker_failures, |v| *v.get_ref()),
        breaker_cool_down: cool_down,
    };
    let replicas = r.replicas.as_ref().map_or(1, |v| (*v.get_ref()).max(1));
    if !cx.opts.connect {
        return None;
    }
    if let Some((old, store)) = previous.and_then(|p| p.redis.as_ref())
        && old.0 == settings
    {
        return Some(((settings, replicas), Arc::clone(store)));
    }
    match RedisStore::new(&settings) {
        Ok(store) => Some(((settings, replicas), Arc::new(store))),
        Err(e) => {
            cx.err(sr.span(), e);
            None
        }
    }
}

/// Builds the plan. `previous` lends its limiters so rate-limit state survives a reload.
pub fn build(
    parsed: &ParsedConfig,
    opts: &BuildOptions,
    previous: Option<&Plan>,
) -> Result<Plan, Vec<InputError>> {
    let raw = &parsed.raw;
    let mut cx = Ctx {
        src: &parsed.source,
        errors: Vec::new(),
        opts,
    };

    // limits
    let l = &raw.limits;
    let conn = ConnLimits {
        max_header_count: l.max_header_count.as_ref().map_or(100, |v| *v.get_ref()),
        max_header_bytes: l
            .max_header_bytes
            .as_ref()
            .map_or(16 * 1024, |v| *v.get_ref()),
        max_uri_bytes: l.max_uri_bytes.as_ref().map_or(8 * 1024, |v| *v.get_ref()),
        header_read_timeout: cx.duration(l.header_read_timeout.as_ref(), Duration::from_secs(10)),
        idle_timeout: cx.duration(l.idle_timeout.as_ref(), Duration::from_mins(1)),
        handshake_timeout: cx.duration(l.handshake_timeout.as_ref(), Duration::from_secs(10)),
        max_connections_per_ip: l
            .max_connections_per_ip
            .as_ref()
            .map_or(256, |v| *v.get_ref()),
        max_connections: l.max_connections.as_ref().map_or(20_000, |v| *v.get_ref()),
        shutdown_grace: cx.duration(l.shutdown_grace.as_ref(), Duration::from_secs(30)),
    };
    for (v, min, what) in [
        (&l.max_header_count, 1, "max_header_count"),
        (&l.max_header_bytes, 1024, "max_header_bytes"),
        (&l.max_uri_bytes, 16, "max_uri_bytes"),
    ] {
        if let Some(v) = v
            && *v.get_ref() < min
        {
            cx.err(v.span(), format!("{what} must be at least {min}"));
        }
    }

    // listeners
    let mut listeners = Vec::new();
    let mut resolvers = Vec::new();
    if raw.listeners.is_empty() {
        cx.errors.push(InputError {
            path: parsed.source.path.clone(),
            line: None,
            column: None,
            message: "at least one [[listener]] is required".into(),
        });
    }
    for (i, sl) in raw.listeners.iter().enumerate() {
        let rl = sl.get_ref();
        let name = rl
            .name
            .as_ref()
            .map_or_else(|| format!("listener{i}"), |n| n.get_ref().clone());
        let Ok(addr) = rl.listen.get_ref().parse::<SocketAddr>() else {
            cx.err(
                rl.listen.span(),
                "`listen` must be `IP:PORT` (e.g. `0.0.0.0:8443` or `[::]:8443`)",
            );
            continue;
        };
        let h = &rl.http2;
        let h2 = H2Settings {
            enabled: h.enabled.unwrap_or(true),
            max_concurrent_streams: h.max_concurrent_streams.unwrap_or(100),
            max_pending_accept_reset_streams: h.max_pending_accept_reset_streams.unwrap_or(20),
            max_local_error_reset_streams: h.max_local_error_reset_streams.unwrap_or(256),
            max_header_list_size: h.max_header_list_size.unwrap_or(16 * 1024),
        };
        let plain = rl.plain_http.as_ref().is_some_and(|p| *p.get_ref());
        let modes = usize::from(rl.tls.is_some())
            + usize::from(plain)
            + usize::from(rl.redirect_https_port.is_some());
        if modes != 1 {
            cx.err(
                sl.span(),
                "a listener needs exactly one of `tls`, `plain_http = true` or `redirect_https_port`",
            );
            continue;
        }
        let kind = if let Some(p) = &rl.redirect_https_port {
            ListenerKind::Redirect(*p.get_ref())
        } else if plain {
            ListenerKind::Plain
        } else if let Some(t) = &rl.tls {
            match build_tls(&mut cx, t, h2.enabled) {
                Some((cfg, resolver)) => {
                    resolvers.push(resolver);
                    ListenerKind::Tls(cfg)
                }
                None => continue,
            }
        } else {
            continue;
        };
        listeners.push(ListenerPlan {
            name,
            addr,
            kind,
            h2,
        });
    }

    let admin = raw.admin.as_ref().and_then(|a| {
        let s = &a.get_ref().listen;
        if let Ok(addr) = s.get_ref().parse::<SocketAddr>() {
            Some(addr)
        } else {
            cx.err(s.span(), "`listen` must be `IP:PORT`");
            None
        }
    });

    // client address
    let trusted = cx.cidrs(Some(&raw.client_address.trusted_proxies));
    let v6_prefix = match &raw.client_address.ipv6_prefix {
        None => 64,
        Some(p) if *p.get_ref() <= 128 => *p.get_ref(),
        Some(p) => {
            cx.err(p.span(), "ipv6_prefix must be 0..=128");
            64
        }
    };

    // api keys, JWT
    let keys = raw.api_keys.as_ref().and_then(|k| build_keys(&mut cx, k));
    let jwt = raw.jwt.as_ref().and_then(|j| build_jwt(&mut cx, j));

    // rate limits
    let max_keys = match &raw.rate_limiter.max_keys {
        None => 100_000,
        Some(v) if *v.get_ref() >= 16 => *v.get_ref(),
        Some(v) => {
            cx.err(v.span(), "max_keys must be at least 16");
            100_000
        }
    };
    let redis = redis_plan(&mut cx, raw, previous);
    let mut limiters: HashMap<String, Arc<Limiter>> = HashMap::new();
    for srl in &raw.rate_limits {
        let rl = srl.get_ref();
        let name = rl.name.get_ref().clone();
        if !label_name(&name) {
            cx.err(
                rl.name.span(),
                "rate limit names are 1 to 64 of `A-Z a-z 0-9 - _ .`",
            );
            continue;
        }
        if limiters.contains_key(&name) {
            cx.err(
                rl.name.span(),
                format!("duplicate rate limit name `{name}`"),
            );
            continue;
        }
        let key = match rl.key.get_ref().as_str() {
            "ip" => KeyKind::Ip,
            // the consumer: an API key's id or a JWT's consumer claim
            "api_key" | "consumer" => KeyKind::ApiKey,
            "route" => KeyKind::Route,
            other => {
                if let Some(h) = other
                    .strip_prefix("header:")
                    .and_then(|h| HeaderName::from_bytes(h.trim().as_bytes()).ok())
                {
                    KeyKind::Header(h)
                } else {
                    cx.err(
                        rl.key.span(),
                        "`key` must be `ip`, `consumer` (`api_key`), `route` or `header:NAME`",
                    );
                    continue;
                }
            }
        };
        let (count, period) = match parse_rate(rl.rate.get_ref()) {
            Ok(r) => r,
            Err(e) => {
                cx.err(rl.rate.span(), e);
                continue;
            }
        };
        let burst = match &rl.burst {
            None => count,
            Some(b) if *b.get_ref() >= 1 => *b.get_ref(),
            Some(b) => {
                cx.err(b.span(), "burst must be at least 1");
                continue;
            }
        };
        if key == KeyKind::ApiKey && raw.api_keys.is_none() && raw.jwt.is_none() {
            cx.err(
                rl.key.span(),
                "a consumer key needs an [api_keys] or a [jwt] section",
            );
        }
        let spec = LimitSpec {
            name: name.clone(),
            key,
            count,
            period,
            burst,
            dry_run: rl.dry_run,
            consumers: rl
                .consumers
                .as_ref()
                .map(|v| v.iter().map(|s| s.get_ref().clone()).collect()),
            except_consumers: rl
                .except_consumers
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
            max_keys,
        };
        let shared = match rl.store.as_ref().map(|v| v.get_ref().as_str()) {
            None | Some("memory") => None,
            Some("redis") => {
                let on_error = match rl.on_store_error.as_ref().map(|v| v.get_ref().as_str()) {
                    None | Some("local") => OnStoreError::Local,
                    Some("allow") => OnStoreError::Allow,
                    Some("deny") => OnStoreError::Deny,
                    Some(_) => {
                        if let Some(v) = &rl.on_store_error {
                            cx.err(
                                v.span(),
                                "`on_store_error` must be `allow`, `deny` or `local`",
                            );
                        }
                        continue;
                    }
                };
                if raw.redis.is_none() {
                    if let Some(v) = &rl.store {
                        cx.err(v.span(), "`store = \"redis\"` needs a [redis] section");
                    }
                    continue;
                }
                Some(on_error)
            }
            Some(_) => {
                if let Some(v) = &rl.store {
                    cx.err(v.span(), "`store` must be `memory` or `redis`");
                }
                continue;
            }
        };
        // a shared limit keeps its state in Redis whatever happens to this process; the
        // limiter (with its local stand-in) is made again when the Redis store is new
        let reused = previous
            .and_then(|p| p.limiters.get(&name))
            .filter(|l| l.spec == spec && l.shared_on_error() == shared)
            .filter(|l| match (l.store(), &redis) {
                (Store::Memory(_), _) => true,
                (Store::Shared(s), Some((_, r))) => Arc::ptr_eq(&s.redis, r),
                (Store::Shared(_), None) => false,
            })
            .cloned();
        let limiter = reused.unwrap_or_else(|| match (shared, &redis) {
            (Some(on_error), Some((settings, store))) => {
                let local = MemoryStore::new(spec.max_keys);
                Arc::new(Limiter::with_store(
                    spec,
                    Store::Shared(SharedStore {
                        redis: Arc::clone(store),
                        on_error,
                        local,
                        replicas: settings.1,
                        fallbacks: std::sync::atomic::AtomicU64::new(0),
                    }),
                ))
            }
            _ => Arc::new(Limiter::new(spec)),
        });
        limiters.insert(name, limiter);
    }

    let bans = build_bans(&mut cx, raw, redis.as_ref().map(|r| &r.1), previous);

    // upstreams
    let mut groups_by_name: HashMap<String, Arc<UpstreamGroup>> = HashMap::new();
    for (name, su) in &raw.upstreams {
        let u = su.get_ref();
        if u.targets.is_empty() {
            cx.err(su.span(), format!("upstream `{name}` has no targets"));
            continue;
        }
        let mut targets = Vec::new();
        for t in &u.targets {
            match t.get_ref().parse::<http::uri::Authority>() {
                Ok(a) if a.port_u16().is_some() && !t.get_ref().contains('@') => {
                    targets.push(t.get_ref().clone());
                }
                _ => cx.err(t.span(), "target must be `host:port`"),
            }
        }
        let balance = match u.balance.as_ref().map(|b| b.get_ref().as_str()) {
            None | Some("round_robin") => Balance::RoundRobin,
            Some("least_connections") => Balance::LeastConnections,
            Some(_) => {
                if let Some(b) = &u.balance {
                    cx.err(
                        b.span(),
                        "`balance` must be `round_robin` or `least_connections`",
                    );
                }
                Balance::RoundRobin
            }
        };
        let health = u.health_check.as_ref().map(|h| {
            let h = h.get_ref();
            if !h.path.get_ref().starts_with('/') {
                cx.err(h.path.span(), "health-check path must start with `/`");
            }
            HealthCheck {
                path: h.path.get_ref().clone(),
                interval: cx.duration(h.interval.as_ref(), Duration::from_secs(5)),
                timeout: cx.duration(h.timeout.as_ref(), Duration::from_secs(2)),
                healthy_threshold: h.healthy_threshold.unwrap_or(2).max(1),
                unhealthy_threshold: h.unhealthy_threshold.unwrap_or(3).max(1),
            }
        });
        let budget = match &u.retry_budget_percent {
            None => 20,
            Some(v) if *v.get_ref() <= 100 => *v.get_ref(),
            Some(v) => {
                cx.err(v.span(), "retry_budget_percent must be 0..=100");
                20
            }
        };
        let spec = GroupSpec {
            name: name.clone(),
            targets,
            balance,
            connect_timeout: cx.duration(u.connect_timeout.as_ref(), Duration::from_secs(2)),
            response_timeout: cx.duration(u.response_timeout.as_ref(), Duration::from_secs(30)),
            total_timeout: cx.duration(u.total_timeout.as_ref(), Duration::from_mins(1)),
            health,
            eject_after: u.eject_after_failures.unwrap_or(3),
            eject_for: cx.duration(u.eject_for.as_ref(), Duration::from_secs(10)),
            retries: u.retries.unwrap_or(1).min(5),
            retry_budget_percent: budget,
        };
        groups_by_name.insert(name.clone(), Arc::new(UpstreamGroup::new(spec)));
    }

    // routes
    let d = &raw.defaults;
    let mut routes = Vec::new();
    let mut names = std::collections::HashSet::new();
    for sr in &raw.routes {
        let r = sr.get_ref();
        if !names.insert(r.name.get_ref().clone()) {
            cx.err(
                r.name.span(),
                format!("duplicate route name `{}`", r.name.get_ref()),
            );
        }
        let Some(group) = groups_by_name.get(r.upstream.get_ref()).cloned() else {
            cx.err(
                r.upstream.span(),
                format!("no [upstream.{}] is defined", r.upstream.get_ref()),
            );
            continue;
        };
        let prefix = r
            .path_prefix
            .as_ref()
            .map_or_else(|| "/".to_string(), |p| p.get_ref().clone());
        if let Some(p) = &r.path_prefix {
            match canonical_path(&prefix, &PathRules::default()) {
                Err(e) => cx.err(p.span(), format!("path_prefix: {}", e.message())),
                Ok(c) if c != prefix => cx.err(
                    p.span(),
                    format!("path_prefix is not canonical; write it as `{c}`"),
                ),
                Ok(_) => {}
            }
        }
        let policy = RawPolicy {
            allow: r.allow.clone().or_else(|| d.allow.clone()),
            deny: r.deny.clone().or_else(|| d.deny.clone()),
            methods: r.methods.clone().or_else(|| d.methods.clone()),
            max_body_bytes: r
                .max_body_bytes
                .clone()
                .or_else(|| d.max_body_bytes.clone()),
            body_idle_timeout: r
                .body_idle_timeout
                .clone()
                .or_else(|| d.body_idle_timeout.clone()),
            rate_limits: r.rate_limits.clone().or_else(|| d.rate_limits.clone()),
            auth: r.auth.clone().or_else(|| d.auth.clone()),
            header_underscores: r
                .header_underscores
                .clone()
                .or_else(|| d.header_underscores.clone()),
            jwt_scopes: r.jwt_scopes.clone().or_else(|| d.jwt_scopes.clone()),
            jwt_claims: r.jwt_claims.clone().or_else(|| d.jwt_claims.clone()),
            forward_token: r.forward_token.or(d.forward_token),
            websocket: r.websocket.clone().or_else(|| d.websocket.clone()),
            websocket_idle_timeout: r
                .websocket_idle_timeout
                .clone()
                .or_else(|| d.websocket_idle_timeout.clone()),
        };
        let underscores = match policy.header_underscores.as_ref() {
            None => Underscores::Drop,
            Some(v) => match v.get_ref().as_str() {
                "drop" => Underscores::Drop,
                "reject" => Underscores::Reject,
                "allow" => Underscores::Allow,
                _ => {
                    cx.err(
                        v.span(),
                        "`header_underscores` must be `drop`, `reject` or `allow`",
                    );
                    Underscores::Drop
                }
            },
        };
        let allow = cx.cidrs(policy.allow.as_ref());
        let deny = cx.cidrs(policy.deny.as_ref());
        let methods = match &policy.methods {
            None => DEFAULT_METHODS
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .collect(),
            Some(list) => {
                let mut v = Vec::new();
                for m in list {
                    match Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()) {
                        Ok(meth) if meth != Method::CONNECT => v.push(meth),
                        _ => cx.err(
                            m.span(),
                            format!("`{}` is not an allowed method", m.get_ref()),
                        ),
                    }
                }
                v
            }
        };
        let mut limits = Vec::new();
        for n in policy.rate_limits.iter().flatten() {
            match limiters.get(n.get_ref()) {
                Some(l) => limits.push(l.clone()),
                None => cx.err(
                    n.span(),
                    format!("no [[rate_limit]] named `{}`", n.get_ref()),
                ),
            }
        }
        let auth = match policy.auth.as_ref().map(|a| a.get_ref().as_str()) {
            None | Some("none") => RouteAuth::None,
            Some("api_key") => {
                if keys.is_none()
                    && raw.api_keys.is_none()
                    && let Some(a) = &policy.auth
                {
                    cx.err(a.span(), "`auth = \"api_key\"` needs an [api_keys] section");
                }
                RouteAuth::ApiKey
            }
            Some("jwt") => {
                if raw.jwt.is_none()
                    && let Some(a) = &policy.auth
                {
                    cx.err(a.span(), "`auth = \"jwt\"` needs a [jwt] section");
                }
                RouteAuth::Jwt(JwtRoute {
                    claims: RouteClaims {
                        scopes: policy
                            .jwt_scopes
                            .iter()
                            .flatten()
                            .map(|s| s.get_ref().clone())
                            .collect(),
                        claims: policy
                            .jwt_claims
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                            .collect(),
                    },
                    forward_token: policy.forward_token.unwrap_or(false),
                })
            }
            Some(_) => {
                if let Some(a) = &policy.auth {
                    cx.err(a.span(), "`auth` must be `api_key`, `jwt` or `none`");
                }
                RouteAuth::None
            }
        };
        if !matches!(auth, RouteAuth::Jwt(_)) {
            let stray = policy
                .jwt_scopes
                .as_ref()
                .and_then(|v| v.first().map(Spanned::span))
                .or_else(|| {
                    policy
                        .jwt_claims
                        .as_ref()
                        .and_then(|m| m.values().next().map(Spanned::span))
                });
            if let Some(span) = stray {
                cx.err(span, "`jwt_scopes` and `jwt_claims` need `auth = \"jwt\"`");
            }
        }
        if !auth.required() && r.private.as_ref().is_some_and(|p| *p.get_ref()) {
            cx.err(
                r.name.span(),
                "route is marked `private` but has no authentication (set `auth = \"api_key\"` or `\"jwt\"`)",
            );
        }
        routes.push(RoutePlan {
            name: r.name.get_ref().clone(),
            hosts: r
                .hosts
                .iter()
                .map(|h| h.get_ref().to_ascii_lowercase())
                .collect(),
            prefix,
            group,
            allow,
            deny,
            methods,
            max_body: policy
                .max_body_bytes
                .as_ref()
                .map_or(1024 * 1024, |v| *v.get_ref()),
            body_idle: cx.duration(policy.body_idle_timeout.as_ref(), Duration::from_secs(10)),
            limits,
            auth,
            underscores,
            websocket: policy.websocket.as_ref().is_some_and(|w| *w.get_ref()),
            websocket_idle: cx.duration(
                policy.websocket_idle_timeout.as_ref(),
                DEFAULT_WEBSOCKET_IDLE,
            ),
        });
    }
    routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.trim_end_matches('/').len()));

    // security headers
    let sh = &raw.security_headers;
    let hsts_age = sh
        .hsts_max_age
        .as_ref()
        .map_or(63_072_000, |v| *v.get_ref());
    let hsts = (hsts_age > 0).then(|| {
        let v = if sh.hsts_include_subdomains.unwrap_or(true) {
            format!("max-age={hsts_age}; includeSubDomains")
        } else {
            format!("max-age={hsts_age}")
        };
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("max-age=63072000"))
    });
    let hv = |v: Option<&String>, d: &'static str| {
        v.and_then(|s| HeaderValue::from_str(s).ok())
            .unwrap_or(HeaderValue::from_static(d))
    };
    let security = Security {
        hsts,
        frame_options: hv(sh.frame_options.as_ref(), "DENY"),
        referrer_policy: hv(sh.referrer_policy.as_ref(), "no-referrer"),
    };

    let paths = build_paths(&mut cx, &raw.paths);
    let mut owned: Vec<HeaderName> = OWNED_HEADERS
        .iter()
        .map(|n| HeaderName::from_static(n))
        .collect();
    if let Some(k) = &keys {
        owned.push(k.consumer_header.clone());
    }
    if let Some(j) = &jwt {
        owned.push(j.consumer_header.clone());
    }
    for h in &raw.headers.owned {
        match HeaderName::from_bytes(h.get_ref().replace('_', "-").as_bytes()) {
            Ok(n) => owned.push(n),
            Err(_) => cx.err(h.span(), "not a header name"),
        }
    }
    owned.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    owned.dedup();

    let log_target = match raw.access_log.target.as_ref().map(|t| t.get_ref().as_str()) {
        None | Some("stdout") => access_log::Target::Stdout,
        Some("stderr") => access_log::Target::Stderr,
        Some("off") => access_log::Target::Off,
        Some(p) => access_log::Target::File(cx.path(p)),
    };

    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let mut groups: Vec<Arc<UpstreamGroup>> = groups_by_name.into_values().collect();
    groups.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    Ok(Plan {
        listeners,
        admin,
        conn,
        routes,
        groups,
        trusted,
        v6_prefix,
        keys,
        jwt,
        bans,
        limiters,
        redis,
        security,
        log_target,
        tasks: Tasks::default(),
        certs: resolvers,
        paths,
        owned,
    })
}

fn build_paths(cx: &mut Ctx<'_>, raw: &crate::config::RawPaths) -> PathRules {
    let mut treatment =
        |v: Option<&SpannedString>, key: &str| match v.map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "reject")) => Treatment::Reject,
            Some((_, "decode")) => Treatment::Decode,
            Some((_, "keep")) => Treatment::Keep,
            Some((s, _)) => {
                cx.err(
                    s.span(),
                    format!("`{key}` must be `reject`, `decode` or `keep`"),
                );
                Treatment::Reject
            }
        };
    let escaped_slashes = treatment(raw.escaped_slashes.as_ref(), "escaped_slashes");
    let backslashes = treatment(raw.backslashes.as_ref(), "backslashes");
    let keep_semicolons = match raw.semicolons.as_ref().map(|s| (s, s.get_ref().as_str())) {
        None | Some((_, "reject")) => false,
        Some((_, "keep")) => true,
        Some((s, _)) => {
            cx.err(s.span(), "`semicolons` must be `reject` or `keep`");
            false
        }
    };
    PathRules {
        escaped_slashes,
        backslashes,
        keep_semicolons,
    }
}

fn build_tls(
    cx: &mut Ctx<'_>,
    t: &Spanned<crate::config::RawTls>,
    h2: bool,
) -> Option<(Arc<ServerConfig>, Arc<tls::SniResolver>)> {
    let rt = t.get_ref();
    // zero is allowed here: it turns the file watch off
    let watch = match rt
        .watch_interval
        .as_ref()
        .map(|s| (s, parse_duration(s.get_ref())))
    {
        None => Duration::from_secs(5),
        Some((_, Ok(d))) => d,
        Some((s, Err(e))) => {
            cx.err(s.span(), e);
            Duration::from_secs(5)
        }
    };
    let tls13_only = match rt.min_version.as_ref().map(|v| v.get_ref().as_str()) {
        None | Some("1.2") => false,
        Some("1.3") => true,
        Some("1.0" | "1.1") => {
            // refused by `check` as by a start (and reported as finding G002 without it)
            if let Some(v) = &rt.min_version {
                cx.err(
                    v.span(),
                    "TLS below 1.2 is not supported; use \"1.2\" or \"1.3\"",
                );
            }
            false
        }
        Some(_) => {
            if let Some(v) = &rt.min_version {
                cx.err(v.span(), "`min_version` must be \"1.2\" or \"1.3\"");
            }
            false
        }
    };
    if rt.certificates.is_empty() {
        cx.err(
            t.span(),
            "`tls.certificates` needs at least one certificate",
        );
        return None;
    }
    let mut certs = Vec::new();
    let mut ok = true;
    for sc in &rt.certificates {
        let c = sc.get_ref();
        let names: Vec<String> = c
            .server_names
            .iter()
            .map(|n| n.get_ref().to_ascii_lowercase())
            .collect();
        let chain_src = match (&c.cert_file, &c.cert_env) {
            (Some(f), None) => Some((f, true)),
            (None, Some(e)) => Some((e, false)),
            _ => {
                cx.err(
                    sc.span(),
                    "a certificate needs exactly one of `cert_file` or `cert_env`",
                );
                None
            }
        };
        let key_src = match (&c.key_file, &c.key_env) {
            (Some(f), None) => Some((f, true)),
            (None, Some(e)) => Some((e, false)),
            _ => {
                cx.err(
                    sc.span(),
                    "a certificate needs exactly one of `key_file` or `key_env`",
                );
                None
            }
        };
        let (Some((cs, cfile)), Some((ks, kfile))) = (chain_src, key_src) else {
            ok = false;
            continue;
        };
        if !cx.opts.load_secrets {
            continue;
        }
        let chain = if cfile {
            cx.read_file(cs)
        } else {
            cx.read_env(cs)
        };
        let key = if kfile {
            cx.read_file(ks)
        } else {
            cx.read_env(ks)
        };
        let (Some(chain), Some(key)) = (chain, key) else {
            ok = false;
            continue;
        };
        let files = (cfile && kfile).then(|| (cx.path(cs.get_ref()), cx.path(ks.get_ref())));
        match tls::certified_key(&chain, &key) {
            Ok(k) => certs.push(LoadedCert {
                names,
                key: k,
                files,
            }),
            Err(e) => {
                cx.err(sc.span(), e);
                ok = false;
            }
        }
    }
    if !ok || !cx.opts.load_secrets {
        return None;
    }
    match tls::server_config(certs, tls13_only, h2, watch) {
        Ok(c) => Some(c),
        Err(e) => {
            cx.err(t.span(), e);
            None
        }
    }
}

/// A header name from the config, lower-cased; `default` when not given.
fn header_name(cx: &mut Ctx<'_>, v: Option<&SpannedString>, default: &str) -> Option<HeaderName> {
    let name = v
        .map_or(default, |h| h.get_ref().as_str())
        .to_ascii_lowercase();
    let parsed = HeaderName::from_bytes(name.as_bytes()).ok();
    if parsed.is_none()
        && let Some(h) = v
    {
        cx.err(h.span(), "not a valid header name");
    }
    parsed
}

/// `[jwt]`: exactly one key source, read (and checked) whenever secrets are loaded.
fn build_jwt(cx: &mut Ctx<'_>, j: &Spanned<crate::config::RawJwt>) -> Option<JwtAuth> {
    let rj = j.get_ref();
    let consumer_header = header_name(cx, rj.consumer_header.as_ref(), "x-consumer-id")?;
    let leeway = match &rj.leeway {
        None => Duration::from_secs(30),
        Some(s) => match parse_duration(s.get_ref()) {
            Ok(d) if d <= Duration::from_mins(5) => d,
            Ok(_) => {
                cx.err(s.span(), "leeway is at most `5m`");
                return None;
            }
            Err(e) => {
                cx.err(s.span(), e);
                return None;
            }
        },
    };
    let settings = JwtSettings {
        issuers: rj.issuers.iter().map(|s| s.get_ref().clone()).collect(),
        audiences: rj.audiences.iter().map(|s| s.get_ref().clone()).collect(),
        leeway: leeway.as_secs(),
        consumer_claim: rj
            .consumer_claim
            .as_ref()
            .map_or_else(|| "sub".to_string(), |c| c.get_ref().clone()),
    };
    let mut ok = true;
    for (list, what) in [(&rj.issuers, "issuers"), (&rj.audiences, "audiences")] {
        if list.is_empty() {
            cx.err(j.span(), format!("[jwt] needs `{what}` (at least one)"));
            ok = false;
        }
        for v in list.iter().filter(|v| v.get_ref().is_empty()) {
            cx.err(v.span(), "must not be empty");
            ok = false;
        }
    }
    let sources = [
        (&rj.jwks_file, 0_u8),
        (&rj.public_key_file, 1),
        (&rj.hs256_secret_file, 2),
    ];
    let given: Vec<_> = sources
        .iter()
        .filter_map(|(f, k)| f.as_ref().map(|f| (f, *k)))
        .collect();
    let [(file, kind)] = given.as_slice() else {
        cx.err(
            j.span(),
            "[jwt] needs exactly one of `jwks_file`, `public_key_file` or `hs256_secret_file`",
        );
        return None;
    };
    if !ok {
        return None;
    }
    let verifier = if cx.opts.load_secrets {
        let bytes = cx.read_file(file)?;
        let made = match kind {
            0 => Verifier::from_jwks(&bytes, settings),
            1 => Verifier::from_pem(&bytes, settings),
            _ => Verifier::from_hs256_secret(trim_newline(&bytes), settings),
        };
        match made {
            Ok(v) => v,
            Err(e) => {
                cx.err(file.span(), format!("`{}`: {e}", file.get_ref()));
                return None;
            }
        }
    } else {
        // `check` without secrets: a verifier that accepts nothing, never served
        Verifier::from_hs256_secret(&[0; 32], settings).ok()?
    };
    Some(JwtAuth {
        verifier,
        consumer_header,
    })
}

/// A secret file's content without its final line break.
fn trim_newline(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// `[[ban]]` rules: shared through Redis when `[redis]` is configured. The ban list is the
/// previous plan's when the rules and the store did not change, so a reload lifts no ban.
fn build_bans(
    cx: &mut Ctx<'_>,
    raw: &crate::config::RawConfig,
    redis: Option<&Arc<RedisStore>>,
    previous: Option<&Plan>,
) -> Option<Arc<Bans>> {
    if raw.bans.is_empty() {
        return None;
    }
    let mut rules = Vec::new();
    let mut names = std::collections::HashSet::new();
    for sb in &raw.bans {
        let b = sb.get_ref();
        let name = b.name.get_ref().clone();
        if !label_name(&name) {
            cx.err(
                b.name.span(),
                "ban names are 1 to 64 of `A-Z a-z 0-9 - _ .`",
            );
            continue;
        }
        if !names.insert(name.clone()) {
            cx.err(b.name.span(), format!("duplicate ban name `{name}`"));
            continue;
        }
        let mut offences = Vec::new();
        for o in &b.offences {
            match o.get_ref().as_str() {
                "auth_failure" => offences.push(Offence::AuthFailure),
                "rate_limited" => offences.push(Offence::RateLimited),
                code => match code.parse::<u16>() {
                    Ok(c) if (400..=599).contains(&c) => offences.push(Offence::Status(c)),
                    _ => cx.err(
                        o.span(),
                        "an offence is `auth_failure`, `rate_limited` or a status code 400..=599 (`\"404\"`)",
                    ),
                },
            }
        }
        if b.offences.is_empty() {
            cx.err(b.name.span(), "`offences` needs at least one entry");
        }
        if *b.threshold.get_ref() == 0 {
            cx.err(b.threshold.span(), "threshold must be at least 1");
        }
        let window = cx.duration(Some(&b.window), Duration::from_mins(1));
        let ban_for = cx.duration(Some(&b.ban_for), Duration::from_mins(10));
        rules.push(BanRule {
            name,
            offences,
            threshold: *b.threshold.get_ref(),
            window,
            ban_for,
        });
    }
    if let Some(old) = previous.and_then(|p| p.bans.as_ref())
        && old.rules() == rules.as_slice()
        && match (old.redis(), redis) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    {
        return Some(Arc::clone(old));
    }
    Some(Arc::new(Bans::new(rules, redis.cloned(), "moat:")))
}

fn build_keys(cx: &mut Ctx<'_>, k: &Spanned<crate::config::RawApiKeys>) -> Option<KeyAuth> {
    let rk = k.get_ref();
    let header_name = rk
        .header
        .as_ref()
        .map_or("x-api-key", |h| h.get_ref().as_str())
        .to_ascii_lowercase();
    let Ok(header) = HeaderName::from_bytes(header_name.as_bytes()) else {
        if let Some(h) = &rk.header {
            cx.err(h.span(), "not a valid header name");
        }
        return None;
    };
    let Ok(consumer_header) = HeaderName::from_bytes(
        rk.consumer_header
            .as_ref()
            .map_or("x-consumer-id", |h| h.get_ref().as_str())
            .to_ascii_lowercase()
            .as_bytes(),
    ) else {
        if let Some(h) = &rk.consumer_header {
            cx.err(h.span(), "not a valid header name");
        }
        return None;
    };
    let source = match (&rk.file, &rk.env) {
        (Some(f), None) => (f, true),
        (None, Some(e)) => (e, false),
        _ => {
            cx.err(k.span(), "[api_keys] needs exactly one of `file` or `env`");
            return None;
        }
    };
    let keys = if cx.opts.load_secrets {
        let text = if source.1 {
            cx.read_file(source.0)?
        } else {
            cx.read_env(source.0)?
        };
        let mut text = String::from_utf8_lossy(&text).into_owned();
        if !source.1 {
            // an environment variable may list entries separated by commas
            text = text.replace(',', "\n");
        }
        match ApiKeys::parse(&text) {
            Ok(k) if !k.is_empty() => k,
            Ok(_) => {
                cx.err(source.0.span(), "no API keys found");
                return None;
            }
            Err((line, msg)) => {
                cx.err(source.0.span(), format!("key list line {line}: {msg}"));
                return None;
            }
        }
    } else {
        ApiKeys::default()
    };
    Some(KeyAuth {
        keys,
        bearer: header == http::header::AUTHORIZATION,
        header,
        query: rk.query.as_ref().map(|q| q.get_ref().clone()),
        consumer_header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        assert!(prefix_matches("/", "/x"));
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/api/v1"));
        assert!(prefix_matches("/api/", "/api/v1"));
        assert!(!prefix_matches("/api", "/apix"));
    }

    #[test]
    fn every_mistake_is_reported_with_its_location() {
        let text = r#"
[[listener]]
listen = "127.0.0.1:0"
plain_http = true

[[rate_limit]]
name = "a"
key = "elbow"
rate = "10/fortnight"

[upstream.api]
targets = ["nohost"]
connect_timeout = "soon"

[[route]]
name = "r"
upstream = "missing"
"#;
        let parsed = crate::config::parse_str("g.toml", text).unwrap();
        let opts = BuildOptions {
            base_dir: ".".into(),
            load_secrets: true,
            connect: false,
        };
        let errs = build(&parsed, &opts, None).unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().any(|e| e.starts_with("g.toml:8:7:")),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(|e| e.starts_with("g.toml:12:12:")),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(|e| e.starts_with("g.toml:13:19:")),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(|e| e.starts_with("g.toml:17:12:")),
            "{shown:#?}"
        );
    }

    #[test]
    fn websocket_settings_merge_from_defaults_and_bad_values_are_located() {
        let text = "[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n[defaults]\nwebsocket = true\nwebsocket_idle_timeout = \"5s\"\n\n[upstream.api]\ntargets = [\"127.0.0.1:9\"]\n\n[[route]]\nname = \"inherits\"\nupstream = \"api\"\n\n[[route]]\nname = \"own\"\npath_prefix = \"/own\"\nupstream = \"api\"\nwebsocket = false\nwebsocket_idle_timeout = \"2m\"\n";
        let parsed = crate::config::parse_str("g.toml", text).unwrap();
        let opts = BuildOptions {
            base_dir: ".".into(),
            load_secrets: true,
            connect: false,
        };
        let plan = build(&parsed, &opts, None).unwrap();
        let got: Vec<(&str, bool, Duration)> = plan
            .routes
            .iter()
            .map(|r| (r.name.as_str(), r.websocket, r.websocket_idle))
            .collect();
        assert_eq!(
            got,
            [
                ("own", false, Duration::from_mins(2)),
                ("inherits", true, Duration::from_secs(5)),
            ]
        );
        let plain = crate::config::parse_str(
            "g.toml",
            "[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n[upstream.api]\ntargets = [\"127.0.0.1:9\"]\n\n[[route]]\nname = \"r\"\nupstream = \"api\"\n",
        )
        .unwrap();
        let plan = build(&plain, &opts, None).unwrap();
        assert_eq!(
            (plan.routes[0].websocket, plan.routes[0].websocket_idle),
            (false, DEFAULT_WEBSOCKET_IDLE),
            "off by default"
        );
        let bad = text.replace("\"2m\"", "\"0s\"");
        let parsed = crate::config::parse_str("g.toml", &bad).unwrap();
        let shown: Vec<String> = build(&parsed, &opts, None)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["g.toml:21:26: duration must be greater than zero"],
            "{shown:#?}"
        );
        let e = crate::config::parse_str(
            "g.toml",
            &text.replace("websocket = false", "websocket = \"yes\""),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(20), "{e}");
    }

    #[test]
    fn rate_limit_names_that_would_break_headers_are_refused() {
        for (name, ok) in [
            ("per-key_1.v2", true),
            ("a\\\"b", false),
            ("with space", false),
            ("", false),
        ] {
            let text = format!(
                "[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n[[rate_limit]]\nname = \"{name}\"\nkey = \"ip\"\nrate = \"10/s\"\n"
            );
            let parsed = crate::config::parse_str("g.toml", &text).unwrap();
            let opts = BuildOptions {
                base_dir: ".".into(),
                load_secrets: true,
                connect: false,
            };
            let shown: Vec<String> = match build(&parsed, &opts, None) {
                Ok(_) => Vec::new(),
                Err(errs) => errs.iter().map(ToString::to_string).collect(),
            };
            let refused = shown
                .iter()
                .any(|e| e.starts_with("g.toml:6:8:") && e.contains("rate limit names"));
            assert_eq!(refused, !ok, "{name:?}: {shown:#?}");
        }
    }

    #[test]
    fn shared_limits_need_a_redis_section_and_a_known_policy() {
        let build_with = |extra: &str, load_secrets: bool| {
            let text =
                format!("[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n{extra}");
            let parsed = crate::config::parse_str("g.toml", &text).unwrap();
            let opts = BuildOptions {
                base_dir: ".".into(),
                load_secrets,
                connect: false,
            };
            build(&parsed, &opts, None)
                .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        let limit =
            "[[rate_limit]]\nname = \"s\"\nkey = \"ip\"\nrate = \"10/s\"\nstore = \"redis\"\n";
        let e = build_with(limit, false).unwrap_err();
        assert!(
            e.iter().any(|e| e.contains("needs a [redis] section")),
            "{e:#?}"
        );
        let bad = format!(
            "{limit}on_store_error = \"shrug\"\n[redis]\nurls = [\"redis://127.0.0.1:1\"]\n"
        );
        let e = build_with(&bad, false).unwrap_err();
        assert!(
            e.iter().any(|e| e.contains("`allow`, `deny` or `local`")),
            "{e:#?}"
        );
        let e = build_with("[redis]\nurls = [\"http://x\"]\n", false).unwrap_err();
        assert!(e.iter().any(|e| e.contains("redis://host:port")), "{e:#?}");
        let e = build_with(
            "[redis]\nurls = [\"rediss://x:6380\", \"redis://y:6379\"]\n",
            false,
        )
        .unwrap_err();
        assert!(e.iter().any(|e| e.contains("all or nothing")), "{e:#?}");
        let e = build_with(
            "[redis]\nurls = [\"redis://x:6379\"]\nca_file = \"ca.pem\"\n",
            false,
        )
        .unwrap_err();
        assert!(e.iter().any(|e| e.contains("need `rediss://`")), "{e:#?}");
        // `check` builds without connecting: the limit is planned in memory
        let ok = format!("{limit}[redis]\nurls = [\"redis://127.0.0.1:1\"]\nreplicas = 2\n");
        let plan = build_with(&ok, false).unwrap();
        assert!(plan.redis.is_none());
        assert_eq!(plan.limiters["s"].shared_on_error(), None);
    }
}
