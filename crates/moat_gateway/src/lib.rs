//! `moat gateway`: a small, safe-by-default TLS reverse proxy in front of API containers.
//!
//! The request path follows the phase structure of pingora/river: connection guards
//! ([`guard`]), request filters built from config (client address, IP allow/deny, API-key auth,
//! rate limits, size limits), the upstream exchange ([`upstream`] over [`h1client`]), response hardening, and one
//! logging phase that writes the access log and the metrics ([`proxy`]).
//!
//! The configuration ([`config`]) compiles into an immutable [`plan::Plan`] held behind an
//! atomic swap; SIGHUP builds a new plan and swaps it, SIGTERM drains ([`server::Gateway`]).
//! `moat gateway check` audits a config with the shared finding model ([`check`]).
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
pub mod upstream;
pub mod util;

pub use cli::{GatewayArgs, run};
pub use server::Gateway;
