use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::host_namespace::report_host_mode;

declare_rule! {
    /// ## What it does
    /// Reports a container in the host's UTS namespace: compose `uts: host`,
    /// `docker run --uts host`.
    ///
    /// ## Why is this bad?
    /// The container sees the host's hostname and NIS domain name and, with `SYS_ADMIN`, can
    /// change them for the whole host. The risk on its own is small (low severity), but it is
    /// rarely needed and removes one layer of isolation.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     uts: host
    /// ```
    ///
    /// Use instead: leave `uts` unset, so the container gets its own namespace.
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Remove `uts: host`; set `hostname:` if the service needs a particular name.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.21 (the host's UTS namespace is not shared).
    pub struct HostUts {
        code: "C009",
        name: "host-uts",
        summary: "container shares the host's UTS namespace",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.21"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    report_host_mode(
        &HostUts::INFO,
        &ctx.facts.name,
        ctx.facts.uts.as_ref(),
        "UTS namespace (hostname and domain name)",
        out,
    );
}
