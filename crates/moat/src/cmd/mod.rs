//! Subcommands.

pub mod audit;
pub mod db;
pub mod engine;
pub mod harden;
pub mod health;
pub mod scan;
