//! Upstream groups: targets, load balancing, passive ejection, active health checks, the retry
//! budget and the pooled keep-alive HTTP/1.1 client.

use crate::util::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    healthy: AtomicBool,
    successes: AtomicU32,
    failures: AtomicU32,
    connect_failures: AtomicU32,
    ejected_until_ms: AtomicU64,
    active: AtomicUsize,
}

impl Target {
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
    /// Pooled keep-alive client.
    pub client: Client<HttpConnector, Body>,
}

const BUDGET_CAP_MILLI: u64 = 10_000;

impl UpstreamGroup {
    /// A group; targets start healthy.
    pub fn new(spec: GroupSpec) -> Self {
        let targets = spec
            .targets
            .iter()
            .map(|addr| {
                Arc::new(Target {
                    addr: addr.clone(),
                    healthy: AtomicBool::new(true),
                    successes: AtomicU32::new(0),
                    failures: AtomicU32::new(0),
                    connect_failures: AtomicU32::new(0),
                    ejected_until_ms: AtomicU64::new(0),
                    active: AtomicUsize::new(0),
                })
            })
            .collect();
        let mut conn = HttpConnector::new();
        conn.set_connect_timeout(Some(spec.connect_timeout));
        conn.set_nodelay(true);
        conn.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_mins(1))
            .pool_max_idle_per_host(512)
            .build(conn);
        Self {
            spec,
            targets,
            rr: AtomicUsize::new(0),
            epoch: Instant::now(),
            budget_milli: AtomicU64::new(BUDGET_CAP_MILLI),
            client,
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn available(t: &Target, now_ms: u64) -> bool {
        t.is_healthy() && t.ejected_until_ms.load(Ordering::Relaxed) <= now_ms
    }

    /// Picks a target, skipping `exclude` when another is available; `None` when every target
    /// is unhealthy or ejected.
    pub fn pick(&self, exclude: Option<&str>) -> Option<(Arc<Target>, InFlight)> {
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
        let t = chosen?.clone();
        t.active.fetch_add(1, Ordering::Relaxed);
        Some((t.clone(), InFlight(t)))
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
                    let ok = g.probe(&t.addr, &hc).await;
                    Self::record_probe(t, ok, &hc);
                }
            }
        }))
    }

    async fn probe(&self, addr: &str, hc: &HealthCheck) -> bool {
        let Ok(uri) = format!("http://{addr}{}", hc.path).parse::<http::Uri>() else {
            return false;
        };
        let mut req = http::Request::new(crate::util::empty());
        *req.uri_mut() = uri;
        req.headers_mut().insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static("moat-gateway-health"),
        );
        match tokio::time::timeout(hc.timeout, self.client.request(req)).await {
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
