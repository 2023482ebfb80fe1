//! Prometheus metrics, rendered in the text exposition format.
//!
//! Every label value comes from the config (route, limit and upstream names) or from a closed
//! set (status code, a fixed list of methods, reasons), so the number of series is bounded
//! whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

/// Requests of one route by (status, method).
type RouteCounts = BTreeMap<(u16, &'static str), u64>;

/// A bounded method label.
pub fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// All gateway metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, RouteCounts>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    upstream_latency: Mutex<BTreeMap<String, Histogram>>,
    rate_limit: Mutex<BTreeMap<String, BTreeMap<&'static str, u64>>>,
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
    bans_set: Mutex<BTreeMap<String, u64>>,
    upstream_errors: Mutex<BTreeMap<(String, &'static str), u64>>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Open client connections.
    pub open_connections: AtomicI64,
    /// TLS handshakes that failed or timed out.
    pub tls_handshake_errors: AtomicU64,
    /// Reloads applied.
    pub reloads_ok: AtomicU64,
    /// Reloads rejected.
    pub reloads_failed: AtomicU64,
    /// Access-log lines dropped because the writer fell behind.
    pub log_dropped: AtomicU64,
    /// Certificates reloaded after their files changed.
    pub cert_reloads_ok: AtomicU64,
    /// Changed certificate files that did not load.
    pub cert_reloads_failed: AtomicU64,
    /// WebSocket tunnels open.
    pub websocket_tunnels: AtomicI64,
    /// WebSocket tunnels opened.
    pub websocket_tunnels_opened: AtomicU64,
    websocket_closed: Mutex<BTreeMap<&'static str, u64>>,
}

/// Why a WebSocket tunnel ended (the `reason` label of
/// `moat_gateway_websocket_tunnels_closed_total`).
pub const TUNNEL_END_REASONS: [&str; 4] = ["closed", "idle_timeout", "shutdown", "error"];

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    let mut g = match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    *g.entry(k).or_insert(0) += 1;
}

fn observe(map: &Mutex<BTreeMap<String, Histogram>>, key: &str, took: Duration) {
    let mut guard = match map.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(hist) = guard.get_mut(key) {
        hist.observe(took.as_secs_f64());
    } else {
        let mut hist = Histogram::default();
        hist.observe(took.as_secs_f64());
        guard.insert(key.to_string(), hist);
    }
}

/// Prometheus label-value escaping.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// One finished request.
    pub fn request(&self, route: &str, status: u16, method: &'static str, took: Duration) {
        {
            let mut g = match self.requests.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if let Some(per_route) = g.get_mut(route) {
                *per_route.entry((status, method)).or_insert(0) += 1;
            } else {
                g.insert(route.to_string(), BTreeMap::from([((status, method), 1)]));
            }
        }
        observe(&self.latency, route, took);
    }

    /// Time an upstream took to answer.
    pub fn upstream_latency(&self, upstream: &str, took: Duration) {
        observe(&self.upstream_latency, upstream, took);
    }

    /// A rate-limit decision: `passed`, `rejected` or `dry_run`.
    pub fn rate_limit(&self, limit: &str, outcome: &'static str) {
        let mut g = match self.rate_limit.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(per) = g.get_mut(limit) {
            *per.entry(outcome).or_insert(0) += 1;
        } else {
            g.insert(limit.to_string(), BTreeMap::from([(outcome, 1)]));
        }
    }

    /// An authentication failure: `missing` or `invalid`.
    pub fn auth_failure(&self, reason: &'static str) {
        bump(&self.auth_failures, reason);
    }

    /// A ban set by the rule named `rule`.
    pub fn banned(&self, rule: &str) {
        let mut g = match self.bans_set.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g.entry(rule.to_string()).or_insert(0) += 1;
    }

    /// An upstream error: `connect`, `timeout`, `io`, `unavailable`.
    pub fn upstream_error(&self, upstream: &str, kind: &'static str) {
        bump(&self.upstream_errors, (upstream.to_string(), kind));
    }

    /// A WebSocket tunnel ended, for one of [`TUNNEL_END_REASONS`].
    pub fn websocket_closed(&self, reason: &'static str) {
        bump(&self.websocket_closed, reason);
    }

    /// A request or connection refused below routing (`smuggling`, `header_timeout`, `conn_limit`, …).
    pub fn rejected(&self, reason: &'static str) {
        bump(&self.rejected, reason);
    }

    /// Renders everything; `health` lists (upstream, target, healthy, ejected).
    pub fn render(&self, health: &[(String, String, bool, bool)]) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP moat_gateway_requests_total Requests answered, by route, status and method.\n# TYPE moat_gateway_requests_total counter\n");
        let requests = match self.requests.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for (route, counts) in &requests {
            for ((status, method), v) in counts {
                let _ = writeln!(
                    out,
                    "moat_gateway_requests_total{{route=\"{}\",status=\"{status}\",method=\"{method}\"}} {v}",
                    esc(route)
                );
            }
        }
        render_hist(
            &mut out,
            "moat_gateway_request_duration_seconds",
            "Time to answer a request, by route.",
            "route",
            &self.latency,
        );
        render_hist(
            &mut out,
            "moat_gateway_upstream_duration_seconds",
            "Time an upstream took to send response headers, by upstream.",
            "upstream",
            &self.upstream_latency,
        );
        out.push_str("# HELP moat_gateway_rate_limit_decisions_total Rate-limit decisions, by limit and outcome.\n# TYPE moat_gateway_rate_limit_decisions_total counter\n");
        if let Ok(g) = self.rate_limit.lock() {
            for (limit, per) in g.iter() {
                for (outcome, v) in per {
                    let _ = writeln!(
                        out,
                        "moat_gateway_rate_limit_decisions_total{{limit=\"{}\",outcome=\"{outcome}\"}} {v}",
                        esc(limit)
                    );
                }
            }
        }
        out.push_str("# HELP moat_gateway_bans_total Bans set by this replica, by rule.\n# TYPE moat_gateway_bans_total counter\n");
        if let Ok(g) = self.bans_set.lock() {
            for (rule, v) in g.iter() {
                let _ = writeln!(out, "moat_gateway_bans_total{{rule=\"{}\"}} {v}", esc(rule));
            }
        }
        out.push_str("# HELP moat_gateway_auth_failures_total Authentication failures, by reason.\n# TYPE moat_gateway_auth_failures_total counter\n");
        if let Ok(g) = self.auth_failures.lock() {
            for (reason, v) in g.iter() {
                let _ = writeln!(
                    out,
                    "moat_gateway_auth_failures_total{{reason=\"{reason}\"}} {v}"
                );
            }
        }
        out.push_str("# HELP moat_gateway_upstream_errors_total Upstream errors, by upstream and kind.\n# TYPE moat_gateway_upstream_errors_total counter\n");
        if let Ok(g) = self.upstream_errors.lock() {
            for ((up, kind), v) in g.iter() {
                let _ = writeln!(
                    out,
                    "moat_gateway_upstream_errors_total{{upstream=\"{}\",kind=\"{kind}\"}} {v}",
                    esc(up)
                );
            }
        }
        out.push_str("# HELP moat_gateway_rejected_total Connections or requests refused before routing, by reason.\n# TYPE moat_gateway_rejected_total counter\n");
        if let Ok(g) = self.rejected.lock() {
            for (reason, v) in g.iter() {
                let _ = writeln!(
                    out,
                    "moat_gateway_rejected_total{{reason=\"{reason}\"}} {v}"
                );
            }
        }
        out.push_str("# HELP moat_gateway_upstream_healthy Whether a target is healthy and not ejected (1) or not (0).\n# TYPE moat_gateway_upstream_healthy gauge\n");
        for (up, target, healthy, ejected) in health {
            let _ = writeln!(
                out,
                "moat_gateway_upstream_healthy{{upstream=\"{}\",target=\"{}\"}} {}",
                esc(up),
                esc(target),
                u8::from(*healthy && !*ejected)
            );
        }
        let _ = write!(
            out,
            "# HELP moat_gateway_open_connections Client connections open.\n# TYPE moat_gateway_open_connections gauge\nmoat_gateway_open_connections {}\n\
             # HELP moat_gateway_tls_handshake_errors_total TLS handshakes that failed or timed out.\n# TYPE moat_gateway_tls_handshake_errors_total counter\nmoat_gateway_tls_handshake_errors_total {}\n\
             # HELP moat_gateway_config_reloads_total Configuration reloads, by result.\n# TYPE moat_gateway_config_reloads_total counter\nmoat_gateway_config_reloads_total{{result=\"ok\"}} {}\nmoat_gateway_config_reloads_total{{result=\"rejected\"}} {}\n\
             # HELP moat_gateway_certificate_reloads_total Certificates reloaded after their files changed, by result.\n# TYPE moat_gateway_certificate_reloads_total counter\nmoat_gateway_certificate_reloads_total{{result=\"ok\"}} {}\nmoat_gateway_certificate_reloads_total{{result=\"rejected\"}} {}\n\
             # HELP moat_gateway_access_log_dropped_total Access-log lines dropped because the writer fell behind.\n# TYPE moat_gateway_access_log_dropped_total counter\nmoat_gateway_access_log_dropped_total {}\n",
            self.open_connections.load(Ordering::Relaxed),
            self.tls_handshake_errors.load(Ordering::Relaxed),
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
            self.cert_reloads_ok.load(Ordering::Relaxed),
            self.cert_reloads_failed.load(Ordering::Relaxed),
            self.log_dropped.load(Ordering::Relaxed),
        );
        let _ = write!(
            out,
            "# HELP moat_gateway_websocket_tunnels WebSocket tunnels open.\n# TYPE moat_gateway_websocket_tunnels gauge\nmoat_gateway_websocket_tunnels {}\n\
             # HELP moat_gateway_websocket_tunnels_total WebSocket tunnels opened (handshakes the upstream accepted).\n# TYPE moat_gateway_websocket_tunnels_total counter\nmoat_gateway_websocket_tunnels_total {}\n\
             # HELP moat_gateway_websocket_tunnels_closed_total WebSocket tunnels ended, by reason.\n# TYPE moat_gateway_websocket_tunnels_closed_total counter\n",
            self.websocket_tunnels.load(Ordering::Relaxed),
            self.websocket_tunnels_opened.load(Ordering::Relaxed),
        );
        let closed = match self.websocket_closed.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for reason in TUNNEL_END_REASONS {
            let _ = writeln!(
                out,
                "moat_gateway_websocket_tunnels_closed_total{{reason=\"{reason}\"}} {}",
                closed.get(reason).copied().unwrap_or(0)
            );
        }
        out
    }
}

fn render_hist(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    m: &Mutex<BTreeMap<String, Histogram>>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let g = match m.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    for (key, h) in &g {
        let key = esc(key);
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{label}=\"{key}\",le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{label}=\"{key}\",le=\"+Inf\"}} {}\n{name}_sum{{{label}=\"{key}\"}} {}\n{name}_count{{{label}=\"{key}\"}} {}",
            h.count, h.sum, h.count
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("api", 200, "GET", Duration::from_millis(3));
        m.request("api", 200, "GET", Duration::from_millis(30));
        m.rate_limit("per-ip", "rejected");
        m.websocket_closed("idle_timeout");
        let text = m.render(&[("api".into(), "127.0.0.1:1".into(), true, false)]);
        assert!(text.contains(
            "moat_gateway_requests_total{route=\"api\",status=\"200\",method=\"GET\"} 2"
        ));
        assert!(text.contains(
            "moat_gateway_request_duration_seconds_bucket{route=\"api\",le=\"0.005\"} 1"
        ));
        assert!(text.contains("moat_gateway_request_duration_seconds_count{route=\"api\"} 2"));
        assert!(text.contains("moat_gateway_websocket_tunnels 0\n"));
        assert!(
            text.contains(
                "moat_gateway_websocket_tunnels_closed_total{reason=\"idle_timeout\"} 1\n"
            )
        );
        assert!(
            text.contains("moat_gateway_websocket_tunnels_closed_total{reason=\"shutdown\"} 0\n")
        );
        assert!(
            text.contains(
                "moat_gateway_upstream_healthy{upstream=\"api\",target=\"127.0.0.1:1\"} 1"
            )
        );
    }
}
