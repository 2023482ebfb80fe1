//! Upstream groups: targets, load balancing, passive ejection, active health checks, the retry
//! budget and the pooled keep-alive HTTP/1.1 connections.
//!
//! Each target keeps its own pool of idle HTTP/1.1 connections ([`crate::h1client`]): a
//! request takes the most recently used idle connection (or connects), and the connection goes
//! back to the pool when the response body has been read to its end. A connection whose
//! response was abandoned midway is closed instead. Idle connections are closed after 60 s, or
//! as soon as they are found closed by the upstream.

use crate::h1client::{self, Conn, RequestHead};
use crate::util::Body;
use http::{HeaderValue, Request, Response, header};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Idle connections kept per target at most.
const MAX_IDLE_PER_TARGET: usize = 512;
/// Idle connections older than this are closed.
const IDLE_TIMEOUT: Duration = Duration::from_mins(1);

/// Whether a request with method `m` may be sent again (RFC 9110 9.2.2): on a stale pooled
/// connection here, and to another target by the proxy's retries.
pub(crate) fn idempotent(m: &http::Method) -> bool {
    use http::Method;
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// How a group picks a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// Each healthy target in turn.
    RoundRobin,
    /// The healthy target with the fewest requests in flight.
    LeastConnections,
}

/// Active health-check settings.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    /// Path probed with GET.
    pub path: String,
    /// Probe interval.
    pub interval: Duration,
    /// Probe timeout.
    pub timeout: Duration,
    /// Successes to become healthy.
    pub healthy_threshold: u32,
    /// Failures to become unhealthy.
    pub unhealthy_threshold: u32,
}

/// One upstream address and its state.
#[derive(Debug)]
pub struct Target {
    /// `host:port`.
    pub addr: String,
    /// `addr` as a URI authority (parsed once), `None` when it is not one.
    pub authority: Option<http::uri::Authority>,
    healthy: AtomicBool,
    successes: AtomicU32,
    failures: AtomicU32,
    connect_failures: AtomicU32,
    ejected_until_ms: AtomicU64,
    active: AtomicUsize,
    /// `Host` for requests that name none: the address without the default port 80.
    host: Option<HeaderValue>,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl Target {
    fn new(addr: &str) -> Self {
        let authority: Option<http::uri::Authority> = addr.parse().ok();
        let host = authority.as_ref().and_then(|a| {
            let h = if a.port_u16() == Some(80) {
                a.host()
            } else {
                a.as_str()
            };
            HeaderValue::from_str(h).ok()
        });
        Self {
            addr: addr.to_string(),
            authority,
            healthy: AtomicBool::new(true),
            successes: AtomicU32::new(0),
            failures: AtomicU32::new(0),
            connect_failures: AtomicU32::new(0),
            ejected_until_ms: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            host,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The most recently used idle connection that is still open, if any.
    fn take_idle(&self) -> Option<Conn> {
        let mut idle = match self.idle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while let Some((conn, since)) = idle.pop() {
            if conn.is_reusable() && since.elapsed() < IDLE_TIMEOUT {
                return Some(conn);
            }
        }
        None
    }

    fn put_idle(&self, conn: Conn) {
        let mut idle = match self.idle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if idle.len() < MAX_IDLE_PER_TARGET {
            idle.push((conn, Instant::now()));
        }
    }

    /// Closes idle connections that are closed or older than the idle timeout.
    fn reap_idle(&self) {
        let mut idle = match self.idle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        idle.retain(|(conn, since)| conn.is_reusable() && since.elapsed() < IDLE_TIMEOUT);
    }

    /// Idle pooled connections.
    pub fn idle_connections(&self) -> usize {
        self.idle.lock().map_or(0, |g| g.len())
    }

    /// Whether active health checks (if any) consider it healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Requests in flight.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }
}

/// Keeps a target's in-flight count while a request uses it.
#[derive(Debug)]
pub struct InFlight(Arc<Target>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Settings of a group, from the config.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// Name.
    pub name: String,
    /// `host:port` targets.
    pub targets: Vec<String>,
    /// Balancing.
    pub balance: Balance,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Time to response headers.
    pub response_timeout: Duration,
    /// Whole exchange.
    pub total_timeout: Duration,
    /// Health checks.
    pub health: Option<HealthCheck>,
    /// Connect failures before ejection (0 = never).
    pub eject_after: u32,
    /// Ejection time.
    pub eject_for: Duration,
    /// Extra attempts for idempotent requests without a body.
    pub retries: u32,
    /// Retries as a percentage of requests.
    pub retry_budget_percent: u32,
}

/// A group of targets with its client.
#[derive(Debug)]
pub struct UpstreamGroup {
    /// Settings.
    pub spec: GroupSpec,
    /// Targets.
    pub targets: Vec<Arc<Target>>,
    rr: AtomicUsize,
    epoch: Instant,
    budget_milli: AtomicU64,
}

/// Why an upstream exchange failed.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made (refused, unreachable, connect timeout).
    Connect(std::io::Error),
    /// The exchange failed on an established connection.
    Http(h1client::Error),
}

impl SendError {
    /// Whether the connection could not be made.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }

    /// Whether the upstream had started answering (an invalid or cut-off response): the
    /// request must not be sent again.
    pub fn upstream_answered(&self) -> bool {
        matches!(self, Self::Http(e) if e.upstream_answered())
    }

    /// Whether the client's request body failed (malformed chunked framing, the client gone):
    /// the client's fault, not the upstream's.
    pub fn is_request_body(&self) -> bool {
        matches!(self, Self::Http(h1client::Error::RequestBody(_)))
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Http(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Puts a connection whose response was read to its end back into its target's pool.
#[derive(Debug)]
pub struct PoolReturn(Arc<Target>);

impl h1client::Release for PoolReturn {
    fn release(&mut self, conn: Conn) {
        self.0.put_idle(conn);
    }
}

/// A response body from an upstream connection that returns the connection to its target's
/// pool once the body has been read to its end (and closes it otherwise).
pub type PooledBody = h1client::ResponseBody<PoolReturn>;

const BUDGET_CAP_MILLI: u64 = 10_000;

impl UpstreamGroup {
    /// A group; targets start healthy.
    pub fn new(spec: GroupSpec) -> Self {
        let targets = spec
            .targets
            .iter()
            .map(|addr| Arc::new(Target::new(addr)))
            .collect();
        Self {
            spec,
            targets,
            rr: AtomicUsize::new(0),
            epoch: Instant::now(),
            budget_milli: AtomicU64::new(BUDGET_CAP_MILLI),
        }
    }

    async fn connect(&self, target: &Target) -> Result<Conn, SendError> {
        let stream = match tokio::time::timeout(
            self.spec.connect_timeout,
            tokio::net::TcpStream::connect(target.addr.as_str()),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(SendError::Connect(e)),
            Err(_) => {
                return Err(SendError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(Conn::new(stream))
    }

    /// Sends `req` (origin-form URI) to `target` on a pooled keep-alive connection, connecting
    /// when none is idle. Adds `Host` when the request has none. An idempotent request without
    /// a body that a pooled connection dropped before any response byte (the upstream closed
    /// it while it sat idle) is sent again on a new connection.
    pub async fn send(
        &self,
        target: &Arc<Target>,
        req: Request<Body>,
    ) -> Result<Response<PooledBody>, SendError> {
        let (mut parts, body) = req.into_parts();
        if !parts.headers.contains_key(header::HOST)
            && let Some(h) = &target.host
        {
            parts.headers.insert(header::HOST, h.clone());
        }
        let head = RequestHead::new(&parts, &body);
        let resend = head.replayable() && idempotent(&parts.method);
        let mut body = Some(body);
        loop {
            let (mut conn, reused) = match target.take_idle() {
                Some(c) => (c, true),
                None => (self.connect(target).await?, false),
            };
            match h1client::exchange(&mut conn, &head, body.take()).await {
                Ok(resp) => {
                    let body = PooledBody::new(conn, &resp, PoolReturn(target.clone()));
                    return Ok(Response::from_parts(resp.parts, body));
                }
                Err(h1client::Error::ClosedEarly) if reused && resend => {}
                Err(e) => return Err(SendError::Http(e)),
            }
        }
    }

    /// Closes idle connections past the idle timeout until the returned task is aborted.
    pub fn spawn_idle_reaper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let group = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(IDLE_TIMEOUT / 2);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(g) = group.upgrade() else { return };
                for t in &g.targets {
                    t.reap_idle();
                }
            }
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn available(t: &Target, now_ms: u64) -> bool {
        t.is_healthy() && t.ejected_until_ms.load(Ordering::Relaxed) <= now_ms
    }

    /// Picks a target, skipping `exclude` when another is available; `None` when every target
    /// is unhealthy or ejected.
    pub fn pick(&self, exclude: Option<&str>) -> Option<(&Arc<Target>, InFlight)> {
        let now = self.now_ms();
        let n = self.targets.len();
        if n == 0 {
            return None;
        }
        let start = self.rr.fetch_add(1, Ordering::Relaxed);
        let usable = |t: &&Arc<Target>| {
            Self::available(t, now) && !(n > 1 && exclude == Some(t.addr.as_str()))
        };
        let count = self.targets.iter().filter(usable).count();
        if count == 0 {
            return None;
        }
        let chosen = match self.spec.balance {
            // round robin over the usable targets, so a skipped target's share is spread evenly
            Balance::RoundRobin => self.targets.iter().filter(usable).nth(start % count),
            Balance::LeastConnections => (0..n)
                .map(|i| &self.targets[(start + i) % n])
                .filter(usable)
                .min_by_key(|t| t.active()),
        };
        let t = chosen?;
        t.active.fetch_add(1, Ordering::Relaxed);
        Some((t, InFlight(t.clone())))
    }

    /// Records a connect failure (passive ejection).
    pub fn connect_failed(&self, t: &Target) {
        let n = t.connect_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if self.spec.eject_after > 0 && n >= self.spec.eject_after {
            let until = self.now_ms() + self.spec.eject_for.as_millis() as u64;
            t.ejected_until_ms.store(until, Ordering::Relaxed);
            t.connect_failures.store(0, Ordering::Relaxed);
        }
    }

    /// Records a successful exchange.
    pub fn succeeded(&self, t: &Target) {
        t.connect_failures.store(0, Ordering::Relaxed);
    }

    /// Whether `t` is currently ejected.
    pub fn is_ejected(&self, t: &Target) -> bool {
        t.ejected_until_ms.load(Ordering::Relaxed) > self.now_ms()
    }

    /// Adds this request's share to the retry budget.
    pub fn deposit(&self) {
        let add = u64::from(self.spec.retry_budget_percent) * 10;
        let _ = self
            .budget_milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((b + add).min(BUDGET_CAP_MILLI))
            });
    }

    /// Takes one retry from the budget, if there is one.
    pub fn withdraw(&self) -> bool {
        self.budget_milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(1000)
            })
            .is_ok()
    }

    /// Runs active health checks until the returned task is aborted.
    pub fn spawn_health_checks(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let hc = self.spec.health.clone()?;
        let group = Arc::downgrade(self);
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(hc.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(g) = group.upgrade() else { return };
                for t in &g.targets {
                    let ok = g.probe(t, &hc).await;
                    Self::record_probe(t, ok, &hc);
                }
            }
        }))
    }

    async fn probe(&self, target: &Arc<Target>, hc: &HealthCheck) -> bool {
        let Ok(uri) = hc.path.parse::<http::Uri>() else {
            return false;
        };
        let mut req = http::Request::new(crate::util::empty());
        *req.uri_mut() = uri;
        req.headers_mut().insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static("moat-gateway-health"),
        );
        match tokio::time::timeout(hc.timeout, self.send(target, req)).await {
            Ok(Ok(resp)) => {
                let ok = resp.status().is_success() || resp.status().is_redirection();
                drop(resp);
                ok
            }
            _ => false,
        }
    }

    fn record_probe(t: &Target, ok: bool, hc: &HealthCheck) {
        if ok {
            t.failures.store(0, Ordering::Relaxed);
            let s = t.successes.fetch_add(1, Ordering::Relaxed) + 1;
            if s >= hc.healthy_threshold {
                t.healthy.store(true, Ordering::Relaxed);
            }
        } else {
            t.successes.store(0, Ordering::Relaxed);
            let f = t.failures.fetch_add(1, Ordering::Relaxed) + 1;
            if f >= hc.unhealthy_threshold {
                t.healthy.store(false, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(balance: Balance) -> GroupSpec {
        GroupSpec {
            name: "g".into(),
            targets: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            balance,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(1),
            health: None,
            eject_after: 2,
            eject_for: Duration::from_mins(1),
            retries: 1,
            retry_budget_percent: 20,
        }
    }

    #[tokio::test]
    async fn round_robin_alternates_and_ejection_skips() {
        let g = UpstreamGroup::new(spec(Balance::RoundRobin));
        let a = g.pick(None).unwrap().0.addr.clone();
        let b = g.pick(None).unwrap().0.addr.clone();
        assert_ne!(a, b);
        let t0 = g.targets[0].clone();
        g.connect_failed(&t0);
        assert!(!g.is_ejected(&t0));
        g.connect_failed(&t0);
        assert!(g.is_ejected(&t0));
        for _ in 0..4 {
            assert_eq!(g.pick(None).unwrap().0.addr, "127.0.0.1:2");
        }
    }

    #[tokio::test]
    async fn least_connections_prefers_the_idle_target() {
        let g = UpstreamGroup::new(spec(Balance::LeastConnections));
        let (first, _held) = g.pick(None).unwrap();
        for _ in 0..3 {
            let (t, _) = g.pick(None).unwrap();
            assert_ne!(t.addr, first.addr);
        }
    }

    #[tokio::test]
    async fn retry_budget_is_bounded() {
        let mut s = spec(Balance::RoundRobin);
        s.retry_budget_percent = 50;
        let g = UpstreamGroup::new(s);
        let mut n = 0;
        while g.withdraw() {
            n += 1;
        }
        assert_eq!(n, 10);
        g.deposit();
        assert!(!g.withdraw());
        g.deposit();
        assert!(g.withdraw());
    }
}
