//! The rule registry: every rule moat has, in one table (like ruff's `codes.rs`). Codes are
//! stable and never reused; a retired rule keeps its code out of circulation.
//!
//! Code prefixes: `D` Dockerfile, `C` container settings (compose services, `docker run`, live
//! containers), `N` network topology, `H` the Docker host (daemon configuration), `M` moat
//! itself (meta).

use crate::rule::{Check, Rule};

/// Container and topology rules.
pub mod container;
/// Daemon configuration rules.
pub mod daemon;
/// Dockerfile rules.
pub mod dockerfile;
pub mod unused_ignore;

#[allow(unused_imports)]
use container as ct;
#[allow(unused_imports)]
use daemon as dm;
use dockerfile as df;

macro_rules! registry {
    ($($kind:ident $path:path => $check:path),* $(,)?) => {
        /// Every rule, sorted by code.
        pub static REGISTRY: &[Rule] = &[
            $(Rule { info: &<$path>::INFO, check: registry!(@check $kind $check) }),*
        ];
    };
    (@check dockerfile $check:path) => { Check::Dockerfile($check) };
    (@check container $check:path) => { Check::Container($check) };
    (@check project $check:path) => { Check::Project($check) };
    (@check daemon $check:path) => { Check::Daemon($check) };
    (@check engine $check:path) => { Check::Engine };
}

registry! {
    container ct::privileged::Privileged => ct::privileged::check, // C001
    container ct::capabilities_not_dropped::CapabilitiesNotDropped => ct::capabilities_not_dropped::check, // C002
    container ct::dangerous_capability::DangerousCapability => ct::dangerous_capability::check, // C003
    container ct::sensitive_host_path::SensitiveHostPath => ct::sensitive_host_path::check, // C004
    container ct::runtime_socket::RuntimeSocket => ct::runtime_socket::check, // C005
    container ct::host_network::HostNetwork => ct::host_network::check, // C006
    container ct::host_pid::HostPid => ct::host_pid::check, // C007
    container ct::host_ipc::HostIpc => ct::host_ipc::check, // C008
    container ct::host_uts::HostUts => ct::host_uts::check, // C009
    container ct::host_userns::HostUserns => ct::host_userns::check, // C010
    container ct::host_device::HostDevice => ct::host_device::check, // C011
    container ct::shared_propagation::SharedPropagation => ct::shared_propagation::check, // C012
    container ct::seccomp_unconfined::SeccompUnconfined => ct::seccomp_unconfined::check, // C013
    container ct::apparmor_unconfined::ApparmorUnconfined => ct::apparmor_unconfined::check, // C014
    container ct::selinux_disabled::SelinuxDisabled => ct::selinux_disabled::check, // C015
    container ct::cgroup_parent::CgroupParent => ct::cgroup_parent::check, // C016
    container ct::no_new_privileges::NoNewPrivileges => ct::no_new_privileges::check, // C017
    container ct::root_user::RootUser => ct::root_user::check, // C018
    container ct::unpinned_image::UnpinnedImage => ct::unpinned_image::check, // C019
    container ct::no_memory_limit::NoMemoryLimit => ct::no_memory_limit::check, // C020
    container ct::no_cpu_limit::NoCpuLimit => ct::no_cpu_limit::check, // C021
    container ct::no_pids_limit::NoPidsLimit => ct::no_pids_limit::check, // C022
    container ct::writable_root_filesystem::WritableRootFilesystem => ct::writable_root_filesystem::check, // C023
    container ct::privileged_host_port::PrivilegedHostPort => ct::privileged_host_port::check, // C024
    container ct::port_on_all_interfaces::PortOnAllInterfaces => ct::port_on_all_interfaces::check, // C025
    container ct::restart_retries_too_high::RestartRetriesTooHigh => ct::restart_retries_too_high::check, // C026
    container ct::no_healthcheck::NoHealthcheck => ct::no_healthcheck::check, // C027
    container ct::default_bridge_network::DefaultBridgeNetwork => ct::default_bridge_network::check, // C028
    container ct::secret_in_environment::SecretInEnvironment => ct::secret_in_environment::check, // C029
    container ct::secret_on_command_line::SecretOnCommandLine => ct::secret_on_command_line::check, // C030
    dockerfile df::untagged_base_image::UntaggedBaseImage => df::untagged_base_image::check,
    dockerfile df::latest_base_image::LatestBaseImage => df::latest_base_image::check,
    dockerfile df::unpinned_digest::UnpinnedDigest => df::unpinned_digest::check,
    dockerfile df::untrusted_registry::UntrustedRegistry => df::untrusted_registry::check,
    dockerfile df::secret_in_env::SecretInEnv => df::secret_in_env::check, // D010
    dockerfile df::secret_file_copied::SecretFileCopied => df::secret_file_copied::check, // D011
    dockerfile df::secret_in_build_script::SecretInBuildScript => df::secret_in_build_script::check, // D012
    dockerfile df::missing_user::MissingUser => df::missing_user::check, // D020
    dockerfile df::root_user::RootUser => df::root_user::check, // D021
    dockerfile df::sudo_used::SudoUsed => df::sudo_used::check, // D022
    dockerfile df::sudo_installed::SudoInstalled => df::sudo_installed::check, // D023
    dockerfile df::passwordless_sudo::PasswordlessSudo => df::passwordless_sudo::check, // D024
    dockerfile df::missing_healthcheck::MissingHealthcheck => df::missing_healthcheck::check, // D030
    dockerfile df::multiple_healthchecks::MultipleHealthchecks => df::multiple_healthchecks::check, // D031
    dockerfile df::add_instead_of_copy::AddInsteadOfCopy => df::add_instead_of_copy::check, // D040
    dockerfile df::add_url_without_checksum::AddUrlWithoutChecksum => df::add_url_without_checksum::check, // D041
    dockerfile df::lone_package_update::LonePackageUpdate => df::lone_package_update::check, // D050
    dockerfile df::apt_lists_not_removed::AptListsNotRemoved => df::apt_lists_not_removed::check, // D051
    dockerfile df::apt_no_install_recommends::AptNoInstallRecommends => df::apt_no_install_recommends::check, // D052
    dockerfile df::apk_no_cache::ApkNoCache => df::apk_no_cache::check, // D053
    dockerfile df::pip_no_cache_dir::PipNoCacheDir => df::pip_no_cache_dir::check, // D054
    dockerfile df::unpinned_apt::UnpinnedApt => df::unpinned_apt::check, // D055
    dockerfile df::unpinned_pip::UnpinnedPip => df::unpinned_pip::check, // D056
    dockerfile df::unpinned_npm::UnpinnedNpm => df::unpinned_npm::check, // D057
    dockerfile df::unpinned_apk::UnpinnedApk => df::unpinned_apk::check, // D058
    dockerfile df::unpinned_gem::UnpinnedGem => df::unpinned_gem::check, // D059
    dockerfile df::unpinned_yum::UnpinnedYum => df::unpinned_yum::check, // D060
    dockerfile df::apt_instead_of_apt_get::AptInsteadOfAptGet => df::apt_instead_of_apt_get::check, // D061
    dockerfile df::apt_get_missing_yes::AptGetMissingYes => df::apt_get_missing_yes::check, // D062
    dockerfile df::unpinned_dnf::UnpinnedDnf => df::unpinned_dnf::check, // D063
    dockerfile df::setuid_bit::SetuidBit => df::setuid_bit::check, // D070
    dockerfile df::world_writable::WorldWritable => df::world_writable::check, // D071
    dockerfile df::pipe_to_shell::PipeToShell => df::pipe_to_shell::check, // D080
    dockerfile df::tls_verification_disabled::TlsVerificationDisabled => df::tls_verification_disabled::check, // D081
    dockerfile df::pipe_without_pipefail::PipeWithoutPipefail => df::pipe_without_pipefail::check, // D082
    dockerfile df::ssh_port_exposed::SshPortExposed => df::ssh_port_exposed::check, // D090
    dockerfile df::invalid_port::InvalidPort => df::invalid_port::check, // D091
    dockerfile df::maintainer_deprecated::MaintainerDeprecated => df::maintainer_deprecated::check, // D100
    dockerfile df::shell_form_cmd::ShellFormCmd => df::shell_form_cmd::check, // D101
    dockerfile df::multiple_cmd::MultipleCmd => df::multiple_cmd::check, // D102
    dockerfile df::multiple_entrypoint::MultipleEntrypoint => df::multiple_entrypoint::check, // D103
    dockerfile df::relative_workdir::RelativeWorkdir => df::relative_workdir::check, // D104
    dockerfile df::copy_from_unknown_stage::CopyFromUnknownStage => df::copy_from_unknown_stage::check, // D105
    dockerfile df::copy_from_self::CopyFromSelf => df::copy_from_self::check, // D106
    dockerfile df::duplicate_stage_name::DuplicateStageName => df::duplicate_stage_name::check, // D107
    daemon dm::daemon_tcp_without_tls::DaemonTcpWithoutTls => dm::daemon_tcp_without_tls::check, // H001
    daemon dm::insecure_registry::InsecureRegistry => dm::insecure_registry::check, // H002
    daemon dm::icc_enabled::IccEnabled => dm::icc_enabled::check, // H003
    daemon dm::userns_remap_off::UsernsRemapOff => dm::userns_remap_off::check, // H004
    daemon dm::no_new_privileges_not_default::NoNewPrivilegesNotDefault => dm::no_new_privileges_not_default::check, // H005
    daemon dm::live_restore_off::LiveRestoreOff => dm::live_restore_off::check, // H006
    daemon dm::userland_proxy_on::UserlandProxyOn => dm::userland_proxy_on::check, // H007
    daemon dm::experimental_enabled::ExperimentalEnabled => dm::experimental_enabled::check, // H008
    daemon dm::iptables_off::IptablesOff => dm::iptables_off::check, // H009
    daemon dm::debug_log_level::DebugLogLevel => dm::debug_log_level::check, // H010
    daemon dm::no_default_ulimits::NoDefaultUlimits => dm::no_default_ulimits::check, // H011
    daemon dm::seccomp_unconfined_default::SeccompUnconfinedDefault => dm::seccomp_unconfined_default::check, // H012
    daemon dm::aufs_storage_driver::AufsStorageDriver => dm::aufs_storage_driver::check, // H013
    engine unused_ignore::UnusedIgnore => unused_ignore::UnusedIgnore,
    container ct::datastore_port_published::DatastorePortPublished => ct::datastore_port_published::check, // N001
    project ct::backend_network_not_internal::BackendNetworkNotInternal => ct::backend_network_not_internal::check, // N002
    project ct::multiple_public_services::MultiplePublicServices => ct::multiple_public_services::check, // N003
}

/// Every rule.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    REGISTRY.iter()
}

/// The rule with this exact code.
pub fn by_code(code: &str) -> Option<&'static Rule> {
    REGISTRY
        .iter()
        .find(|r| r.info.code.eq_ignore_ascii_case(code))
}
