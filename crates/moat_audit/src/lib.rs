//! moat's audit: sources (Dockerfiles; compose files, `docker run` lines, daemon.json and the
//! live engine to come), the rules that read them, the configuration, and the engine that runs
//! rules and applies ignores.
#![deny(missing_docs)]

pub mod config;
pub mod consolidate;
pub mod context;
pub mod deploy;
pub mod discover;
pub mod docs;
pub mod engine;
pub mod image;
pub mod ports;
pub mod pragma;
pub mod rule;
pub mod rules;
pub mod secrets;

pub use config::{Config, Overrides};
pub use engine::{AuditOptions, Auditor};
