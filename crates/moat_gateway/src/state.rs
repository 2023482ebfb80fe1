//! The gateway's runtime state: what every connection shares ([`Shared`]: the plan in force
//! behind its swap — routes, limiters, upstream groups —, the metrics and access-log handles,
//! drain and connection accounting), and the facts about one client connection
//! ([`ConnInfo`]). The listeners ([`crate::server`]) create it; the request path
//! ([`crate::proxy`]) reads it.

use crate::access_log::AccessLog;
use crate::client_addr;
use crate::headers::forwarded_prefix;
use crate::metrics::Metrics;
use crate::plan::Plan;
use bytes::Bytes;
use http::HeaderValue;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Notify, watch};

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    plan: RwLock<Arc<Plan>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Access log.
    pub log: AccessLog,
    draining: AtomicBool,
    per_ip: Mutex<HashMap<IpAddr, u32>>,
    total: AtomicU32,
    live: AtomicUsize,
    idle: Notify,
    /// Set when open WebSocket tunnels must close (the end of the shutdown grace).
    close_tunnels: watch::Sender<bool>,
}

impl Shared {
    /// State for a gateway starting with `plan`, writing to `log`.
    pub fn new(plan: Plan, log: AccessLog) -> Self {
        Self {
            plan: RwLock::new(Arc::new(plan)),
            metrics: Arc::new(Metrics::default()),
            log,
            draining: AtomicBool::new(false),
            per_ip: Mutex::new(HashMap::new()),
            total: AtomicU32::new(0),
            live: AtomicUsize::new(0),
            idle: Notify::new(),
            close_tunnels: watch::Sender::new(false),
        }
    }

    /// The plan in force.
    pub fn current_plan(&self) -> Arc<Plan> {
        match self.plan.read() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Puts `new` in force; requests already running keep the plan they started with.
    pub(crate) fn swap(&self, new: Arc<Plan>) {
        let mut g = match self.plan.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = new;
    }

    /// Marks the gateway as draining (not ready).
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether the gateway is draining.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Tells every open WebSocket tunnel to close now.
    pub(crate) fn close_tunnels(&self) {
        self.close_tunnels.send_replace(true);
    }

    /// Resolves once open WebSocket tunnels must close.
    pub(crate) fn tunnels_closing(&self) -> watch::Receiver<bool> {
        self.close_tunnels.subscribe()
    }

    /// Connections open now.
    pub(crate) fn live_connections(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Waits until no connection is open or `deadline` passes; returns the connections still
    /// open.
    pub(crate) async fn idle_by(&self, deadline: tokio::time::Instant) -> usize {
        loop {
            let notified = self.idle.notified();
            if self.live.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        self.live.load(Ordering::Acquire)
    }
}

/// Counts a live connection (drain, metrics, per-IP limit) until dropped.
#[derive(Debug)]
pub(crate) struct LiveGuard {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl LiveGuard {
    /// Counts a connection from `ip`; `None` (counted as `connection_limit` and released at
    /// once) when it is over the per-address or total limit (0 = unlimited).
    pub(crate) fn new(
        shared: &Arc<Shared>,
        ip: IpAddr,
        per_ip_max: u32,
        total_max: u32,
    ) -> Option<Self> {
        let total = shared.total.fetch_add(1, Ordering::AcqRel) + 1;
        let mut map = match shared.per_ip.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let n = map.entry(ip).or_insert(0);
        *n += 1;
        let over = (per_ip_max > 0 && *n > per_ip_max) || (total_max > 0 && total > total_max);
        drop(map);
        shared.live.fetch_add(1, Ordering::AcqRel);
        shared
            .metrics
            .open_connections
            .fetch_add(1, Ordering::Relaxed);
        let g = Self {
            shared: shared.clone(),
            ip,
        };
        if over {
            shared.metrics.rejected("connection_limit");
            return None;
        }
        Some(g)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.shared.total.fetch_sub(1, Ordering::AcqRel);
        if let Ok(mut m) = self.shared.per_ip.lock()
            && let Some(n) = m.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
        self.shared
            .metrics
            .open_connections
            .fetch_sub(1, Ordering::Relaxed);
        if self.shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.idle.notify_waiters();
        }
    }
}

/// Facts about the client connection a request arrived on.
#[derive(Debug)]
pub struct ConnInfo {
    /// Peer address.
    pub peer: SocketAddr,
    /// TLS version, when TLS.
    pub tls: Option<&'static str>,
    /// Requests in flight on this connection.
    pub active: Arc<AtomicUsize>,
    /// Requests started on this connection.
    pub started: AtomicU64,
    /// The connection was handed over to a WebSocket tunnel: the HTTP/1 guard below it stops
    /// reading heads and timing the connection (shared with [`crate::guard::GuardedIo`]).
    pub upgraded: Arc<AtomicBool>,
    /// `X-Forwarded-For` and `Forwarded` (without host) for a request whose client is the
    /// peer itself, rendered once per connection.
    fwd: (HeaderValue, String),
    /// Counts the connection as live (drain, limits) for as long as anything holds it: the
    /// connection's task, and a tunnel that outlives it.
    live: Option<LiveGuard>,
}

impl ConnInfo {
    /// Connection facts; renders the per-connection forwarding headers once.
    pub fn new(peer: SocketAddr, tls: Option<&'static str>, active: Arc<AtomicUsize>) -> Self {
        let client = client_addr::canonical(peer.ip());
        let xff = HeaderValue::from_maybe_shared(Bytes::from(client.to_string()))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self {
            peer,
            tls,
            active,
            started: AtomicU64::new(0),
            upgraded: Arc::new(AtomicBool::new(false)),
            fwd: (xff, forwarded_prefix(client, Self::proto_of(tls))),
            live: None,
        }
    }

    /// The same, holding the connection's live count until the last holder lets go.
    #[must_use]
    pub(crate) fn with_live(mut self, live: LiveGuard) -> Self {
        self.live = Some(live);
        self
    }

    fn proto_of(tls: Option<&'static str>) -> &'static str {
        if tls.is_some() { "https" } else { "http" }
    }

    /// `http` or `https`.
    pub fn proto(&self) -> &'static str {
        Self::proto_of(self.tls)
    }

    /// `X-Forwarded-For` for a request whose client is the peer.
    pub fn peer_xff(&self) -> &HeaderValue {
        &self.fwd.0
    }

    /// The `Forwarded` element (without host) for a request whose client is the peer.
    pub fn peer_forwarded(&self) -> &str {
        &self.fwd.1
    }
}
