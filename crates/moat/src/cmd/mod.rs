//! Subcommands.

pub mod audit;
