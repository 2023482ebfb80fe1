use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::host_namespace::report_host_mode;

declare_rule! {
    /// ## What it does
    /// Reports a container in the host's network namespace: compose `network_mode: host`,
    /// `docker run --network host` (or `--net host`).
    ///
    /// ## Why is this bad?
    /// The container sees every host interface and binds host ports directly, bypassing the
    /// published-port rules and any firewall on the bridge. It can reach services that listen
    /// only on the host's loopback (a Docker API on `127.0.0.1:2375`, databases, admin ports)
    /// and sniff traffic with `NET_RAW`.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     network_mode: host
    /// ```
    ///
    /// Use instead: leave `network_mode` unset, so the container gets its own namespace.
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Remove `network_mode: host`; publish the ports the service needs (bound to
    /// `127.0.0.1` or a private interface) and join user-defined networks.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.10 (the host's network namespace is not shared).
    pub struct HostNetwork {
        code: "C006",
        name: "host-network",
        summary: "container uses the host's network namespace",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.10"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    report_host_mode(
        &HostNetwork::INFO,
        &ctx.facts.name,
        ctx.facts.network_mode.as_ref(),
        "network namespace (all interfaces, loopback services and ports)",
        out,
    );
}
