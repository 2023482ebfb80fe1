//! Listeners, connections, the admin endpoint, reload and drain.

use crate::access_log::AccessLog;
use crate::access_log::Record;
use crate::body::{ActiveGuard, ResponseBody};
use crate::config;
use crate::guard::{GuardedIo, ParkSlot, ParkedIo, ReadReady, RejectHook, Unparked};
use crate::plan::{self, BuildOptions, ListenerKind, Plan};
use crate::proxy;
use crate::state::{ConnInfo, LiveGuard, Shared};
use crate::util::{Body, full};
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use moat_diagnostics::InputError;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
    config_path: PathBuf,
    listen_spec: Vec<(String, SocketAddr)>,
    admin_spec: Option<SocketAddr>,
    addrs: Vec<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn build_plan(path: &Path, previous: Option<&Plan>) -> Result<Plan, Vec<InputError>> {
    let parsed = config::load(path).map_err(|e| vec![e])?;
    let base_dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let opts = BuildOptions {
        base_dir,
        load_secrets: true,
        connect: true,
    };
    plan::build(&parsed, &opts, previous)
}

fn io_error(path: &Path, msg: String) -> Vec<InputError> {
    vec![InputError {
        path: path.display().to_string(),
        line: None,
        column: None,
        message: msg,
    }]
}

/// Writes one JSON line about the gateway itself to stderr.
pub fn event(level: &str, message: &str) {
    let line = serde_json::json!({
        "@timestamp": crate::util::rfc3339_now(),
        "log.level": level,
        "message": message,
    });
    eprintln!("{line}");
}

impl Gateway {
    /// Loads `config_path`, binds every listener and starts serving. Must run inside a tokio
    /// runtime with the time and I/O drivers.
    pub async fn start(config_path: &Path) -> Result<Self, Vec<InputError>> {
        let plan = build_plan(config_path, None)?;
        let mut bound = Vec::new();
        for (i, l) in plan.listeners.iter().enumerate() {
            let tcp = TcpListener::bind(l.addr)
                .await
                .map_err(|e| io_error(config_path, format!("cannot listen on {}: {e}", l.addr)))?;
            bound.push((i, tcp));
        }
        let admin = match plan.admin {
            Some(a) => Some(TcpListener::bind(a).await.map_err(|e| {
                io_error(config_path, format!("cannot listen on {a} (admin): {e}"))
            })?),
            None => None,
        };
        let log = AccessLog::start(&plan.log_target)
            .map_err(|e| io_error(config_path, format!("cannot open the access log: {e}")))?;
        plan.activate();
        let listen_spec = plan
            .listeners
            .iter()
            .map(|l| (l.name.clone(), l.addr))
            .collect();
        let admin_spec = plan.admin;
        let shared = Arc::new(Shared::new(plan, log));
        let (tx, rx) = watch::channel(false);
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for (i, tcp) in bound {
            addrs.push(
                tcp.local_addr()
                    .map_err(|e| io_error(config_path, e.to_string()))?,
            );
            tasks.push(tokio::spawn(accept_loop(
                shared.clone(),
                i,
                tcp,
                rx.clone(),
            )));
        }
        tasks.push(tokio::spawn(cert_watch_loop(shared.clone(), rx.clone())));
        let admin_addr = match admin {
            Some(tcp) => {
                let a = tcp
                    .local_addr()
                    .map_err(|e| io_error(config_path, e.to_string()))?;
                tasks.push(tokio::spawn(admin_loop(shared.clone(), tcp, rx.clone())));
                Some(a)
            }
            None => None,
        };
        Ok(Self {
            shared,
            config_path: config_path.to_path_buf(),
            listen_spec,
            admin_spec,
            addrs,
            admin_addr,
            shutdown: tx,
            tasks,
        })
    }

    /// Bound addresses of the public listeners, in config order.
    pub fn listener_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Bound address of the admin listener.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The metrics text, as `/metrics` serves it.
    pub fn metrics_text(&self) -> String {
        render_metrics(&self.shared)
    }

    /// Re-reads the config file and swaps the plan atomically. A bad config (or one that changes
    /// listener addresses, which needs a restart) is rejected and the old plan keeps serving.
    /// Certificates are re-read too; open connections are kept.
    pub fn reload(&self) -> Result<(), Vec<InputError>> {
        let old = self.shared.current_plan();
        let result = build_plan(&self.config_path, Some(&old)).and_then(|new| {
            let spec: Vec<(String, SocketAddr)> = new
                .listeners
                .iter()
                .map(|l| (l.name.clone(), l.addr))
                .collect();
            if spec != self.listen_spec || new.admin != self.admin_spec {
                return Err(io_error(
                    &self.config_path,
                    "listener addresses changed; restart the gateway to apply that".into(),
                ));
            }
            Ok(new)
        });
        match result {
            Ok(new) => {
                new.activate();
                self.shared.swap(Arc::new(new));
                self.shared
                    .metrics
                    .reloads_ok
                    .fetch_add(1, Ordering::Relaxed);
                event("info", "configuration reloaded");
                Ok(())
            }
            Err(errs) => {
                self.shared
                    .metrics
                    .reloads_failed
                    .fetch_add(1, Ordering::Relaxed);
                for e in &errs {
                    event(
                        "error",
                        &format!("reload rejected, old configuration kept: {e}"),
                    );
                }
                Err(errs)
            }
        }
    }

    /// Stops accepting, lets in-flight requests finish up to the configured grace period, then
    /// stops. Open WebSocket tunnels are closed just before the grace runs out (a tenth of it,
    /// at most 250 ms, before), so none holds the process past it. Returns the number of
    /// connections still open at the deadline.
    pub async fn shutdown(self) -> usize {
        let grace = self.shared.current_plan().conn.shutdown_grace;
        self.shutdown_within(grace).await
    }

    /// As [`Gateway::shutdown`] with an explicit deadline.
    pub async fn shutdown_within(self, grace: Duration) -> usize {
        self.shared.start_draining();
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        let tunnels_by = deadline - (grace / 10).min(Duration::from_millis(250));
        if self.shared.idle_by(tunnels_by).await > 0 {
            self.shared.close_tunnels();
            self.shared.idle_by(deadline).await;
        }
        for t in &self.tasks {
            t.abort();
        }
        self.shared.log.close();
        self.shared.live_connections()
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    idx: usize,
    tcp: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = tcp.accept() => match r {
                Ok((stream, peer)) => {
                    tokio::spawn(serve_conn(shared.clone(), idx, stream, peer, shutdown.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            () = stopped(&mut shutdown) => return,
        }
    }
}

async fn serve_conn(
    shared: Arc<Shared>,
    idx: usize,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    // What this task holds for the connection's whole life is kept small (an idle keep-alive
    // connection costs the task, the TLS session and the guard; see `PARK_AFTER`): the
    // handshake and the TLS session are boxed, and the listener's settings are copied out.
    let _ = stream.set_nodelay(true);
    let plan = shared.current_plan();
    let Some((kind, h2_settings)) = plan
        .listeners
        .get(idx)
        .map(|l| (l.kind.clone(), l.h2.clone()))
    else {
        return;
    };
    let limits = plan.conn.clone();
    drop(plan);
    let ip = crate::client_addr::canonical(peer.ip());
    let Some(live) = LiveGuard::new(
        &shared,
        ip,
        limits.max_connections_per_ip,
        limits.max_connections,
    ) else {
        return;
    };
    let active = Arc::new(AtomicUsize::new(0));
    match kind {
        ListenerKind::Tls(cfg) => {
            let Some(tls) = tls_handshake(cfg, stream, limits.handshake_timeout).await else {
                shared
                    .metrics
                    .tls_handshake_errors
                    .fetch_add(1, Ordering::Relaxed);
                return;
            };
            let (_, session) = tls.get_ref();
            let h2 = session.alpn_protocol() == Some(b"h2");
            let version = match session.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "TLS",
            };
            let conn = Arc::new(ConnInfo::new(peer, Some(version), active.clone()).with_live(live));
            if h2 {
                // boxed: an HTTP/2 connection's state is larger than the rest of this task,
                // and HTTP/1 connections need not carry room for it
                Box::pin(serve_h2(
                    shared,
                    conn,
                    &h2_settings,
                    limits.idle_timeout,
                    tls,
                    shutdown,
                ))
                .await;
            } else {
                let io = Box::new(
                    GuardedIo::new(
                        tls,
                        limits.max_header_bytes + limits.max_uri_bytes,
                        limits.header_read_timeout,
                        limits.idle_timeout,
                        active,
                        shared.metrics.clone(),
                    )
                    .on_reject(reject_logger(&shared, peer, Some(version)))
                    .passthrough_when(conn.upgraded.clone())
                    .park_after(PARK_AFTER),
                );
                serve_h1(shared, conn, &limits, io, shutdown, None).await;
            }
        }
        ListenerKind::Plain | ListenerKind::Redirect(_) => {
            let redirect = match kind {
                ListenerKind::Redirect(p) => Some(p),
                _ => None,
            };
            let conn = Arc::new(ConnInfo::new(peer, None, active.clone()).with_live(live));
            let io = Box::new(
                GuardedIo::new(
                    stream,
                    limits.max_header_bytes + limits.max_uri_bytes,
                    limits.header_read_timeout,
                    limits.idle_timeout,
                    active,
                    shared.metrics.clone(),
                )
                .on_reject(reject_logger(&shared, peer, None))
                .passthrough_when(conn.upgraded.clone())
                .park_after(PARK_AFTER),
            );
            serve_h1(shared, conn, &limits, io, shutdown, redirect).await;
        }
    }
}

/// The TLS handshake within `limit`; the session is boxed (it is large, and the connection's
/// task would otherwise carry room for it twice).
async fn tls_handshake(
    cfg: Arc<rustls::ServerConfig>,
    stream: TcpStream,
    limit: Duration,
) -> Option<Box<tokio_rustls::server::TlsStream<TcpStream>>> {
    let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
    let accept = Box::pin(tokio::time::timeout(limit, acceptor.accept(stream)));
    match accept.await {
        Ok(Ok(tls)) => Some(Box::new(tls)),
        _ => None,
    }
}

/// Writes an access-log line for a request the connection guard answered itself (no method,
/// path or route: the head was refused before it was parsed).
fn reject_logger(shared: &Arc<Shared>, peer: SocketAddr, tls: Option<&'static str>) -> RejectHook {
    let shared = shared.clone();
    let ip = crate::client_addr::canonical(peer.ip());
    Box::new(move |status, code, id| {
        let rec = Record {
            timestamp: crate::util::since_epoch(),
            client_ip: ip,
            method: "-",
            version: "1.1",
            path: "",
            original_path: None,
            host: None,
            status: status.as_u16(),
            duration_ns: 0,
            user_id: None,
            rate_limit: None,
            route: None,
            error: Some(code),
            upstream_address: None,
            upstream_duration_ns: None,
            trace_id: id,
            tls_version: tls,
        };
        if !shared.log.write(&rec) {
            shared.metrics.log_dropped.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// How long an HTTP/1 keep-alive connection stays idle between requests before it is parked
/// ([`crate::guard`]): hyper's state for it (an 8 KiB read buffer, an 8 KiB write buffer, the
/// service future's box, cached headers: about 24 KiB) is dropped, and built again when the
/// next request arrives. Connections busier than this never park, so load pays nothing.
const PARK_AFTER: Duration = Duration::from_secs(1);

async fn serve_h1<T>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    limits: &plan::ConnLimits,
    mut io: Box<GuardedIo<T>>,
    mut shutdown: watch::Receiver<bool>,
    redirect: Option<u16>,
) where
    T: AsyncRead + AsyncWrite + ReadReady + Unpin + Send + 'static,
{
    let mut b = http1::Builder::new();
    let max_head = limits.max_header_bytes + limits.max_uri_bytes + 1024;
    b.timer(TokioTimer::new())
        .keep_alive(true)
        // the request filter answers 431 (JSON) for too many fields; hyper's own limit is a backstop
        .max_headers(limits.max_header_count * 2 + 16)
        .max_header_size(max_head)
        .max_buf_size(max_head.max(8192) + 8192)
        .header_read_timeout(limits.header_read_timeout * 2 + Duration::from_secs(1));
    loop {
        let (shared, conn) = (shared.clone(), conn.clone());
        let svc = service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            let conn = conn.clone();
            let active = ActiveGuard::new(conn.active.clone());
            async move {
                if let Some(port) = redirect {
                    let r = proxy::redirect(&req, port);
                    let (p, b) = r.into_parts();
                    return Ok::<_, Infallible>(Response::from_parts(
                        p,
                        ResponseBody::new(b, None, Some(active), None),
                    ));
                }
                Ok(proxy::handle(shared, conn, active, req).await)
            }
        });
        let slot: ParkSlot<T> = Arc::default();
        // upgrades: a WebSocket handshake the upstream accepted hands the connection to its
        // tunnel (`crate::tunnel`), which holds the connection's live count from then on.
        // Boxed: the connection's task keeps only the guard while parked.
        let mut c = Box::pin(
            b.serve_connection(TokioIo::new(ParkedIo::new(io, slot.clone())), svc)
                .with_upgrades(),
        );
        tokio::select! {
            _ = c.as_mut() => {}
            () = stopped(&mut shutdown) => {
                c.as_mut().graceful_shutdown();
                let _ = c.await;
                return;
            }
        }
        drop(c);
        let parked = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(parked) = parked else {
            return;
        };
        io = parked;
        // parked: only the TLS session and the guard are held until the next bytes
        let woke = tokio::select! {
            r = std::future::poll_fn(|cx| io.poll_unpark(cx)) => r,
            () = stopped(&mut shutdown) => Ok(Unparked::IdleTimeout),
        };
        if !matches!(woke, Ok(Unparked::Readable)) {
            let _ = tokio::time::timeout(Duration::from_secs(1), io.close_parked()).await;
            return;
        }
    }
}

async fn serve_h2<I>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    h2: &plan::H2Settings,
    idle: Duration,
    io: I,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut b = http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(h2.max_concurrent_streams)
        .max_pending_accept_reset_streams(h2.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(h2.max_local_error_reset_streams)
        .max_header_list_size(h2.max_header_list_size)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
    let watch_conn = conn.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let conn = conn.clone();
        conn.started.fetch_add(1, Ordering::Relaxed);
        let active = ActiveGuard::new(conn.active.clone());
        async move { Ok::<_, Infallible>(proxy::handle(shared, conn, active, req).await) }
    });
    let c = b.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(c);
    // HTTP/2 has no idle timeout of its own: close connections without streams for `idle`
    let mut seen = 0;
    let mut tick = tokio::time::interval(idle);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = c.as_mut() => return,
            () = stopped(&mut shutdown) => break,
            _ = tick.tick() => {
                let started = watch_conn.started.load(Ordering::Relaxed);
                if started == seen && watch_conn.active.load(Ordering::Acquire) == 0 {
                    break;
                }
                seen = started;
            }
        }
    }
    c.as_mut().graceful_shutdown();
    let _ = c.await;
}

fn render_metrics(shared: &Shared) -> String {
    let plan = shared.current_plan();
    let mut health = Vec::new();
    for g in &plan.groups {
        for t in &g.targets {
            health.push((
                g.spec.name.clone(),
                t.addr.clone(),
                t.is_healthy(),
                g.is_ejected(t),
            ));
        }
    }
    let mut out = shared.metrics.render(&health);
    store_metrics(&plan, &mut out);
    if let Some(bans) = &plan.bans {
        use std::fmt::Write as _;
        let _ = write!(
            out,
            "# HELP moat_gateway_bans_active Bans in force that this replica knows of.\n# TYPE moat_gateway_bans_active gauge\nmoat_gateway_bans_active {}\n",
            bans.list().len()
        );
    }
    out
}

/// The shared rate-limit store's counters and breaker, and each shared limit's fallbacks.
fn store_metrics(plan: &crate::plan::Plan, out: &mut String) {
    use crate::ratelimit::Store;
    use crate::redis_store::BreakerState;
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let Some((_, store)) = &plan.redis else {
        return;
    };
    let st = &store.stats;
    let errors = st.errors.load(Relaxed);
    let timeouts = st.timeouts.load(Relaxed);
    out.push_str("# HELP moat_gateway_limit_store_calls_total Calls to the shared rate-limit store (Redis), by result.\n# TYPE moat_gateway_limit_store_calls_total counter\n");
    for (result, v) in [
        ("ok", st.decisions.load(Relaxed)),
        ("error", errors.saturating_sub(timeouts)),
        ("timeout", timeouts),
        ("short_circuited", st.short_circuited.load(Relaxed)),
    ] {
        let _ = writeln!(
            out,
            "moat_gateway_limit_store_calls_total{{result=\"{result}\"}} {v}"
        );
    }
    let state = store.breaker_state();
    out.push_str("# HELP moat_gateway_limit_store_breaker Circuit breaker of the shared rate-limit store: 1 for its current state.\n# TYPE moat_gateway_limit_store_breaker gauge\n");
    for (name, s) in [
        ("closed", BreakerState::Closed),
        ("open", BreakerState::Open),
        ("half_open", BreakerState::HalfOpen),
    ] {
        let _ = writeln!(
            out,
            "moat_gateway_limit_store_breaker{{state=\"{name}\"}} {}",
            u8::from(state == s)
        );
    }
    out.push_str("# HELP moat_gateway_rate_limit_fallbacks_total Decisions a shared limit made without Redis (its on_store_error policy), by limit.\n# TYPE moat_gateway_rate_limit_fallbacks_total counter\n");
    let mut names: Vec<&String> = plan.limiters.keys().collect();
    names.sort();
    for name in names {
        if let Store::Shared(s) = plan.limiters[name].store() {
            let _ = writeln!(
                out,
                "moat_gateway_rate_limit_fallbacks_total{{limit=\"{name}\"}} {}",
                s.fallbacks.load(Relaxed)
            );
        }
    }
}

fn ready(shared: &Shared) -> bool {
    if shared.is_draining() {
        return false;
    }
    let plan = shared.current_plan();
    plan.groups
        .iter()
        .all(|g| g.targets.iter().any(|t| t.is_healthy() && !g.is_ejected(t)))
}

/// `GET /bans`: the bans this replica knows of, as JSON; `DELETE /bans/ADDRESS`: lifts one
/// (here and, when bans are shared, in Redis).
async fn bans_response(shared: &Shared, req: &Request<Incoming>) -> Response<Body> {
    let plan = shared.current_plan();
    let Some(bans) = plan.bans.as_ref() else {
        return crate::util::json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no [[ban]] rules are configured",
        );
    };
    let json = |status: StatusCode, v: serde_json::Value| {
        let mut r = Response::new(full(v.to_string()));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        r
    };
    let path = req.uri().path();
    if path == "/bans" && req.method() == http::Method::GET {
        let list: Vec<serde_json::Value> = bans
            .list_all()
            .await
            .into_iter()
            .map(|b| {
                serde_json::json!({
                    "address": b.ip.to_string(),
                    "rule": b.rule,
                    "remaining_seconds": b.remaining.as_secs(),
                })
            })
            .collect();
        return json(StatusCode::OK, serde_json::json!({ "bans": list }));
    }
    if let Some(addr) = path.strip_prefix("/bans/")
        && req.method() == http::Method::DELETE
    {
        let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
            return crate::util::json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "not an IP address",
            );
        };
        let ip = crate::client_addr::masked(crate::client_addr::canonical(ip), plan.v6_prefix);
        let lifted = bans.unban(ip).await;
        event(
            "info",
            &format!("unban {ip} from the admin API (in force: {lifted})"),
        );
        return json(
            StatusCode::OK,
            serde_json::json!({ "address": ip.to_string(), "lifted": lifted }),
        );
    }
    crate::util::json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed",
    )
}

fn admin_response(shared: &Shared, req: &Request<Incoming>) -> Response<Body> {
    let text = |status: StatusCode, ctype: &'static str, body: String| {
        let mut r = Response::new(full(body));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(header::CONTENT_TYPE, http::HeaderValue::from_static(ctype));
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        r
    };
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return crate::util::json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        );
    }
    match req.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            render_metrics(shared),
        ),
        "/healthz" => text(
            StatusCode::OK,
            "application/json",
            "{\"status\":\"ok\"}".into(),
        ),
        "/readyz" => {
            if ready(shared) {
                text(
                    StatusCode::OK,
                    "application/json",
                    "{\"status\":\"ready\"}".into(),
                )
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "application/json",
                    "{\"status\":\"not ready\"}".into(),
                )
            }
        }
        _ => crate::util::json_error(StatusCode::NOT_FOUND, "not_found", "not found"),
    }
}

async fn admin_loop(shared: Arc<Shared>, tcp: TcpListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            r = tcp.accept() => {
                let Ok((stream, _)) = r else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let p = req.uri().path();
                            let r = if p == "/bans" || p.starts_with("/bans/") {
                                bans_response(&shared, &req).await
                            } else {
                                admin_response(&shared, &req)
                            };
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let mut b = http1::Builder::new();
                    b.timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10));
                    let _ = b.serve_connection(TokioIo::new(stream), svc).await;
                });
            }
            () = stopped(&mut shutdown) => return,
        }
    }
}

/// Checks the certificate files of the plan in force (each resolver keeps its own interval).
async fn cert_watch_loop(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(&mut shutdown) => return,
        }
        let plan = shared.current_plan();
        let now = std::time::Instant::now();
        for r in &plan.certs {
            for change in r.refresh(now) {
                match change {
                    crate::tls::Refreshed::Loaded(m) => {
                        shared
                            .metrics
                            .cert_reloads_ok
                            .fetch_add(1, Ordering::Relaxed);
                        event("info", &m);
                    }
                    crate::tls::Refreshed::Failed(m) => {
                        shared
                            .metrics
                            .cert_reloads_failed
                            .fetch_add(1, Ordering::Relaxed);
                        event("error", &m);
                    }
                }
            }
        }
    }
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        // the gateway handle is gone: treat as a shutdown
    }
}
