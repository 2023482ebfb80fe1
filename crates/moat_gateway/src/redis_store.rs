//! Rate-limit state shared by gateway replicas, in Redis (standalone or Cluster).
//!
//! **One atomic decision per request.** The same GCRA as the in-memory limiter
//! ([`crate::ratelimit`]) runs as one Lua script on a single key: it reads the key's theoretical
//! arrival time, decides against Redis's own clock (`TIME`, so replicas with skewed clocks
//! agree), and writes the new time with a TTL of its remaining life, so idle keys expire by
//! themselves. There is no read-then-increment race between replicas (the failure behind
//! over-admission in limiters that do `GET` then `INCR`), and one key per call never crosses
//! a Cluster slot. The script is sent once and then called by its SHA-1 (`EVALSHA`; on
//! `NOSCRIPT`, after a restart or `SCRIPT FLUSH`, it is sent again). Times are microseconds:
//! Lua numbers are doubles, exact to 2^53, which microseconds since 1970 stay well below.
//!
//! **Never slower than the deadline.** Every call is bounded by a per-call deadline (50 ms by
//! default): a slow or unreachable Redis costs a request at most that. After a number of
//! failures in a row a circuit breaker opens: calls fail at once, without touching the
//! network, until a cool-down passes; then one call probes, and its success closes the
//! breaker. What a failed call means (admit, refuse, or fall back to a local limit) is the
//! caller's failure policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use tokio::sync::OnceCell;

use crate::ratelimit::{Admission, Gcra, LimitStore};

/// The GCRA decision, as a Lua script. `KEYS[1]`: the key; `ARGV[1]`: emission interval (µs);
/// `ARGV[2]`: tolerance, the burst times the interval (µs); `ARGV[3]`: the cost to decide, or
/// minus the cost to give back. Returns `{allowed, remaining, reset_after_us, retry_after_us}`.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = math.max(tonumber(stored), now)
end
local cost = tonumber(ARGV[3])
if cost < 0 then
  local back = tat + emission * cost
  if back > now then
    redis.call('SET', KEYS[1], string.format('%.0f', back), 'PX', math.ceil((back - now) / 1000) + 1)
  else
    redis.call('DEL', KEYS[1])
  end
  return {1, 0, 0, 0}
end
local new_tat = tat + emission * cost
local ahead = new_tat - now
if ahead <= tau then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(ahead / 1000) + 1)
  return {1, math.floor((tau - ahead) / emission), ahead, 0}
end
return {0, 0, tat - now, ahead - tau}
";

/// How to reach Redis. Its `Debug` form never shows the password or the client key.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://host:port[/db]`, or `rediss://` for TLS; several, or `cluster`, for a Cluster.
    pub nodes: Vec<String>,
    /// With `rediss://`: the CA certificates (PEM) the server's certificate must chain to
    /// (none: the system's roots).
    pub ca_pem: Option<Vec<u8>>,
    /// With `rediss://`: a client certificate chain and key (PEM), for servers that ask.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// The nodes are seeds of a Redis Cluster.
    pub cluster: bool,
    /// ACL user name.
    pub username: Option<String>,
    /// Password (from a file or the environment; never from the config itself).
    pub password: Option<String>,
    /// The longest one decision may take.
    pub deadline: Duration,
    /// Failures in a row that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one probe.
    pub breaker_cool_down: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("nodes", &self.nodes)
            .field("cluster", &self.cluster)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .field(
                "client_pem",
                &self.client_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("deadline", &self.deadline)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_cool_down", &self.breaker_cool_down)
            .finish()
    }
}

#[cfg(test)]
mod settings_tests {
    #[test]
    fn debug_hides_the_password_and_the_client_key() {
        let s = super::RedisSettings {
            password: Some("hunter2-redis".into()),
            client_pem: Some((b"CERT".to_vec(), b"PRIVATE-KEY".to_vec())),
            ..super::RedisSettings::default()
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("PRIVATE"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"));
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            nodes: vec!["redis://127.0.0.1:6379".into()],
            ca_pem: None,
            client_pem: None,
            cluster: false,
            username: None,
            password: None,
            deadline: Duration::from_millis(50),
            breaker_failures: 5,
            breaker_cool_down: Duration::from_secs(1),
        }
    }
}

/// Why the store gave no decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The deadline passed.
    Timeout,
    /// The breaker is open (or the first connection is not made yet): Redis was not asked.
    Unavailable,
    /// Redis answered with an error, or the connection failed.
    Redis(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Timeout => f.write_str("redis: deadline passed"),
            StoreError::Unavailable => f.write_str("redis: unavailable (circuit open)"),
            StoreError::Redis(e) => write!(f, "redis: {e}"),
        }
    }
}

/// The breaker's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go to Redis.
    Closed,
    /// Calls fail at once.
    Open,
    /// One call is probing.
    HalfOpen,
}

/// A circuit breaker on atomics (no lock on the request path).
#[derive(Debug)]
struct Breaker {
    epoch: Instant,
    failures_to_open: u32,
    cool_down_ns: u64,
    failures: AtomicU32,
    /// Nanoseconds since `epoch` until which calls are refused; 0 when closed.
    open_until: AtomicU64,
    probing: AtomicBool,
}

impl Breaker {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Whether a call may go out now.
    fn admit(&self) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        // open: after the cool-down, exactly one caller probes
        self.now_ns() >= until && !self.probing.swap(true, Ordering::AcqRel)
    }

    fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    fn failure(&self) {
        let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        let probing = self.probing.swap(false, Ordering::AcqRel);
        if probing || n >= self.failures_to_open {
            let until = (self.now_ns() + self.cool_down_ns).max(1);
            self.open_until.store(until, Ordering::Release);
        }
    }

    fn state(&self) -> BreakerState {
        if self.open_until.load(Ordering::Acquire) == 0 {
            BreakerState::Closed
        } else if self.probing.load(Ordering::Acquire) {
            BreakerState::HalfOpen
        } else {
            BreakerState::Open
        }
    }
}

enum Conn {
    /// Reconnects by itself.
    Single(ConnectionManager),
    /// Made in the background until the first success.
    Cluster(Arc<OnceCell<ClusterConnection>>),
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Decisions Redis made.
    pub decisions: AtomicU64,
    /// Calls that failed (error or deadline).
    pub errors: AtomicU64,
    /// Calls that passed their deadline.
    pub timeouts: AtomicU64,
    /// Calls refused by the open breaker.
    pub short_circuited: AtomicU64,
}

/// The Redis store.
pub struct RedisStore {
    conn: Conn,
    script: redis::Script,
    deadline: Duration,
    breaker: Breaker,
    /// Counters.
    pub stats: StoreStats,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("deadline", &self.deadline)
            .field("breaker", &self.breaker.state())
            .finish_non_exhaustive()
    }
}

fn connection_info(node: &str, settings: &RedisSettings) -> Result<redis::ConnectionInfo, String> {
    use redis::IntoConnectionInfo;
    let info = node
        .into_connection_info()
        .map_err(|e| format!("`{node}`: {e}"))?;
    let mut redis_info = info.redis_settings().clone();
    if let Some(u) = &settings.username {
        redis_info = redis_info.set_username(u);
    }
    if let Some(p) = &settings.password {
        redis_info = redis_info.set_password(p);
    }
    Ok(info.set_redis_settings(redis_info))
}

impl RedisStore {
    /// A store for `settings`, inside a tokio runtime. Returns at once: the connection is made
    /// in the background, and calls fail with [`StoreError::Unavailable`] until it is (a
    /// gateway starts while Redis is down, and its failure policy applies meanwhile). Errors
    /// are settings that cannot work (a malformed URL).
    pub fn new(settings: &RedisSettings) -> Result<RedisStore, String> {
        if settings.nodes.is_empty() {
            return Err("no Redis node given".into());
        }
        // the deadline bounds each call; the client's own timeouts only keep a dead socket
        // from lingering
        let io_timeout = settings.deadline.max(Duration::from_millis(200));
        let tls = settings.nodes.iter().any(|n| n.starts_with("rediss://"));
        let certificates = tls.then(|| redis::TlsCertificates {
            client_tls: settings
                .client_pem
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: settings.ca_pem.clone(),
        });
        let conn = if settings.cluster || settings.nodes.len() > 1 {
            let infos = settings
                .nodes
                .iter()
                .map(|n| connection_info(n, settings))
                .collect::<Result<Vec<_>, _>>()?;
            let mut builder = redis::cluster::ClusterClientBuilder::new(infos)
                .connection_timeout(io_timeout)
                .response_timeout(io_timeout);
            if let Some(c) = certificates {
                builder = builder.certs(c);
            }
            let client = builder.build().map_err(|e| format!("Redis Cluster: {e}"))?;
            let cell = Arc::new(OnceCell::new());
            let slot = Arc::clone(&cell);
            tokio::spawn(async move {
                loop {
                    if let Ok(c) = client.get_async_connection().await {
                        let _ = slot.set(c);
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            });
            Conn::Cluster(cell)
        } else {
            let info = connection_info(&settings.nodes[0], settings)?;
            let client = match &certificates {
                Some(c) => redis::Client::build_with_tls(info, c.clone()),
                None => redis::Client::open(info),
            }
            .map_err(|e| format!("Redis: {e}"))?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(io_timeout))
                .set_response_timeout(Some(io_timeout))
                .set_number_of_retries(1);
            let manager = ConnectionManager::new_lazy_with_config(client, config)
                .map_err(|e| format!("Redis: {e}"))?;
            Conn::Single(manager)
        };
        Ok(RedisStore {
            conn,
            script: redis::Script::new(GCRA),
            deadline: settings.deadline,
            breaker: Breaker {
                epoch: Instant::now(),
                failures_to_open: settings.breaker_failures.max(1),
                cool_down_ns: settings.breaker_cool_down.as_nanos() as u64,
                failures: AtomicU32::new(0),
                open_until: AtomicU64::new(0),
                probing: AtomicBool::new(false),
            },
            stats: StoreStats::default(),
        })
    }

    /// The breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Decides one request of cost 1 for `key` (already scoped by route and limit) with the
    /// GCRA `emission` interval and `tolerance` (burst × interval), and records it when
    /// admitted ([`LimitStore::decide`] with a cost).
    pub async fn decide_one(
        &self,
        key: &str,
        emission: Duration,
        tolerance: Duration,
    ) -> Result<Admission, StoreError> {
        self.admission(
            key,
            Gcra {
                emission,
                tolerance,
            },
            1,
        )
        .await
    }

    /// Gives one admission back for `key` (a later limit refused the request).
    pub async fn refund_one(&self, key: &str, emission: Duration) -> Result<(), StoreError> {
        self.call(key, emission, Duration::ZERO, -1)
            .await
            .map(|_| ())
    }

    async fn admission(&self, key: &str, gcra: Gcra, cost: u32) -> Result<Admission, StoreError> {
        let reply = self
            .call(key, gcra.emission, gcra.tolerance, i64::from(cost.max(1)))
            .await?;
        let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
        Ok(Admission {
            admitted: reply[0] == 1,
            remaining: u32::try_from(reply[1]).unwrap_or(0),
            reset_after: us(reply[2]),
            retry_after: us(reply[3]),
        })
    }

    async fn call(
        &self,
        key: &str,
        emission: Duration,
        tolerance: Duration,
        cost: i64,
    ) -> Result<[i64; 4], StoreError> {
        let emission_us = emission.as_micros().max(1) as i64;
        let tau_us = tolerance.as_micros() as i64;
        let reply = self
            .run(&self.script, key, &[emission_us, tau_us, cost])
            .await?;
        match reply.as_slice() {
            [a, b, c, d] => Ok([*a, *b, *c, *d]),
            _ => Err(StoreError::Redis(format!(
                "unexpected reply of {} values",
                reply.len()
            ))),
        }
    }

    /// The hashes whose keys match `pattern` (a `SCAN` pattern), with the integer fields
    /// `fields` of each (absent: -1) and the server's time in µs: for listings on the admin
    /// API, not for requests (its own deadline of 2 s, the breaker left alone). At most `max`
    /// keys. A Redis Cluster is not scanned (its keys are spread over nodes): an error.
    pub async fn scan_hashes(
        &self,
        pattern: &str,
        fields: &[&str],
        max: usize,
    ) -> Result<(i64, Vec<(String, Vec<i64>)>), StoreError> {
        let Conn::Single(m) = &self.conn else {
            return Err(StoreError::Redis(
                "listing keys of a Redis Cluster is not supported".into(),
            ));
        };
        let mut c = m.clone();
        let work = async {
            let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut c).await?;
            let mut out = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query_async(&mut c)
                    .await?;
                for k in keys {
                    if out.len() >= max {
                        break;
                    }
                    let values: Vec<Option<i64>> = redis::cmd("HMGET")
                        .arg(&k)
                        .arg(fields)
                        .query_async(&mut c)
                        .await?;
                    out.push((k, values.into_iter().map(|v| v.unwrap_or(-1)).collect()));
                }
                cursor = next;
                if cursor == 0 || out.len() >= max {
                    break;
                }
            }
            Ok::<_, redis::RedisError>((secs * 1_000_000 + micros, out))
        };
        match tokio::time::timeout(Duration::from_secs(2), work).await {
            Err(_) => Err(StoreError::Timeout),
            Ok(Err(e)) => Err(StoreError::Redis(e.to_string())),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Runs `script` on the one key `key` with integer `args`, under the deadline and the
    /// breaker, and returns its integer list. Other features that share state through Redis
    /// (abuse bans) use the store's connection this way.
    pub async fn run(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        if !self.breaker.admit() {
            self.stats.short_circuited.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Unavailable);
        }
        let mut invocation = script.key(key);
        for a in args {
            invocation.arg(*a);
        }
        let run = async {
            match &self.conn {
                Conn::Single(m) => {
                    let mut c = m.clone();
                    invocation.invoke_async::<Vec<i64>>(&mut c).await
                }
                Conn::Cluster(cell) => match cell.get() {
                    Some(c) => {
                        let mut c = c.clone();
                        invocation.invoke_async::<Vec<i64>>(&mut c).await
                    }
                    None => Err(redis::RedisError::from((
                        redis::ErrorKind::Io,
                        "not connected yet",
                    ))),
                },
            }
        };
        match tokio::time::timeout(self.deadline, run).await {
            Err(_) => {
                self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                self.breaker.failure();
                Err(StoreError::Timeout)
            }
            Ok(Err(e)) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                self.breaker.failure();
                Err(StoreError::Redis(e.to_string()))
            }
            Ok(Ok(v)) => {
                self.breaker.success();
                self.stats.decisions.fetch_add(1, Ordering::Relaxed);
                Ok(v)
            }
        }
    }
}

impl LimitStore for RedisStore {
    type Error = StoreError;

    /// Decides on Redis's clock: `now` is not used.
    fn decide(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
        _now: Instant,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send {
        self.admission(key, gcra, cost)
    }

    fn refund(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let cost = -i64::from(cost.max(1));
        async move {
            self.call(key, gcra.emission, Duration::ZERO, cost)
                .await
                .map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: u32, cool_down: Duration) -> Breaker {
        Breaker {
            epoch: Instant::now(),
            failures_to_open: failures,
            cool_down_ns: cool_down.as_nanos() as u64,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    #[test]
    fn the_breaker_opens_probes_once_and_closes() {
        let b = breaker(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(b.admit());
            b.failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.admit());
        b.failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.admit(), "open: refused at once");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.admit(), "after the cool-down one probe goes out");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.admit(), "and only one");
        b.failure();
        assert_eq!(
            b.state(),
            BreakerState::Open,
            "a failed probe opens it again"
        );
        assert!(!b.admit());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.admit());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.admit() && b.admit());
    }
}
