//! moat's audit: sources (Dockerfiles; compose files, `docker run` lines, daemon.json; the
//! live Docker engine's facts), the rules that read them, the configuration, and the
//! orchestrator ([`Auditor`]) that runs rules and applies ignores.
#![deny(missing_docs)]

pub mod auditor;
pub mod config;
pub mod consolidate;
pub mod context;
pub mod discover;
pub mod docs;
pub mod harden;
pub mod ports;
pub mod pragma;
pub mod rule;
pub mod rules;
pub mod secrets;
pub mod sources;

pub use auditor::{AuditOptions, Auditor};
pub use config::{Config, Overrides};
