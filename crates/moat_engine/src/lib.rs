//! The live Docker engine as a source for `moat audit`.
//!
//! [`connect`] reaches a daemon through its HTTP API ([`EngineHost`]: `DOCKER_HOST`, `--host`,
//! a unix socket, TCP in plain text or with TLS when `DOCKER_TLS_VERIFY` is set), and
//! [`read_engine`] reads, concurrently, `/info`, `/version`, every network, the containers
//! (stopped ones too unless [`ReadOptions::running_only`]; each inspected, with `top` for
//! running ones: no `exec`) and the images (inspect and history). The result, an
//! [`EngineSnapshot`], holds the same facts as the deploy-time sources of `moat_deploy`
//! ([`moat_deploy::ContainerFacts`], [`moat_deploy::NetworkFacts`],
//! [`moat_deploy::DaemonFacts`]) plus [`moat_deploy::ImageFacts`], so the same rules apply.
//! Every value is located at its object (`container:web`, `image:nginx:1.27`,
//! `network:backend`, `daemon:unix:///var/run/docker.sock`; see [`ObjectNames`]).
//!
//! The functions that turn inspect data into facts ([`container_facts`], [`image_facts`],
//! [`network_facts`], [`daemon_facts`]) are pure: they take bollard's model types, which tests
//! deserialize from recorded JSON.
//!
//! # The engine's quirks, and what the facts make of them
//! - Capabilities: `CapAdd`/`CapDrop` come as given or as the engine rewrote them (Docker 20+
//!   stores `CAP_NET_RAW` for `net_raw`); the facts have them upper-cased without `CAP_`.
//! - Ports: a stopped container has only `HostConfig.PortBindings`; a running one also has
//!   `NetworkSettings.Ports`, which is preferred (ephemeral ports resolved). One publish on all
//!   interfaces appears twice there (`0.0.0.0` and `::`): the pair is one mapping with
//!   `host_ip: None`, as is an empty `HostIp`.
//! - `NetworkMode: default` is the default bridge (`network_mode: bridge`); a user-defined
//!   network is a name in `networks`, not a mode.
//! - `PidsLimit` `null`, `0` and `-1`, `Memory`/`NanoCpus`/`CpuQuota` `0`: no limit (`None`).
//! - The daemon adds `label=disable` to the `SecurityOpt` of a privileged container and of one
//!   sharing the host's PID or IPC namespace; it is left out of the facts there (the privilege
//!   or the namespace is the finding, not SELinux).
//! - User: the engine copies the image's `USER` into the container's configuration; an empty
//!   user in both is root. `user` is the effective user (`root` when none is named) and
//!   [`moat_deploy::RuntimeFacts::user_origin`] says where it was set.
//! - Environment: `Config.Env` holds the image's `ENV` too; a `NAME=value` the image has is
//!   [`moat_deploy::Provenance::Image`], the others
//!   [`moat_deploy::Provenance::ContainerConfig`].
//! - Healthcheck: `Config.Healthcheck` is the image's unless the container set one;
//!   `["NONE"]` is disabled.
//! - `StartedAt` `0001-01-01T00:00:00Z` is "never started".
//! - API versions: bollard 0.21 sends requests without a version prefix, so every daemon
//!   answers in its own API version; [`connect`] still checks that the daemon's range meets
//!   what this crate reads ([`MIN_API_VERSION`] to [`MAX_API_VERSION`]).
//!
//! # Feature `test-support`
//! `test_support` (only with that feature, for tests: add `moat_engine` with
//! `features = ["test-support"]` to a crate's `[dev-dependencies]`) has the helpers of the
//! tests against a real engine: a check that one answers (skipped without one, a failure under
//! `MOAT_REQUIRE_DOCKER=1`), a guard that labels what a test creates and removes it on drop,
//! and a test image built from the host's static busybox.
#![deny(missing_docs)]

mod connect;
mod container;
mod daemon;
mod filter;
mod image;
mod names;
mod network;
mod read;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use connect::{
    DEFAULT_HOST, DEFAULT_TIMEOUT, Engine, EngineError, EngineHost, MAX_API_VERSION,
    MIN_API_VERSION, TlsFiles, Transport, check_tls_files, connect, connect_with_timeout,
    negotiate,
};
pub use container::{compose_origin, container_facts};
pub use daemon::daemon_facts;
pub use filter::{Filter, Selector, glob};
pub use image::image_facts;
pub use names::{ObjectNames, short_id};
pub use network::network_facts;
pub use read::{EngineSnapshot, ReadOptions, read_engine};
