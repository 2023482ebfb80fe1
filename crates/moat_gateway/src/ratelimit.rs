//! GCRA rate limiting: the limits ([`Limiter`]), the seam to where their state lives
//! ([`LimitStore`]), and the first store, in memory ([`MemoryStore`]).
//!
//! Each limit keeps one "theoretical arrival time" (TAT) per key. A request of cost `c` is
//! admitted when `max(TAT, now) + c·T - now <= τ` (T = period / rate, the emission interval;
//! τ = burst × T, the tolerance), and the TAT then moves by `c·T`. An entry whose TAT is in
//! the past carries no information (it equals a fresh key), so it can be dropped at any time
//! without changing a decision.
//!
//! **The store seam.** A [`LimitStore`] decides one key with the limit's [`Gcra`] parameters
//! and a cost, and answers what the `RateLimit` headers need ([`Admission`]); its calls return
//! futures, so a store across the network (Redis, with a deadline) fits behind the same calls.
//! The request path goes through [`Store`], an enum over the store kinds: no boxing and no
//! allocation per decision. What a store that cannot answer means (admit or refuse) is the
//! caller's policy; the in-memory store always answers.
//!
//! **Memory bound (in memory).** Each limit remembers at most `max_keys` keys (split over 16
//! shards). When a shard is full, entries whose TAT has passed are swept first (exact). If
//! every entry is still active — an attacker inventing keys faster than they expire — the
//! tenth of the shard with the oldest TAT is evicted: those keys start again from a full burst,
//! so the limiter can **over-admit** by at most one burst per evicted key; it never
//! under-admits because of eviction. Keys longer than 256 bytes are cut to 256 bytes (two keys
//! sharing their first 256 bytes share a budget, which can only under-admit).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Future, ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
const MAX_KEY_LEN: usize = 256;

/// Key → theoretical arrival time (ns since the limiter's epoch).
type Shard = Mutex<HashMap<Box<str>, u64>>;

/// What a limit is keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// The client address (IPv6 by prefix).
    Ip,
    /// The API-key id (requests without one are keyed by client address).
    ApiKey,
    /// The route: one budget shared by every client.
    Route,
    /// The value of a request header (a missing header is keyed as empty).
    Header(http::HeaderName),
}

/// Parameters of one limit, compared on reload to keep state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSpec {
    /// Name from the config.
    pub name: String,
    /// Key kind.
    pub key: KeyKind,
    /// Requests per period.
    pub count: u32,
    /// Period.
    pub period: Duration,
    /// Requests admitted at once.
    pub burst: u32,
    /// Only count and log.
    pub dry_run: bool,
    /// Only for these consumers (None = all).
    pub consumers: Option<Vec<String>>,
    /// Not for these consumers.
    pub except_consumers: Vec<String>,
    /// Keys remembered.
    pub max_keys: usize,
}

/// One limit's decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Admitted (always true in dry-run mode; see `would_reject`).
    pub allowed: bool,
    /// The limit would have rejected (dry-run) or did reject.
    pub would_reject: bool,
    /// Requests still admissible now.
    pub remaining: u32,
    /// Time until the full burst is available again.
    pub reset_after: Duration,
    /// Time until the next request would be admitted (zero when admitted).
    pub retry_after: Duration,
}

/// The GCRA parameters of one limit, as every store needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// T: what one admission costs, `period / count` (at least 1 ns).
    pub emission: Duration,
    /// τ: how far the TAT may run ahead of now, `burst × T`.
    pub tolerance: Duration,
}

impl Gcra {
    /// The parameters of `count` requests per `period` with bursts of `burst` (a zero count or
    /// burst counts as 1).
    pub fn new(count: u32, period: Duration, burst: u32) -> Self {
        let period_ns = period.as_nanos().min(u128::from(u64::MAX)) as u64;
        let emission_ns = (period_ns / u64::from(count.max(1))).max(1);
        let tau_ns = emission_ns.saturating_mul(u64::from(burst.max(1)));
        Self {
            emission: Duration::from_nanos(emission_ns),
            tolerance: Duration::from_nanos(tau_ns),
        }
    }
}

/// A store's answer for one key: what the `RateLimit` headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Admitted (and recorded).
    pub admitted: bool,
    /// Requests still admissible now.
    pub remaining: u32,
    /// Time until the full burst is available again.
    pub reset_after: Duration,
    /// Time until the next request would be admitted (zero when admitted).
    pub retry_after: Duration,
}

/// Where rate-limit state lives. Keys arrive scoped by route and limit (`route NUL key`);
/// the store applies the GCRA with the limit's parameters, so one store can serve many limits.
pub trait LimitStore {
    /// Why the store gave no answer ([`Infallible`] for a store that always answers).
    type Error;

    /// Decides a request of `cost` for `key` and records it when admitted. `now` is the
    /// caller's clock, for a store in this process; a shared store decides on its own clock.
    fn decide(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
        now: Instant,
    ) -> impl Future<Output = Result<Admission, Self::Error>> + Send;

    /// Gives back `cost` admitted for `key` (a later limit refused the request).
    fn refund(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The store kinds a limit can use; static dispatch over [`LimitStore`].
#[derive(Debug)]
pub enum Store {
    /// This process's memory.
    Memory(MemoryStore),
    /// Redis, shared by the gateway's replicas, with a failure policy.
    Shared(SharedStore),
}

/// What a limit does when its shared store gives no answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStoreError {
    /// Admit the request (fail open).
    Allow,
    /// Refuse it with 429 (fail closed).
    Deny,
    /// Decide in this process's memory, with the limit divided by the replica count.
    Local,
}

/// A limit's state in Redis, and what stands in when Redis does not answer.
#[derive(Debug)]
pub struct SharedStore {
    /// The Redis store (shared by every limit of a plan).
    pub redis: std::sync::Arc<crate::redis_store::RedisStore>,
    /// The failure policy.
    pub on_error: OnStoreError,
    /// The local stand-in (`OnStoreError::Local`).
    pub local: MemoryStore,
    /// Gateway replicas sharing the limit: the local stand-in allows `1 / replicas` of it.
    pub replicas: u32,
    /// Decisions made without Redis.
    pub fallbacks: std::sync::atomic::AtomicU64,
}

impl SharedStore {
    /// The limit divided over the replicas: `count / n` per period, `burst / n` at once (at
    /// least 1).
    fn local_gcra(&self, gcra: Gcra) -> Gcra {
        let n = self.replicas.max(1);
        let emission = gcra.emission.saturating_mul(n);
        let burst = (gcra.tolerance.as_nanos() / gcra.emission.as_nanos().max(1)) as u32;
        Gcra {
            emission,
            tolerance: emission.saturating_mul((burst / n).max(1)),
        }
    }

    async fn decide(&self, key: &str, gcra: Gcra, cost: u32, now: Instant) -> Admission {
        if let Ok(a) = self.redis.decide(key, gcra, cost, now).await {
            return a;
        }
        self.fallbacks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.on_error {
            OnStoreError::Allow => Admission {
                admitted: true,
                remaining: 0,
                reset_after: Duration::ZERO,
                retry_after: Duration::ZERO,
            },
            OnStoreError::Deny => Admission {
                admitted: false,
                remaining: 0,
                reset_after: gcra.tolerance,
                retry_after: Duration::from_secs(1),
            },
            OnStoreError::Local => self.local.decide_now(key, self.local_gcra(gcra), cost, now),
        }
    }

    async fn refund(&self, key: &str, gcra: Gcra, cost: u32) {
        if self.redis.refund(key, gcra, cost).await.is_err() && self.on_error == OnStoreError::Local
        {
            self.local.refund_now(key, self.local_gcra(gcra), cost);
        }
    }
}

impl LimitStore for Store {
    type Error = Infallible;

    async fn decide(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
        now: Instant,
    ) -> Result<Admission, Infallible> {
        match self {
            Store::Memory(m) => Ok(m.decide_now(key, gcra, cost, now)),
            Store::Shared(s) => Ok(s.decide(key, gcra, cost, now).await),
        }
    }

    async fn refund(&self, key: &str, gcra: Gcra, cost: u32) -> Result<(), Infallible> {
        match self {
            Store::Memory(m) => m.refund_now(key, gcra, cost),
            Store::Shared(s) => s.refund(key, gcra, cost).await,
        }
        Ok(())
    }
}

/// GCRA state in memory: a sharded map from key to TAT, bounded (see the module doc).
#[derive(Debug)]
pub struct MemoryStore {
    epoch: Instant,
    shards: Box<[Shard]>,
    shard_cap: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl MemoryStore {
    /// An empty store that remembers at most `max_keys` keys.
    pub fn new(max_keys: usize) -> Self {
        Self {
            epoch: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            shard_cap: (max_keys / SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn shard(&self, key: &str) -> &Shard {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one(key);
        &self.shards[(h as usize) % SHARDS]
    }

    fn now_ns(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// [`LimitStore::decide`], answered at once.
    pub fn decide_now(&self, key: &str, gcra: Gcra, cost: u32, now: Instant) -> Admission {
        let (emission_ns, tau_ns) = nanos(gcra);
        let key = truncate(key);
        let now = self.now_ns(now);
        let mut map = match self.shard(key).lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let slot = map.get_mut(key);
        let tat = slot.as_deref().copied().unwrap_or(now).max(now);
        let new_tat = tat + emission_ns.saturating_mul(u64::from(cost));
        let ahead = new_tat - now;
        if ahead <= tau_ns {
            if let Some(t) = slot {
                *t = new_tat;
            } else {
                if map.len() >= self.shard_cap {
                    evict(&mut map, now, self.shard_cap);
                }
                map.insert(key.into(), new_tat);
            }
            Admission {
                admitted: true,
                remaining: ((tau_ns - ahead) / emission_ns) as u32,
                reset_after: Duration::from_nanos(ahead),
                retry_after: Duration::ZERO,
            }
        } else {
            Admission {
                admitted: false,
                remaining: 0,
                reset_after: Duration::from_nanos(tat - now),
                retry_after: Duration::from_nanos(ahead - tau_ns),
            }
        }
    }

    /// [`LimitStore::refund`], done at once.
    pub fn refund_now(&self, key: &str, gcra: Gcra, cost: u32) {
        let (emission_ns, _) = nanos(gcra);
        let key = truncate(key);
        let mut map = match self.shard(key).lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(tat) = map.get_mut(key) {
            *tat = tat.saturating_sub(emission_ns.saturating_mul(u64::from(cost)));
        }
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |m| m.len()))
            .sum()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LimitStore for MemoryStore {
    type Error = Infallible;

    fn decide(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
        now: Instant,
    ) -> impl Future<Output = Result<Admission, Infallible>> + Send {
        // answered before the future is made: no state held across an await
        ready(Ok(self.decide_now(key, gcra, cost, now)))
    }

    fn refund(
        &self,
        key: &str,
        gcra: Gcra,
        cost: u32,
    ) -> impl Future<Output = Result<(), Infallible>> + Send {
        self.refund_now(key, gcra, cost);
        ready(Ok(()))
    }
}

/// `(T, τ)` in nanoseconds, as the in-memory TATs count.
fn nanos(gcra: Gcra) -> (u64, u64) {
    let ns = |d: Duration| d.as_nanos().min(u128::from(u64::MAX)) as u64;
    (ns(gcra.emission).max(1), ns(gcra.tolerance))
}

/// One named GCRA limit: its parameters, its store, and its `RateLimit-Policy` item.
#[derive(Debug)]
pub struct Limiter {
    /// Its parameters.
    pub spec: LimitSpec,
    gcra: Gcra,
    store: Store,
    /// `"name";q=burst;w=window`, the `RateLimit-Policy` item of this limit.
    policy: Box<str>,
    /// `policy` as a header value, shared by every response (`None` if the name cannot be one).
    policy_value: Option<http::HeaderValue>,
}

impl Limiter {
    /// A limiter with empty state, in memory.
    pub fn new(spec: LimitSpec) -> Self {
        let store = Store::Memory(MemoryStore::new(spec.max_keys));
        Self::with_store(spec, store)
    }

    /// A limiter whose state lives in `store`.
    pub fn with_store(spec: LimitSpec, store: Store) -> Self {
        let gcra = Gcra::new(spec.count, spec.period, spec.burst);
        let window = (spec.period.as_secs_f64() * f64::from(spec.burst) / f64::from(spec.count))
            .ceil() as u64;
        let policy = format!("\"{}\";q={};w={}", spec.name, spec.burst, window.max(1));
        Self {
            policy_value: http::HeaderValue::from_str(&policy).ok(),
            policy: policy.into(),
            spec,
            gcra,
            store,
        }
    }

    /// The `RateLimit-Policy` item of this limit: `"name";q=burst;w=window` (window in seconds).
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// [`Limiter::policy`] as a header value (cloning it does not copy).
    pub fn policy_value(&self) -> Option<&http::HeaderValue> {
        self.policy_value.as_ref()
    }

    /// Its GCRA parameters.
    pub fn gcra(&self) -> Gcra {
        self.gcra
    }

    /// Where its state lives.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The failure policy of a shared limit (`None` in memory).
    pub fn shared_on_error(&self) -> Option<OnStoreError> {
        match &self.store {
            Store::Memory(_) => None,
            Store::Shared(s) => Some(s.on_error),
        }
    }

    /// Whether this limit applies to a request from `consumer`.
    pub fn applies_to(&self, consumer: Option<&str>) -> bool {
        if let Some(c) = consumer
            && self.spec.except_consumers.iter().any(|e| e == c)
        {
            return false;
        }
        match (&self.spec.consumers, consumer) {
            (None, _) => true,
            (Some(list), Some(c)) => list.iter().any(|e| e == c),
            (Some(_), None) => false,
        }
    }

    /// Decides one request for `key` at `now` through the store, and records it when admitted.
    pub async fn decide(
        &self,
        key: &str,
        now: Instant,
    ) -> Result<Decision, <Store as LimitStore>::Error> {
        let a = self.store.decide(key, self.gcra, 1, now).await?;
        Ok(self.decision(a))
    }

    /// Gives back one admission for `key` (used when a later limit rejects the request).
    pub async fn refund(&self, key: &str) -> Result<(), <Store as LimitStore>::Error> {
        self.store.refund(key, self.gcra, 1).await
    }

    /// [`Limiter::decide`] answered at once, on the in-memory store (tests, fuzzing).
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        match &self.store {
            Store::Memory(m) => self.decision(m.decide_now(key, self.gcra, 1, now)),
            Store::Shared(s) => self.decision(s.local.decide_now(key, self.gcra, 1, now)),
        }
    }

    /// The decision on a store's answer: a dry-run limit admits what it would refuse.
    fn decision(&self, a: Admission) -> Decision {
        Decision {
            allowed: a.admitted || self.spec.dry_run,
            would_reject: !a.admitted,
            remaining: a.remaining,
            reset_after: a.reset_after,
            retry_after: a.retry_after,
        }
    }
}

fn truncate(key: &str) -> &str {
    if key.len() <= MAX_KEY_LEN {
        return key;
    }
    let mut end = MAX_KEY_LEN;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

fn evict(map: &mut HashMap<Box<str>, u64>, now: u64, cap: usize) {
    map.retain(|_, tat| *tat > now);
    if map.len() < cap {
        return;
    }
    let mut tats: Vec<u64> = map.values().copied().collect();
    let n = (cap / 10).max(1).min(tats.len() - 1);
    let (_, cut, _) = tats.select_nth_unstable(n);
    let cut = *cut;
    map.retain(|_, tat| *tat > cut);
    // ties at the cut may keep the map full; remove arbitrary entries until there is room
    while map.len() >= cap {
        let Some(k) = map.keys().next().cloned() else {
            break;
        };
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ready_now;

    fn spec(count: u32, period: Duration, burst: u32, max_keys: usize) -> LimitSpec {
        LimitSpec {
            name: "t".into(),
            key: KeyKind::Ip,
            count,
            period,
            burst,
            dry_run: false,
            consumers: None,
            except_consumers: vec![],
            max_keys,
        }
    }

    #[test]
    fn admits_exactly_the_burst_then_refills_at_the_rate() {
        let l = Limiter::new(spec(1, Duration::from_mins(1), 3, 1000));
        let t0 = Instant::now();
        let d: Vec<Decision> = (0..4).map(|_| l.check("a", t0)).collect();
        assert_eq!(d.iter().filter(|d| d.allowed).count(), 3);
        assert_eq!(
            d.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            vec![2, 1, 0, 0]
        );
        assert_eq!(d[3].retry_after, Duration::from_mins(1));
        assert!(l.check("b", t0).allowed, "keys are independent");
        assert!(l.check("a", t0 + Duration::from_mins(1)).allowed);
        assert!(!l.check("a", t0 + Duration::from_mins(1)).allowed);
    }

    #[test]
    fn memory_is_bounded_whatever_keys_arrive() {
        let l = Limiter::new(spec(1, Duration::from_hours(1), 1, 160));
        let t0 = Instant::now();
        for i in 0..10_000 {
            assert!(l.check(&format!("k{i}"), t0).allowed);
        }
        let Store::Memory(m) = l.store() else {
            panic!("a new limiter is in memory");
        };
        assert!(m.len() <= 160, "{}", m.len());
        let long = "x".repeat(10_000);
        l.check(&long, t0);
        assert!(!l.check(&long, t0).allowed);
    }

    #[test]
    fn dry_run_admits_but_reports() {
        let mut s = spec(1, Duration::from_mins(1), 1, 100);
        s.dry_run = true;
        let l = Limiter::new(s);
        let t0 = Instant::now();
        assert!(!l.check("a", t0).would_reject);
        let d = l.check("a", t0);
        assert!(d.allowed && d.would_reject);
    }

    #[test]
    fn refund_gives_back_one() {
        let l = Limiter::new(spec(1, Duration::from_mins(1), 1, 100));
        let t0 = Instant::now();
        assert!(l.check("a", t0).allowed);
        ready_now(l.refund("a")).unwrap();
        assert!(l.check("a", t0).allowed);
    }

    #[test]
    fn the_store_seam_decides_like_the_limiter_and_costs_count() {
        let s = spec(1, Duration::from_mins(1), 3, 1000);
        let l = Limiter::new(s.clone());
        let t0 = Instant::now();
        let through_seam = ready_now(l.decide("a", t0)).unwrap();
        assert_eq!(
            through_seam,
            l.check("b", t0),
            "same answer for a fresh key"
        );
        assert_eq!(
            l.gcra(),
            Gcra {
                emission: Duration::from_mins(1),
                tolerance: Duration::from_mins(3)
            }
        );
        let m = MemoryStore::new(1000);
        let gcra = l.gcra();
        let a = ready_now(LimitStore::decide(&m, "k", gcra, 2, t0)).unwrap();
        assert_eq!((a.admitted, a.remaining), (true, 1));
        let a = m.decide_now("k", gcra, 2, t0);
        assert_eq!(
            (a.admitted, a.remaining, a.retry_after),
            (false, 0, Duration::from_mins(1))
        );
        ready_now(LimitStore::refund(&m, "k", gcra, 2)).unwrap();
        assert_eq!(m.decide_now("k", gcra, 3, t0).remaining, 0);
        assert!(!m.is_empty());
    }
}
