//! Subcommands.

pub mod audit;
pub mod engine;
