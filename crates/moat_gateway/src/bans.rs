//! Abuse bans, fail2ban-like: a client address that commits too many offences of one kind
//! within a window — failed authentication, requests refused by a rate limit, responses with
//! chosen status codes — is refused outright for a while.
//!
//! Strikes and bans live in memory by default. With a Redis store they live in Redis, one hash
//! per address (`until` and a counter and window start per rule) changed by one Lua script on
//! that one key, so every replica sees a ban the moment it is set and a Cluster never needs two
//! slots. A Redis that fails or is slow answers nothing (the store's deadline and breaker
//! apply): a ban check then says "not banned" — bans fail open, the rate limits' own failure
//! policy stays in force — and a strike is counted locally instead.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::redis_store::RedisStore;

/// What counts as an offence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offence {
    /// A request refused for missing or wrong credentials (401/403 from the auth phase).
    AuthFailure,
    /// A request refused by a rate limit (429).
    RateLimited,
    /// A response with this status (from the gateway or the upstream).
    Status(u16),
}

/// One ban rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRule {
    /// Name (for metrics and the admin list).
    pub name: String,
    /// The offences it counts: any of these.
    pub offences: Vec<Offence>,
    /// Offences within `window` that ban.
    pub threshold: u32,
    /// The counting window.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban_for: Duration,
}

impl BanRule {
    fn counts(&self, offence: &Offence) -> bool {
        self.offences.contains(offence)
    }
}

/// A ban in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// The address.
    pub ip: IpAddr,
    /// Time left.
    pub remaining: Duration,
    /// The rule that set it (empty when not known: set by another replica).
    pub rule: String,
}

/// Local state: per address, the ban end and per-rule (window start, count).
#[derive(Debug, Default)]
struct Local {
    until: HashMap<IpAddr, (Instant, String)>,
    strikes: HashMap<(IpAddr, usize), (Instant, u32)>,
}

/// The ban list.
#[derive(Debug)]
pub struct Bans {
    rules: Vec<BanRule>,
    local: Mutex<Local>,
    redis: Option<Arc<RedisStore>>,
    prefix: String,
    record_script: redis::Script,
    check_script: redis::Script,
    unban_script: redis::Script,
    /// Addresses remembered locally at most (strikes and bans), a bound against address
    /// spraying: past it, expired entries are swept, then the oldest strikes dropped.
    max_entries: usize,
}

/// `KEYS[1]`: the address's hash. `ARGV`: rule index, threshold, window (µs), ban (µs).
/// Returns `{banned, remaining_us}`.
const RECORD: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untl = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if untl > now then
  return {1, untl - now}
end
local rule = ARGV[1]
local threshold = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local ban = tonumber(ARGV[4])
local start = tonumber(redis.call('HGET', KEYS[1], 'w' .. rule) or '0')
local n
if now - start > window then
  redis.call('HSET', KEYS[1], 'w' .. rule, string.format('%.0f', now), 'c' .. rule, 1)
  n = 1
else
  n = redis.call('HINCRBY', KEYS[1], 'c' .. rule, 1)
end
if n >= threshold then
  redis.call('HSET', KEYS[1], 'until', string.format('%.0f', now + ban), 'rule', rule)
  redis.call('HDEL', KEYS[1], 'w' .. rule, 'c' .. rule)
  redis.call('PEXPIRE', KEYS[1], math.ceil(ban / 1000) + 1)
  return {1, ban}
end
local ttl = redis.call('PTTL', KEYS[1])
local want = math.ceil(window / 1000) + 1
if ttl < want then
  redis.call('PEXPIRE', KEYS[1], want)
end
return {0, 0}
";

/// `KEYS[1]`: the address's hash. Returns `{banned, remaining_us, rule}` (rule -1 unknown).
const CHECK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = redis.call('HMGET', KEYS[1], 'until', 'rule')
local untl = tonumber(v[1] or '0')
if untl > now then
  return {1, untl - now, tonumber(v[2] or '-1')}
end
return {0, 0, -1}
";

impl Bans {
    /// A ban list with `rules`, in memory, or shared through `redis` (keys under `prefix`).
    pub fn new(rules: Vec<BanRule>, redis: Option<Arc<RedisStore>>, prefix: &str) -> Bans {
        Bans {
            rules,
            local: Mutex::new(Local::default()),
            redis,
            prefix: prefix.to_string(),
            record_script: redis::Script::new(RECORD),
            check_script: redis::Script::new(CHECK),
            unban_script: redis::Script::new("return {redis.call('DEL', KEYS[1])}"),
            max_entries: 100_000,
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[BanRule] {
        &self.rules
    }

    /// The Redis store bans are shared through, if any.
    pub fn redis(&self) -> Option<&Arc<RedisStore>> {
        self.redis.as_ref()
    }

    /// Whether any rule is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn key(&self, ip: IpAddr) -> String {
        format!("{}ban:{ip}", self.prefix)
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        match self.local.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The ban on `ip`, if one is in force (locally set, or in Redis).
    pub async fn check(&self, ip: IpAddr) -> Option<Ban> {
        if self.rules.is_empty() {
            return None;
        }
        let now = Instant::now();
        if let Some((until, rule)) = self.local().until.get(&ip)
            && *until > now
        {
            return Some(Ban {
                ip,
                remaining: *until - now,
                rule: rule.clone(),
            });
        }
        let redis = self.redis.as_ref()?;
        match redis.run(&self.check_script, &self.key(ip), &[]).await {
            Ok(v) if v.first() == Some(&1) => Some(Ban {
                ip,
                remaining: Duration::from_micros(v.get(1).copied().unwrap_or(0).max(0) as u64),
                rule: self.rule_name(v.get(2).copied().unwrap_or(-1)),
            }),
            // not banned, or Redis did not answer: bans fail open
            _ => None,
        }
    }

    fn rule_name(&self, index: i64) -> String {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.rules.get(i))
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// Counts what one request did wrong (`offences`: e.g. an authentication failure and its
    /// 401 status) against `ip`: a rule counting any of them counts the request once. Returns
    /// the ban it set, if it set one.
    pub async fn record(&self, ip: IpAddr, offences: &[Offence]) -> Option<Ban> {
        let mut banned = None;
        for (i, rule) in self.rules.iter().enumerate() {
            if !offences.iter().any(|o| rule.counts(o)) {
                continue;
            }
            if let Some(redis) = &self.redis {
                let args = [
                    i64::try_from(i).unwrap_or(i64::MAX),
                    i64::from(rule.threshold),
                    rule.window.as_micros() as i64,
                    rule.ban_for.as_micros() as i64,
                ];
                // when Redis does not answer, the strike is counted here instead
                if let Ok(v) = redis.run(&self.record_script, &self.key(ip), &args).await {
                    if v.first() == Some(&1) {
                        banned = Some(Ban {
                            ip,
                            remaining: Duration::from_micros(
                                v.get(1).copied().unwrap_or(0).max(0) as u64
                            ),
                            rule: rule.name.clone(),
                        });
                    }
                    continue;
                }
            }
            if let Some(b) = self.record_local(ip, i, rule) {
                banned = Some(b);
            }
        }
        banned
    }

    fn record_local(&self, ip: IpAddr, index: usize, rule: &BanRule) -> Option<Ban> {
        let now = Instant::now();
        let mut local = self.local();
        if let Some((until, _)) = local.until.get(&ip)
            && *until > now
        {
            return None;
        }
        if local.strikes.len() + local.until.len() >= self.max_entries {
            local.until.retain(|_, (u, _)| *u > now);
            let windows: HashMap<usize, Duration> = self
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (i, r.window))
                .collect();
            local
                .strikes
                .retain(|(_, i), (start, _)| now.duration_since(*start) <= windows[i]);
            if local.strikes.len() >= self.max_entries {
                // an address spray: forget the oldest strikes (can only under-ban)
                let mut starts: Vec<Instant> = local.strikes.values().map(|(s, _)| *s).collect();
                starts.sort_unstable();
                let cut = starts[starts.len() / 10];
                local.strikes.retain(|_, (s, _)| *s > cut);
            }
        }
        let entry = local.strikes.entry((ip, index)).or_insert((now, 0));
        if now.duration_since(entry.0) > rule.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 < rule.threshold {
            return None;
        }
        local.strikes.remove(&(ip, index));
        local
            .until
            .insert(ip, (now + rule.ban_for, rule.name.clone()));
        Some(Ban {
            ip,
            remaining: rule.ban_for,
            rule: rule.name.clone(),
        })
    }

    /// The bans in force: with Redis, those in Redis (every replica's; on a Cluster, which is
    /// not scanned, only this replica's) and those set here while Redis did not answer; soonest
    /// to end first. At most 10 000.
    pub async fn list_all(&self) -> Vec<Ban> {
        let mut out = self.list();
        let Some(redis) = &self.redis else {
            return out;
        };
        let pattern = format!("{}ban:*", self.prefix);
        if let Ok((now, hashes)) = redis
            .scan_hashes(&pattern, &["until", "rule"], 10_000)
            .await
        {
            let at = self.prefix.len() + "ban:".len();
            for (key, v) in hashes {
                let (Some(ip), [until, rule]) = (
                    key.get(at..).and_then(|a| a.parse::<IpAddr>().ok()),
                    v.as_slice(),
                ) else {
                    continue;
                };
                if *until > now && !out.iter().any(|b| b.ip == ip) {
                    out.push(Ban {
                        ip,
                        remaining: Duration::from_micros((until - now).unsigned_abs()),
                        rule: self.rule_name(*rule),
                    });
                }
            }
            out.sort_by_key(|b| b.remaining);
        }
        out
    }

    /// The bans this replica set itself (without Redis: all of them), soonest to end first.
    pub fn list(&self) -> Vec<Ban> {
        let now = Instant::now();
        let mut out: Vec<Ban> = self
            .local()
            .until
            .iter()
            .filter(|(_, (u, _))| *u > now)
            .map(|(ip, (u, rule))| Ban {
                ip: *ip,
                remaining: *u - now,
                rule: rule.clone(),
            })
            .collect();
        out.sort_by_key(|b| b.remaining);
        out
    }

    /// Lifts the ban on `ip` (here and in Redis) and forgets its strikes; whether one was in
    /// force here.
    pub async fn unban(&self, ip: IpAddr) -> bool {
        let was = {
            let mut local = self.local();
            local.strikes.retain(|(a, _), _| *a != ip);
            local
                .until
                .remove(&ip)
                .is_some_and(|(u, _)| u > Instant::now())
        };
        if let Some(redis) = &self.redis
            && let Ok(v) = redis.run(&self.unban_script, &self.key(ip), &[]).await
        {
            return was || v.first() == Some(&1);
        }
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<BanRule> {
        vec![
            BanRule {
                name: "auth".into(),
                offences: vec![Offence::AuthFailure],
                threshold: 3,
                window: Duration::from_mins(1),
                ban_for: Duration::from_millis(200),
            },
            BanRule {
                name: "scanners".into(),
                offences: vec![Offence::Status(404), Offence::Status(405)],
                threshold: 2,
                window: Duration::from_millis(100),
                ban_for: Duration::from_mins(1),
            },
        ]
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn strikes_ban_and_bans_end() {
        let bans = Bans::new(rules(), None, "moat:");
        let a = ip("203.0.113.7");
        assert!(bans.record(a, &[Offence::AuthFailure]).await.is_none());
        assert!(
            bans.record(a, &[Offence::RateLimited]).await.is_none(),
            "not counted"
        );
        assert!(bans.record(a, &[Offence::AuthFailure]).await.is_none());
        assert!(bans.check(a).await.is_none());
        let ban = bans.record(a, &[Offence::AuthFailure]).await.unwrap();
        assert_eq!(ban.rule, "auth");
        assert!(bans.check(a).await.is_some());
        assert!(
            bans.check(ip("203.0.113.8")).await.is_none(),
            "another address"
        );
        assert_eq!(bans.list().len(), 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(bans.check(a).await.is_none(), "the ban ended");
        // strikes older than the window do not add up
        let b = ip("2001:db8::1");
        assert!(bans.record(b, &[Offence::Status(404)]).await.is_none());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(bans.record(b, &[Offence::Status(405)]).await.is_none());
        assert!(bans.record(b, &[Offence::Status(404)]).await.is_some());
        assert!(bans.unban(b).await);
        assert!(bans.check(b).await.is_none());
        assert!(!bans.unban(b).await);
    }

    #[tokio::test]
    async fn memory_stays_bounded_under_address_spraying() {
        let mut bans = Bans::new(rules(), None, "moat:");
        bans.max_entries = 1000;
        for i in 0..20_000u32 {
            let addr = IpAddr::from(i.to_be_bytes());
            bans.record(addr, &[Offence::AuthFailure]).await;
        }
        let local = bans.local();
        assert!(local.strikes.len() <= 1000, "{}", local.strikes.len());
    }
}
