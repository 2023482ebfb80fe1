//! `moat gateway`: a small, safe-by-default TLS reverse proxy in front of API containers.
//!
//! **Connections.** The listeners ([`server`]) accept, terminate TLS ([`tls`]) and put each
//! HTTP/1.1 connection behind its guard ([`guard`]: head size and read timeouts, idle timeout,
//! request smuggling refused below hyper).
//!
//! **Requests.** [`proxy::handle`] runs the request phases of [`phase`], one unit each, in
//! this order: size limits of the head, one host and one canonical path, client address
//! (trusted proxies only, fails closed), route and method, IP allow/deny, header ownership,
//! API-key auth, (bans, when they are wired), rate limits, body size. Every phase refuses with
//! one type, [`phase::Reject`] (status, error code, message, metric, header), which the handler
//! turns into the JSON error, the access-log error code and the counter in one place. Then the
//! upstream exchange ([`proxy`]) over an upstream group ([`upstream`]: balancing, passive
//! ejection, health checks, retry budget) and its pooled HTTP/1.1 connections ([`h1client`]),
//! hop-by-hop fields removed both ways ([`headers`]); response hardening (security and
//! `RateLimit` headers); and one logging phase that writes the access log ([`access_log`]) and
//! the metrics ([`metrics`]) for every request. A WebSocket handshake goes through the same
//! phases (the route must allow it, [`phase::websocket`]); when the upstream answers `101`,
//! the two connections are joined by a [`tunnel`] after the handshake is logged.
//!
//! **State.** [`state::Shared`] is what every connection shares: the plan in force (routes,
//! limiters, upstream groups), the metrics and the access log, drain and connection
//! accounting; [`state::ConnInfo`] is one connection's facts. The configuration ([`config`])
//! compiles into an immutable [`plan::Plan`] held behind an atomic swap; SIGHUP builds a new
//! plan and swaps it (limits whose settings did not change keep their state), SIGTERM drains
//! ([`server::Gateway`]). `moat gateway check` audits a config with the shared finding model
//! ([`check`]).
//!
//! **Stores.** A rate limit ([`ratelimit::Limiter`]) keeps its state behind the
//! [`ratelimit::LimitStore`] seam; the sharded in-memory GCRA ([`ratelimit::MemoryStore`]) is
//! the store limits use today. [`redis_store`] (state shared by replicas), [`bans`] and [`jwt`]
//! are built and tested on their own and not yet part of the request path.
#![deny(missing_docs)]

pub mod access_log;
pub mod auth;
pub mod bans;
pub mod body;
pub mod canonical;
pub mod check;
pub mod cli;
pub mod client_addr;
pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod h1client;
pub mod headers;
pub mod jwt;
pub mod metrics;
pub mod phase;
pub mod plan;
pub mod proxy;
pub mod ratelimit;
pub mod redis_store;
pub mod server;
pub mod state;
pub mod tls;
pub mod tunnel;
pub mod upstream;
pub mod util;

pub use cli::{GatewayArgs, run};
pub use server::Gateway;
