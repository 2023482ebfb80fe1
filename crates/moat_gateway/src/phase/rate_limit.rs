//! Rate limits: every limit of the route that applies to the consumer, in order, each keyed
//! by `route NUL key`. Evaluation stops at the first limit that refuses; the limits that
//! admitted the request before it get their admission back. Dry-run limits count and log but
//! never refuse and add no headers. What the limits decided is kept for the `RateLimit`
//! headers and the access log ([`Limits`]), refused or not.

use super::Reject;
use crate::client_addr;
use crate::metrics::Metrics;
use crate::plan::RoutePlan;
use crate::ratelimit::{Decision, KeyKind, Limiter};
use http::{HeaderMap, StatusCode};
use std::net::IpAddr;
use std::time::Instant;

/// A limit refused the request (answered with `Retry-After` and the rate-limit headers).
pub const RATE_LIMITED: Reject = Reject::new(
    StatusCode::TOO_MANY_REQUESTS,
    "rate_limited",
    "rate limit exceeded",
);

/// Per limit: (limit, decision).
pub type LimitReport<'p> = Vec<(&'p Limiter, Decision)>;

/// What the limits decided, for the response and the log.
#[derive(Debug, Default)]
pub struct Limits<'p> {
    /// The access log's `moat.rate_limit`: `passed`, `dry-run` or `rejected` (`None` when no
    /// limit took part).
    pub outcome: Option<&'static str>,
    /// The limits that were not dry runs with their decisions, the most restrictive decision
    /// and its limit's burst (for the rate-limit headers).
    pub headers: Option<(LimitReport<'p>, Decision, u32)>,
}

/// Who the request is, for the limits' keys.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The request's route.
    pub route: &'a RoutePlan,
    /// Request headers (for header-keyed limits).
    pub headers: &'a HeaderMap,
    /// The resolved client address.
    pub client: IpAddr,
    /// IPv6 addresses are keyed by this prefix.
    pub v6_prefix: u8,
    /// The consumer, when authenticated.
    pub user: Option<&'a str>,
}

/// Decides the request against the route's limits; `out` receives what they decided.
pub async fn check<'p>(
    metrics: &Metrics,
    route: &'p RoutePlan,
    who: &Subject<'_>,
    out: &mut Limits<'p>,
) -> Result<(), Reject> {
    if route.limits.is_empty() {
        return Ok(());
    }
    let now = Instant::now();
    // one key buffer for every limit: `route NUL key`
    let mut key = String::with_capacity(route.name.len() + 48);
    // admitted limits (refunded when a later one rejects): a bit per index, a list past 64
    let mut taken_bits: u64 = 0;
    let mut taken_more: Vec<usize> = Vec::new();
    let mut reported: LimitReport<'p> = Vec::new();
    let mut worst: Option<(Decision, u32)> = None;
    let mut outcome = "passed";
    let mut rejected = false;
    for (i, l) in route.limits.iter().enumerate() {
        if !l.applies_to(who.user) {
            continue;
        }
        limit_key(&mut key, l, who);
        // the in-memory store always answers; a shared store's failure policy goes here
        let d = match l.decide(&key, now).await {
            Ok(d) => d,
            Err(never) => match never {},
        };
        let label = if !d.would_reject {
            "passed"
        } else if l.spec.dry_run {
            outcome = if outcome == "passed" {
                "dry-run"
            } else {
                outcome
            };
            "dry_run"
        } else {
            "rejected"
        };
        metrics.rate_limit(&l.spec.name, label);
        if !d.would_reject {
            if i < 64 {
                taken_bits |= 1 << i;
            } else {
                taken_more.push(i);
            }
        }
        if !l.spec.dry_run {
            reported.push((&**l, d));
            let worse = match worst {
                None => true,
                Some((w, _)) => {
                    (d.would_reject && !w.would_reject)
                        || (d.would_reject == w.would_reject && d.remaining < w.remaining)
                }
            };
            if worse {
                worst = Some((d, l.spec.burst));
            }
        }
        if d.would_reject && !l.spec.dry_run {
            rejected = true;
            break;
        }
    }
    let any_taken = taken_bits != 0 || !taken_more.is_empty();
    if rejected {
        let taken = (0..64)
            .filter(|i| taken_bits & (1 << i) != 0)
            .chain(taken_more.iter().copied());
        for i in taken {
            let l = &route.limits[i];
            limit_key(&mut key, l, who);
            match l.refund(&key).await {
                Ok(()) => {}
                Err(never) => match never {},
            }
        }
        outcome = "rejected";
    }
    if any_taken || rejected || outcome != "passed" {
        out.outcome = Some(outcome);
    }
    if let Some((w, burst)) = worst {
        out.headers = Some((reported, w, burst));
    }
    if rejected {
        return Err(RATE_LIMITED);
    }
    Ok(())
}

/// Writes the state key of limit `l` for this request into `out`: `route NUL key`.
fn limit_key(out: &mut String, l: &Limiter, who: &Subject<'_>) {
    out.clear();
    out.push_str(&who.route.name);
    out.push('\0');
    match &l.spec.key {
        KeyKind::Ip => client_addr::write_key(out, who.client, who.v6_prefix),
        KeyKind::ApiKey => {
            if let Some(u) = who.user {
                out.push_str("id:");
                out.push_str(u);
            } else {
                out.push_str("ip:");
                client_addr::write_key(out, who.client, who.v6_prefix);
            }
        }
        KeyKind::Route => out.push_str(&who.route.name),
        KeyKind::Header(h) => {
            if let Some(v) = who.headers.get(h) {
                out.push_str(&String::from_utf8_lossy(v.as_bytes()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::plan;
    use crate::util::ready_now;

    #[test]
    fn the_refusing_limit_is_429_and_earlier_admissions_are_given_back() {
        let p = plan(
            "[[rate_limit]]\nname = \"wide\"\nkey = \"ip\"\nrate = \"10/m\"\n\n[[rate_limit]]\nname = \"narrow\"\nkey = \"ip\"\nrate = \"1/m\"\n\n[[route]]\nname = \"r\"\nupstream = \"api\"\nrate_limits = [\"wide\", \"narrow\"]\n",
        );
        let route = p.route(None, "/").unwrap();
        let headers = HeaderMap::new();
        let who = Subject {
            route,
            headers: &headers,
            client: "192.0.2.1".parse().unwrap(),
            v6_prefix: 64,
            user: None,
        };
        let m = Metrics::default();
        let mut first = Limits::default();
        assert_eq!(ready_now(check(&m, route, &who, &mut first)), Ok(()));
        assert_eq!(first.outcome, Some("passed"));
        let (all, worst, burst) = first.headers.unwrap();
        assert_eq!((all.len(), worst.remaining, burst), (2, 0, 1));

        let mut second = Limits::default();
        let e = ready_now(check(&m, route, &who, &mut second)).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.metric),
            (429, "rate_limited", None)
        );
        assert_eq!(second.outcome, Some("rejected"));
        let (all, worst, _) = second.headers.unwrap();
        assert_eq!(all.len(), 2);
        assert!(worst.would_reject);
        // `wide` admitted the refused request and got it back: 9 left after one admission
        let mut key = String::new();
        limit_key(&mut key, &route.limits[0], &who);
        assert_eq!(route.limits[0].check(&key, Instant::now()).remaining, 8);
    }
}
