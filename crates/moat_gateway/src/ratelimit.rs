//! GCRA rate limiting with bounded memory.
//!
//! Each limit keeps one "theoretical arrival time" (TAT) per key in a sharded map. A request is
//! admitted when `max(TAT, now) + T - now <= burst * T` (T = period / rate), and the TAT then
//! moves by T. An entry whose TAT is in the past carries no information (it equals a fresh key),
//! so it can be dropped at any time without changing a decision.
//!
//! **Memory bound.** Each limit remembers at most `max_keys` keys (split over 16 shards). When a
//! shard is full, entries whose TAT has passed are swept first (exact). If every entry is still
//! active — an attacker inventing keys faster than they expire — the tenth of the shard with the
//! oldest TAT is evicted: those keys start again from a full burst, so the limiter can
//! **over-admit** by at most one burst per evicted key; it never under-admits because of eviction.
//! Keys longer than 256 bytes are cut to 256 bytes (two keys sharing their first 256 bytes share
//! a budget, which can only under-admit).

use std::collections::HashMap;
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

/// One named GCRA limit with its state.
#[derive(Debug)]
pub struct Limiter {
    /// Its parameters.
    pub spec: LimitSpec,
    emission_ns: u64,
    tau_ns: u64,
    epoch: Instant,
    shards: Box<[Shard]>,
    shard_cap: usize,
    hasher: std::collections::hash_map::RandomState,
    /// `"name";q=burst;w=window`, the `RateLimit-Policy` item of this limit.
    policy: Box<str>,
    /// `policy` as a header value, shared by every response (`None` if the name cannot be one).
    policy_value: Option<http::HeaderValue>,
}

impl Limiter {
    /// A limiter with empty state.
    pub fn new(spec: LimitSpec) -> Self {
        let period_ns = spec.period.as_nanos().min(u128::from(u64::MAX)) as u64;
        let emission_ns = (period_ns / u64::from(spec.count.max(1))).max(1);
        let tau_ns = emission_ns.saturating_mul(u64::from(spec.burst.max(1)));
        let shard_cap = (spec.max_keys / SHARDS).max(1);
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        let window = (spec.period.as_secs_f64() * f64::from(spec.burst) / f64::from(spec.count))
            .ceil() as u64;
        let policy = format!("\"{}\";q={};w={}", spec.name, spec.burst, window.max(1));
        Self {
            policy_value: http::HeaderValue::from_str(&policy).ok(),
            policy: policy.into(),
            spec,
            emission_ns,
            tau_ns,
            epoch: Instant::now(),
            shards,
            shard_cap,
            hasher: std::collections::hash_map::RandomState::new(),
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

    fn shard(&self, key: &str) -> &Shard {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one(key);
        &self.shards[(h as usize) % SHARDS]
    }

    fn now_ns(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// Decides one request for `key` at `now` and records it when admitted.
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        let key = truncate(key);
        let now = self.now_ns(now);
        let mut map = match self.shard(key).lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let slot = map.get_mut(key);
        let tat = slot.as_deref().copied().unwrap_or(now).max(now);
        let new_tat = tat + self.emission_ns;
        let ahead = new_tat - now;
        if ahead <= self.tau_ns {
            if let Some(t) = slot {
                *t = new_tat;
            } else {
                if map.len() >= self.shard_cap {
                    evict(&mut map, now, self.shard_cap);
                }
                map.insert(key.into(), new_tat);
            }
            Decision {
                allowed: true,
                would_reject: false,
                remaining: ((self.tau_ns - ahead) / self.emission_ns) as u32,
                reset_after: Duration::from_nanos(ahead),
                retry_after: Duration::ZERO,
            }
        } else {
            Decision {
                allowed: self.spec.dry_run,
                would_reject: true,
                remaining: 0,
                reset_after: Duration::from_nanos(tat - now),
                retry_after: Duration::from_nanos(ahead - self.tau_ns),
            }
        }
    }

    /// Gives back one admission for `key` (used when a later limit rejects the request).
    pub fn refund(&self, key: &str) {
        let key = truncate(key);
        let mut map = match self.shard(key).lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(tat) = map.get_mut(key) {
            *tat = tat.saturating_sub(self.emission_ns);
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
        assert!(l.len() <= 160, "{}", l.len());
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
        l.refund("a");
        assert!(l.check("a", t0).allowed);
    }
}
