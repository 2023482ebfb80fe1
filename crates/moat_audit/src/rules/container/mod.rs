//! Rules that read one container's settings (`ContainerFacts`): compose services, `docker run`
//! lines, and later live containers. One rule per file. `N` rules (network topology) that read a
//! whole compose project live here too.
#![allow(missing_docs)]
pub mod apparmor_unconfined;
pub mod backend_network_not_internal;
pub mod capabilities_not_dropped;
pub mod cgroup_parent;
#[cfg(test)]
mod compose_testing;
pub mod dangerous_capability;
pub mod datastore_port_published;
pub mod default_bridge_network;
pub mod host_device;
pub mod host_ipc;
pub(crate) mod host_namespace;
pub mod host_network;
pub mod host_pid;
pub mod host_userns;
pub mod host_uts;
pub mod multiple_public_services;
pub mod no_cpu_limit;
pub mod no_healthcheck;
pub mod no_memory_limit;
pub mod no_new_privileges;
pub mod no_pids_limit;
pub mod port_on_all_interfaces;
pub mod privileged;
pub mod privileged_host_port;
pub mod restart_retries_too_high;
pub mod root_user;
pub mod runtime_socket;
pub mod seccomp_unconfined;
pub mod secret_in_environment;
pub mod secret_on_command_line;
pub(crate) mod security_opt;
pub mod selinux_disabled;
pub mod sensitive_host_path;
pub mod shared_propagation;
pub mod unpinned_image;
pub mod writable_root_filesystem;
