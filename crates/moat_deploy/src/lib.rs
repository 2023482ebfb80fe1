//! Deploy-time sources for `moat audit`: compose files, `docker run` / `docker create` command
//! lines (given directly or found in shell scripts and Makefiles) and the Docker daemon's
//! `daemon.json`, parsed into one located model.
//!
//! - [`load_compose`] / [`parse_compose`] → [`ComposeProject`] (services as [`ContainerFacts`],
//!   [`NetworkFacts`], volumes, secrets, configs), merged and interpolated like `docker compose`.
//! - [`parse_docker_run`] / [`find_docker_runs`] → [`ContainerFacts`]; [`find_built_images`] →
//!   the images a script builds or tags (`docker build -t`, `docker tag`).
//! - [`parse_daemon_config`] / [`load_daemon_config`] → [`DaemonFacts`].
//! - The types a live engine adds to these facts ([`RuntimeFacts`], [`ImageFacts`],
//!   [`NetworkRuntimeFacts`], [`DaemonInfo`]), filled by the `moat_engine` crate.
//!
//! Every value is a [`Located`] value carrying the exact [`moat_diagnostics::Location`] it was
//! read from; malformed input gives a located [`moat_diagnostics::InputError`], never a panic.
#![deny(missing_docs)]
// The hand-written readers use short cursor names (`b` bytes, `i` index, `c` char, `f` facts).
#![allow(clippy::many_single_char_names)]

mod common;
mod compose;
mod daemon;
mod discover;
mod facts;
mod image_ref;
mod interp;
mod run;
mod runtime;
mod shell;
mod yaml;

pub use common::{normalize_cap, parse_security_opt};
pub use compose::{
    default_compose_files, load_compose, load_compose_with, load_env_file, overlay_base,
    parse_compose,
};
pub use daemon::{COMMAND_LINE_PATH, daemon_command_line, load_daemon_config, parse_daemon_config};
pub use discover::{is_compose_file, is_daemon_config, is_script};
pub use facts::*;
pub use image_ref::ImageRef;
pub use interp::Env;
pub use run::{find_built_images, find_docker_runs, parse_docker_run, parse_docker_run_in};
pub use runtime::*;
