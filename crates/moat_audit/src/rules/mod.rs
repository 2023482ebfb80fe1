//! The rule registry: every rule moat has, in one table (like ruff's `codes.rs`), and the one
//! place a rule is named: a line here declares its module (`rules/GROUP/NAME.rs`) and lists its
//! `RULE` (made by [`declare_rule!`](crate::rule)). Codes are stable and never reused; a retired
//! rule keeps its code out of circulation (none is retired yet). `docs/adding-a-rule.md` says
//! how to add one.
//!
//! Code groups: `C` container settings (compose services, `docker run`, live containers), `D`
//! Dockerfile (and a live image's history), `H` the Docker host (daemon configuration and what
//! a live engine reports), `I` images of a live engine, `M` moat itself (meta), `N` network
//! topology; `G` (gateway configuration) rules live with the gateway. The groups below are in code
//! order and each lists its rules by code, so the registry is sorted (a test checks it). Shared
//! code a group's rules use lives in its `helpers` module, never beside the rules.

use crate::rule::Rule;

macro_rules! registry {
    ($($(#[$meta:meta])* $group:ident { $([$helpers:ident])? $($rule:ident),* $(,)? })*) => {
        $(
            $(#[$meta])*
            pub mod $group {
                $(pub mod $helpers;)?
                $(#[allow(missing_docs)] pub mod $rule;)*
            }
        )*
        /// Every rule, sorted by code.
        pub static REGISTRY: &[Rule] = &[$($($group::$rule::RULE,)*)*];
    };
}

registry! {
    /// Rules that read one container's settings (`ContainerFacts`): compose services, `docker run` lines, and later live containers.
    container {
        [helpers]
        privileged, // C001
        capabilities_not_dropped, // C002
        dangerous_capability, // C003
        sensitive_host_path, // C004
        runtime_socket, // C005
        host_network, // C006
        host_pid, // C007
        host_ipc, // C008
        host_uts, // C009
        host_userns, // C010
        host_device, // C011
        shared_propagation, // C012
        seccomp_unconfined, // C013
        apparmor_unconfined, // C014
        selinux_disabled, // C015
        cgroup_parent, // C016
        no_new_privileges, // C017
        root_user, // C018
        unpinned_image, // C019
        no_memory_limit, // C020
        no_cpu_limit, // C021
        no_pids_limit, // C022
        writable_root_filesystem, // C023
        privileged_host_port, // C024
        port_on_all_interfaces, // C025
        restart_retries_too_high, // C026
        no_healthcheck, // C027
        default_bridge_network, // C028
        secret_in_environment, // C029
        secret_on_command_line, // C030
        proxy_admin_insecure,   // C031
        secret_placeholder, // C032
        sshd_running, // C033
        stale_image, // C034
    }
    /// Rules that read Dockerfiles.
    dockerfile {
        [helpers]
        untagged_base_image, // D001
        latest_base_image, // D002
        unpinned_digest, // D003
        untrusted_registry, // D004
        mutable_base_image_tag, // D005
        secret_in_env, // D010
        secret_file_copied, // D011
        secret_in_build_script, // D012
        secret_placeholder_in_env, // D013
        missing_user, // D020
        root_user, // D021
        sudo_used, // D022
        sudo_installed, // D023
        passwordless_sudo, // D024
        non_numeric_user, // D025
        missing_healthcheck, // D030
        multiple_healthchecks, // D031
        add_instead_of_copy, // D040
        add_url_without_checksum, // D041
        lone_package_update, // D050
        apt_lists_not_removed, // D051
        apt_no_install_recommends, // D052
        apk_no_cache, // D053
        pip_no_cache_dir, // D054
        unpinned_apt, // D055
        unpinned_pip, // D056
        unpinned_npm, // D057
        unpinned_apk, // D058
        unpinned_gem, // D059
        unpinned_yum, // D060
        apt_instead_of_apt_get, // D061
        apt_get_missing_yes, // D062
        unpinned_dnf, // D063
        unpinned_zypper, // D064
        unpinned_go, // D065
        unpinned_package_url, // D066
        setuid_bit, // D070
        world_writable, // D071
        pipe_to_shell, // D080
        tls_verification_disabled, // D081
        pipe_without_pipefail, // D082
        ssh_port_exposed, // D090
        invalid_port, // D091
        maintainer_deprecated, // D100
        shell_form_cmd, // D101
        multiple_cmd, // D102
        multiple_entrypoint, // D103
        relative_workdir, // D104
        copy_from_unknown_stage, // D105
        copy_from_self, // D106
        duplicate_stage_name, // D107
        copy_whole_stage, // D108
    }
    /// Rules that read a Docker daemon configuration (`DaemonFacts`).
    daemon {
        [helpers]
        daemon_tcp_without_tls, // H001
        insecure_registry, // H002
        icc_enabled, // H003
        userns_remap_off, // H004
        no_new_privileges_not_default, // H005
        live_restore_off, // H006
        userland_proxy_on, // H007
        experimental_enabled, // H008
        iptables_off, // H009
        debug_log_level, // H010
        no_default_ulimits, // H011
        seccomp_unconfined_default, // H012
        aufs_storage_driver, // H013
        swarm_mode, // H014
        no_authorization_plugin, // H015
        local_logging_driver, // H016
        daemon_cgroup_parent, // H017
    }
    /// Rules that read an image of a live engine (`ImageFacts`).
    image {
        [helpers]
        image_too_old, // I001
    }
    /// Rules about the audit itself (emitted by the sources).
    meta {
        unused_ignore, // M001
        input_not_available, // M002
    }
    /// Rules about network topology: a whole compose project, or one container's published ports.
    network {
        datastore_port_published, // N001
        backend_network_not_internal, // N002
        multiple_public_services, // N003
    }
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

#[cfg(test)]
mod tests {
    use super::REGISTRY;

    #[test]
    fn registry_is_sorted_by_code_and_codes_are_unique() {
        let codes: Vec<&str> = REGISTRY.iter().map(|r| r.info.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            codes, sorted,
            "the registry must list unique codes in order"
        );
        let mut names: Vec<&str> = REGISTRY.iter().map(|r| r.info.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "rule names must be unique");
    }
}
